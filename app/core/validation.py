"""Checking what people type: the per-field error collector and the parsers every
service uses, so each rule (an id's range, a code's shape, a reason's length…) is
written once.

Every parser reads one field of a dict, adds a message to a `FieldErrors` when the
value is wrong and returns the clean value (or None). `FieldErrors.raise_if_any`
then raises one 422 naming every bad field at once.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from app.core.errors import Invalid
from app.core.limits import MAX_CODE, MAX_ID, MAX_REASON

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Control characters in multi-line text (tabs and line breaks are allowed there).
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Control characters in a one-line value (email, name, token name): none at all.
LINE_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class FieldErrors:
    """Collects per-field messages; `raise_if_any` raises one 422 naming them all."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.messages.setdefault(field, []).append(message)

    def __contains__(self, field: str) -> bool:
        return field in self.messages

    def raise_if_any(self, message: str = "Some fields are not valid.") -> None:
        if self.messages:
            raise Invalid(message, errors=self.messages)


def valid_id(value: object) -> bool:
    """A database id: a positive integer within the id range (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def reject_unknown_fields(data: dict, allowed: frozenset | set) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise Invalid("Unknown fields.", errors={name: ["Unknown field."] for name in unknown})


def finite_decimal(raw) -> Decimal | None:
    """``raw`` as a finite Decimal, or None for anything else (booleans, None, text, NaN,
    infinities)."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards escaped (use with `escape="\\\\"`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def clean_reason(reason: str | None, *, required: bool) -> str:
    """The reason given for a transition or a reversal: trimmed, at most MAX_REASON."""
    reason = (reason or "").strip()
    if required and not reason:
        raise Invalid("A reason is required.", errors={"reason": ["Give a reason."]})
    if len(reason) > MAX_REASON:
        raise Invalid("The reason is too long.",
                      errors={"reason": [f"At most {MAX_REASON} characters."]})
    return reason


# --- codes (areas, tags) ---------------------------------------------------------------------

def normalise_code(raw: object) -> str:
    """An area or tag as stored: lower-case letters, digits and single hyphens."""
    text = str(raw).strip().lower()
    text = re.sub(r"[\s_/]+", "-", text)
    text = re.sub(r"[^a-z0-9-]", "", text)
    return re.sub(r"-{2,}", "-", text).strip("-")


def normalise_codes(values: object, field: str, errors: FieldErrors, *,
                    max_items: int) -> list[str]:
    """Normalise, de-duplicate and sort a list of codes; bad entries are reported on `field`."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [part for part in re.split(r"[,;\n]", values)]
    if not isinstance(values, list | tuple | set):
        errors.add(field, "Must be a list.")
        return []
    codes: set[str] = set()
    for raw in values:
        if not isinstance(raw, str):
            errors.add(field, "Each entry must be text.")
            continue
        if not raw.strip():
            continue
        code = normalise_code(raw)
        if not code:
            errors.add(field, f"'{raw.strip()[:40]}' has no letters or digits.")
        elif len(code) > MAX_CODE:
            errors.add(field, f"'{code[:40]}…' is longer than {MAX_CODE} characters.")
        else:
            codes.add(code)
    if len(codes) > max_items:
        errors.add(field, f"At most {max_items} entries.")
    return sorted(codes)


# --- one field of a dict ---------------------------------------------------------------------

def text_field(data: dict, field: str, errors: FieldErrors, *, max_length: int,
               required: bool = False, min_length: int = 0, label: str | None = None) -> str | None:
    """A trimmed text value, checked for type, length and control characters."""
    value = data.get(field)
    label = label or field.replace("_", " ").capitalize()
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, "Must be text.")
        return None
    value = value.strip()
    if CONTROL_RE.search(value):
        errors.add(field, "Contains control characters.")
        return None
    if required and not value:
        errors.add(field, f"{label} is required.")
        return None
    if value and len(value) < min_length:
        errors.add(field, f"{label} must be at least {min_length} characters.")
        return None
    if len(value) > max_length:
        errors.add(field, f"{label} must be at most {max_length} characters.")
        return None
    return value


def int_field(data: dict, field: str, errors: FieldErrors, *, minimum: int, maximum: int,
              required: bool = True) -> int | None:
    """A whole number (not a boolean) within minimum..maximum."""
    value = data.get(field)
    if value is None:
        if required:
            errors.add(field, "Required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, "Must be a whole number.")
        return None
    if not minimum <= value <= maximum:
        errors.add(field, f"Must be between {minimum:,} and {maximum:,}.")
        return None
    return value


def bool_field(data: dict, field: str, errors: FieldErrors) -> bool:
    value = data.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        errors.add(field, "Must be true or false.")
        return False
    return value


def date_field(data: dict, field: str, errors: FieldErrors) -> date | None:
    value: Any = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            errors.add(field, "Must be a date (YYYY-MM-DD).")
            return None
    if not isinstance(value, date):
        errors.add(field, "Must be a date (YYYY-MM-DD).")
        return None
    return value
