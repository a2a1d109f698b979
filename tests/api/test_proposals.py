"""The proposals and matching-runs API: listing, filters, transitions, 409 with
the current state, validation, Idempotency-Key."""

from __future__ import annotations

from app.extensions import db
from app.ledger.models import LedgerEntry
from app.market.models import Listing, ListingStatus
from app.matching.models import MatchingRun
from app.proposals.models import Proposal, ProposalStatus, ProposalTransition
from tests.proposals.helpers import (  # noqa: F401  (fixtures)
    cycle_fixture,
    market_fixture,
    propose_fixture,
    reload,
)


def _post(client, headers, path, body=None, **extra):
    return client.post(f"/api/v1{path}", headers={**headers, **extra},
                       json=body if body is not None else None)


def test_list_filters_and_members_see_only_their_own(market, cycle, propose, client,
                                                      api_headers):
    other = propose([(market.offers["A"], market.needs["C"], 2),
                     (market.offers["C"], market.needs["A"], 2)])
    coordinator = api_headers(market.coordinator)
    everything = client.get("/api/v1/proposals", headers=coordinator).get_json()
    assert everything["total"] == 2 and [p["id"] for p in everything["items"]] == [
        other.id, cycle.id]
    item = everything["items"][1]
    assert item["status"] == "proposed" and len(item["legs"]) == 3
    assert item["legs"][0]["currency"] == "staff" and item["legs"][0]["value"] == "500.00"
    assert item["participants"][0]["fairness"] == 1.0
    assert item["transitions"][0]["action"] == "propose"
    by_org = client.get(f"/api/v1/proposals?organisation={market.orgs['B'].id}",
                        headers=coordinator).get_json()
    assert [p["id"] for p in by_org["items"]] == [cycle.id]
    paged = client.get("/api/v1/proposals?per_page=1&page=2", headers=coordinator).get_json()
    assert [p["id"] for p in paged["items"]] == [cycle.id] and paged["pages"] == 2
    assert client.get("/api/v1/proposals?status=bogus",
                      headers=coordinator).status_code == 422
    member_b = api_headers(market.members["B"])
    mine = client.get("/api/v1/proposals", headers=member_b).get_json()
    assert [p["id"] for p in mine["items"]] == [cycle.id]
    assert client.get(f"/api/v1/proposals/{other.id}", headers=member_b).status_code == 404
    assert client.get(f"/api/v1/proposals/{cycle.id}", headers=member_b).status_code == 200
    assert client.get("/api/v1/proposals/999999", headers=coordinator).status_code == 404


def test_the_whole_lifecycle_over_the_api(market, cycle, client, api_headers):
    coordinator = api_headers(market.coordinator)
    approved = _post(client, coordinator, f"/proposals/{cycle.id}/approve")
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    for name in "ABC":
        response = _post(client, api_headers(market.members[name]),
                         f"/proposals/{cycle.id}/accept", {"reason": "ok"})
        assert response.status_code == 200
    assert response.get_json()["status"] == "agreed"
    for leg in response.get_json()["legs"]:
        receiver = next(n for n in "ABC" if market.orgs[n].id == leg["receiver_id"])
        done = _post(client, api_headers(market.members[receiver]),
                     f"/proposals/{cycle.id}/confirm", {"leg": leg["id"]})
        assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "completed"
    assert db.session.execute(db.select(db.func.count(LedgerEntry.id))).scalar_one() == 3
    assert reload(Listing, market.offers["A"].id).remaining == 5


def test_illegal_transition_answers_409_with_the_current_state(market, cycle, client,
                                                               api_headers):
    member = api_headers(market.members["A"])
    response = _post(client, member, f"/proposals/{cycle.id}/accept")
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "conflict" and body["current_status"] == "proposed"
    assert body["proposal_id"] == cycle.id


def test_reasons_and_bodies_are_validated(market, cycle, client, api_headers):
    coordinator = api_headers(market.coordinator)
    missing = _post(client, coordinator, f"/proposals/{cycle.id}/reject", {})
    assert missing.status_code == 422 and "reason" in missing.get_json()["errors"]
    no_body = _post(client, coordinator, f"/proposals/{cycle.id}/reject")
    assert no_body.status_code == 400
    unknown = _post(client, coordinator, f"/proposals/{cycle.id}/approve", {"reasn": "typo"})
    assert unknown.status_code == 422 and "reasn" in unknown.get_json()["errors"]
    long = _post(client, coordinator, f"/proposals/{cycle.id}/approve", {"reason": "x" * 1001})
    assert long.status_code == 422
    not_json = client.post(f"/api/v1/proposals/{cycle.id}/approve",
                           headers={**coordinator, "Content-Type": "application/json"},
                           data="{oops")
    assert not_json.status_code == 400
    assert reload(Proposal, cycle.id).status == ProposalStatus.PROPOSED
    member = api_headers(market.members["B"])
    for bad in ({}, {"leg": "1"}, {"leg": True}, {"leg": 0}, {"leg": 10**12}):
        assert _post(client, member, f"/proposals/{cycle.id}/confirm", bad).status_code == 422


def test_idempotency_key_replays_instead_of_acting_twice(market, cycle, client, api_headers):
    coordinator = api_headers(market.coordinator)
    first = _post(client, coordinator, f"/proposals/{cycle.id}/approve", {},
                  **{"Idempotency-Key": "approve-1"})
    again = _post(client, coordinator, f"/proposals/{cycle.id}/approve", {},
                  **{"Idempotency-Key": "approve-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    count = db.session.execute(db.select(db.func.count(ProposalTransition.id)).where(
        ProposalTransition.proposal_id == cycle.id)).scalar_one()
    assert count == 2
    assert reload(Listing, market.offers["A"].id).reserved == 5
    # Without the key a retry is still harmless: a 409, nothing changes.
    retry = _post(client, coordinator, f"/proposals/{cycle.id}/approve", {})
    assert retry.status_code == 409 and retry.get_json()["current_status"] == "approved"
    assert reload(Listing, market.offers["A"].id).reserved == 5


def test_an_idempotency_key_reused_with_another_body_is_refused(market, cycle, client,
                                                                 api_headers):
    coordinator = api_headers(market.coordinator)
    first = _post(client, coordinator, f"/proposals/{cycle.id}/approve", {"reason": "fits"},
                  **{"Idempotency-Key": "approve-2"})
    other = _post(client, coordinator, f"/proposals/{cycle.id}/approve", {"reason": "other"},
                  **{"Idempotency-Key": "approve-2"})
    assert first.status_code == 200
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]
    assert other.headers.get("Idempotent-Replayed") is None
    count = db.session.execute(db.select(db.func.count(ProposalTransition.id)).where(
        ProposalTransition.proposal_id == cycle.id)).scalar_one()
    assert count == 2  # proposed, approved: nothing more


def test_unsatisfiable_approval_is_409_and_superseded(market, cycle, client, api_headers):
    reload(Listing, market.needs["C"].id).status = ListingStatus.WITHDRAWN
    db.session.commit()
    response = _post(client, api_headers(market.coordinator), f"/proposals/{cycle.id}/approve")
    assert response.status_code == 409
    assert response.get_json()["current_status"] == ProposalStatus.SUPERSEDED


def test_matching_runs_over_the_api(market, client, api_headers):
    for listing in (market.offers["C"], market.needs["C"]):
        reload(Listing, listing.id).status = ListingStatus.WITHDRAWN
    db.session.commit()
    coordinator = api_headers(market.coordinator)
    created = client.post("/api/v1/matching/runs", headers=coordinator)
    assert created.status_code == 201, created.get_json()
    run = created.get_json()
    assert run["status"] == "completed" and len(run["proposal_ids"]) == 1
    assert "market_input" not in run
    detail = client.get(f"/api/v1/matching/runs/{run['id']}", headers=coordinator).get_json()
    assert detail["market_input"] == reload(MatchingRun, run["id"]).market_input
    listed = client.get("/api/v1/matching/runs", headers=api_headers(market.auditor)).get_json()
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    bad = client.post("/api/v1/matching/runs", headers=coordinator,
                      json={"max_cycle": 7, "weights": {"luck": 1}, "time_limit": "5"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"max_cycle", "weights", "time_limit"}
    with_settings = client.post("/api/v1/matching/runs", headers=coordinator,
                                json={"max_cycle": 2, "max_chain": 0})
    assert with_settings.status_code == 201
    assert with_settings.get_json()["settings"]["max_cycle"] == 2


def test_openapi_documents_the_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/proposals/{proposal_id}/confirm" in spec["paths"] or \
        "/proposals/{proposal_id}/confirm" in str(spec["paths"])
    confirm = next(v for k, v in spec["paths"].items() if k.endswith("{proposal_id}/confirm"))
    assert confirm["post"]["requestBody"]["required"] is True
    approve = next(v for k, v in spec["paths"].items() if k.endswith("{proposal_id}/approve"))
    assert approve["post"]["requestBody"]["required"] is False
    assert "409" in approve["post"]["responses"]
