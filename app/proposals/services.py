"""The proposal lifecycle: one service function per transition.

    proposed ──approve──▶ approved ──all accept──▶ agreed ──all legs confirmed──▶ completed
       ├──reject────▶ rejected    ├──decline──▶ declined   ├──cancel──▶ cancelled
       └──supersede─▶ superseded  ├──cancel───▶ cancelled  └──expire──▶ expired
                                  └──expire───▶ expired

Every function takes the acting user (None = the system), checks role,
organisation and state, changes rows with *conditional* UPDATEs (so a double
click, a replayed request or a race changes nothing twice), writes a
ProposalTransition and the participants' notifications, and flushes. The
caller (page, API endpoint, CLI command) commits once.

Concurrency. Reservations live on the listing, so the guard is there: approval
runs `UPDATE listings SET reserved = reserved + q WHERE id = ? AND status =
'open' AND remaining - reserved >= q` for each listing and checks the row
count; whichever transaction gets the row first wins and every other one sees
the new value. Every transaction that changes listings takes their row locks
first, in listing-id order, and the proposal rows after, so two transactions
never wait on each other in opposite orders (no deadlocks on PostgreSQL; on
SQLite every write transaction starts with BEGIN IMMEDIATE and they queue).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, or_, select, update

from app.auth.models import Role, User
from app.core.clock import today, utcnow
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.market.models import Listing, ListingKind, ListingStatus, MarketSettings
from app.proposals.models import (
    Action,
    ExchangeKind,
    MatchingRun,
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
    ProposalTransition,
    Response,
)
from app.proposals.notifications import notify_participants

log = logging.getLogger(__name__)

MAX_REASON = 1000


# ---------------------------------------------------------------- signatures

def canonical_signature(pairs: Iterable[Iterable]) -> str:
    """The stored form of an exchange's signature: its (offer, need) id pairs as
    strings, sorted, as compact JSON. The same exchange has the same signature
    whatever its rotation, and it is what the engine's `declined` setting takes."""
    normal = sorted([str(offer), str(need)] for offer, need in pairs)
    return json.dumps(normal, separators=(",", ":"))


def signature_pairs(signature: str) -> list[list[str]]:
    return json.loads(signature)


# ---------------------------------------------------------------- access

def _require_role(actor: User | None, *roles: str) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise Forbidden("You must be logged in.")
    if actor.role not in roles:
        raise Forbidden("Your role may not do this.")


def can_view(user: User | None, proposal: Proposal) -> bool:
    """Members see proposals involving their organisation; every other role sees all."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role != Role.MEMBER:
        return True
    return any(p.organisation_id == user.organisation_id for p in proposal.participants)


def visible_proposals(user: User):
    """A select of the proposals `user` may read."""
    statement = select(Proposal)
    if user.role == Role.MEMBER:
        statement = statement.where(Proposal.id.in_(
            select(ProposalParticipant.proposal_id).where(
                ProposalParticipant.organisation_id == user.organisation_id)
        ))
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
        statement = statement.where(Proposal.id.in_(
            select(ProposalParticipant.proposal_id).where(
                ProposalParticipant.organisation_id == organisation_id)
        ))
    if run_id is not None:
        statement = statement.where(Proposal.run_id == run_id)
    return statement.order_by(Proposal.id.desc())


def get_proposal(user: User, proposal_id: int) -> Proposal:
    """The proposal, if `user` may read it; otherwise NotFound (a member does not
    learn that another organisation's proposal exists)."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or not can_view(user, proposal):
        raise NotFound("No such proposal.")
    return proposal


def _clean_reason(reason: str | None, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise Invalid("A reason is required.", errors={"reason": ["Give a reason."]})
    if len(reason) > MAX_REASON:
        raise Invalid("The reason is too long.",
                      errors={"reason": [f"At most {MAX_REASON} characters."]})
    return reason


def _conflict(proposal_id: int, message: str) -> Conflict:
    """A 409 naming the proposal's current state (read afresh)."""
    current = db.session.execute(
        select(Proposal.status).where(Proposal.id == proposal_id)
    ).scalar_one_or_none()
    return Conflict(message, payload={"proposal_id": proposal_id, "current_status": current})


# ---------------------------------------------------------------- row helpers

def _listing_quantities(proposal_id: int) -> dict[int, int]:
    """Units each listing of the proposal moves (offer and need alike)."""
    totals: dict[int, int] = defaultdict(int)
    rows = db.session.execute(
        select(ProposalLeg.offer_id, ProposalLeg.need_id, ProposalLeg.quantity)
        .where(ProposalLeg.proposal_id == proposal_id)
    ).all()
    for offer_id, need_id, quantity in rows:
        totals[offer_id] += quantity
        totals[need_id] += quantity
    return dict(sorted(totals.items()))


def _lock(proposal_id: int, *, listings: bool) -> Proposal:
    """Lock the proposal's listings (id order) and then the proposal row, and
    return the proposal with everything read afresh."""
    db.session.flush()
    # Anything read earlier in this transaction may be stale once we hold the locks.
    db.session.expire_all()
    if listings:
        ids = list(_listing_quantities(proposal_id))
        if ids:
            db.session.execute(
                select(Listing.id).where(Listing.id.in_(ids)).order_by(Listing.id)
                .with_for_update()
            ).all()
    proposal = db.session.execute(
        select(Proposal).where(Proposal.id == proposal_id).with_for_update()
    ).scalar_one_or_none()
    if proposal is None:
        raise NotFound("No such proposal.")
    return proposal


def _record(proposal_id: int, action: str, from_status: str | None, to_status: str,
            actor: User | None, *, reason: str = "", organisation_id: int | None = None,
            actor_name: str | None = None) -> ProposalTransition:
    transition = ProposalTransition(
        proposal_id=proposal_id, action=action, from_status=from_status, to_status=to_status,
        actor_id=actor.id if actor is not None else None,
        actor_name=actor_name or (actor.name if actor is not None else "system"),
        organisation_id=organisation_id, reason=reason,
    )
    db.session.add(transition)
    return transition


def _move(proposal: Proposal, action: str, from_status: str, to_status: str,
          actor: User | None, *, reason: str = "", organisation_id: int | None = None,
          values: dict | None = None) -> bool:
    """Conditionally move the proposal from `from_status` to `to_status`.

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
    _record(proposal.id, action, from_status, to_status, actor, reason=reason,
            organisation_id=organisation_id)
    db.session.expire(proposal)
    return True


def _release(proposal_id: int) -> None:
    """Give back the quantities the proposal reserved on its listings."""
    for listing_id, quantity in _listing_quantities(proposal_id).items():
        result = db.session.execute(
            update(Listing)
            .where(Listing.id == listing_id, Listing.reserved >= quantity)
            .values(reserved=Listing.reserved - quantity, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # pragma: no cover - only a bug elsewhere could cause it
            log.error("Listing %s holds less than proposal %s reserved", listing_id, proposal_id)
            raise Conflict(f"Listing #{listing_id} does not hold the reservation of this "
                           "proposal; nothing was changed.")


def _settings() -> MarketSettings:
    return MarketSettings.current()


def _close_values(reason: str) -> dict:
    return {"closed_at": utcnow(), "status_reason": reason}


def _org_names(proposal: Proposal) -> dict[int, str]:
    return {p.organisation_id: p.organisation.name for p in proposal.participants}


def describe(proposal: Proposal) -> str:
    """The kind of exchange in words: "a reciprocal exchange", "a 3-way exchange",
    "a gift-started chain of 4 organisations"."""
    n = len(proposal.participants)
    if proposal.kind == ExchangeKind.CHAIN:
        return f"a gift-started chain of {n} organisations"
    if n == 2:
        return "a reciprocal exchange"
    return f"a {n}-way exchange"


def _date(value: datetime | None) -> str:
    return value.strftime("%d %b %Y") if value else "no deadline"


# ---------------------------------------------------------------- creation

@dataclass
class Creation:
    """What `create_proposals` did with an engine result."""

    created: list[Proposal] = field(default_factory=list)
    skipped_open: int = 0
    skipped_declined: int = 0


def create_proposals(run: MatchingRun | None, result: dict) -> Creation:
    """Store one proposal per exchange of an engine result (the interface's dicts).

    Legs copy the currency's value per unit *now*. An exchange whose signature
    is already open (proposed, approved or agreed) or was declined is skipped.
    Raises ValueError when the result does not match the database (unknown
    listing, giver not owning the offer…): the run then fails as a whole.
    """
    _settings()  # make sure the row exists before we lock it
    # Serialise proposal writing across concurrent runs: the open-signature check
    # below and the inserts must not interleave (the partial unique index backs it).
    db.session.execute(
        select(MarketSettings.id).where(MarketSettings.id == 1).with_for_update()).all()
    exchanges = result.get("exchanges") or []
    listing_ids: set[int] = set()
    for exchange in exchanges:
        for leg in exchange.get("legs") or []:
            listing_ids.update((int(leg["offer"]), int(leg["need"])))
    listings = {
        listing.id: listing for listing in db.session.execute(
            select(Listing).where(Listing.id.in_(listing_ids))).scalars()
    } if listing_ids else {}
    open_signatures = set(db.session.execute(
        select(Proposal.signature).where(Proposal.status.in_(ProposalStatus.OPEN))).scalars())
    declined_signatures = set(db.session.execute(
        select(Proposal.signature).where(Proposal.status == ProposalStatus.DECLINED)).scalars())

    outcome = Creation()
    actor = run.started_by if run is not None else None
    actor_name = run.started_by_name if run is not None and run.started_by_name else None
    for exchange in exchanges:
        legs = exchange.get("legs") or []
        if not legs:
            raise ValueError("An exchange without legs.")
        signature = canonical_signature((leg["offer"], leg["need"]) for leg in legs)
        if signature in declined_signatures:
            outcome.skipped_declined += 1
            continue
        if signature in open_signatures:
            outcome.skipped_open += 1
            continue
        kind = exchange.get("kind")
        if kind not in ExchangeKind.ALL:
            raise ValueError(f"Unknown exchange kind {kind!r}.")
        proposal = Proposal(
            run_id=run.id if run is not None else None, kind=kind,
            status=ProposalStatus.PROPOSED, signature=signature,
            weight=float(exchange.get("weight") or 0.0),
            fairness=exchange.get("fairness"),
            expected_completion=exchange.get("expected_completion"),
            explanation={k: exchange[k] for k in ("nodes", "weight", "fairness",
                                                  "expected_completion", "participants")
                         if k in exchange},
        )
        given: dict[int, Decimal] = defaultdict(Decimal)
        received: dict[int, Decimal] = defaultdict(Decimal)
        for position, leg in enumerate(legs):
            offer = listings.get(int(leg["offer"]))
            need = listings.get(int(leg["need"]))
            if offer is None or need is None:
                raise ValueError(f"Unknown listing in leg {leg!r}.")
            if offer.kind != ListingKind.OFFER or need.kind != ListingKind.NEED:
                raise ValueError(f"Leg {position}: offer/need kinds do not match.")
            if offer.currency_id != need.currency_id:
                raise ValueError(f"Leg {position}: offer and need use different currencies.")
            if "from" in leg and str(leg["from"]) != str(offer.organisation_id):
                raise ValueError(f"Leg {position}: the giver does not own the offer.")
            if "to" in leg and str(leg["to"]) != str(need.organisation_id):
                raise ValueError(f"Leg {position}: the receiver does not own the need.")
            quantity = int(leg["quantity"])
            if quantity <= 0:
                raise ValueError(f"Leg {position}: quantity must be positive.")
            unit_value = Decimal(offer.currency.value_per_unit)
            value = unit_value * quantity
            proposal.legs.append(ProposalLeg(
                position=position, giver_id=offer.organisation_id,
                receiver_id=need.organisation_id, offer_id=offer.id, need_id=need.id,
                currency_id=offer.currency_id, quantity=quantity, unit_value=unit_value,
                value=value,
            ))
            given[offer.organisation_id] += value
            received[need.organisation_id] += value
        order = [int(node) for node in exchange.get("nodes") or []]
        for org_id in [*given, *received]:
            if org_id not in order:
                order.append(org_id)
        for position, org_id in enumerate(order):
            proposal.participants.append(ProposalParticipant(
                organisation_id=org_id, position=position,
                value_given=given.get(org_id, Decimal(0)),
                value_received=received.get(org_id, Decimal(0)),
            ))
        db.session.add(proposal)
        db.session.flush()
        _record(proposal.id, Action.PROPOSE, None, ProposalStatus.PROPOSED, actor,
                actor_name=actor_name,
                reason=f"Matching run #{run.id}" if run is not None else "")
        open_signatures.add(signature)
        outcome.created.append(proposal)
    db.session.flush()
    return outcome


# ---------------------------------------------------------------- transitions

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
    _require_role(actor, Role.COORDINATOR)
    reason = _clean_reason(reason, required=False)
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("No such proposal.")
    if proposal.status != ProposalStatus.PROPOSED:
        raise _conflict(proposal_id, f"This exchange is {proposal.status}; only a proposed "
                                     "exchange can be approved.")
    quantities = _listing_quantities(proposal_id)
    settings = _settings()
    now = utcnow()
    short: int | None = None
    for listing_id, quantity in quantities.items():  # id order: the lock order
        result = db.session.execute(
            update(Listing)
            .where(Listing.id == listing_id, Listing.status == ListingStatus.OPEN,
                   Listing.remaining - Listing.reserved >= quantity,
                   or_(Listing.available_until.is_(None), Listing.available_until >= today()))
            .values(reserved=Listing.reserved + quantity, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            short = listing_id
            break
    if short is not None:
        db.session.rollback()
        why = (f"Listing #{short} can no longer give what this exchange needs "
               "(reserved by another approved exchange, fulfilled, withdrawn or ended).")
        supersede(None, proposal_id, why)
        db.session.commit()
        raise _conflict(proposal_id, "Not approved: " + why + " The proposal is superseded.")
    moved = _move(
        proposal, Action.APPROVE, ProposalStatus.PROPOSED, ProposalStatus.APPROVED, actor,
        reason=reason,
        values={"approved_at": now, "approved_by_id": actor.id,
                "accept_by": now + timedelta(days=settings.acceptance_days)},
    )
    if not moved:
        # Someone else approved or rejected it meanwhile: undo our reservations.
        db.session.rollback()
        raise _conflict(proposal_id, "This exchange was changed by someone else meanwhile.")
    _supersede_unsatisfiable(proposal_id, list(quantities))
    proposal = db.session.get(Proposal, proposal_id)
    notify_participants(
        proposal_id,
        f"Your organisation is in {describe(proposal)} (proposal #{proposal_id}) waiting for "
        f"your acceptance until {_date(proposal.accept_by)}.",
        exclude=actor,
    )
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
        needs = _listing_quantities(candidate_id)
        available = dict(db.session.execute(
            select(Listing.id, case(
                ((Listing.status == ListingStatus.OPEN)
                 & or_(Listing.available_until.is_(None), Listing.available_until >= today()),
                 Listing.remaining - Listing.reserved), else_=0))
            .where(Listing.id.in_(list(needs)))
        ).all())
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
    return _move(proposal, Action.SUPERSEDE, ProposalStatus.PROPOSED,
                 ProposalStatus.SUPERSEDED, actor, reason=reason,
                 values=_close_values(reason))


def reject(actor: User, proposal_id: int, reason: str) -> Proposal:
    """proposed → rejected by a coordinator, with a reason."""
    _require_role(actor, Role.COORDINATOR)
    reason = _clean_reason(reason, required=True)
    proposal = _lock(proposal_id, listings=False)
    if proposal.status != ProposalStatus.PROPOSED or not _move(
            proposal, Action.REJECT, ProposalStatus.PROPOSED, ProposalStatus.REJECTED, actor,
            reason=reason, values=_close_values(reason)):
        raise _conflict(proposal_id, f"This exchange is {proposal.status}; only a proposed "
                                     "exchange can be rejected.")
    db.session.flush()
    return db.session.get(Proposal, proposal_id)


def _participant_for(proposal: Proposal, actor: User) -> ProposalParticipant:
    for participant in proposal.participants:
        if participant.organisation_id == actor.organisation_id:
            return participant
    raise NotFound("No such proposal.")


def _member_proposal(actor: User, proposal_id: int, *, listings: bool) -> Proposal:
    _require_role(actor, Role.MEMBER)
    get_proposal(actor, proposal_id)  # 404 for a non-participant, before taking locks
    return _lock(proposal_id, listings=listings)


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
    raise _conflict(proposal_id, f"Too late: the deadline ({_date(deadline)}) has passed and "
                                 "the exchange has expired.")


def _answer(actor: User, proposal_id: int, response: str, reason: str, *,
            listings: bool) -> tuple[Proposal, ProposalParticipant, datetime]:
    """Record the actor's organisation's answer to an approved exchange, once.

    The conditional UPDATE (still pending → answered) is the guard: a double
    click or a second member of the same organisation gets a 409.
    """
    verb = "accepted" if response == Response.ACCEPTED else "declined"
    proposal = _member_proposal(actor, proposal_id, listings=listings)
    if proposal.status != ProposalStatus.APPROVED:
        raise _conflict(proposal_id, f"This exchange is {proposal.status}; only an approved "
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
        raise _conflict(proposal_id, f"Your organisation already answered "
                                     f"({participant.response}).")
    return proposal, participant, now


def accept(actor: User, proposal_id: int, reason: str = "") -> Proposal:
    """A participant's member accepts for their organisation; when every
    organisation has accepted, approved → agreed and the delivery clock starts."""
    reason = _clean_reason(reason, required=False)
    proposal, participant, now = _answer(actor, proposal_id, Response.ACCEPTED, reason,
                                         listings=False)
    db.session.expire(participant)
    org_name = participant.organisation.name
    waiting = [p.organisation.name for p in proposal.participants
               if p.response != Response.ACCEPTED]
    if waiting:
        _record(proposal_id, Action.ACCEPT, ProposalStatus.APPROVED, ProposalStatus.APPROVED,
                actor, reason=reason, organisation_id=actor.organisation_id)
        notify_participants(
            proposal_id, f"{org_name} accepted proposal #{proposal_id}; still waiting on: "
                         f"{', '.join(waiting)}.", exclude=actor)
    else:
        settings = _settings()
        if not _move(proposal, Action.ACCEPT, ProposalStatus.APPROVED, ProposalStatus.AGREED,
                     actor, reason=reason, organisation_id=actor.organisation_id,
                     values={"deliver_by": now + timedelta(days=settings.delivery_days)}):
            raise _conflict(proposal_id, "This exchange was changed by someone else meanwhile.")
        proposal = db.session.get(Proposal, proposal_id)
        notify_participants(
            proposal_id,
            f"Proposal #{proposal_id} is agreed: every organisation accepted. Deliver by "
            f"{_date(proposal.deliver_by)}; each receiving organisation confirms receipt.",
            exclude=actor, also=[proposal.approved_by_id])
    db.session.flush()
    return db.session.get(Proposal, proposal_id)


def decline(actor: User, proposal_id: int, reason: str) -> Proposal:
    """A participant declines for their organisation: approved → declined, the
    reservations are released and this exchange (its signature) is never
    proposed again."""
    reason = _clean_reason(reason, required=True)
    proposal, participant, now = _answer(actor, proposal_id, Response.DECLINED, reason,
                                         listings=True)
    org_name = participant.organisation.name
    if not _move(proposal, Action.DECLINE, ProposalStatus.APPROVED, ProposalStatus.DECLINED,
                 actor, reason=reason, organisation_id=actor.organisation_id,
                 values=_close_values(f"Declined by {org_name}: {reason}")):
        raise _conflict(proposal_id, "This exchange was changed by someone else meanwhile.")
    _release(proposal_id)
    proposal = db.session.get(Proposal, proposal_id)
    notify_participants(
        proposal_id, f"{org_name} declined proposal #{proposal_id}: {reason}. "
                     "Reserved quantities were released.",
        exclude=actor, also=[proposal.approved_by_id])
    db.session.flush()
    return proposal


def confirm_leg(actor: User, proposal_id: int, leg_id: int, reason: str = "") -> Proposal:
    """The receiving organisation of a leg confirms receipt. When every leg is
    confirmed, agreed → completed in the same transaction: the listings'
    quantities drop and the ledger entries are appended."""
    reason = _clean_reason(reason, required=False)
    proposal = _member_proposal(actor, proposal_id, listings=True)
    leg = next((leg for leg in proposal.legs if leg.id == leg_id), None)
    if leg is None:
        raise NotFound("This proposal has no such leg.", errors={"leg": ["Unknown leg."]})
    if leg.receiver_id != actor.organisation_id:
        raise Forbidden("Only the receiving organisation confirms receipt of a leg.")
    if proposal.status != ProposalStatus.AGREED:
        raise _conflict(proposal_id, f"This exchange is {proposal.status}; receipt is "
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
        raise _conflict(proposal_id, "This leg was already confirmed.")
    _record(proposal_id, Action.CONFIRM, ProposalStatus.AGREED, ProposalStatus.AGREED, actor,
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
    if not _move(proposal, Action.COMPLETE, ProposalStatus.AGREED, ProposalStatus.COMPLETED,
                 actor, reason="Every leg confirmed.",
                 organisation_id=actor.organisation_id,
                 values={"closed_at": utcnow()}):
        raise _conflict(proposal.id, "This exchange was changed by someone else meanwhile.")
    for listing_id, quantity in _listing_quantities(proposal.id).items():
        result = db.session.execute(
            update(Listing)
            .where(Listing.id == listing_id, Listing.reserved >= quantity,
                   Listing.remaining >= quantity)
            .values(
                remaining=Listing.remaining - quantity,
                reserved=Listing.reserved - quantity,
                # Right-hand sides read the old row: at zero, the listing is fulfilled.
                status=case((Listing.remaining - quantity == 0, ListingStatus.FULFILLED),
                            else_=Listing.status),
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # pragma: no cover - only a bug elsewhere could cause it
            raise Conflict(f"Listing #{listing_id} no longer holds this exchange's "
                           "reservation; nothing was changed.")
    db.session.flush()
    db.session.expire_all()
    proposal = db.session.get(Proposal, proposal.id)
    # The ledger is another feature; imported here so this module loads without it.
    from app.ledger.services import append_trade_entries

    append_trade_entries(proposal, actor)
    notify_participants(
        proposal.id, f"Proposal #{proposal.id} is completed: every leg was confirmed and the "
                     "trades are recorded in the ledger.",
        exclude=actor, also=[proposal.approved_by_id])
    db.session.flush()
    return proposal


def cancel(actor: User, proposal_id: int, reason: str) -> Proposal:
    """A coordinator cancels a stalled exchange (approved or agreed), with a
    reason; its reservations are released."""
    _require_role(actor, Role.COORDINATOR)
    reason = _clean_reason(reason, required=True)
    proposal = _lock(proposal_id, listings=True)
    current = proposal.status
    if current not in ProposalStatus.RESERVING or not _move(
            proposal, Action.CANCEL, current, ProposalStatus.CANCELLED, actor, reason=reason,
            values=_close_values(reason)):
        raise _conflict(proposal_id, f"This exchange is {current}; only an approved or agreed "
                                     "exchange can be cancelled (reject a proposed one).")
    _release(proposal_id)
    notify_participants(proposal_id, f"Proposal #{proposal_id} was cancelled by a coordinator: "
                                     f"{reason}", exclude=actor)
    db.session.flush()
    return db.session.get(Proposal, proposal_id)


def expire(actor: User | None, proposal_id: int, now: datetime | None = None) -> bool:
    """approved past its acceptance deadline, or agreed past its delivery
    deadline → expired (system); reservations released. False if not due."""
    now = now or utcnow()
    proposal = _lock(proposal_id, listings=True)
    current = proposal.status
    if current == ProposalStatus.APPROVED:
        deadline, what = proposal.accept_by, "acceptance"
    elif current == ProposalStatus.AGREED:
        deadline, what = proposal.deliver_by, "delivery"
    else:
        return False
    if deadline is None or deadline > now:
        return False
    reason = f"The {what} deadline ({_date(deadline)}) passed."
    if not _move(proposal, Action.EXPIRE, current, ProposalStatus.EXPIRED, actor, reason=reason,
                 values=_close_values(reason)):
        return False
    _release(proposal_id)
    proposal = db.session.get(Proposal, proposal_id)
    notify_participants(proposal_id, f"Proposal #{proposal_id} expired: {reason}",
                        also=[proposal.approved_by_id])
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


# ---------------------------------------------------------------- reading

@dataclass
class Waiting:
    proposal: Proposal
    what: str
    by: datetime | None


def waiting_on(user: User) -> list[Waiting]:
    """What the user's organisation (member) or the user (coordinator) must do next."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    items: list[Waiting] = []
    if user.role == Role.MEMBER:
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
    elif user.role == Role.COORDINATOR:
        to_review = db.session.execute(
            select(Proposal).where(Proposal.status == ProposalStatus.PROPOSED)
            .order_by(Proposal.id).limit(50)
        ).scalars().all()
        items += [Waiting(p, "Review", None) for p in to_review]
    return items


def trust_history(proposal: Proposal) -> list[dict]:
    """Each participant's record so far, from the ledger's trust figures
    (app.ledger.trust.history_for, the same definitions and completion rate the
    matcher used): exchanges completed, agreed, completion rate, declines,
    cancellations, expiries, last exchange, and how many exchanges it completed
    with each other participant."""
    from app.ledger.trust import history_for

    org_ids = [p.organisation_id for p in proposal.participants]
    history = history_for(org_ids)
    expired = dict(db.session.execute(
        select(ProposalParticipant.organisation_id, db.func.count())
        .join(Proposal, Proposal.id == ProposalParticipant.proposal_id)
        .where(ProposalParticipant.organisation_id.in_(org_ids),
               Proposal.status == ProposalStatus.EXPIRED)
        .group_by(ProposalParticipant.organisation_id)
    ).all())
    names = _org_names(proposal)
    rows = []
    for org_id in org_ids:
        figures = history[org_id]
        rows.append({
            "organisation_id": org_id,
            "organisation": names[org_id],
            "completion_rate": figures.completion_rate,
            "agreed": figures.agreed,
            "completed": figures.exchanges_completed,
            "declined": figures.declines,
            "cancelled": figures.cancellations,
            "expired": int(expired.get(org_id, 0)),
            "last_exchange": figures.last_exchange,
            "together": {names[other]: n for other, n in figures.together.items()
                         if other in names},
        })
    return rows
