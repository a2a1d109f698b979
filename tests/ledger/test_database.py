"""The database itself refuses to change the ledger (migration 0005)."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app import create_app
from app.extensions import db
from app.ledger.models import LedgerEntry
from config import TestingConfig
from tests.conftest import is_postgres
from tests.integration.test_migrations import empty_database_url  # noqa: F401 (fixture)
from tests.ledger.conftest import bypass_triggers

PG_TRIGGERS = {"ledger_entries_no_update_delete", "ledger_entries_no_truncate",
               "ledger_entries_append_only"}
SQLITE_TRIGGERS = {"ledger_entries_no_update", "ledger_entries_no_delete",
                   "ledger_entries_append_only"}


def _triggers(connection) -> set[str]:
    if connection.dialect.name == "postgresql":
        return set(connection.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger_entries'::regclass "
            "AND NOT tgisinternal")).scalars())
    return set(connection.execute(text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' "
        "AND tbl_name = 'ledger_entries'")).scalars())


def raw(statement: str) -> None:
    """Run `statement` on its own connection, as a database user would."""
    db.session.commit()  # SQLite admits one writer: end the session's transaction first
    with db.engine.begin() as conn:
        conn.execute(text(statement))


def _count() -> int:
    return db.session.execute(db.select(db.func.count()).select_from(LedgerEntry)).scalar_one()


def test_triggers_exist_after_upgrade(app):
    with db.engine.connect() as conn:
        assert _triggers(conn) == (PG_TRIGGERS if is_postgres() else SQLITE_TRIGGERS)


def test_downgrade_of_0005_removes_the_triggers(empty_database_url):  # noqa: F811
    application = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with application.app_context():
        upgrade()
        downgrade(revision="0004")
        with db.engine.connect() as conn:
            assert _triggers(conn) == set()
            if is_postgres():
                functions = conn.execute(text(
                    "SELECT proname FROM pg_proc WHERE proname LIKE 'ledger_entries%'")).all()
                assert functions == []
        upgrade()
        with db.engine.connect() as conn:
            assert _triggers(conn) == (PG_TRIGGERS if is_postgres() else SQLITE_TRIGGERS)
        db.engine.dispose()


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET quantity = 99 WHERE sequence = 1",
    "UPDATE ledger_entries SET reason = 'edited'",
    "DELETE FROM ledger_entries WHERE sequence = 2",
    "DELETE FROM ledger_entries",
])
def test_database_refuses_update_and_delete(make_exchange, statement):
    make_exchange()
    before = [(e.sequence, e.quantity, e.reason, e.hash) for e in
              db.session.execute(db.select(LedgerEntry)).scalars()]
    with pytest.raises(DBAPIError, match="append-only"):
        raw(statement)
    db.session.expire_all()
    after = [(e.sequence, e.quantity, e.reason, e.hash) for e in
             db.session.execute(db.select(LedgerEntry)).scalars()]
    assert after == before


@pytest.mark.skipif(not is_postgres(), reason="TRUNCATE exists only on PostgreSQL")
def test_postgres_refuses_truncate(make_exchange):
    make_exchange()
    for statement in ("TRUNCATE ledger_entries", "TRUNCATE proposals CASCADE"):
        with pytest.raises(DBAPIError, match="append-only"):
            raw(statement)
    assert _count() == 2


def _raw_insert(sequence: int, previous_hash: str, digest: str, giver: int, receiver: int) -> str:
    return (
        "INSERT INTO ledger_entries (sequence, kind, giver_id, receiver_id, currency_code, "
        "quantity, unit_value, value, recorded_at, confirmed_by_name, reason, previous_hash, "
        f"hash) VALUES ({sequence}, 'trade', {giver}, {receiver}, 'staff', 1, 1, 1, "
        f"'2026-01-01 00:00:00.000000', 'x', '', '{previous_hash}', '{digest}')"
    )


def test_database_refuses_an_insert_that_does_not_extend_the_head(make_exchange):
    proposal = make_exchange()
    a, b = proposal.legs[0].giver_id, proposal.legs[0].receiver_id
    head = db.session.execute(db.select(LedgerEntry).where(LedgerEntry.sequence == 2)).scalar_one()
    bad = [
        _raw_insert(5, head.hash, "a" * 64, a, b),         # a gap
        _raw_insert(3, "b" * 64, "c" * 64, a, b),          # does not link to the head
        _raw_insert(2, head.previous_hash, "d" * 64, a, b),  # a fork off entry 1
    ]
    for statement in bad:
        with pytest.raises((IntegrityError, DBAPIError)):
            raw(statement)
    assert _count() == 2
    raw(_raw_insert(3, head.hash, "e" * 64, a, b))  # the one insert extending the head
    assert _count() == 3


def test_unique_constraints_refuse_forks_even_without_triggers(make_exchange):
    proposal = make_exchange()
    a, b = proposal.legs[0].giver_id, proposal.legs[0].receiver_id
    first = db.session.execute(db.select(LedgerEntry).where(LedgerEntry.sequence == 1)).scalar_one()
    # A second entry claiming entry 1 as its predecessor: refused by unique previous_hash.
    with pytest.raises(IntegrityError):
        bypass_triggers([_raw_insert(3, first.hash, "f" * 64, a, b)])
    # The same sequence twice: refused by unique sequence.
    with pytest.raises(IntegrityError):
        bypass_triggers([_raw_insert(2, "9" * 64, "8" * 64, a, b)])
    assert _count() == 2


def test_check_constraint_refuses_a_reversal_without_reason(make_exchange):
    proposal = make_exchange()
    a, b = proposal.legs[0].giver_id, proposal.legs[0].receiver_id
    statement = _raw_insert(3, "1" * 64, "2" * 64, a, b).replace("'trade'", "'reversal'")
    with pytest.raises(IntegrityError):
        bypass_triggers([statement])
