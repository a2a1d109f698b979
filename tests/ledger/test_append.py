"""Appending trade entries on completion, and the ORM refusing changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.core.errors import Conflict
from app.extensions import db
from app.ledger import chain
from app.ledger.models import AppendOnlyViolation, EntryKind, LedgerEntry
from app.proposals.models import ProposalStatus
from app.proposals.recording import record_in_ledger
from app.reporting.audit import verify_ledger


def _entries() -> list[LedgerEntry]:
    return list(db.session.execute(
        db.select(LedgerEntry).order_by(LedgerEntry.sequence)).scalars())


def test_one_entry_per_leg_in_leg_order_linked_from_genesis(make_exchange, make_org,
                                                            coordinator):
    a, b, c = make_org(), make_org(), make_org()
    proposal = make_exchange([a, b, c], quantity=3, unit_value="120.50", actor=coordinator)
    entries = _entries()
    assert [e.sequence for e in entries] == [1, 2, 3]
    assert [(e.giver_id, e.receiver_id) for e in entries] == [(a.id, b.id), (b.id, c.id),
                                                              (c.id, a.id)]
    assert [e.leg_id for e in entries] == [leg.id for leg in proposal.legs]
    assert entries[0].previous_hash == chain.GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.previous_hash == before.hash
    first = entries[0]
    assert first.kind == EntryKind.TRADE
    assert first.quantity == 3
    assert first.unit_value == Decimal("120.50")
    assert first.value == Decimal("361.50")
    assert first.currency_code == "staff"
    assert first.confirmed_by_id == coordinator.id
    assert first.confirmed_by_name == "Cora Coordinator"
    assert first.hash == chain.hash_entry(first)
    assert verify_ledger().ok


def test_second_exchange_continues_the_chain(make_exchange):
    make_exchange()
    make_exchange()
    entries = _entries()
    assert [e.sequence for e in entries] == [1, 2, 3, 4]
    assert entries[2].previous_hash == entries[1].hash
    result = verify_ledger()
    assert result.ok and result.count == 4 and result.head_hash == entries[-1].hash


def test_hash_survives_the_database_round_trip(make_exchange):
    make_exchange(unit_value="0.10", quantity=7)
    db.session.expire_all()
    for entry in _entries():
        assert chain.hash_entry(entry) == entry.hash


def test_refuses_a_proposal_that_is_not_completed(make_exchange, coordinator):
    proposal = make_exchange(status=ProposalStatus.AGREED)
    with pytest.raises(Conflict):
        record_in_ledger(proposal, coordinator)
    db.session.rollback()
    assert _entries() == []


def test_refuses_recording_the_same_proposal_twice(make_exchange, coordinator):
    proposal = make_exchange()
    with pytest.raises(Conflict, match="already in the ledger"):
        record_in_ledger(proposal, coordinator)
    db.session.rollback()
    assert len(_entries()) == 2


def test_falls_back_to_the_actor_and_then_to_system(make_exchange, coordinator):
    make_exchange(actor=None)
    assert {e.confirmed_by_name for e in _entries()} == {"system"}


def test_orm_refuses_update(make_exchange):
    make_exchange()
    entry = _entries()[0]
    entry.quantity = 99
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    assert _entries()[0].quantity == 2


def test_orm_refuses_delete(make_exchange):
    make_exchange()
    db.session.delete(_entries()[0])
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    assert len(_entries()) == 2


@pytest.mark.parametrize("statement", [
    lambda: db.update(LedgerEntry).values(quantity=5),
    lambda: db.delete(LedgerEntry),
    lambda: db.update(LedgerEntry.__table__).values(quantity=5),
    lambda: db.delete(LedgerEntry.__table__),
])
def test_orm_refuses_bulk_statements(make_exchange, statement):
    make_exchange()
    with pytest.raises(AppendOnlyViolation):
        db.session.execute(statement())
    db.session.rollback()
    assert [e.quantity for e in _entries()] == [2, 2]
