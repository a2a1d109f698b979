"""The canonical encoding and the verifier, pure (no app, no database), and
the offline tool agreeing with the application byte for byte."""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger import chain
from tools import verify_ledger

ROOT = Path(__file__).resolve().parents[2]

ENTRY = {
    "sequence": 1, "kind": "trade", "proposal_id": 7, "leg_id": 19, "giver_id": 3,
    "receiver_id": 4, "currency_code": "staff", "quantity": 2,
    "unit_value": Decimal("180.00"), "value": Decimal("360.00"),
    "recorded_at": datetime(2026, 11, 23, 16, 5, 38, 797605), "confirmed_by_id": 12,
    "confirmed_by_name": "Zoë O'Neill", "reverses_sequence": None, "reason": "",
    "previous_hash": chain.GENESIS_HASH,
}
# The README's worked example: these exact bytes and this exact hash.
EXPECTED_BYTES = (
    b'{"confirmed_by_id":12,"confirmed_by_name":"Zo\\u00eb O\'Neill","currency_code":"staff",'
    b'"giver_id":3,"kind":"trade","leg_id":19,"previous_hash":"' + b"0" * 64 + b'",'
    b'"proposal_id":7,"quantity":2,"reason":"","receiver_id":4,'
    b'"recorded_at":"2026-11-23T16:05:38.797605Z","reverses_sequence":null,'
    b'"sequence":1,"unit_value":"180.00","value":"360.00"}'
)


def test_canonical_bytes_are_exactly_as_documented():
    data = chain.encode(chain.canonical_fields(ENTRY))
    assert data == EXPECTED_BYTES
    assert chain.hash_entry(ENTRY) == hashlib.sha256(EXPECTED_BYTES).hexdigest()


def test_the_readme_shows_this_example():
    readme = (ROOT / "README.md").read_text()
    assert EXPECTED_BYTES.decode() in readme
    assert chain.hash_entry(ENTRY) in readme


@pytest.mark.parametrize("value, text", [
    (Decimal("1"), "1.00"), (Decimal("0.1"), "0.10"), (Decimal("-0.00"), "0.00"),
    (Decimal("-360.5"), "-360.50"), (12, "12.00"), (Decimal("1E+3"), "1000.00"),
    (Decimal("999999999999.99"), "999999999999.99"),
])
def test_decimals_have_one_spelling(value, text):
    assert chain.format_decimal(value) == text


@pytest.mark.parametrize("value", [Decimal("0.001"), Decimal("NaN"), Decimal("Infinity"),
                                   "abc", None])
def test_decimals_that_would_need_rounding_are_refused(value):
    with pytest.raises(chain.EncodingError):
        chain.format_decimal(value)


def test_non_canonical_strings_are_refused():
    for name, value in [("value", "360.0"), ("value", "+360.00"),
                        ("recorded_at", "2026-11-23 16:05:38.797605"),
                        ("recorded_at", "2026-11-23T16:05:38Z"), ("quantity", True),
                        ("quantity", "2"), ("reason", None)]:
        with pytest.raises(chain.EncodingError):
            chain.canonical_fields({**ENTRY, name: value})


def test_times_are_utc_with_microseconds():
    aware = datetime(2026, 11, 23, 17, 5, 38, 797605, tzinfo=timezone(timedelta(hours=1)))
    assert chain.format_time(aware) == "2026-11-23T16:05:38.797605Z"
    assert chain.format_time(datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000000Z"
    assert chain.format_time(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"


def _chain(n: int) -> list[dict]:
    entries, previous = [], chain.GENESIS_HASH
    for sequence in range(1, n + 1):
        fields = chain.canonical_fields({**ENTRY, "sequence": sequence,
                                         "previous_hash": previous})
        previous = chain.compute_hash(fields)
        entries.append({**fields, "hash": previous})
    return entries


def test_verifier_accepts_a_good_chain_and_names_the_first_bad_entry():
    entries = _chain(5)
    result = chain.verify_entries(entries)
    assert result.ok and result.count == 5 and result.head_hash == entries[-1]["hash"]
    entries[2]["quantity"] = 3
    result = chain.verify_entries(entries)
    assert not result.ok and result.first_problem.sequence == 3
    assert result.first_problem.kind == chain.ProblemKind.HASH_MISMATCH


@pytest.mark.parametrize("mutate, sequence, kind", [
    (lambda e: e.pop(2), 3, chain.ProblemKind.GAP),
    (lambda e: e.pop(0), 1, chain.ProblemKind.GAP),
    (lambda e: e.insert(3, dict(e[3])), 4, chain.ProblemKind.OUT_OF_ORDER),
    (lambda e: e.__setitem__(slice(1, 3), [e[2], e[1]]), 2, chain.ProblemKind.GAP),
    (lambda e: e.__setitem__(3, {**e[3], "previous_hash": e[1]["hash"]}), 4,
     chain.ProblemKind.HASH_MISMATCH),
])
def test_verifier_detects_structure_changes(mutate, sequence, kind):
    entries = _chain(5)
    mutate(entries)
    result = chain.verify_entries(entries)
    assert not result.ok
    assert (result.first_problem.sequence, result.first_problem.kind) == (sequence, kind)
    if kind == chain.ProblemKind.GAP and sequence == 2:  # a swap: 3 then 2
        assert chain.ProblemKind.OUT_OF_ORDER in {p.kind for p in result.problems}


def test_partial_verification_checks_only_consecutive_links():
    entries = _chain(6)
    subset = [entries[0], entries[2], entries[3], entries[5]]
    result = chain.verify_entries(subset, full=False)
    assert result.ok and (result.links_checked, result.links_unchecked) == (2, 2)
    assert not chain.verify_entries(subset, full=True).ok


def test_anchors_catch_truncation_and_rewrites():
    entries = _chain(4)
    anchor = {4: entries[3]["hash"]}
    assert chain.verify_entries(entries, anchors=anchor).ok
    result = chain.verify_entries(entries[:3], anchors=anchor)
    assert not result.ok and result.first_problem.kind == chain.ProblemKind.ANCHOR
    assert not chain.verify_entries(entries, anchors={2: "0" * 64}).ok
    with pytest.raises(ValueError):
        chain.parse_anchor("4:xyz")
    assert chain.parse_anchor(f" 4:{entries[3]['hash'].upper()}") == (4, entries[3]["hash"])


def test_reversal_rules():
    entries = _chain(3)
    fields = chain.canonical_fields({**ENTRY, "sequence": 4, "kind": "reversal",
                                     "reverses_sequence": 2, "reason": "x",
                                     "previous_hash": entries[-1]["hash"]})
    good = [*entries, {**fields, "hash": chain.compute_hash(fields)}]
    assert chain.verify_entries(good).ok
    twice = {**fields, "sequence": 5, "previous_hash": good[-1]["hash"]}
    twice["hash"] = chain.compute_hash(twice)
    result = chain.verify_entries([*good, twice])
    assert result.first_problem.kind == chain.ProblemKind.REVERSAL


text = st.text(st.characters(codec="utf-8"), max_size=30)
fields_strategy = st.fixed_dictionaries({
    "sequence": st.integers(1, 2**31), "kind": st.sampled_from(["trade", "reversal"]),
    "proposal_id": st.none() | st.integers(1, 2**31), "leg_id": st.none() | st.integers(1),
    "giver_id": st.integers(1, 2**31), "receiver_id": st.integers(1, 2**31),
    "currency_code": text, "quantity": st.integers(-10**6, 10**6),
    "unit_value": st.decimals(-10**10, 10**10, places=2, allow_nan=False),
    "value": st.decimals(-10**12, 10**12, places=2, allow_nan=False),
    "recorded_at": st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
    "confirmed_by_id": st.none() | st.integers(1, 2**31), "confirmed_by_name": text,
    "reverses_sequence": st.none() | st.integers(1, 2**31), "reason": text,
    "previous_hash": st.text("0123456789abcdef", min_size=64, max_size=64),
})


@settings(max_examples=200, deadline=None)
@given(fields_strategy)
def test_the_offline_tool_agrees_with_the_application(entry):
    """Same bytes, same hash, for any values (unicode names, negative decimals…),
    and the export form round-trips through JSON unchanged."""
    fields = chain.canonical_fields(entry)
    exported = json.loads(json.dumps({**fields, "hash": chain.compute_hash(fields)}))
    assert verify_ledger.form_problem(exported) is None
    assert verify_ledger.canonical_bytes(exported) == chain.encode(fields)
    assert chain.canonical_fields(exported) == fields
    assert set(chain.encode(fields)) <= set(range(128))  # pure ASCII


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_offline_tool_uses_only_the_standard_library():
    imported = _imports(ROOT / "tools" / "verify_ledger.py") - {"__future__"}
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_the_chain_module_is_pure():
    imported = _imports(ROOT / "app" / "ledger" / "chain.py") - {"__future__"}
    assert imported <= set(sys.stdlib_module_names), imported


def test_tool_field_list_matches():
    assert verify_ledger.HASHED_FIELDS == chain.HASHED_FIELDS
    assert verify_ledger.GENESIS_HASH == chain.GENESIS_HASH
