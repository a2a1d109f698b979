"""Verification checks the amounts, not only the hashes: a chain rewritten with freshly
computed hashes is consistent in itself, so without an anchor only the amounts give it
away — each trade entry against its proposal leg, value = quantity × unit value, and a
reversal netting its original exactly.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.ledger import chain, services
from app.ledger.models import LedgerEntry
from app.reporting.audit import verify_ledger
from tests.ledger.conftest import bypass_triggers


@pytest.fixture
def ledger(make_exchange, make_org, coordinator, restore_checks):
    """Seven entries: three two-leg exchanges (1-6, unit value 100.00, 55.25 for the
    third), then a reversal of entry 1 (7)."""
    a, b, c = make_org(), make_org(), make_org()
    make_exchange([a, b], actor=coordinator)
    make_exchange([b, c], actor=coordinator, quantity=3)
    make_exchange([c, a], actor=coordinator, unit_value="55.25")
    services.reverse_entry(coordinator, 1, "quantity was entered wrongly")
    db.session.commit()
    return {"orgs": (a, b, c)}


def _rewrite(change: dict[int, dict]) -> None:
    """Change fields of some entries and recompute every hash and link from genesis on,
    as an attacker with database access would: the chain stays consistent in itself."""
    entries = [chain.canonical_fields(e) for e in db.session.execute(
        db.select(LedgerEntry).order_by(LedgerEntry.sequence)).scalars()]
    previous = chain.GENESIS_HASH
    statements = []
    for fields in entries:
        fields.update(change.get(fields["sequence"], {}))
        fields["previous_hash"] = previous
        previous = chain.compute_hash(fields)
        statements.append(
            f"UPDATE ledger_entries SET quantity = {fields['quantity']}, "
            f"unit_value = {fields['unit_value']}, value = {fields['value']}, "
            f"previous_hash = 'tmp{fields['sequence']}', hash = '{previous}' "
            f"WHERE sequence = {fields['sequence']}")
    statements += [f"UPDATE ledger_entries SET previous_hash = '{f['previous_hash']}' "
                   f"WHERE sequence = {f['sequence']}" for f in entries]
    bypass_triggers(statements)
    # Every hash and link holds: only the amounts can give the rewrite away.
    assert {p.kind for p in verify_ledger_chain_only().problems} <= {chain.ProblemKind.AMOUNT}


def verify_ledger_chain_only() -> chain.VerifyResult:
    return chain.verify_entries({**chain.canonical_fields(e), "hash": e.hash}
                                for e in db.session.execute(
                                    db.select(LedgerEntry).order_by(LedgerEntry.sequence)
                                ).scalars())


def _problems(result: chain.VerifyResult) -> set[tuple[int | None, str]]:
    return {(p.sequence, p.kind) for p in result.problems}


def test_an_intact_ledger_has_consistent_amounts(ledger, runner):
    assert verify_ledger().ok
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_a_changed_quantity_with_fresh_hashes_is_caught_against_the_proposal_leg(ledger,
                                                                                runner):
    # Quantity and value changed together (still quantity × unit value): only the
    # proposal leg knows the truth.
    _rewrite({3: {"quantity": 5, "value": "500.00"}})
    result = verify_ledger()
    assert not result.ok
    assert (3, chain.ProblemKind.LEG) in _problems(result)
    assert "quantity 5 where the leg has 3" in str(result.problems)
    cli = runner.invoke(args=["ledger", "verify"])
    assert cli.exit_code == 1
    assert "FAILED at sequence 3: leg_mismatch" in cli.output


def test_a_value_that_is_not_quantity_times_unit_value_is_caught(ledger):
    _rewrite({4: {"value": "299.00"}})
    problems = _problems(verify_ledger())
    assert (4, chain.ProblemKind.AMOUNT) in problems  # in the chain itself
    assert (4, chain.ProblemKind.LEG) in problems  # and against the leg


def test_a_changed_unit_value_is_caught_against_the_leg(ledger):
    _rewrite({5: {"unit_value": "50.00", "value": "100.00"}})
    assert (5, chain.ProblemKind.LEG) in _problems(verify_ledger())


def test_a_reversal_that_does_not_net_its_original_is_caught(ledger):
    # Entry 7 reverses entry 1 (2 × 100.00): claim it reversed only one unit.
    _rewrite({7: {"quantity": -1, "value": "-100.00"}})
    result = verify_ledger()
    assert (7, chain.ProblemKind.REVERSAL) in _problems(result)
    assert "does not net" in str(result.problems)


def test_the_chain_verifier_checks_value_against_quantity_and_unit_value():
    fields = {"sequence": 1, "kind": "trade", "proposal_id": 1, "leg_id": 1, "giver_id": 1,
              "receiver_id": 2, "currency_code": "staff", "quantity": 3, "unit_value": "55.25",
              "value": "165.75", "recorded_at": "2026-12-02T10:00:00.000000Z",
              "confirmed_by_id": None, "confirmed_by_name": "x", "reverses_sequence": None,
              "reason": "", "previous_hash": chain.GENESIS_HASH}
    assert chain.verify_entries([{**fields, "hash": chain.compute_hash(fields)}]).ok
    wrong = {**fields, "value": "165.76"}
    result = chain.verify_entries([{**wrong, "hash": chain.compute_hash(wrong)}])
    assert [(p.sequence, p.kind) for p in result.problems] == [(1, chain.ProblemKind.AMOUNT)]
