"""The lifecycle services: each transition, its checks, its side effects."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.ledger.models import LedgerEntry
from app.market.models import Listing, ListingStatus
from app.notifications import services as notes
from app.notifications.models import Notification
from app.proposals import services
from app.proposals.models import (
    Action,
    Proposal,
    ProposalStatus,
    ProposalTransition,
    Response,
)
from app.proposals.services import create_proposals
from app.reporting.trust import completion_rates, trust_history
from tests.proposals.helpers import reload, result_for


def _reserved(*listings) -> list[int]:
    return [reload(Listing, listing.id).reserved for listing in listings]


def _agree(market, proposal):
    services.approve(market.coordinator, proposal.id)
    for name in "ABC":
        services.accept(market.members[name], proposal.id)
    db.session.commit()
    return reload(Proposal, proposal.id)


# --- creation --------------------------------------------------------------------------------

def test_create_proposals_copies_values_and_builds_participants(market, cycle):
    proposal = reload(Proposal, cycle.id)
    assert proposal.status == ProposalStatus.PROPOSED
    assert [leg.quantity for leg in proposal.legs] == [5, 5, 5]
    assert all(leg.unit_value == 100 and leg.value == 500 for leg in proposal.legs)
    assert [p.organisation_id for p in proposal.participants] == [
        market.orgs[n].id for n in "ABC"]
    assert all(p.value_given == 500 and p.value_received == 500 and p.fairness == 1.0
               for p in proposal.participants)
    assert json.loads(proposal.signature) == sorted(
        [str(leg.offer_id), str(leg.need_id)] for leg in proposal.legs)
    assert [t.action for t in proposal.transitions] == [Action.PROPOSE]


def test_an_open_exchange_is_not_proposed_twice(market, cycle):
    legs = [(market.offers["A"], market.needs["B"], 5), (market.offers["B"], market.needs["C"], 5),
            (market.offers["C"], market.needs["A"], 5)]
    # Same exchange, another rotation: same signature.
    outcome = create_proposals(result_for(legs[1:] + legs[:1]))
    assert outcome.created == [] and outcome.skipped_open == 1


def test_a_result_that_does_not_match_the_database_is_refused(market):
    bad = result_for([(market.offers["A"], market.needs["B"], 5)])
    bad["exchanges"][0]["legs"][0]["from"] = str(market.orgs["C"].id)
    with pytest.raises(ValueError):
        create_proposals(bad)
    swapped = result_for([(market.needs["B"], market.offers["A"], 5)])
    with pytest.raises(ValueError):
        create_proposals(swapped)


def test_chain_participants_at_the_ends_are_exempt_from_fairness(market, propose):
    chain = propose([(market.offers["A"], market.needs["B"], 3),
                     (market.offers["B"], market.needs["C"], 3)], kind="chain")
    fairness = [p.fairness for p in reload(Proposal, chain.id).participants]
    assert fairness == [None, 1.0, None]


# --- approve ---------------------------------------------------------------------------------

def test_approve_reserves_every_listing_and_notifies_participants(market, cycle):
    proposal = services.approve(market.coordinator, cycle.id, "looks good")
    db.session.commit()
    proposal = reload(Proposal, cycle.id)
    assert proposal.status == ProposalStatus.APPROVED
    assert proposal.approved_by_id == market.coordinator.id
    assert proposal.accept_by - proposal.approved_at == timedelta(days=14)
    assert _reserved(*market.offers.values(), *market.needs.values()) == [5] * 6
    last = proposal.transitions[-1]
    assert (last.action, last.from_status, last.to_status, last.actor_name, last.reason) == (
        Action.APPROVE, "proposed", "approved", market.coordinator.name, "looks good")
    for name in "ABC":
        assert notes.unread_count(market.members[name]) == 1
    assert notes.unread_count(market.members["D"]) == 0
    message = db.session.execute(db.select(Notification.message)).scalars().first()
    assert "3-way exchange" in message and "acceptance until" in message


def test_approving_twice_changes_nothing_the_second_time(market, cycle):
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        services.approve(market.coordinator, cycle.id)
    db.session.rollback()
    assert caught.value.payload["current_status"] == ProposalStatus.APPROVED
    assert _reserved(market.offers["A"]) == [5]
    assert len(reload(Proposal, cycle.id).transitions) == 2


def test_approve_fails_and_supersedes_when_a_listing_cannot_give(market, cycle):
    listing = reload(Listing, market.offers["B"].id)
    listing.remaining = 3  # someone else's exchange took most of it
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        services.approve(market.coordinator, cycle.id)
    db.session.rollback()
    assert caught.value.payload["current_status"] == ProposalStatus.SUPERSEDED
    assert reload(Proposal, cycle.id).status == ProposalStatus.SUPERSEDED
    # Nothing stays reserved, not even the listings before the short one.
    assert _reserved(*market.offers.values(), *market.needs.values()) == [0] * 6


def test_approve_refuses_a_withdrawn_listing(market, cycle):
    reload(Listing, market.needs["A"].id).status = ListingStatus.WITHDRAWN
    db.session.commit()
    with pytest.raises(Conflict):
        services.approve(market.coordinator, cycle.id)


def test_approval_supersedes_proposals_that_can_no_longer_be_satisfied(market, propose):
    first = propose([(market.offers["A"], market.needs["B"], 8),
                     (market.offers["B"], market.needs["A"], 8)])
    rival = propose([(market.offers["A"], market.needs["C"], 8),
                     (market.offers["C"], market.needs["A"], 2)])
    fits = propose([(market.offers["C"], market.needs["B"], 2),
                    (market.offers["B"], market.needs["C"], 2)])
    services.approve(market.coordinator, first.id)
    db.session.commit()
    assert reload(Proposal, rival.id).status == ProposalStatus.SUPERSEDED
    trail = reload(Proposal, rival.id).transitions[-1]
    assert trail.action == Action.SUPERSEDE and f"#{first.id}" in trail.reason
    assert reload(Proposal, fits.id).status == ProposalStatus.PROPOSED


# --- reject ----------------------------------------------------------------------------------

def test_reject_needs_a_reason_and_a_proposed_exchange(market, cycle):
    with pytest.raises(Invalid) as caught:
        services.reject(market.coordinator, cycle.id, "  ")
    assert "reason" in caught.value.errors
    services.reject(market.coordinator, cycle.id, "not this quarter")
    db.session.commit()
    proposal = reload(Proposal, cycle.id)
    assert proposal.status == ProposalStatus.REJECTED and proposal.closed_at is not None
    with pytest.raises(Conflict):
        services.reject(market.coordinator, cycle.id, "again")


# --- accept / decline ------------------------------------------------------------------------

def test_all_accept_makes_it_agreed(market, cycle):
    services.approve(market.coordinator, cycle.id)
    services.accept(market.members["A"], cycle.id)
    services.accept(market.members["B"], cycle.id, "fine by us")
    assert reload(Proposal, cycle.id).status == ProposalStatus.APPROVED
    services.accept(market.members["C"], cycle.id)
    db.session.commit()
    proposal = reload(Proposal, cycle.id)
    assert proposal.status == ProposalStatus.AGREED
    assert proposal.deliver_by is not None
    assert all(p.response == Response.ACCEPTED for p in proposal.participants)
    last = proposal.transitions[-1]
    assert (last.from_status, last.to_status, last.organisation_id) == (
        "approved", "agreed", market.orgs["C"].id)
    assert proposal.participants[1].reason == "fine by us"
    # Agreed and not yet settled: in progress, so the completion rate does not move.
    assert completion_rates([market.orgs["A"].id])[market.orgs["A"].id] == 1.0


def test_accept_checks_organisation_state_and_answers_once(market, cycle):
    with pytest.raises(Conflict):  # not approved yet
        services.accept(market.members["A"], cycle.id)
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    with pytest.raises(NotFound):
        services.accept(market.members["D"], cycle.id)
    with pytest.raises(Forbidden):
        services.accept(market.coordinator, cycle.id)
    services.accept(market.members["A"], cycle.id)
    db.session.commit()
    with pytest.raises(Conflict):
        services.accept(market.members["A"], cycle.id)


def test_decline_releases_and_the_exchange_is_never_proposed_again(market, cycle):
    from app.matching.snapshot import declined_signatures

    services.approve(market.coordinator, cycle.id)
    services.accept(market.members["A"], cycle.id)
    db.session.commit()
    with pytest.raises(Invalid):
        services.decline(market.members["B"], cycle.id, "")
    services.decline(market.members["B"], cycle.id, "no capacity")
    db.session.commit()
    proposal = reload(Proposal, cycle.id)
    assert proposal.status == ProposalStatus.DECLINED
    assert "no capacity" in proposal.status_reason
    assert _reserved(*market.offers.values(), *market.needs.values()) == [0] * 6
    assert declined_signatures() == [json.loads(proposal.signature)]
    legs = [(market.offers["A"], market.needs["B"], 5), (market.offers["B"], market.needs["C"], 5),
            (market.offers["C"], market.needs["A"], 5)]
    assert create_proposals(result_for(legs)).skipped_declined == 1
    with pytest.raises(Conflict):
        services.accept(market.members["C"], cycle.id)


# --- delivery --------------------------------------------------------------------------------

def test_confirming_every_leg_completes_drops_quantities_and_writes_the_ledger(market, cycle):
    proposal = _agree(market, cycle)
    legs = {leg.receiver_id: leg.id for leg in proposal.legs}
    with pytest.raises(Forbidden):  # A receives the last leg only
        services.confirm_leg(market.members["A"], cycle.id, legs[market.orgs["B"].id])
    services.confirm_leg(market.members["B"], cycle.id, legs[market.orgs["B"].id])
    services.confirm_leg(market.members["C"], cycle.id, legs[market.orgs["C"].id])
    db.session.commit()
    assert reload(Proposal, cycle.id).status == ProposalStatus.AGREED
    assert db.session.execute(db.select(db.func.count(LedgerEntry.id))).scalar_one() == 0
    services.confirm_leg(market.members["A"], cycle.id, legs[market.orgs["A"].id])
    db.session.commit()
    proposal = reload(Proposal, cycle.id)
    assert proposal.status == ProposalStatus.COMPLETED and proposal.closed_at is not None
    for listing in [*market.offers.values(), *market.needs.values()]:
        listing = reload(Listing, listing.id)
        assert (listing.remaining, listing.reserved, listing.status) == (5, 0, ListingStatus.OPEN)
    entries = db.session.execute(db.select(LedgerEntry).order_by(LedgerEntry.sequence)).scalars()
    assert [(e.proposal_id, e.quantity) for e in entries] == [(cycle.id, 5)] * 3
    actions = [t.action for t in proposal.transitions]
    assert actions.count(Action.CONFIRM) == 3 and actions[-1] == Action.COMPLETE
    assert completion_rates([market.orgs["B"].id])[market.orgs["B"].id] == 1.0
    history = trust_history(proposal)
    assert [(h["completed"], h["agreed"], h["completion_rate"]) for h in history] == [
        (1, 1, 1.0)] * 3
    assert history[0]["together"] == {"Org B": 1, "Org C": 1}


def test_a_listing_at_zero_becomes_fulfilled(market, propose):
    proposal = propose([(market.offers["A"], market.needs["B"], 10),
                        (market.offers["B"], market.needs["A"], 10)])
    services.approve(market.coordinator, proposal.id)
    services.accept(market.members["A"], proposal.id)
    services.accept(market.members["B"], proposal.id)
    db.session.commit()
    for leg in reload(Proposal, proposal.id).legs:
        receiver = market.members["A" if leg.receiver_id == market.orgs["A"].id else "B"]
        services.confirm_leg(receiver, proposal.id, leg.id)
    db.session.commit()
    for listing in (market.offers["A"], market.needs["B"], market.offers["B"], market.needs["A"]):
        listing = reload(Listing, listing.id)
        assert (listing.remaining, listing.status) == (0, ListingStatus.FULFILLED)


def test_confirming_a_leg_twice_or_before_agreement_is_refused(market, cycle):
    leg_id = reload(Proposal, cycle.id).legs[0].id
    with pytest.raises(Conflict):
        services.confirm_leg(market.members["B"], cycle.id, leg_id)
    _agree(market, cycle)
    services.confirm_leg(market.members["B"], cycle.id, leg_id)
    db.session.commit()
    with pytest.raises(Conflict):
        services.confirm_leg(market.members["B"], cycle.id, leg_id)
    with pytest.raises(NotFound):
        services.confirm_leg(market.members["B"], cycle.id, 999_999)


# --- cancel / expire -------------------------------------------------------------------------

def test_cancel_releases_an_approved_or_agreed_exchange(market, cycle, propose):
    with pytest.raises(Conflict):  # a proposed exchange is rejected, not cancelled
        services.cancel(market.coordinator, cycle.id, "stalled")
    _agree(market, cycle)
    with pytest.raises(Invalid):
        services.cancel(market.coordinator, cycle.id, "")
    with pytest.raises(Forbidden):
        services.cancel(market.admin, cycle.id, "stalled")
    services.cancel(market.coordinator, cycle.id, "stalled for months")
    db.session.commit()
    assert reload(Proposal, cycle.id).status == ProposalStatus.CANCELLED
    assert _reserved(*market.offers.values(), *market.needs.values()) == [0] * 6


def test_deadlines_expire_proposals(market, cycle, propose, runner):
    other = propose([(market.offers["A"], market.needs["C"], 2),
                     (market.offers["C"], market.needs["A"], 2)])
    services.approve(market.coordinator, cycle.id)
    services.approve(market.coordinator, other.id)
    db.session.commit()
    assert services.expire_due() == []
    # Each approval sets its own deadline from its own clock reading: past the later one,
    # both are due (on a loaded machine the two approvals can be over a second apart).
    later = max(reload(Proposal, cycle.id).accept_by,
                reload(Proposal, other.id).accept_by) + timedelta(seconds=1)
    assert services.expire_due(now=later) == [cycle.id, other.id]
    db.session.commit()
    assert reload(Proposal, cycle.id).status == ProposalStatus.EXPIRED
    assert _reserved(*market.offers.values(), *market.needs.values()) == [0] * 6
    trail = reload(Proposal, cycle.id).transitions[-1]
    assert (trail.action, trail.actor_name) == (Action.EXPIRE, "system")


def test_agreed_exchange_expires_after_delivery_deadline_via_cli(market, cycle, runner):
    _agree(market, cycle)
    proposal = reload(Proposal, cycle.id)
    proposal.deliver_by = proposal.deliver_by - timedelta(days=365)
    db.session.commit()
    result = runner.invoke(args=["proposals", "expire"])
    assert result.exit_code == 0, result.output
    assert f"#{cycle.id}" in result.output
    assert reload(Proposal, cycle.id).status == ProposalStatus.EXPIRED
    assert runner.invoke(args=["proposals", "expire"]).output.strip() == "Nothing to expire."


# --- notifications ---------------------------------------------------------------------------

def test_notifications_follow_each_step_and_can_be_marked_read(market, cycle):
    _agree(market, cycle)
    member = market.members["A"]
    # approved; B accepted; C accepted → agreed (A's own acceptance is not notified to A).
    assert notes.unread_count(member) == 3
    first = db.session.execute(notes.notifications_for(member)).scalars().first()
    notes.mark_read(member, first.id)
    assert notes.unread_count(member) == 2
    with pytest.raises(NotFound):
        notes.mark_read(market.members["B"], first.id)
    assert notes.mark_all_read(member) == 2
    assert notes.unread_count(member) == 0


def test_transitions_name_who_and_which_organisation(market, cycle):
    proposal = _agree(market, cycle)
    rows = db.session.execute(
        db.select(ProposalTransition).where(ProposalTransition.action == Action.ACCEPT)
        .order_by(ProposalTransition.id)).scalars().all()
    assert [(r.actor_id, r.organisation_id) for r in rows] == [
        (market.members[n].id, market.orgs[n].id) for n in "ABC"]
    assert proposal.transitions[0].action == Action.PROPOSE


def test_answering_after_the_deadline_expires_the_exchange(market, cycle):
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    proposal = reload(Proposal, cycle.id)
    proposal.accept_by = proposal.approved_at - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        services.accept(market.members["A"], cycle.id)
    db.session.rollback()
    assert caught.value.payload["current_status"] == ProposalStatus.EXPIRED
    assert reload(Proposal, cycle.id).status == ProposalStatus.EXPIRED  # recorded, not rolled back
    assert _reserved(*market.offers.values(), *market.needs.values()) == [0] * 6


def test_a_listing_past_its_end_date_cannot_be_reserved(market, cycle):
    from app.core.clock import today

    listing = reload(Listing, market.needs["B"].id)
    listing.available_from = today() - timedelta(days=30)
    listing.available_until = today() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(Conflict):
        services.approve(market.coordinator, cycle.id)
    db.session.rollback()
    assert reload(Proposal, cycle.id).status == ProposalStatus.SUPERSEDED
