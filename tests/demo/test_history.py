"""The demo's past exchanges: recorded through the real services at past moments,
a ledger that verifies and matches the completed proposals, a record uneven
enough for the trust figures to differ, and a current market left intact."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from app.auth.models import Role, User
from app.core.clock import utcnow
from app.demo import data
from app.demo.history_data import HISTORY, Outcome
from app.demo.seed import planted_exchanges
from app.extensions import db
from app.ledger.models import EntryKind, LedgerEntry
from app.market.models import Listing, ListingStatus, Organisation
from app.matching.services import start_run
from app.notifications.models import Notification
from app.proposals import services as proposals
from app.proposals.models import (
    Action,
    Proposal,
    ProposalStatus,
    ProposalTransition,
)
from app.proposals.services import canonical_signature
from app.reporting import trust
from app.reporting.audit import verify_ledger


def _user(email: str) -> User:
    return db.session.execute(db.select(User).where(User.email == email)).scalar_one()


def _member(slug: str) -> User:
    return _user(f"{slug}@{data.EMAIL_DOMAIN}")


def _org_ids() -> dict[str, int]:
    return dict(db.session.execute(db.select(Organisation.slug, Organisation.id)).all())


def _past(seeded) -> dict[str, Proposal]:
    return {key: db.session.get(Proposal, pid)
            for key, pid in seeded.history.proposal_ids.items()}


def test_history_shape_and_outcomes(seeded):
    past = _past(seeded)
    assert 12 <= len(past) == len(HISTORY) <= 20
    for spec in HISTORY:
        proposal = past[spec.key]
        assert proposal.status == spec.outcome, spec.key
        assert proposal.kind == spec.kind and len(proposal.legs) == len(spec.legs)
        assert proposal.run_id is None and proposal.explanation["nodes"]
    outcomes = Counter(spec.outcome for spec in HISTORY)
    assert seeded.history.outcomes == dict(outcomes)
    assert outcomes[Outcome.COMPLETED] > len(HISTORY) / 2
    assert outcomes[Outcome.CANCELLED] == outcomes[Outcome.EXPIRED] == 1
    assert outcomes[Outcome.DECLINED] >= 2
    completed = [past[s.key] for s in HISTORY if s.outcome == Outcome.COMPLETED]
    sizes = Counter((p.kind, len(p.participants)) for p in completed)
    assert sizes[("cycle", 2)] and sizes[("cycle", 3)] and sizes[("chain", 4)] == 1


def test_every_step_went_through_the_services_as_the_right_people(seeded):
    org_ids = _org_ids()
    coordinators = {u.id for u in db.session.execute(
        db.select(User).where(User.role == Role.COORDINATOR)).scalars()}
    for spec in HISTORY:
        proposal = db.session.get(Proposal, seeded.history.proposal_ids[spec.key])
        trail = proposal.transitions
        actions = [t.action for t in trail]
        assert actions[:2] == [Action.PROPOSE, Action.APPROVE], spec.key
        assert trail[1].actor_id in coordinators
        accepts = [t for t in trail if t.action == Action.ACCEPT]
        for t in accepts:  # members answer for their own organisation only
            assert db.session.get(User, t.actor_id).organisation_id == t.organisation_id
        if spec.outcome == Outcome.DECLINED:
            assert actions[-1] == Action.DECLINE
            assert trail[-1].organisation_id == org_ids[spec.decliner]
            assert trail[-1].reason == spec.reason
        elif spec.outcome == Outcome.CANCELLED:
            assert actions[-1] == Action.CANCEL and trail[-1].actor_id in coordinators
        elif spec.outcome == Outcome.EXPIRED:
            assert actions[-1] == Action.EXPIRE and trail[-1].actor_id is None
        else:
            assert actions[-1] == Action.COMPLETE
            assert all(leg.confirmed_by.organisation_id == leg.receiver_id
                       for leg in proposal.legs)
        if spec.outcome in (Outcome.CANCELLED, Outcome.EXPIRED):
            confirmed = [leg.position for leg in proposal.legs if leg.confirmed_at]
            assert confirmed == list(spec.delivered)
            assert ProposalStatus.AGREED in {t.to_status for t in trail}
    # Members read the history's notifications long ago: nothing is left unread.
    assert db.session.execute(db.select(db.func.count(Notification.id)).where(
        Notification.read_at.is_(None))).scalar_one() == 0


def test_ledger_verifies_and_matches_the_completed_proposals(seeded):
    result = verify_ledger(None)
    assert result.ok, result.problems
    entries = db.session.execute(
        db.select(LedgerEntry).order_by(LedgerEntry.sequence)).scalars().all()
    assert result.count == len(entries) == seeded.history.ledger_entries
    completed = db.session.execute(db.select(Proposal).where(
        Proposal.status == ProposalStatus.COMPLETED)).scalars().all()
    assert len(entries) == sum(len(p.legs) for p in completed)
    by_leg = {entry.leg_id: entry for entry in entries}
    for proposal in completed:
        for leg in proposal.legs:
            entry = by_leg[leg.id]
            assert (entry.kind, entry.proposal_id, entry.giver_id, entry.receiver_id) == (
                EntryKind.TRADE, proposal.id, leg.giver_id, leg.receiver_id)
            assert (entry.quantity, entry.value) == (leg.quantity, leg.value)
            assert entry.confirmed_by_id == leg.confirmed_by_id
            # Recorded when the last leg was confirmed: the moment the exchange completed.
            assert entry.recorded_at == proposal.closed_at == max(
                other.confirmed_at for other in proposal.legs)
    assert not {e.proposal_id for e in entries} - {p.id for p in completed}


def test_history_is_backdated_in_time_order(seeded):
    now = utcnow()
    entries = db.session.execute(
        db.select(LedgerEntry.recorded_at).order_by(LedgerEntry.sequence)).scalars().all()
    assert entries == sorted(entries)  # sequence order is time order
    assert entries[-1] < now - timedelta(days=3)
    months = {(moment.year, moment.month) for moment in entries}
    assert len(months) >= 8
    assert entries[-1] - entries[0] >= timedelta(days=240)
    assert now - entries[0] <= timedelta(days=335)  # about the previous ten months
    # The audit trail and the proposals are chronological too, and all in the past.
    trail = db.session.execute(
        db.select(ProposalTransition.created_at).order_by(ProposalTransition.id)
    ).scalars().all()
    assert trail == sorted(trail) and trail[-1] < now
    for proposal in _past(seeded).values():
        assert proposal.created_at < proposal.approved_at < (proposal.closed_at or now) < now
        assert proposal.transitions[0].created_at == proposal.created_at
    assert seeded.history.months >= 10


def test_history_listings_are_closed_and_not_in_the_market(seeded):
    planted = set(seeded.listing_ids.values())
    past = db.session.execute(
        db.select(Listing).where(Listing.id.not_in(planted))).scalars().all()
    assert len(past) == seeded.history.listings == 2 * sum(len(s.legs) for s in HISTORY)
    assert {listing.status for listing in past} == {ListingStatus.FULFILLED,
                                                    ListingStatus.WITHDRAWN}
    assert all(listing.reserved == 0 for listing in past)
    for listing in past:
        assert (listing.remaining == 0) == (listing.status == ListingStatus.FULFILLED)
        assert listing.created_at < utcnow() - timedelta(days=30)
    # Their titles never shadow the current market's (planted_exchanges looks up by title).
    assert not {item.title for item in data.LISTINGS} & {listing.title for listing in past}
    assert planted_exchanges() == planted_exchanges(seeded.listing_ids)
    current = db.session.execute(db.select(Listing).where(Listing.id.in_(planted))).scalars()
    assert all(listing.status == ListingStatus.OPEN and listing.reserved == 0
               for listing in current)


def test_completion_rates_and_trust_pages_differ(seeded, client, login):
    org_ids = _org_ids()
    rates = trust.completion_rates(org_ids.values())
    by_slug = {slug: rates[org_id] for slug, org_id in org_ids.items()}
    assert by_slug["eastmoor-dc"] < 0.7 and by_slug["saltbay-pcn"] < 0.7
    assert by_slug["nsh-hospitals"] == by_slug["nsh-ambulance"] == 1.0
    assert min(by_slug.values()) < 1.0 == max(by_slug.values())
    eastmoor = trust.organisation_trust(db.session.get(Organisation, org_ids["eastmoor-dc"]))
    assert (eastmoor.exchanges_completed, eastmoor.declines, eastmoor.cancellations) == (1, 1, 1)
    saltbay = trust.organisation_trust(db.session.get(Organisation, org_ids["saltbay-pcn"]))
    assert saltbay.expiries == 1 and saltbay.completed == 1 and saltbay.agreed == 2
    ambulance = trust.organisation_trust(db.session.get(Organisation, org_ids["nsh-ambulance"]))
    assert ambulance.exchanges_completed == 3 and ambulance.distinct_partners >= 3
    # Every demo organisation has a record to show.
    network = trust.network()
    assert len(network.nodes) == len(data.ORGANISATIONS) and network.edges

    login(_user(f"auditor@{data.EMAIL_DOMAIN}"))
    page = client.get(f"/trust/organisations/{org_ids['eastmoor-dc']}").get_data(as_text=True)
    assert "67%" in page and "1 / 1 / 0" in page and 'data-testid="exchanges-over-time"' in page
    workspace = client.get("/ledger/").get_data(as_text=True)
    assert f"{seeded.history.ledger_entries} entries" in workspace
    assert workspace.count('class="bar bar-value"') >= 8


def test_planted_exchanges_are_still_proposed_and_completable(seeded):
    """A fresh run over the market with its history proposes all six planted
    exchanges; the one with the weakest record (Eastmoor's T2) still completes,
    and the ledger keeps verifying, its new entries after the history's."""
    coordinator = _user(f"coordinator@{data.EMAIL_DOMAIN}")
    run = start_run(coordinator, {})
    db.session.commit()
    assert run.status == "completed", run.error
    by_signature = {p.signature: p for p in run.proposals}
    planted = {e["name"]: e for e in planted_exchanges(seeded.listing_ids)}
    for name, exchange in planted.items():
        assert canonical_signature(exchange["legs"]) in by_signature, name
    t2 = by_signature[canonical_signature(planted["T2"]["legs"])]
    assert t2.expected_completion < 1.0  # Eastmoor's record shows in the proposal
    proposals.approve(coordinator, t2.id, "good fit")
    for participant in t2.participants:
        proposals.accept(_member(participant.organisation.slug), t2.id)
    for leg in db.session.get(Proposal, t2.id).legs:
        proposals.confirm_leg(_member(leg.receiver.slug), t2.id, leg.id)
    db.session.commit()
    assert db.session.get(Proposal, t2.id).status == ProposalStatus.COMPLETED
    assert verify_ledger(None).ok
    times = db.session.execute(
        db.select(LedgerEntry.recorded_at).order_by(LedgerEntry.sequence)).scalars().all()
    assert len(times) == seeded.history.ledger_entries + 3 and times == sorted(times)


def test_cli_seeds_the_history_unless_told_not_to(runner):
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert f"Recorded {len(HISTORY)} past exchanges" in result.output
    verified = runner.invoke(args=["ledger", "verify"])
    assert verified.exit_code == 0 and "Ledger OK" in verified.output
    assert db.session.execute(db.select(db.func.count(LedgerEntry.id))).scalar_one() > 0


def test_cli_without_history(runner):
    result = runner.invoke(args=["demo", "seed", "--without-history"])
    assert result.exit_code == 0, result.output
    assert "past exchanges" not in result.output
    assert db.session.execute(db.select(db.func.count(LedgerEntry.id))).scalar_one() == 0
    assert db.session.execute(db.select(db.func.count(Proposal.id))).scalar_one() == 0
