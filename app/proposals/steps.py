"""The building blocks every proposal transition is made of.

- `lock_proposal`: take the listings' row locks (in listing-id order, through the
  market) and then the proposal's, and read everything afresh;
- `move`: a *conditional* UPDATE from one status to the next, so a double click, a
  replayed request or a race changes nothing twice (False: someone got there first);
- `record`: the ProposalTransition of the audit trail (written once, never edited);
- `release`: give the proposal's reservations back to the market;
- `conflict`: the 409 naming the proposal's current status.

Lock order, everywhere: listings (id order), then proposal rows (id order), so two
transactions never wait on each other in opposite orders.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, update

from app.auth.models import User
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound
from app.extensions import db
from app.market import reservations
from app.proposals.models import Proposal, ProposalLeg, ProposalTransition


def conflict(proposal_id: int, message: str) -> Conflict:
    """A 409 naming the proposal's current state (read afresh)."""
    current = db.session.execute(
        select(Proposal.status).where(Proposal.id == proposal_id)
    ).scalar_one_or_none()
    return Conflict(message, payload={"proposal_id": proposal_id, "current_status": current})


def listing_quantities(proposal_id: int) -> dict[int, int]:
    """Units each listing of the proposal moves (offer and need alike), in id order."""
    totals: dict[int, int] = defaultdict(int)
    rows = db.session.execute(
        select(ProposalLeg.offer_id, ProposalLeg.need_id, ProposalLeg.quantity)
        .where(ProposalLeg.proposal_id == proposal_id)
    ).all()
    for offer_id, need_id, quantity in rows:
        totals[offer_id] += quantity
        totals[need_id] += quantity
    return dict(sorted(totals.items()))


def lock_proposal(proposal_id: int, *, listings: bool) -> Proposal:
    """Lock the proposal's listings (id order) and then the proposal row, and
    return the proposal with everything read afresh."""
    db.session.flush()
    # Anything read earlier in this transaction may be stale once we hold the locks.
    db.session.expire_all()
    if listings:
        reservations.lock(listing_quantities(proposal_id))
    proposal = db.session.execute(
        select(Proposal).where(Proposal.id == proposal_id).with_for_update()
    ).scalar_one_or_none()
    if proposal is None:
        raise NotFound("No such proposal.")
    return proposal


def record(proposal_id: int, action: str, from_status: str | None, to_status: str,
           actor: User | None, *, reason: str = "", organisation_id: int | None = None,
           actor_name: str | None = None) -> ProposalTransition:
    """Add one row to the audit trail; the actor's name is copied (None: "system")."""
    transition = ProposalTransition(
        proposal_id=proposal_id, action=action, from_status=from_status, to_status=to_status,
        actor_id=actor.id if actor is not None else None,
        actor_name=actor_name or (actor.name if actor is not None else "system"),
        organisation_id=organisation_id, reason=reason,
    )
    db.session.add(transition)
    return transition


def move(proposal: Proposal, action: str, from_status: str, to_status: str,
         actor: User | None, *, reason: str = "", organisation_id: int | None = None,
         values: dict | None = None) -> bool:
    """Conditionally move the proposal from `from_status` to `to_status` and record it.

    Returns False (and changes nothing) when the proposal is no longer in
    `from_status`: someone else got there first.
    """
    now = utcnow()
    result = db.session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id, Proposal.status == from_status)
        .values(status=to_status, updated_at=now, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    record(proposal.id, action, from_status, to_status, actor, reason=reason,
           organisation_id=organisation_id)
    db.session.expire(proposal)
    return True


def release(proposal_id: int) -> None:
    """Give back the quantities the proposal reserved on its listings."""
    reservations.release(listing_quantities(proposal_id), holder="this proposal")


def close_values(reason: str) -> dict:
    """Columns set when a proposal reaches a final status other than completed."""
    return {"closed_at": utcnow(), "status_reason": reason}


def deadline_text(value: datetime | None) -> str:
    return value.strftime("%d %b %Y") if value else "no deadline"
