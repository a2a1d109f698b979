"""Least privilege in PostgreSQL: the app's own login cannot rewrite the ledger.

`flask db grant-app-role ROLE` (run by the owner, after the migrations) makes a role
that can do the app's work — read everything, append to the ledger through the
service — but cannot UPDATE, DELETE or TRUNCATE ledger entries, disable the ledger's
triggers, or switch triggers off with session_replication_role.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.extensions import db
from app.ledger.models import LedgerEntry
from app.proposals.models import Proposal, ProposalStatus
from app.proposals.recording import record_in_ledger
from app.reporting.audit import verify_ledger
from config import TestingConfig
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(
    not is_postgres(), reason="database roles and privileges are PostgreSQL's; SQLite has "
                              "none (run with TEST_DATABASE_URL=postgresql://…)")


@pytest.fixture
def app_role(app, runner):
    role = f"cc_app_{uuid.uuid4().hex[:8]}"
    result = runner.invoke(args=["db", "grant-app-role", role])
    assert result.exit_code == 0, result.output
    url = db.engine.url.set(username=role, password=None)
    yield role, url
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {role}"))
        conn.execute(text(f"DROP ROLE {role}"))


REFUSED = [
    "UPDATE ledger_entries SET quantity = 99 WHERE sequence = 1",
    "DELETE FROM ledger_entries WHERE sequence = 1",
    "TRUNCATE ledger_entries",
    "ALTER TABLE ledger_entries DISABLE TRIGGER ALL",
    "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update",
    "SET session_replication_role = replica",
    "SET LOCAL session_replication_role = replica",
    "DROP TABLE ledger_entries",
    "CREATE TABLE intruder (id int)",
    # the audit log of administrative actions is append-only too
    "UPDATE admin_actions SET actor_name = 'nobody'",
    "DELETE FROM admin_actions",
    "TRUNCATE admin_actions",
    "ALTER TABLE admin_actions DISABLE TRIGGER ALL",
]


def test_the_app_role_appends_but_cannot_rewrite_the_ledger(app, app_role, make_exchange,
                                                            coordinator):
    role, url = app_role
    make_exchange(actor=coordinator)  # entries 1-2, written by the owner
    pending = make_exchange(actor=coordinator, record=False)  # completed, not yet recorded
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == role
            flags = conn.execute(text(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
                "FROM pg_roles WHERE rolname = current_user")).one()
            assert not any(flags)
            assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one() == 2
            conn.rollback()
            for statement in REFUSED:
                with pytest.raises(DBAPIError) as caught:
                    conn.execute(text(statement))
                assert caught.value.orig.sqlstate in ("42501",), (statement, caught.value)
                conn.rollback()
    finally:
        engine.dispose()

    # Normal work as the app role: the service appends the completed exchange's entries.
    as_app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url.render_as_string(
        hide_password=False))
    pending_id = pending.id
    with as_app.app_context():
        proposal = db.session.get(Proposal, pending_id)
        assert proposal.status == ProposalStatus.COMPLETED
        entries = record_in_ledger(proposal, None)
        db.session.commit()
        assert [e.sequence for e in entries] == [3, 4]
        assert verify_ledger().ok
        db.session.remove()
        db.engine.dispose()
    assert db.session.execute(db.select(db.func.count(LedgerEntry.id))).scalar_one() == 4
