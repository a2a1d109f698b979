"""Deadlines: approved exchanges past their acceptance deadline and agreed ones past
their delivery deadline become expired, and their reservations go back to the market.

Reads never write: a proposal past its deadline shows as such
(`Proposal.deadline_passed`) until a transition, `flask proposals expire` or a
matching run records the expiry. Each expiry is a conditional move, so expiring
twice changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select

from app.auth.models import User
from app.core.clock import utcnow
from app.extensions import db
from app.proposals import emails
from app.proposals.models import Action, Proposal, ProposalStatus
from app.proposals.notifications import notify_participants
from app.proposals.steps import close_values, deadline_text, lock_proposal, move, release

log = logging.getLogger(__name__)


def expire(actor: User | None, proposal_id: int, now: datetime | None = None) -> bool:
    """approved past its acceptance deadline, or agreed past its delivery
    deadline → expired (system); reservations released. False if not due."""
    now = now or utcnow()
    proposal = lock_proposal(proposal_id, listings=True)
    current = proposal.status
    if current == ProposalStatus.APPROVED:
        deadline, what = proposal.accept_by, "acceptance"
    elif current == ProposalStatus.AGREED:
        deadline, what = proposal.deliver_by, "delivery"
    else:
        return False
    if deadline is None or deadline > now:
        return False
    reason = f"The {what} deadline ({deadline_text(deadline)}) passed."
    if not move(proposal, Action.EXPIRE, current, ProposalStatus.EXPIRED, actor, reason=reason,
                values=close_values(reason)):
        return False
    release(proposal_id)
    proposal = db.session.get(Proposal, proposal_id)
    notify_participants(proposal_id, f"Proposal #{proposal_id} expired: {reason}",
                        also=[proposal.approved_by_id])
    emails.closed(proposal, "expired", reason)
    emails.stalled(proposal, what, deadline)
    db.session.flush()
    return True


def due_for_expiry(now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(db.session.execute(
        select(Proposal.id).where(or_(
            (Proposal.status == ProposalStatus.APPROVED) & (Proposal.accept_by <= now),
            (Proposal.status == ProposalStatus.AGREED) & (Proposal.deliver_by <= now),
        )).order_by(Proposal.id)
    ).scalars())


def expire_due(now: datetime | None = None) -> list[int]:
    """Expire every proposal whose deadline has passed; returns their ids."""
    return [pid for pid in due_for_expiry(now) if expire(None, pid, now=now)]


def expire_due_opportunistically() -> int:
    """Called before any proposal transition (page or API POST): if any deadline
    has passed, record the expiry now and commit it, so the action that follows
    sees released reservations. Reads never write: they show such proposals as
    past their deadline (`Proposal.deadline_passed`). Idempotent; a failure never
    breaks the action.
    """
    try:
        if not due_for_expiry():
            return 0
        expired = expire_due()
        db.session.commit()
        return len(expired)
    except Exception:  # pragma: no cover - contention; `flask proposals expire` catches up
        db.session.rollback()
        log.exception("Opportunistic expiry failed")
        return 0
