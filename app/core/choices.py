"""`ChoiceSet`: named string constants (statuses, kinds, roles…) with labels, declared once.

    class ListingKind(ChoiceSet):
        OFFER = "offer"
        NEED = "need"
        LABELS = {OFFER: "Offer"}          # optional; other labels come from the value

A subclass gets `ALL` (the values in declaration order), `LABELS` (every value's
label), `label(value)`, `choices()` for forms and `sql_in(column)` for a CHECK
constraint. Tuple attributes (subsets such as `OPEN = (PROPOSED, APPROVED)`) are
left alone, so a set can name its groups beside its members.
"""

from __future__ import annotations


class ChoiceSet:
    ALL: tuple[str, ...] = ()
    LABELS: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        explicit = dict(vars(cls).get("LABELS", {}))
        values = [value for name, value in vars(cls).items()
                  if name.isupper() and not name.startswith("_") and name not in ("ALL", "LABELS")
                  and isinstance(value, str)]
        cls.ALL = tuple(values)
        cls.LABELS = {value: explicit.get(value, value.replace("_", " ").capitalize())
                      for value in values}

    @classmethod
    def label(cls, value: str | None) -> str:
        return cls.LABELS.get(value, value or "")

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs for a select field."""
        return list(cls.LABELS.items())

    @classmethod
    def sql_in(cls, column: str) -> str:
        """`column IN ('a', 'b')`: the text of a CHECK constraint."""
        return f"{column} IN ({', '.join(repr(value) for value in cls.ALL)})"
