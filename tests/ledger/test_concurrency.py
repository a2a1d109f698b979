"""Concurrent completions, each in its own thread, session and committed
transaction, still leave one gap-free, fork-free chain."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.ledger import chain, services
from app.ledger.models import LedgerEntry
from app.proposals.models import Proposal, ProposalStatus
from app.proposals.recording import record_in_ledger
from app.reporting.audit import verify_ledger
from tests.conftest import is_postgres

THREADS = 6
PER_THREAD = 3


def _complete_concurrently(app, proposal_ids: list[list[int]]) -> list[BaseException]:
    barrier = threading.Barrier(len(proposal_ids))
    errors: list[BaseException] = []

    def work(ids: list[int]) -> None:
        with app.app_context():
            try:
                barrier.wait()
                for pid in ids:
                    proposal = db.session.get(Proposal, pid)
                    record_in_ledger(proposal, None)
                    db.session.commit()
            except BaseException as exc:  # reported to the main thread
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(ids,)) for ids in proposal_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def _assert_one_unbroken_chain(expected: int, *, all_recorded: bool = True) -> None:
    db.session.expire_all()
    entries = list(db.session.execute(
        db.select(LedgerEntry).order_by(LedgerEntry.sequence)).scalars())
    assert [e.sequence for e in entries] == list(range(1, expected + 1))
    previous = chain.GENESIS_HASH
    for entry in entries:
        assert entry.previous_hash == previous
        assert chain.hash_entry(entry) == entry.hash
        previous = entry.hash
    assert len({e.previous_hash for e in entries}) == len(entries)  # no forks
    result = verify_ledger()
    if all_recorded:
        assert result.ok, result.summary()
    else:  # the chain is sound; only the refused completions lack their entries
        assert {p.kind for p in result.problems} == {chain.ProblemKind.MISSING}


def _prepare(make_exchange) -> list[list[int]]:
    return [[make_exchange(record=False).id for _ in range(PER_THREAD)] for _ in range(THREADS)]


def test_concurrent_completions_leave_one_chain(app, make_exchange):
    batches = _prepare(make_exchange)
    db.session.remove()
    errors = _complete_concurrently(app, batches)
    assert errors == []
    _assert_one_unbroken_chain(THREADS * PER_THREAD * 2)
    # Each proposal's two legs are consecutive: an append is never interleaved.
    entries = db.session.execute(db.select(LedgerEntry).order_by(LedgerEntry.sequence)).scalars()
    by_proposal: dict[int, list[int]] = {}
    for entry in entries:
        by_proposal.setdefault(entry.proposal_id, []).append(entry.sequence)
    assert all(b - a == 1 for a, b in by_proposal.values())
    completed = db.session.execute(
        db.select(db.func.count()).select_from(Proposal)
        .where(Proposal.status == ProposalStatus.COMPLETED)).scalar_one()
    assert len(by_proposal) == completed == THREADS * PER_THREAD


@pytest.mark.skipif(not is_postgres(), reason="SQLite admits one writer at a time anyway")
def test_without_the_lock_the_database_still_refuses_forks(app, make_exchange, monkeypatch):
    """Take the advisory lock away: racing appends now collide, and the
    database (unique sequence / previous_hash, the insert trigger) refuses the
    losers instead of letting the chain fork."""
    real = services._lock_and_read_head
    # Every thread reads the head before any of them writes: a guaranteed race.
    all_read = threading.Barrier(THREADS, timeout=30)
    first_call = threading.local()

    def unlocked():
        row = db.session.execute(
            db.select(LedgerEntry.sequence, LedgerEntry.hash)
            .order_by(LedgerEntry.sequence.desc()).limit(1)).first()
        if not getattr(first_call, "done", False):
            first_call.done = True
            all_read.wait()
        return (row.sequence, row.hash) if row else (0, chain.GENESIS_HASH)

    monkeypatch.setattr(services, "_lock_and_read_head", unlocked)
    batches = _prepare(make_exchange)
    db.session.remove()
    errors = _complete_concurrently(app, batches)
    assert all(isinstance(e, DBAPIError) for e in errors)
    monkeypatch.setattr(services, "_lock_and_read_head", real)
    recorded = db.session.execute(
        db.select(db.func.count(db.distinct(LedgerEntry.proposal_id)))).scalar_one()
    assert len(errors) == THREADS - 1  # one thread won the race, the others were refused
    assert recorded == PER_THREAD
    _assert_one_unbroken_chain(recorded * 2, all_recorded=False)
