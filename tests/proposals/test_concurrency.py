"""Races with real threads and real commits (SQLite file database with BEGIN
IMMEDIATE, and PostgreSQL when TEST_DATABASE_URL points at it).

The guard is on the shared resource: approvals reserve with a conditional
UPDATE on the listing, accept/confirm lock the proposal row before reading
what the others did. Exactly one winner every time, the others a clean 409,
never a 500, never a listing reserved beyond what it has.
"""

from __future__ import annotations

from app.auth.models import Role
from app.core.errors import Conflict
from app.extensions import db
from app.ledger.models import LedgerEntry
from app.market.models import Listing, ListingKind
from app.proposals import services
from app.proposals.models import Action, Proposal, ProposalStatus, ProposalTransition
from tests.proposals.helpers import race, reload

ROUNDS = 4
RIVALS = 8


def _rivals(make_org, make_listing, propose, round_no: int) -> tuple[Listing, list[int]]:
    """RIVALS proposals that all need the whole of one offer X (5 units)."""
    hub = make_org(f"Hub {round_no}")
    x = make_listing(hub, ListingKind.OFFER, quantity=5, title=f"X{round_no}")
    ids = []
    for i in range(RIVALS):
        org = make_org(f"Rival {round_no}-{i}")
        need = make_listing(org, ListingKind.NEED, quantity=5)
        offer = make_listing(org, ListingKind.OFFER, quantity=5)
        hub_need = make_listing(hub, ListingKind.NEED, quantity=5)
        ids.append(propose([(x, need, 5), (offer, hub_need, 5)]).id)
    return x, ids


def test_simultaneous_approvals_of_conflicting_proposals_leave_exactly_one(
        app, make_org, make_user, make_currency, make_listing, propose, api_headers):
    make_currency("staff")
    coordinators = [make_user(Role.COORDINATOR) for _ in range(RIVALS)]
    headers = [api_headers(c) for c in coordinators]
    for round_no in range(ROUNDS):
        x, ids = _rivals(make_org, make_listing, propose, round_no)

        def approve(pid: int, header: dict):
            def work():
                response = app.test_client().post(f"/api/v1/proposals/{pid}/approve",
                                                  headers=header, json={})
                return response.status_code, response.get_json()
            return work

        results = race(app, [approve(pid, h) for pid, h in zip(ids, headers, strict=True)])
        assert not [r for r in results if isinstance(r, BaseException)], results
        codes = sorted(code for code, _ in results)
        assert codes == [200] + [409] * (RIVALS - 1), results
        for code, body in results:
            if code == 409:
                assert body["current_status"] == ProposalStatus.SUPERSEDED
        statuses = sorted(reload(Proposal, pid).status for pid in ids)
        assert statuses == [ProposalStatus.APPROVED] + [ProposalStatus.SUPERSEDED] * (RIVALS - 1)
        x = reload(Listing, x.id)
        assert x.reserved == 5 and x.reserved <= x.remaining
        # Every loser's listings are free again; only the winner's are held.
        winner = next(pid for pid in ids if reload(Proposal, pid).status == "approved")
        held = {leg.need_id for leg in reload(Proposal, winner).legs}
        for pid in ids:
            for leg in reload(Proposal, pid).legs:
                if leg.need_id not in held:
                    assert reload(Listing, leg.need_id).reserved == 0


def test_simultaneous_service_approvals_of_the_same_proposal(market, cycle, app):
    coordinator_id, proposal_id = market.coordinator.id, cycle.id

    def approve():
        services.approve(_user(coordinator_id), proposal_id)
        db.session.commit()
        return "ok"

    results = race(app, [approve] * 4)
    assert results.count("ok") == 1, results
    assert all(isinstance(r, Conflict) for r in results if r != "ok"), results
    assert reload(Proposal, cycle.id).status == ProposalStatus.APPROVED
    assert reload(Listing, market.offers["A"].id).reserved == 5


def _user(user_id: int):
    from app.auth.models import User

    return db.session.get(User, user_id)


def _fresh_cycle(market, make_listing, propose, quantity: int) -> Proposal:
    """A new 3-way exchange A→B→C→A over new listings (a new signature)."""
    offers = {n: make_listing(market.orgs[n], ListingKind.OFFER, quantity=10) for n in "ABC"}
    needs = {n: make_listing(market.orgs[n], ListingKind.NEED, quantity=10) for n in "ABC"}
    market.extra.setdefault("offers_a", []).append((offers["A"].id, quantity))
    return propose([(offers["A"], needs["B"], quantity), (offers["B"], needs["C"], quantity),
                    (offers["C"], needs["A"], quantity)])


def test_simultaneous_acceptances_agree_exactly_once(market, propose, make_user, make_listing,
                                                     app):
    second_a = make_user(Role.MEMBER, market.orgs["A"])
    for round_no in range(ROUNDS):
        quantity = 1 + round_no
        proposal = _fresh_cycle(market, make_listing, propose, quantity)
        services.approve(market.coordinator, proposal.id)
        db.session.commit()
        members = [market.members["A"].id, second_a.id, market.members["B"].id,
                   market.members["C"].id]

        def accept(user_id: int, pid: int = proposal.id):
            def work():
                services.accept(_user(user_id), pid)
                db.session.commit()
                return "ok"
            return work

        results = race(app, [accept(uid) for uid in members])
        ok = [r for r in results if r == "ok"]
        errors = [r for r in results if r != "ok"]
        # Two members of A raced: one answered for A, the other got a conflict.
        assert len(ok) == 3 and len(errors) == 1 and isinstance(errors[0], Conflict), results
        proposal = reload(Proposal, proposal.id)
        assert proposal.status == ProposalStatus.AGREED
        agreed = db.session.execute(db.select(db.func.count(ProposalTransition.id)).where(
            ProposalTransition.proposal_id == proposal.id,
            ProposalTransition.to_status == ProposalStatus.AGREED)).scalar_one()
        assert agreed == 1


def test_simultaneous_confirmations_complete_once_and_write_the_ledger_once(
        market, propose, make_user, make_listing, app):
    second_b = make_user(Role.MEMBER, market.orgs["B"])
    for round_no in range(ROUNDS):
        quantity = 1 + round_no
        proposal = _fresh_cycle(market, make_listing, propose, quantity)
        services.approve(market.coordinator, proposal.id)
        for name in "ABC":
            services.accept(market.members[name], proposal.id)
        db.session.commit()
        legs = {leg.receiver_id: leg.id for leg in reload(Proposal, proposal.id).legs}
        jobs = [(market.members["A"].id, legs[market.orgs["A"].id]),
                (market.members["B"].id, legs[market.orgs["B"].id]),
                (second_b.id, legs[market.orgs["B"].id]),  # double confirmation of one leg
                (market.members["C"].id, legs[market.orgs["C"].id])]

        def confirm(user_id: int, leg_id: int, pid: int = proposal.id):
            def work():
                services.confirm_leg(_user(user_id), pid, leg_id)
                db.session.commit()
                return "ok"
            return work

        results = race(app, [confirm(uid, leg) for uid, leg in jobs])
        ok = [r for r in results if r == "ok"]
        errors = [r for r in results if r != "ok"]
        assert len(ok) == 3 and len(errors) == 1 and isinstance(errors[0], Conflict), results
        proposal = reload(Proposal, proposal.id)
        assert proposal.status == ProposalStatus.COMPLETED
        entries = db.session.execute(db.select(db.func.count(LedgerEntry.id)).where(
            LedgerEntry.proposal_id == proposal.id)).scalar_one()
        assert entries == 3
        completes = db.session.execute(db.select(db.func.count(ProposalTransition.id)).where(
            ProposalTransition.proposal_id == proposal.id,
            ProposalTransition.action == Action.COMPLETE)).scalar_one()
        assert completes == 1
    for offer_id, quantity in market.extra["offers_a"]:
        offer = reload(Listing, offer_id)
        assert (offer.remaining, offer.reserved) == (10 - quantity, 0)


def test_last_acceptance_racing_a_decline_leaves_one_consistent_outcome(
        market, propose, make_listing, make_user, app):
    """Two members of C answer at once, one accepting (the last acceptance) and one
    declining: the exchange ends agreed with its reservations, or declined with
    them released; never both, never a half-state."""
    second_c = make_user(Role.MEMBER, market.orgs["C"]).id
    outcomes = set()
    for round_no in range(ROUNDS):
        proposal = _fresh_cycle(market, make_listing, propose, 1 + round_no)
        services.approve(market.coordinator, proposal.id)
        services.accept(market.members["A"], proposal.id)
        services.accept(market.members["B"], proposal.id)
        db.session.commit()
        pid = proposal.id
        listing_ids = [leg.offer_id for leg in proposal.legs]
        first_c = market.members["C"].id

        def accept_c(pid=pid, user_id=first_c):
            services.accept(_user(user_id), pid)
            db.session.commit()
            return "accepted"

        def decline_c(pid=pid, user_id=second_c):
            services.decline(_user(user_id), pid, "changed our plans")
            db.session.commit()
            return "declined"

        results = race(app, [accept_c, decline_c])
        winners = [r for r in results if isinstance(r, str)]
        assert len(winners) == 1 and any(isinstance(r, Conflict) for r in results), results
        status = reload(Proposal, pid).status
        reserved = [reload(Listing, lid).reserved for lid in listing_ids]
        if winners == ["declined"]:
            assert status == ProposalStatus.DECLINED and reserved == [0, 0, 0]
        else:
            assert status == ProposalStatus.AGREED and reserved == [1 + round_no] * 3
        outcomes.add(status)
    assert outcomes <= {ProposalStatus.AGREED, ProposalStatus.DECLINED}
