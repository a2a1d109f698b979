"""Authorisation matrix over every proposals and matching-runs endpoint:
anonymous / member of a participant / member of a non-participant /
coordinator / auditor / admin — the status each gets, and no data changed
by anyone refused."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.market.models import Listing
from app.matching.models import MatchingRun
from app.notifications.models import Notification
from app.proposals import services
from app.proposals.models import Proposal
from tests.proposals.helpers import (  # noqa: F401  (fixtures)
    cycle_fixture,
    market_fixture,
    propose_fixture,
    reload,
)

WHO = ("anonymous", "A", "D", "coordinator", "auditor", "admin")


def _state(proposal_id: int) -> tuple:
    db.session.expire_all()
    proposal = db.session.get(Proposal, proposal_id)
    return (
        proposal.status, len(proposal.transitions),
        tuple(p.response for p in proposal.participants),
        tuple(leg.confirmed_at is not None for leg in proposal.legs),
        db.session.execute(db.select(db.func.sum(Listing.reserved))).scalar_one(),
        db.session.execute(db.select(db.func.count(Notification.id))).scalar_one(),
        db.session.execute(db.select(db.func.count(MatchingRun.id))).scalar_one(),
    )


def _approve(market, proposal):
    services.approve(market.coordinator, proposal.id)
    db.session.commit()


def _agree(market, proposal):
    _approve(market, proposal)
    for name in "ABC":
        services.accept(market.members[name], proposal.id)
    db.session.commit()


REFUSED_FOR_MEMBERS = {"A": 403, "D": 403, "auditor": 403, "admin": 403}
REFUSED_FOR_STAFF = {"D": 404, "coordinator": 403, "auditor": 403, "admin": 403}
ACTIONS = {
    "approve": (None, "coordinator", REFUSED_FOR_MEMBERS, {}),
    "reject": (None, "coordinator", REFUSED_FOR_MEMBERS, {"reason": "no"}),
    "cancel": (_approve, "coordinator", REFUSED_FOR_MEMBERS, {"reason": "stalled"}),
    "accept": (_approve, "A", REFUSED_FOR_STAFF, {}),
    "decline": (_approve, "A", REFUSED_FOR_STAFF, {"reason": "no capacity"}),
    "confirm": (_agree, "A", REFUSED_FOR_STAFF, None),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_action_matrix(action, market, cycle, client, api_headers):
    prepare, allowed, refused, body = ACTIONS[action]
    if prepare:
        prepare(market, cycle)
    if action == "confirm":
        leg = next(leg for leg in reload(Proposal, cycle.id).legs
                   if leg.receiver_id == market.orgs["A"].id)
        body = {"leg": leg.id}
    url = f"/api/v1/proposals/{cycle.id}/{action}"
    before = _state(cycle.id)
    expected = {"anonymous": 401, **refused}
    for who, status in expected.items():
        user = market.user(who)
        headers = api_headers(user) if user is not None else {}
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == status, (who, response.get_json())
        assert response.get_json()["code"] in ("unauthorized", "forbidden", "not_found")
        assert _state(cycle.id) == before, who
    response = client.post(url, json=body, headers=api_headers(market.user(allowed)))
    assert response.status_code == 200, response.get_json()
    assert _state(cycle.id) != before


def test_confirm_by_a_participant_that_does_not_receive_the_leg_is_403(market, cycle, client,
                                                                       api_headers):
    _agree(market, cycle)
    leg = next(leg for leg in reload(Proposal, cycle.id).legs
               if leg.receiver_id == market.orgs["A"].id)
    before = _state(cycle.id)
    response = client.post(f"/api/v1/proposals/{cycle.id}/confirm", json={"leg": leg.id},
                           headers=api_headers(market.members["B"]))
    assert response.status_code == 403
    assert _state(cycle.id) == before


def test_read_matrix(market, cycle, client, api_headers):
    run = MatchingRun(status="completed", settings={}, market_input={"listings": []})
    db.session.add(run)
    db.session.commit()
    reads = {
        f"/api/v1/proposals/{cycle.id}": {"A": 200, "D": 404, "coordinator": 200,
                                          "auditor": 200, "admin": 200},
        "/api/v1/proposals": {"A": 200, "D": 200, "coordinator": 200, "auditor": 200,
                              "admin": 200},
        "/api/v1/matching/runs": {"A": 403, "D": 403, "coordinator": 200, "auditor": 200,
                                  "admin": 200},
        f"/api/v1/matching/runs/{run.id}": {"A": 403, "D": 403, "coordinator": 200,
                                            "auditor": 200, "admin": 200},
    }
    for path, expected in reads.items():
        for who in WHO:
            user = market.user(who)
            headers = api_headers(user) if user is not None else {}
            response = client.get(path, headers=headers)
            want = 401 if who == "anonymous" else expected[who]
            assert response.status_code == want, (path, who, response.status_code)
    listed = client.get("/api/v1/proposals", headers=api_headers(market.members["D"])).get_json()
    assert listed["total"] == 0


def test_run_matrix(market, client, api_headers):
    before = _state_runs()
    for who, status in {"anonymous": 401, "A": 403, "D": 403, "auditor": 403,
                        "admin": 403}.items():
        user = market.user(who)
        headers = api_headers(user) if user is not None else {}
        assert client.post("/api/v1/matching/runs", json={}, headers=headers).status_code == (
            status), who
        assert _state_runs() == before
    response = client.post("/api/v1/matching/runs", json={},
                           headers=api_headers(market.coordinator))
    assert response.status_code == 201
    assert _state_runs() == before + 1


def _state_runs() -> int:
    return db.session.execute(db.select(db.func.count(MatchingRun.id))).scalar_one()
