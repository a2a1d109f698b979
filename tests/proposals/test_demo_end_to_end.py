"""Done-when of issue 4: the demo market, run end to end through the pages as
the coordinator and the members, yields the reciprocal, three-way and chain
exchanges the demo data plants, and one of each is carried to completed."""

from __future__ import annotations

from app.auth.models import User
from app.demo.data import EMAIL_DOMAIN
from app.demo.seed import planted_exchanges, seed_demo
from app.extensions import db
from app.ledger.models import LedgerEntry
from app.market.models import Listing, Organisation
from app.matching.models import MatchingRun
from app.proposals.models import Proposal, ProposalStatus
from app.proposals.services import canonical_signature
from tests.proposals.helpers import reload


def _user(email: str) -> User:
    return db.session.execute(db.select(User).where(User.email == email)).scalar_one()


def _member_of(org_id: int) -> User:
    slug = db.session.get(Organisation, org_id).slug
    return _user(f"{slug}@{EMAIL_DOMAIN}")


def test_demo_market_end_to_end(app, login):
    seeded = seed_demo()
    db.session.commit()
    planted = planted_exchanges(seeded.listing_ids)
    coordinator = _user(f"coordinator@{EMAIL_DOMAIN}")
    staff = app.test_client()
    login(coordinator, staff)

    form = staff.get("/matching/runs/new")
    assert form.status_code == 200
    response = staff.post("/matching/runs/new", data={
        "max_cycle": 3, "max_chain": 3, "fairness_threshold": "0.5",
        "objective": "lexicographic", "time_limit": 30})
    assert response.status_code == 302, response.data
    run = db.session.execute(db.select(MatchingRun)).scalar_one()
    assert run.status == "completed", run.error
    by_signature = {p.signature: p for p in run.proposals}
    for exchange in planted:
        signature = canonical_signature(exchange["legs"])
        assert signature in by_signature, (exchange["name"], sorted(by_signature))
        assert by_signature[signature].kind == exchange["kind"]
    assert len(run.proposals) >= len(planted)

    for name in ("R1", "T1", "G"):
        exchange = next(e for e in planted if e["name"] == name)
        proposal_id = by_signature[canonical_signature(exchange["legs"])].id
        page = staff.get(f"/proposals/{proposal_id}")
        assert page.status_code == 200 and b"<svg" in page.data
        assert staff.post(f"/proposals/{proposal_id}/approve",
                          data={"reason": "good fit"}).status_code == 302
        assert reload(Proposal, proposal_id).status == ProposalStatus.APPROVED, name

        proposal = reload(Proposal, proposal_id)
        org_ids = [p.organisation_id for p in proposal.participants]
        legs = [(leg.id, leg.receiver_id) for leg in proposal.legs]
        for org_id in org_ids:
            member = app.test_client()
            login(_member_of(org_id), member)
            inbox = member.get("/proposals/inbox").get_data(as_text=True)
            assert f"#{proposal_id}" in inbox and "Accept or decline" in inbox
            assert member.post(f"/proposals/{proposal_id}/accept",
                               data={"reason": "", "understood": "y"}).status_code == 302
        assert reload(Proposal, proposal_id).status == ProposalStatus.AGREED, name

        for leg_id, receiver_id in legs:
            member = app.test_client()
            login(_member_of(receiver_id), member)
            response = member.post(f"/proposals/{proposal_id}/legs/{leg_id}/confirm", data={})
            assert response.status_code == 302
        proposal = reload(Proposal, proposal_id)
        assert proposal.status == ProposalStatus.COMPLETED, name
        entries = db.session.execute(db.select(db.func.count(LedgerEntry.id)).where(
            LedgerEntry.proposal_id == proposal_id)).scalar_one()
        assert entries == len(exchange["legs"])
        for offer_id, need_id in exchange["legs"]:
            for listing_id in (offer_id, need_id):
                listing = reload(Listing, listing_id)
                assert listing.reserved == 0 and listing.remaining < listing.quantity
    # A second run finds the completed exchanges' listings used up or reduced and never
    # re-proposes an exchange that is still open.
    response = staff.post("/matching/runs/new", data={
        "max_cycle": 3, "max_chain": 3, "fairness_threshold": "0.5",
        "objective": "lexicographic", "time_limit": 30})
    second = db.session.execute(
        db.select(MatchingRun).order_by(MatchingRun.id.desc())).scalars().first()
    assert second.id != run.id and second.status == "completed", second.error
    open_signatures = {p.signature for p in run.proposals if p.status == ProposalStatus.PROPOSED}
    assert not open_signatures & {p.signature for p in second.proposals}
