"""Turning an engine result into proposals: one per exchange, with its legs and
participants, each recorded as proposed on the audit trail.

Invariants: legs copy the currency's value per unit at creation; an exchange whose
signature is already open or was declined is skipped (the partial unique index on
open signatures backs this, and concurrent runs are serialised on the market
settings row); a result that does not match the database raises ValueError and
the caller's savepoint discards everything. Flushes; never commits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.market.models import Listing, ListingKind, MarketSettings
from app.proposals.models import (
    Action,
    ExchangeKind,
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
)
from app.proposals.signatures import canonical_signature
from app.proposals.steps import record


@dataclass
class Creation:
    """What `create_proposals` did with an engine result."""

    created: list[Proposal] = field(default_factory=list)
    skipped_open: int = 0
    skipped_declined: int = 0


def create_proposals(result: dict, *, run_id: int | None = None, actor: User | None = None,
                     actor_name: str | None = None) -> Creation:
    """Store one proposal per exchange of an engine result (the interface's dicts).

    `run_id` names the matching run that found them (None: none, e.g. the demo's
    history); `actor` (and `actor_name`, a copy kept on the audit trail) is who
    started it (None: the system).

    Legs copy the currency's value per unit *now*. An exchange whose signature
    is already open (proposed, approved or agreed) or was declined is skipped.
    Raises ValueError when the result does not match the database (unknown
    listing, giver not owning the offer…): the run then fails as a whole.
    """
    MarketSettings.current()  # make sure the row exists before we lock it
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
            run_id=run_id, kind=kind,
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
        record(proposal.id, Action.PROPOSE, None, ProposalStatus.PROPOSED, actor,
               actor_name=actor_name,
               reason=f"Matching run #{run_id}" if run_id is not None else "")
        open_signatures.add(signature)
        outcome.created.append(proposal)
    db.session.flush()
    return outcome
