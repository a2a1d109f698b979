"""Ledger fixtures: exchanges built row by row (independent of the proposals
services), completed and recorded through `record_in_ledger` (which hands
the ledger its `append_trade_entries` records)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from app.auth.models import Role
from app.core.clock import utcnow
from app.extensions import db
from app.market.models import ListingKind
from app.proposals.models import (
    ExchangeKind,
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
    ProposalTransition,
    Response,
)
from app.proposals.recording import record_in_ledger
from tests.conftest import is_postgres

KIND_SHAPE = (
    "(kind = 'trade' AND quantity > 0 AND value >= 0 AND reverses_sequence IS NULL)"
    " OR (kind = 'reversal' AND quantity < 0 AND value <= 0"
    " AND reverses_sequence IS NOT NULL AND reverses_sequence < sequence"
    " AND reason <> '')"
)

_signatures = itertools.count(1)


@pytest.fixture
def make_exchange(make_listing, make_currency, make_org):
    """Build a proposal among `orgs` (a cycle: orgs[i] gives orgs[i+1]; with
    `chain=True` the last gives no one, so orgs[0] and orgs[-1] never meet) that has
    walked proposed → approved (→ agreed, for statuses that pass through it)
    to the given final `status`; in a declined one, orgs[0] declined.
    Completed exchanges get their legs confirmed; `record=True` also appends
    their ledger entries and commits."""

    def make(orgs=None, *, status: str = ProposalStatus.COMPLETED, currency: str = "staff",
             quantity: int = 2, unit_value: str = "100.00", actor=None, record: bool = True,
             reached_agreed: bool | None = None, chain: bool = False) -> Proposal:
        orgs = orgs or [make_org(), make_org()]
        if reached_agreed is None:
            reached_agreed = status in (ProposalStatus.AGREED, ProposalStatus.COMPLETED,
                                        ProposalStatus.CANCELLED, ProposalStatus.EXPIRED)
        cur = make_currency(currency)
        now = utcnow()
        proposal = Proposal(kind=ExchangeKind.CHAIN if chain else ExchangeKind.CYCLE,
                            status=status,
                            signature=f"sig-{next(_signatures)}", explanation={},
                            created_at=now - timedelta(minutes=5))
        db.session.add(proposal)
        for position, org in enumerate(orgs):
            value = Decimal(unit_value) * quantity
            declined = status == ProposalStatus.DECLINED and position == 0
            proposal.participants.append(ProposalParticipant(
                organisation_id=org.id, position=position, value_given=value,
                value_received=value,
                response=(Response.DECLINED if declined else
                          Response.ACCEPTED if reached_agreed or status ==
                          ProposalStatus.DECLINED else Response.PENDING)))
            if chain and position == len(orgs) - 1:
                continue  # the end of a chain receives only
            receiver = orgs[(position + 1) % len(orgs)]
            offer = make_listing(org, ListingKind.OFFER, cur, quantity=quantity)
            need = make_listing(receiver, ListingKind.NEED, cur, quantity=quantity)
            proposal.legs.append(ProposalLeg(
                position=position, giver_id=org.id, receiver_id=receiver.id,
                offer_id=offer.id, need_id=need.id, currency_id=cur.id, quantity=quantity,
                unit_value=Decimal(unit_value), value=value,
                confirmed_at=now if status == ProposalStatus.COMPLETED else None,
                confirmed_by_id=actor.id if actor and status == ProposalStatus.COMPLETED
                else None))
        path = [ProposalStatus.PROPOSED, ProposalStatus.APPROVED]
        if reached_agreed:
            path.append(ProposalStatus.AGREED)
        if status not in path:
            path.append(status)
        previous = None
        for step in path:
            db.session.add(ProposalTransition(
                proposal=proposal, action=step, from_status=previous, to_status=step,
                actor_name="test", organisation_id=orgs[0].id if step == "declined" else None))
            previous = step
        db.session.flush()
        if record and status == ProposalStatus.COMPLETED:
            record_in_ledger(proposal, actor)
        db.session.commit()
        return proposal

    return make


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR, name="Cora Coordinator")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, name="Audrey Auditor")


CHECKS = {
    "ck_ledger_entries_kind_shape": KIND_SHAPE,
    "ck_ledger_entries_kind_valid": "kind IN ('trade', 'reversal')",
    "ck_ledger_entries_sequence_positive": "sequence >= 1",
}


def bypass_triggers(statements: list[str], *, checks: bool = False) -> None:
    """Run raw SQL against the ledger with its protections switched off, as an
    attacker with database access would (this test's own database only).

    SQLite: the triggers are dropped from this test's copy of the database.
    PostgreSQL: `session_replication_role = replica` skips them for this
    transaction. `checks=True` also lifts the check constraints (SQLite:
    ignore_check_constraints; PostgreSQL: dropped and re-added NOT VALID, which
    the `restore_checks` fixture validates again after the test).
    """
    db.session.commit()  # SQLite admits one writer: end the session's transaction first
    with db.engine.begin() as conn:
        if is_postgres():
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            if checks:
                for name in CHECKS:
                    conn.execute(text(f"ALTER TABLE ledger_entries DROP CONSTRAINT {name}"))
        else:
            for name in ("ledger_entries_no_update", "ledger_entries_no_delete",
                         "ledger_entries_append_only"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
            if checks:
                conn.execute(text("PRAGMA ignore_check_constraints = ON"))
        for statement in statements:
            conn.execute(text(statement))
        if checks and is_postgres():
            for name, condition in CHECKS.items():
                conn.execute(text(f"ALTER TABLE ledger_entries ADD CONSTRAINT {name} "
                                  f"CHECK ({condition}) NOT VALID"))
        elif checks:
            conn.execute(text("PRAGMA ignore_check_constraints = OFF"))
    db.session.expire_all()


@pytest.fixture
def restore_checks(app):
    """PostgreSQL keeps one schema for the whole session: after a test that
    lifted the check constraints, empty the ledger and validate them again."""
    yield
    if is_postgres():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("DELETE FROM ledger_entries"))
            for name in CHECKS:
                conn.execute(text(f"ALTER TABLE ledger_entries VALIDATE CONSTRAINT {name}"))
