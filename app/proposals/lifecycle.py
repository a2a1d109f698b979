"""The proposal lifecycle: one service function per transition.

    proposed ──approve──▶ approved ──all accept──▶ agreed ──all legs confirmed──▶ completed
       ├──reject────▶ rejected    ├──decline──▶ declined   ├──cancel──▶ cancelled
       └──supersede─▶ superseded  ├──cancel───▶ cancelled  └──expire──▶ expired
                                  └──expire───▶ expired      (expiry: app.proposals.expiry)

Every function takes the acting user (None = the system), checks the policy
(`proposal.review` for coordinators, `proposal.answer` for members, and the
participant's organisation), the state, changes rows with *conditional* UPDATEs
(so a double click, a replayed request or a race changes nothing twice), writes a
ProposalTransition and the participants' notifications, and flushes. The caller
(page, API endpoint, CLI command) commits once.

Concurrency. Reservations live on the listing and belong to the market
(`app.market.reservations`): approval reserves each listing with one conditional
UPDATE guarded on the listing row and checks the row count, so whichever
transaction gets the row first wins and every other one sees the new value.
Every transaction that changes listings takes their row locks first, in
listing-id order, and the proposal rows after, so two transactions never wait on
each other in opposite orders (no deadlocks on PostgreSQL; on SQLite every write
transaction starts with BEGIN IMMEDIATE and they queue). Completion consumes the
reservations and writes the ledger entries in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from app.auth.models import User
from app.auth.policy import require
from app.core.clock import utcnow
from app.core.errors import Forbidden, NotFound
from app.core.validation import clean_reason
from app.extensions import db
from app.market import reservations
from app.market.models import MarketSettings
from app.proposals import emails
from app.proposals.expiry import expire
from app.proposals.models import (
    Action,
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
    Response,
)
from app.proposals.notifications import notify_participants
from app.proposals.reading import describe, get_proposal
from app.proposals.recording import record_in_ledger
from app.proposals.steps import (
    close_values,
    conflict,
    deadline_text,
    listing_quantities,
    lock_proposal,
    move,
    record,
    release,
)


def approve(actor: User, proposal_id: int, reason: str = "") -> Proposal:
    """proposed → approved: reserve every listing's quantity, or supersede.

    Each listing is reserved with one conditional UPDATE guarded on the listing
    itself. If any listing cannot give what the proposal needs, the approval is
    rolled back entirely, the proposal is marked superseded in a fresh
    (committed) transaction, and Conflict (409) is raised — this is the one
    service that commits, because the loss must be recorded although the
    request fails. After a successful approval, every other proposed exchange
    that can no longer be satisfied is superseded.
    """
    require(actor, "proposal.review")
    reason = clean_reason(reason, required=False)
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("No such proposal.")
    if proposal.status != ProposalStatus.PROPOSED:
        raise conflict(proposal_id, f"This exchange is {proposal.status}; only a proposed "
                                    "exchange can be approved.")
    quantities = listing_quantities(proposal_id)
    settings = MarketSettings.current()
    now = utcnow()
    # One conditional UPDATE per listing, in id order (the lock order).
    short = reservations.reserve(quantities)
    if short is not None:
        db.session.rollback()
        why = (f"Listing #{short} can no longer give what this exchange needs "
               "(reserved by another approved exchange, fulfilled, withdrawn or ended).")
        supersede(None, proposal_id, why)
        db.session.commit()
        raise conflict(proposal_id, "Not approved: " + why + " The proposal is superseded.")
    moved = move(
        proposal, Action.APPROVE, ProposalStatus.PROPOSED, ProposalStatus.APPROVED, actor,
        reason=reason,
        values={"approved_at": now, "approved_by_id": actor.id,
                "accept_by": now + timedelta(days=settings.acceptance_days)},
    )
    if not moved:
        # Someone else approved or rejected it meanwhile: undo our reservations.
        db.session.rollback()
        raise conflict(proposal_id, "This exchange was changed by someone else meanwhile.")
    _supersede_unsatisfiable(proposal_id, list(quantities))
    proposal = db.session.get(Proposal, proposal_id)
    notify_participants(
        proposal_id,
        f"Your organisation is in {describe(proposal)} (proposal #{proposal_id}) waiting for "
        f"your acceptance until {deadline_text(proposal.accept_by)}.",
        exclude=actor,
    )
    emails.approved(proposal)
    db.session.flush()
    return proposal


def _supersede_unsatisfiable(approved_id: int, listing_ids: list[int]) -> list[int]:
    """Supersede every other proposed exchange that shares a listing with the
    approved one and can no longer be satisfied. Candidates go in id order
    (the lock order for proposal rows)."""
    if not listing_ids:
        return []
    candidates = db.session.execute(
        select(Proposal.id).distinct()
        .join(ProposalLeg, ProposalLeg.proposal_id == Proposal.id)
        .where(Proposal.status == ProposalStatus.PROPOSED, Proposal.id != approved_id,
               or_(ProposalLeg.offer_id.in_(listing_ids), ProposalLeg.need_id.in_(listing_ids)))
        .order_by(Proposal.id)
    ).scalars().all()
    superseded = []
    for candidate_id in candidates:
        needs = listing_quantities(candidate_id)
        available = reservations.unreserved_amounts(needs)
        short = [lid for lid, quantity in needs.items() if available.get(lid, 0) < quantity]
        if short and supersede(None, candidate_id,
                               f"Proposal #{approved_id} was approved and reserved listing "
                               f"#{short[0]}."):
            superseded.append(candidate_id)
    return superseded


def supersede(actor: User | None, proposal_id: int, reason: str) -> bool:
    """proposed → superseded (system): another approved exchange took its listings.
    Returns False when the proposal was no longer proposed."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("No such proposal.")
    if not move(proposal, Action.SUPERSEDE, ProposalStatus.PROPOSED,
                ProposalStatus.SUPERSEDED, actor, reason=reason, values=close_values(reason)):
        return False
    proposal = db.session.get(Proposal, proposal_id)
    notify_participants(proposal_id, f"Proposal #{proposal_id} is superseded: {reason}")
    emails.closed(proposal, "superseded", reason)
    return True


def reject(actor: User, proposal_id: int, reason: str) -> Proposal:
    """proposed → rejected by a coordinator, with a reason."""
    require(actor, "proposal.review")
    reason = clean_reason(reason, required=True)
    proposal = lock_proposal(proposal_id, listings=False)
    if proposal.status != ProposalStatus.PROPOSED or not move(
            proposal, Action.REJECT, ProposalStatus.PROPOSED, ProposalStatus.REJECTED, actor,
            reason=reason, values=close_values(reason)):
        raise conflict(proposal_id, f"This exchange is {proposal.status}; only a proposed "
                                    "exchange can be rejected.")
    db.session.flush()
    return db.session.get(Proposal, proposal_id)


def _participant_for(proposal: Proposal, actor: User) -> ProposalParticipant:
    for participant in proposal.participants:
        if participant.organisation_id == actor.organisation_id:
            return participant
    raise NotFound("No such proposal.")


def _member_proposal(actor: User, proposal_id: int, *, listings: bool) -> Proposal:
    require(actor, "proposal.answer")
    get_proposal(actor, proposal_id)  # 404 for a non-participant, before taking locks
    return lock_proposal(proposal_id, listings=listings)


def _refuse_if_past_deadline(proposal: Proposal) -> None:
    """An answer or a confirmation after the deadline is refused, and the expiry
    is recorded at once (in a fresh, committed transaction, as approve does for
    a superseded proposal) rather than waiting for the next sweep."""
    now = utcnow()
    deadline = (proposal.accept_by if proposal.status == ProposalStatus.APPROVED
                else proposal.deliver_by if proposal.status == ProposalStatus.AGREED else None)
    if deadline is None or deadline > now:
        return
    proposal_id = proposal.id
    db.session.rollback()
    expire(None, proposal_id, now=now)
    db.session.commit()
    raise conflict(proposal_id, f"Too late: the deadline ({deadline_text(deadline)}) has "
                                "passed and the exchange has expired.")


def _answer(actor: User, proposal_id: int, response: str, reason: str, *,
            listings: bool) -> tuple[Proposal, ProposalParticipant, datetime]:
    """Record the actor's organisation's answer to an approved exchange, once.

    The conditional UPDATE (still pending → answered) is the guard: a double
    click or a second member of the same organisation gets a 409.
    """
    verb = "accepted" if response == Response.ACCEPTED else "declined"
    proposal = _member_proposal(actor, proposal_id, listings=listings)
    if proposal.status != ProposalStatus.APPROVED:
        raise conflict(proposal_id, f"This exchange is {proposal.status}; only an approved "
                                    f"exchange can be {verb}.")
    _refuse_if_past_deadline(proposal)
    participant = _participant_for(proposal, actor)
    now = utcnow()
    result = db.session.execute(
        update(ProposalParticipant)
        .where(ProposalParticipant.id == participant.id,
               ProposalParticipant.response == Response.PENDING)
        .values(response=response, responded_by_id=actor.id, responded_at=now, reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise conflict(proposal_id, f"Your organisation already answered "
                                    f"({participant.response}).")
    return proposal, participant, now


def accept(actor: User, proposal_id: int, reason: str = "") -> Proposal:
    """A participant's member accepts for their organisation; when every
    organisation has accepted, approved → agreed and the delivery clock starts."""
    reason = clean_reason(reason, required=False)
    proposal, participant, now = _answer(actor, proposal_id, Response.ACCEPTED, reason,
                                         listings=False)
    db.session.expire(participant)
    org_name = participant.organisation.name
    waiting = [p.organisation.name for p in proposal.participants
               if p.response != Response.ACCEPTED]
    if waiting:
        record(proposal_id, Action.ACCEPT, ProposalStatus.APPROVED, ProposalStatus.APPROVED,
               actor, reason=reason, organisation_id=actor.organisation_id)
        notify_participants(
            proposal_id, f"{org_name} accepted proposal #{proposal_id}; still waiting on: "
                         f"{', '.join(waiting)}.", exclude=actor)
    else:
        settings = MarketSettings.current()
        if not move(proposal, Action.ACCEPT, ProposalStatus.APPROVED, ProposalStatus.AGREED,
                    actor, reason=reason, organisation_id=actor.organisation_id,
                    values={"deliver_by": now + timedelta(days=settings.delivery_days)}):
            raise conflict(proposal_id, "This exchange was changed by someone else meanwhile.")
        proposal = db.session.get(Proposal, proposal_id)
        notify_participants(
            proposal_id,
            f"Proposal #{proposal_id} is agreed: every organisation accepted. Deliver by "
            f"{deadline_text(proposal.deliver_by)}; each receiving organisation confirms receipt.",
            exclude=actor, also=[proposal.approved_by_id])
        emails.agreed(proposal)
    db.session.flush()
    return db.session.get(Proposal, proposal_id)


def decline(actor: User, proposal_id: int, reason: str) -> Proposal:
    """A participant declines for their organisation: approved → declined, the
    reservations are released and this exchange (its signature) is never
    proposed again."""
    reason = clean_reason(reason, required=True)
    proposal, participant, now = _answer(actor, proposal_id, Response.DECLINED, reason,
                                         listings=True)
    org_name = participant.organisation.name
    if not move(proposal, Action.DECLINE, ProposalStatus.APPROVED, ProposalStatus.DECLINED,
                actor, reason=reason, organisation_id=actor.organisation_id,
                values=close_values(f"Declined by {org_name}: {reason}")):
        raise conflict(proposal_id, "This exchange was changed by someone else meanwhile.")
    release(proposal_id)
    proposal = db.session.get(Proposal, proposal_id)
    notify_participants(
        proposal_id, f"{org_name} declined proposal #{proposal_id}: {reason}. "
                     "Reserved quantities were released.",
        exclude=actor, also=[proposal.approved_by_id])
    emails.closed(proposal, "declined", f"{org_name} declined it: {reason}", exclude=actor)
    db.session.flush()
    return proposal


def confirm_leg(actor: User, proposal_id: int, leg_id: int, reason: str = "") -> Proposal:
    """The receiving organisation of a leg confirms receipt. When every leg is
    confirmed, agreed → completed in the same transaction: the listings'
    quantities drop and the ledger entries are appended."""
    reason = clean_reason(reason, required=False)
    proposal = _member_proposal(actor, proposal_id, listings=True)
    leg = next((leg for leg in proposal.legs if leg.id == leg_id), None)
    if leg is None:
        raise NotFound("This proposal has no such leg.", errors={"leg": ["Unknown leg."]})
    if leg.receiver_id != actor.organisation_id:
        raise Forbidden("Only the receiving organisation confirms receipt of a leg.")
    if proposal.status != ProposalStatus.AGREED:
        raise conflict(proposal_id, f"This exchange is {proposal.status}; receipt is "
                                    "confirmed on an agreed exchange.")
    _refuse_if_past_deadline(proposal)
    now = utcnow()
    result = db.session.execute(
        update(ProposalLeg)
        .where(ProposalLeg.id == leg.id, ProposalLeg.confirmed_at.is_(None))
        .values(confirmed_at=now, confirmed_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise conflict(proposal_id, "This leg was already confirmed.")
    record(proposal_id, Action.CONFIRM, ProposalStatus.AGREED, ProposalStatus.AGREED, actor,
           reason=reason or f"Received leg {leg.position + 1}: {leg.quantity} "
                            f"{leg.currency.unit} of {leg.currency.name}.",
           organisation_id=actor.organisation_id)
    db.session.flush()
    db.session.expire_all()
    proposal = db.session.get(Proposal, proposal_id)
    unconfirmed = [leg for leg in proposal.legs if leg.confirmed_at is None]
    if unconfirmed:
        notify_participants(
            proposal_id, f"{actor.organisation.name} confirmed receipt on proposal "
                         f"#{proposal_id}; {len(unconfirmed)} leg(s) still to confirm.",
            exclude=actor)
        db.session.flush()
        return proposal
    return _complete(actor, proposal)


def _complete(actor: User, proposal: Proposal) -> Proposal:
    """agreed → completed: drop the listings' quantities, release the
    reservations, mark listings at zero fulfilled, append the ledger entries."""
    if not move(proposal, Action.COMPLETE, ProposalStatus.AGREED, ProposalStatus.COMPLETED,
                actor, reason="Every leg confirmed.",
                organisation_id=actor.organisation_id,
                values={"closed_at": utcnow()}):
        raise conflict(proposal.id, "This exchange was changed by someone else meanwhile.")
    reservations.consume(listing_quantities(proposal.id), holder="this exchange")
    db.session.flush()
    db.session.expire_all()
    proposal = db.session.get(Proposal, proposal.id)
    record_in_ledger(proposal, actor)
    notify_participants(
        proposal.id, f"Proposal #{proposal.id} is completed: every leg was confirmed and the "
                     "trades are recorded in the ledger.",
        exclude=actor, also=[proposal.approved_by_id])
    emails.completed(proposal)
    db.session.flush()
    return proposal


def cancel(actor: User, proposal_id: int, reason: str) -> Proposal:
    """A coordinator cancels a stalled exchange (approved or agreed), with a
    reason; its reservations are released."""
    require(actor, "proposal.review")
    reason = clean_reason(reason, required=True)
    proposal = lock_proposal(proposal_id, listings=True)
    current = proposal.status
    if current not in ProposalStatus.RESERVING or not move(
            proposal, Action.CANCEL, current, ProposalStatus.CANCELLED, actor, reason=reason,
            values=close_values(reason)):
        raise conflict(proposal_id, f"This exchange is {current}; only an approved or agreed "
                                    "exchange can be cancelled (reject a proposed one).")
    release(proposal_id)
    notify_participants(proposal_id, f"Proposal #{proposal_id} was cancelled by a coordinator: "
                                     f"{reason}", exclude=actor)
    proposal = db.session.get(Proposal, proposal_id)
    emails.closed(proposal, "cancelled", f"A coordinator cancelled it: {reason}",
                  exclude=actor)
    db.session.flush()
    return proposal
