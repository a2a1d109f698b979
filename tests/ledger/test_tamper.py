"""Tampering with the ledger is detected by `flask ledger verify` and by the
offline verifier `tools/verify_ledger.py` run on an export.

Each test plays an attacker with database access: the append-only triggers
(and, where needed, the check constraints) are bypassed in the test's own
database, then the stored data is changed.
"""

from __future__ import annotations

import json

import pytest

from app.extensions import db
from app.ledger import chain, services
from app.ledger.models import LedgerEntry
from tests.conftest import is_postgres
from tests.ledger.conftest import bypass_triggers
from tools import verify_ledger


@pytest.fixture
def ledger(make_exchange, make_org, coordinator, make_user, make_currency, restore_checks):
    """Seven entries: three two-leg exchanges (1-6), then a reversal of entry 1 (7)."""
    make_currency("jobs")
    a, b, c = make_org(), make_org(), make_org()
    first = make_exchange([a, b], actor=coordinator)
    make_exchange([b, c], actor=coordinator, quantity=3)
    make_exchange([c, a], actor=coordinator, unit_value="55.25")
    services.reverse_entry(coordinator, 1, "quantity was entered wrongly")
    db.session.commit()
    return {"orgs": (a, b, c), "first": first, "coordinator": coordinator,
            "other_user": make_user(), "entries": _entries()}


def _entries() -> list[LedgerEntry]:
    return list(db.session.execute(
        db.select(LedgerEntry).order_by(LedgerEntry.sequence)).scalars())


def _cli_verify(runner, *args: str):
    db.session.commit()
    return runner.invoke(args=["ledger", "verify", *args])


def _offline(runner, tmp_path, capsys, *args: str, fmt: str = "json") -> tuple[int, str]:
    db.session.commit()
    path = tmp_path / f"export.{fmt}"
    result = runner.invoke(args=["ledger", "export", "--format", fmt, "-o", str(path)])
    assert result.exit_code == 0, result.output
    capsys.readouterr()
    code = verify_ledger.main([str(path), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_an_intact_ledger_verifies_everywhere(ledger, runner, tmp_path, capsys):
    result = _cli_verify(runner)
    head = ledger["entries"][-1]
    assert result.exit_code == 0, result.output
    assert "7 entries" in result.output and head.hash in result.output
    code, out = _offline(runner, tmp_path, capsys)
    assert code == 0, out
    assert "complete chain of 7 entries" in out and head.hash in out
    code, out = _offline(runner, tmp_path, capsys, "--full", fmt="csv")
    assert code == 0, out


# Field → (sequence tampered, SQL value). Entry 3 is a trade in the middle of
# the chain; entry 7 is the reversal (the only one with reverses_sequence).
def _tampering(ledger) -> dict[str, tuple[int, str]]:
    a, b, c = ledger["orgs"]
    first = ledger["first"]
    return {
        "sequence": (3, "30"),
        "kind": (3, "'reversal'"),
        "proposal_id": (3, str(first.id)),
        "leg_id": (3, str(first.legs[0].id)),
        "giver_id": (3, str(a.id)),
        "receiver_id": (3, str(a.id)),
        "currency_code": (3, "'jobs'"),
        "quantity": (3, "4"),
        "unit_value": (3, "100.01"),
        "value": (3, "3000.00"),
        "recorded_at": (3, "'2020-01-01 00:00:00.000000'"),
        "confirmed_by_id": (3, str(ledger["other_user"].id)),
        "confirmed_by_name": (3, "'Mallory'"),
        "reverses_sequence": (7, "2"),
        "reason": (7, "'nothing to see here'"),
        "previous_hash": (3, "'" + "f" * 64 + "'"),
        "hash": (3, "'" + "e" * 64 + "'"),
    }


@pytest.mark.parametrize("field", [*chain.HASHED_FIELDS, "hash"])
def test_tampering_with_any_field_is_detected(ledger, runner, tmp_path, capsys, field):
    sequence, value = _tampering(ledger)[field]
    bypass_triggers([f"UPDATE ledger_entries SET {field} = {value} WHERE sequence = {sequence}"],
                    checks=field == "kind")
    result = _cli_verify(runner)
    assert result.exit_code == 1
    assert f"FAILED at sequence {sequence}:" in result.output
    code, out = _offline(runner, tmp_path, capsys)
    assert code == 1
    assert f"first bad sequence {sequence};" in out


def test_deleting_an_entry_in_the_middle_is_detected(ledger, runner, tmp_path, capsys):
    bypass_triggers(["DELETE FROM ledger_entries WHERE sequence = 4"])
    result = _cli_verify(runner)
    assert result.exit_code == 1
    assert "FAILED at sequence 4: gap: sequence 4 is missing" in result.output
    code, out = _offline(runner, tmp_path, capsys)
    assert code == 1 and "first bad sequence 4;" in out and "gap" in out


def test_cutting_off_the_tail_is_caught_by_the_proposals_and_by_an_anchor(
        ledger, runner, tmp_path, capsys):
    old_head = ledger["entries"][-1]
    anchor = f"{old_head.sequence}:{old_head.hash}"
    # Remove the reversal and the last trade: the chain that is left is intact.
    bypass_triggers(["DELETE FROM ledger_entries WHERE sequence >= 6"])
    result = _cli_verify(runner)
    assert result.exit_code == 1
    assert "missing_entries" in result.output and "has 1 trade entry" in result.output
    result = _cli_verify(runner, "--anchor", anchor)
    assert "sequence 7: anchor_mismatch" in result.output
    code, out = _offline(runner, tmp_path, capsys)
    assert code == 0  # an export alone cannot know what came after its last entry…
    code, out = _offline(runner, tmp_path, capsys, "--anchor", anchor)
    assert code == 1 and "first bad sequence 7;" in out  # …but a recorded head can


def _shift_up_from(sequence: int) -> list[str]:
    # One row at a time from the top, so unique(sequence) holds at every step.
    top = db.session.execute(db.select(db.func.max(LedgerEntry.sequence))).scalar_one()
    return [f"UPDATE ledger_entries SET sequence = {n + 1} WHERE sequence = {n}"
            for n in range(top, sequence - 1, -1)]


def test_inserting_an_entry_is_detected(ledger, runner, tmp_path, capsys):
    entry3 = ledger["entries"][2]
    forged = {**chain.canonical_fields(entry3), "sequence": 4, "quantity": 9,
              "value": "900.00", "previous_hash": entry3.hash}
    digest = chain.compute_hash(forged)  # a well-formed entry with a valid hash and link
    bypass_triggers([
        *_shift_up_from(4),
        # unique(previous_hash) leaves one successor per entry, so the displaced
        # entry must be re-pointed at the forged one to make room.
        f"UPDATE ledger_entries SET previous_hash = '{digest}' WHERE sequence = 5",
        "INSERT INTO ledger_entries (sequence, kind, proposal_id, leg_id, giver_id, "
        "receiver_id, currency_code, quantity, unit_value, value, recorded_at, "
        "confirmed_by_id, confirmed_by_name, reason, previous_hash, hash) SELECT 4, kind, "
        "proposal_id, leg_id, giver_id, receiver_id, currency_code, 9, unit_value, 900, "
        f"recorded_at, confirmed_by_id, confirmed_by_name, reason, '{entry3.hash}', "
        f"'{digest}' FROM ledger_entries WHERE sequence = 3",
    ])
    assert db.session.execute(db.select(db.func.count(LedgerEntry.id))).scalar_one() == 8
    result = _cli_verify(runner)
    assert result.exit_code == 1
    # The forged entry itself is consistent; the displaced entry 4 (now 5) is not.
    assert "FAILED at sequence 5:" in result.output
    code, out = _offline(runner, tmp_path, capsys)
    assert code == 1 and "first bad sequence 5;" in out


def test_reordering_entries_is_detected(ledger, runner, tmp_path, capsys):
    bypass_triggers([
        "UPDATE ledger_entries SET sequence = 1000 WHERE sequence = 3",
        "UPDATE ledger_entries SET sequence = 3 WHERE sequence = 4",
        "UPDATE ledger_entries SET sequence = 4 WHERE sequence = 1000",
    ])
    result = _cli_verify(runner)
    assert result.exit_code == 1 and "FAILED at sequence 3:" in result.output
    code, out = _offline(runner, tmp_path, capsys)
    assert code == 1 and "first bad sequence 3;" in out


def test_reordering_lines_of_an_export_is_detected(ledger, runner, tmp_path, capsys):
    code, _ = _offline(runner, tmp_path, capsys)
    assert code == 0
    path = tmp_path / "export.json"
    lines = path.read_text().splitlines(keepends=True)
    # lines[0] is the header; entries 3 and 4 are lines 3 and 4 (entry lines after the
    # first start with a comma).
    lines[3], lines[4] = lines[4], lines[3]
    path.write_text("".join(lines))
    assert verify_ledger.main([str(path)]) == 1
    assert "out of order" in capsys.readouterr().err


def test_rewriting_the_chain_with_fresh_hashes_is_caught_by_an_anchor(
        ledger, runner, tmp_path, capsys):
    """An attacker who recomputes every hash after a change makes a chain that
    is consistent in itself; a head hash recorded earlier still exposes it."""
    old_head = ledger["entries"][-1]
    anchor = f"{old_head.sequence}:{old_head.hash}"
    entries = [chain.canonical_fields(e) for e in ledger["entries"]]
    # Who confirmed is not in the proposal's legs, so nothing but an anchor can tell
    # (changed amounts are also caught against the legs: tests/ledger/test_amounts.py).
    entries[2]["confirmed_by_name"] = "Mallory"
    previous = chain.GENESIS_HASH
    statements = []
    for fields in entries:
        fields["previous_hash"] = previous
        previous = chain.compute_hash(fields)
        statements.append(f"UPDATE ledger_entries SET confirmed_by_name = "
                          f"'{fields['confirmed_by_name']}', previous_hash = "
                          f"'tmp{fields['sequence']}', hash = '{previous}' "
                          f"WHERE sequence = {fields['sequence']}")
    statements += [f"UPDATE ledger_entries SET previous_hash = '{f['previous_hash']}' "
                   f"WHERE sequence = {f['sequence']}" for f in entries]
    bypass_triggers(statements)
    assert _cli_verify(runner).exit_code == 0
    result = _cli_verify(runner, "--anchor", anchor)
    assert result.exit_code == 1 and "FAILED at sequence 7: anchor_mismatch" in result.output
    code, out = _offline(runner, tmp_path, capsys, "--anchor", anchor)
    assert code == 1 and "first bad sequence 7;" in out


def test_a_filtered_export_checks_hashes_and_only_consecutive_links(
        ledger, runner, tmp_path, capsys):
    a, b, c = ledger["orgs"]
    db.session.commit()
    path = tmp_path / "filtered.json"
    result = runner.invoke(args=["ledger", "export", "--organisation", str(c.id), "-o",
                                 str(path)])
    assert result.exit_code == 0
    header = json.loads(path.read_text().splitlines()[0][:-len(',"entries":[')] + "}")
    assert header["complete"] is False and header["filters"]["organisation_id"] == c.id
    capsys.readouterr()
    assert verify_ledger.main([str(path)]) == 0
    out = capsys.readouterr().out
    # c is in entries 3, 4 (b↔c) and 5, 6 (c↔a): links 4, 5, 6 checked; 3's predecessor not.
    assert "4 entries each match their hash" in out
    assert "3 checked, 1 not checkable" in out
    assert verify_ledger.main([str(path), "--full"]) == 1
    # A changed entry in a filtered export is still caught.
    text = path.read_text().replace('"confirmed_by_name":"Cora Coordinator"',
                                    '"confirmed_by_name":"Mallory"', 1)
    path.write_text(text)
    assert verify_ledger.main([str(path)]) == 1


@pytest.mark.skipif(is_postgres(), reason="file-level check, one backend is enough")
def test_a_truncated_export_file_is_detected(ledger, runner, tmp_path, capsys):
    _offline(runner, tmp_path, capsys)
    path = tmp_path / "export.json"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    assert verify_ledger.main([str(path)]) == 1
    assert "truncated" in capsys.readouterr().err
