"""The ledger's canonical encoding, hashing and chain verification.

Pure: standard library only, no Flask, no database, so the same rules can be
read, tested and benchmarked alone. `tools/verify_ledger.py` is a
self-contained copy of these rules for offline use; a test keeps the two equal.

Canonical encoding of an entry (see also the README, "The canonical encoding"):

* the object holds exactly the keys in `HASHED_FIELDS` (the entry's
  `previous_hash` included, its own `hash` excluded);
* integers are JSON numbers, missing values `null`;
* decimals (`unit_value`, `value`) are strings with exactly two decimals, a
  leading `-` when negative, no exponent, no `+`, no thousands separator;
* `recorded_at` is UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six digits);
* keys sorted by code point, no whitespace (separators `,` and `:`), every
  non-ASCII character escaped as `\\uXXXX` (lowercase hex), so the bytes are
  pure ASCII — exactly Python's
  `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`.

`hash = lowercase hex SHA-256 of those bytes`. The first entry's
`previous_hash` is `GENESIS_HASH` (64 zeros); every later entry's is the hash
of the entry before it, so changing, removing, inserting or reordering any
entry breaks the chain from that point on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

GENESIS_HASH = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
ENCODING_VERSION = 1

HASHED_FIELDS: tuple[str, ...] = (
    "sequence",
    "kind",
    "proposal_id",
    "leg_id",
    "giver_id",
    "receiver_id",
    "currency_code",
    "quantity",
    "unit_value",
    "value",
    "recorded_at",
    "confirmed_by_id",
    "confirmed_by_name",
    "reverses_sequence",
    "reason",
    "previous_hash",
)
INT_FIELDS = frozenset({"sequence", "giver_id", "receiver_id", "quantity"})
OPTIONAL_INT_FIELDS = frozenset({"proposal_id", "leg_id", "confirmed_by_id", "reverses_sequence"})
DECIMAL_FIELDS = frozenset({"unit_value", "value"})
TEXT_FIELDS = frozenset({"kind", "currency_code", "confirmed_by_name", "reason", "previous_hash"})
TIME_FIELDS = frozenset({"recorded_at"})
_ALL_TYPED = INT_FIELDS | OPTIONAL_INT_FIELDS | DECIMAL_FIELDS | TEXT_FIELDS | TIME_FIELDS
assert set(HASHED_FIELDS) == _ALL_TYPED, "every hashed field has exactly one type"

_CENT = Decimal("0.01")


class EncodingError(ValueError):
    """A value cannot be put into canonical form (e.g. a decimal with 3 places)."""


def format_decimal(value: Decimal | int | str) -> str:
    """Two-decimal fixed-point string; refuses values that would need rounding."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise EncodingError(f"not a decimal: {value!r}") from exc
    if not number.is_finite():
        raise EncodingError(f"not a finite decimal: {value!r}")
    quantized = number.quantize(_CENT)
    if quantized != number:
        raise EncodingError(f"more than two decimal places: {value!r}")
    # Adding zero turns -0.00 into 0.00, so zero has one spelling.
    return f"{quantized + Decimal(0):f}"


def format_time(moment: datetime) -> str:
    """UTC, microseconds, trailing Z. Naive datetimes are taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """Inverse of `format_time` (naive UTC)."""
    return datetime.strptime(text, TIME_FORMAT)


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EncodingError(f"{name} must be an integer, not {value!r}")
    return value


def _optional_int(name: str, value: Any) -> int | None:
    return None if value is None else _int(name, value)


def _decimal(name: str, value: Any) -> str:
    text = format_decimal(value)
    if isinstance(value, str) and text != value:
        raise EncodingError(f"{name} {value!r} is not in canonical form ({text!r})")
    return text


def _time(name: str, value: Any) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    try:
        if not isinstance(value, str) or format_time(parse_time(value)) != value:
            raise ValueError
    except ValueError as exc:
        raise EncodingError(f"{name} {value!r} is not a canonical UTC time") from exc
    return value


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise EncodingError(f"{name} must be a string, not {value!r}")
    return value


def _converter(name: str):
    if name in DECIMAL_FIELDS:
        return _decimal
    if name in TIME_FIELDS:
        return _time
    if name in OPTIONAL_INT_FIELDS:
        return _optional_int
    if name in INT_FIELDS:
        return _int
    return _text


# (field, converter) in HASHED_FIELDS order, resolved once: verification calls
# this for every entry, so no per-field type dispatch at run time.
_CONVERTERS = tuple((name, _converter(name)) for name in HASHED_FIELDS)


def canonical_value(name: str, value: Any) -> Any:
    """One field in canonical form: int, None, or str."""
    return _converter(name)(name, value)


def canonical_fields(entry: Any) -> dict[str, Any]:
    """The hashed fields of `entry` (a mapping or an object with those attributes)."""
    if isinstance(entry, Mapping):
        return {name: convert(name, entry[name]) for name, convert in _CONVERTERS}
    return {name: convert(name, getattr(entry, name)) for name, convert in _CONVERTERS}


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def encode(fields: Mapping[str, Any]) -> bytes:
    """The canonical bytes of already-canonical `fields`: exactly
    `json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`."""
    return _ENCODER.encode(fields).encode("ascii")


def compute_hash(fields: Mapping[str, Any]) -> str:
    """Lowercase hex SHA-256 of the canonical bytes of `fields`."""
    return hashlib.sha256(encode(fields)).hexdigest()


def hash_entry(entry: Any) -> str:
    """Hash of an entry-like object or mapping, converting its values to canonical form."""
    return compute_hash(canonical_fields(entry))


# --- CSV cells --------------------------------------------------------------------------------

# A spreadsheet reads a cell starting with one of these as a formula (tab and carriage
# return too, after trimming); `'` is in the list so that the escape can be undone.
CSV_ESCAPED_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_text_cell(text: str) -> str:
    """A text cell of a CSV export, safe to open in a spreadsheet: one `'` is put in
    front of text that starts with `=`, `+`, `-`, `@`, a tab, a carriage return or `'`
    (so `'=HYPERLINK(…)` is shown as text, never run). `csv_text_value` undoes it
    exactly; numbers are written as they are (`-2`, `-360.00` are numbers, not
    formulas)."""
    return "'" + text if text.startswith(CSV_ESCAPED_STARTS) else text


def csv_text_value(cell: str) -> str:
    """The stored text of a CSV text cell (the inverse of `csv_text_cell`)."""
    return cell[1:] if cell.startswith("'") else cell


# --- verification ----------------------------------------------------------------------------


class ProblemKind:
    HASH_MISMATCH = "hash_mismatch"
    BROKEN_LINK = "broken_link"
    GAP = "gap"
    OUT_OF_ORDER = "out_of_order"
    BAD_GENESIS = "bad_genesis"
    INVALID = "invalid_entry"
    REVERSAL = "bad_reversal"
    ANCHOR = "anchor_mismatch"
    MISSING = "missing_entries"
    # value is not quantity × unit value (checked on the chain alone).
    AMOUNT = "bad_amount"
    # A trade entry's amounts or parties differ from its proposal leg (the cross-check
    # in app.reporting.audit; the chain knows nothing of proposals).
    LEG = "leg_mismatch"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the chain, at `sequence` (None when not tied to one)."""

    sequence: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"sequence {self.sequence}" if self.sequence is not None else "ledger"
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class VerifyResult:
    """What a verification found. `ok` when no problem was found."""

    count: int = 0
    head_hash: str = GENESIS_HASH
    head_sequence: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    full: bool = True
    links_checked: int = 0
    links_unchecked: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def summary(self) -> str:
        if self.ok:
            scope = "(the whole chain)" if self.full else "(each against its own hash)"
            text = (f"OK: {self.count} entries verified {scope}; head sequence "
                    f"{self.head_sequence}, head hash {self.head_hash}")
            if not self.full:
                text += (f"; {self.links_checked} links checked, {self.links_unchecked} could "
                         "not be checked (filtered export: only consecutive entries link)")
            return text
        return (f"FAILED: {self.problem_count} problem(s) in {self.count} entries; "
                f"first: {self.first_problem}")

    def as_dict(self) -> dict[str, Any]:
        first = self.first_problem
        return {
            "ok": self.ok,
            "count": self.count,
            "head_sequence": self.head_sequence,
            "head_hash": self.head_hash,
            "full": self.full,
            "links_checked": self.links_checked,
            "links_unchecked": self.links_unchecked,
            "problem_count": self.problem_count,
            "first_bad_sequence": first.sequence if first else None,
            "problems": [
                {"sequence": p.sequence, "kind": p.kind, "message": p.message}
                for p in self.problems
            ],
            "message": self.summary(),
        }


class ChainVerifier:
    """Checks entries fed one at a time, in the order they are stored or exported.

    `full=True`: the entries must be the whole chain: sequence 1, 2, 3… with the
    genesis hash first and every link intact. `full=False` (a filtered export):
    each entry's own hash is checked, and a link only where two entries are
    consecutive. `anchors` maps sequence → hash recorded earlier (e.g. a head
    hash printed by a past verification): it detects a chain rewritten from
    some point on with freshly computed hashes, and a truncated tail.

    Memory stays constant except for the set of reversed sequences.
    """

    def __init__(self, *, full: bool = True, anchors: Mapping[int, str] | None = None,
                 max_problems: int = 20) -> None:
        self.result = VerifyResult(full=full)
        self.full = full
        self.anchors = dict(anchors or {})
        self.max_problems = max_problems
        self._previous_sequence: int | None = None
        self._previous_hash: str | None = None
        self._reversed: set[int] = set()

    def _problem(self, sequence: int | None, kind: str, message: str) -> None:
        self.result.problem_count += 1
        if len(self.result.problems) < self.max_problems:
            self.result.problems.append(Problem(sequence, kind, message))

    def add_problem(self, sequence: int | None, kind: str, message: str) -> None:
        """Report a problem found beside the chain itself (e.g. a completed exchange
        whose entries are missing); it counts like any other, even after `finish`."""
        self._problem(sequence, kind, message)

    def feed(self, fields: Mapping[str, Any], stored_hash: str) -> None:
        """Check one entry. `fields` are canonical (see `canonical_fields`)."""
        result = self.result
        result.count += 1
        sequence = fields.get("sequence")
        if not isinstance(sequence, int) or isinstance(sequence, bool):
            self._problem(None, ProblemKind.INVALID, f"entry {result.count} has no sequence")
            return
        try:
            actual = compute_hash(fields)
        except (TypeError, ValueError) as exc:
            self._problem(sequence, ProblemKind.INVALID, f"cannot be encoded: {exc}")
            actual = None
        if actual is not None and actual != stored_hash:
            self._problem(sequence, ProblemKind.HASH_MISMATCH,
                          f"stored hash {stored_hash} but the fields hash to {actual}")
        previous_hash = fields.get("previous_hash")
        before = self._previous_sequence
        if before is None:
            if sequence == 1:
                result.links_checked += 1
                if previous_hash != GENESIS_HASH:
                    self._problem(sequence, ProblemKind.BAD_GENESIS,
                                  "the first entry's previous_hash must be 64 zeros")
            elif self.full:
                self._problem(1, ProblemKind.GAP,
                              f"the chain must start at sequence 1, found {sequence}")
            else:
                result.links_unchecked += 1
        elif sequence <= before:
            self._problem(sequence, ProblemKind.OUT_OF_ORDER,
                          f"sequence {sequence} follows {before} (reordered or duplicated)")
        elif sequence == before + 1:
            result.links_checked += 1
            if previous_hash != self._previous_hash:
                self._problem(sequence, ProblemKind.BROKEN_LINK,
                              f"previous_hash {previous_hash} is not the hash of "
                              f"sequence {before} ({self._previous_hash})")
        elif self.full:
            missing = (f"sequence {before + 1} is missing" if sequence == before + 2 else
                       f"sequences {before + 1}..{sequence - 1} are missing")
            self._problem(before + 1, ProblemKind.GAP, f"{missing} (next found: {sequence})")
        else:
            result.links_unchecked += 1
        self._check_reversal(fields, sequence)
        self._check_amount(fields, sequence)
        expected_anchor = self.anchors.pop(sequence, None)
        if expected_anchor is not None and expected_anchor != stored_hash:
            self._problem(sequence, ProblemKind.ANCHOR,
                          f"hash {stored_hash} differs from the recorded {expected_anchor}")
        if before is None or sequence > before:
            self._previous_sequence = sequence
            self._previous_hash = stored_hash
            result.head_sequence = sequence
            result.head_hash = stored_hash

    def _check_reversal(self, fields: Mapping[str, Any], sequence: int) -> None:
        target = fields.get("reverses_sequence")
        if fields.get("kind") != "reversal":
            if target is not None:
                self._problem(sequence, ProblemKind.REVERSAL,
                              "only a reversal may reference another entry")
            return
        if not isinstance(target, int) or target >= sequence:
            self._problem(sequence, ProblemKind.REVERSAL,
                          f"a reversal must reference an earlier entry, not {target!r}")
        elif target in self._reversed:
            self._problem(sequence, ProblemKind.REVERSAL,
                          f"sequence {target} is reversed more than once")
        else:
            self._reversed.add(target)

    def _check_amount(self, fields: Mapping[str, Any], sequence: int) -> None:
        """value = quantity × unit value, exactly (both decimals have two places and the
        quantity is whole, so the product needs no rounding)."""
        try:
            expected = Decimal(fields["quantity"]) * Decimal(fields["unit_value"])
            ok = expected == Decimal(fields["value"])
        except (KeyError, TypeError, ValueError, InvalidOperation):
            return  # not encodable: reported as invalid_entry already
        if not ok:
            self._problem(sequence, ProblemKind.AMOUNT,
                          f"value {fields['value']} is not quantity {fields['quantity']} × "
                          f"unit value {fields['unit_value']} ({format_decimal(expected)})")

    def finish(self) -> VerifyResult:
        """Report anchors never reached (a truncated chain) and return the result."""
        for sequence, expected in sorted(self.anchors.items()):
            if self.full or sequence <= self.result.head_sequence:
                self._problem(sequence, ProblemKind.ANCHOR,
                              f"no entry with sequence {sequence} (recorded hash {expected}); "
                              "the chain was truncated or rewritten")
        self.anchors.clear()
        return self.result


def verify_entries(entries: Iterable[Mapping[str, Any]], *, full: bool = True,
                   anchors: Mapping[int, str] | None = None) -> VerifyResult:
    """Verify mappings that carry the hashed fields (any form) and `hash`."""
    verifier = ChainVerifier(full=full, anchors=anchors)
    for entry in entries:
        try:
            fields = canonical_fields(entry)
        except (EncodingError, KeyError) as exc:
            verifier.result.count += 1
            verifier._problem(entry.get("sequence") if isinstance(entry, Mapping) else None,
                              ProblemKind.INVALID, f"cannot be encoded: {exc}")
            continue
        verifier.feed(fields, entry["hash"])
    return verifier.finish()


def format_anchor_line(sequence: int, digest: str, at: datetime) -> str:
    """One line of an anchor file: `<UTC time> SEQ:HASH` and a newline."""
    return f"{format_time(at)} {sequence}:{digest}\n"


def parse_anchor_lines(lines: Iterable[str]) -> tuple[dict[int, str], list[str]]:
    """The anchors recorded in an anchor file (one `<time> SEQ:HASH` per line; blank
    lines and `#` comments are skipped) and what is wrong with the file itself: a line
    that is not an anchor, or two different hashes recorded for one sequence."""
    anchors: dict[int, str] = {}
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            sequence, digest = parse_anchor(text.split()[-1])
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if anchors.setdefault(sequence, digest) != digest:
            problems.append(f"line {number}: sequence {sequence} was recorded with hash "
                            f"{anchors[sequence]} earlier and {digest} here")
    return anchors, problems


def parse_anchor(text: str) -> tuple[int, str]:
    """'SEQ:HASH' → (SEQ, HASH); raises ValueError when malformed."""
    sequence, _, digest = text.partition(":")
    digest = digest.strip().lower()
    if not sequence.strip().isdigit() or len(digest) != 64 or any(
            c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"an anchor is SEQUENCE:HASH (64 hex digits), not {text!r}")
    return int(sequence), digest
