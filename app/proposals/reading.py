"""Reading proposals: who may see which, the filtered lists, and what waits on a user.

Access is the policy's: "proposal.read" (members: proposals their organisation
takes part in; auditors, coordinators and admins: all) and "proposal.read_all".
A proposal a user may not read is reported as not found, so a member never
learns that another organisation's proposal exists. Reads never write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from app.auth.models import User
from app.auth.policy import allows, role_may
from app.core.clock import utcnow
from app.core.errors import Invalid, NotFound
from app.extensions import db
from app.proposals.models import (
    ExchangeKind,
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
    Response,
)


def _involving(organisation_id: int | None):
    """Condition: the proposal has `organisation_id` among its participants."""
    return Proposal.id.in_(
        select(ProposalParticipant.proposal_id).where(
            ProposalParticipant.organisation_id == organisation_id))


def visible_proposals(user: User):
    """A select of the proposals `user` may read."""
    statement = select(Proposal)
    if not allows(user, "proposal.read_all"):
        statement = statement.where(_involving(user.organisation_id))
    return statement


def list_proposals(user: User, *, status: str | None = None, organisation_id: int | None = None,
                   run_id: int | None = None, kind: str | None = None):
    """A select of the visible proposals matching the filters, newest first."""
    statement = visible_proposals(user)
    if status:
        if status not in ProposalStatus.ALL:
            raise Invalid("Unknown status.", errors={"status": [
                f"Must be one of: {', '.join(ProposalStatus.ALL)}."]})
        statement = statement.where(Proposal.status == status)
    if kind:
        statement = statement.where(Proposal.kind == kind)
    if organisation_id is not None:
        statement = statement.where(_involving(organisation_id))
    if run_id is not None:
        statement = statement.where(Proposal.run_id == run_id)
    return statement.order_by(Proposal.id.desc())


def get_proposal(user: User, proposal_id: int) -> Proposal:
    """The proposal, if `user` may read it; otherwise NotFound (a member does not
    learn that another organisation's proposal exists)."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or not allows(user, "proposal.read", proposal):
        raise NotFound("No such proposal.")
    return proposal


def describe(proposal: Proposal) -> str:
    """The kind of exchange in words: "a reciprocal exchange", "a 3-way exchange",
    "a gift-started chain of 4 organisations"."""
    n = len(proposal.participants)
    if proposal.kind == ExchangeKind.CHAIN:
        return f"a gift-started chain of {n} organisations"
    if n == 2:
        return "a reciprocal exchange"
    return f"a {n}-way exchange"


@dataclass
class Waiting:
    proposal: Proposal
    what: str
    by: datetime | None


def waiting_on(user: User) -> list[Waiting]:
    """What the user's organisation (a member: answer, confirm receipt) or the user
    (a coordinator: review) must do next."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    items: list[Waiting] = []
    if role_may(user, "proposal.answer"):
        org_id = user.organisation_id
        to_answer = db.session.execute(
            select(Proposal).join(ProposalParticipant)
            .where(Proposal.status == ProposalStatus.APPROVED,
                   or_(Proposal.accept_by.is_(None), Proposal.accept_by > utcnow()),
                   ProposalParticipant.organisation_id == org_id,
                   ProposalParticipant.response == Response.PENDING)
            .order_by(Proposal.accept_by, Proposal.id)
        ).scalars().all()
        items += [Waiting(p, "Accept or decline", p.accept_by) for p in to_answer]
        to_confirm = db.session.execute(
            select(Proposal)
            .where(Proposal.status == ProposalStatus.AGREED,
                   or_(Proposal.deliver_by.is_(None), Proposal.deliver_by > utcnow()),
                   Proposal.id.in_(select(ProposalLeg.proposal_id).where(
                       ProposalLeg.receiver_id == org_id, ProposalLeg.confirmed_at.is_(None))))
            .order_by(Proposal.deliver_by, Proposal.id)
        ).scalars().all()
        items += [Waiting(p, "Confirm receipt", p.deliver_by) for p in to_confirm]
    elif role_may(user, "proposal.review"):
        to_review = db.session.execute(
            select(Proposal).where(Proposal.status == ProposalStatus.PROPOSED)
            .order_by(Proposal.id).limit(50)
        ).scalars().all()
        items += [Waiting(p, "Review", None) for p in to_review]
    return items


@dataclass
class Commitment:
    """What an organisation commits to by accepting an exchange: the legs it gives
    (to whom), the legs it receives (from whom), the acceptance deadline and how
    long everyone then has to deliver."""

    organisation_id: int
    gives: list[ProposalLeg]
    gets: list[ProposalLeg]
    accept_by: datetime | None
    delivery_days: int


def commitment(proposal: Proposal, organisation_id: int, delivery_days: int) -> Commitment:
    """The accept page's summary for `organisation_id` (a participant of `proposal`)."""
    return Commitment(
        organisation_id=organisation_id,
        gives=[leg for leg in proposal.legs if leg.giver_id == organisation_id],
        gets=[leg for leg in proposal.legs if leg.receiver_id == organisation_id],
        accept_by=proposal.accept_by,
        delivery_days=delivery_days,
    )
