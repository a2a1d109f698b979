"""The ledger and trust API: authorisation per role, validation, reversals,
verification and streamed exports that verify offline."""

from __future__ import annotations

import csv
import io
import json

import pytest

from app.extensions import db
from app.ledger.models import EntryKind, LedgerEntry
from app.proposals.models import ProposalStatus
from tests.ledger.conftest import make_exchange  # noqa: F401 (fixture)
from tools import verify_ledger


@pytest.fixture
def world(users, make_exchange, make_org):  # noqa: F811
    third = make_org("Third Org")
    first = make_exchange([users["own_org"], users["other_org"]], actor=users["member"])
    make_exchange([users["other_org"], third], quantity=4)
    make_exchange([users["own_org"], third], status=ProposalStatus.DECLINED)
    return {**users, "third": third, "first": first}


def _get(client, api_headers, user, url):
    response = client.get(url, headers=api_headers(user))
    response.get_data()
    return response


READ_ONLY = ["/api/v1/ledger/verify", "/api/v1/ledger/export.json", "/api/v1/ledger/export.csv",
             "/api/v1/ledger/audit-trail", "/api/v1/ledger/exchanges/1/timeline"]


@pytest.mark.parametrize("role", ["auditor", "coordinator", "admin"])
def test_readers_see_everything(client, api_headers, world, role):
    for url in [*READ_ONLY, "/api/v1/ledger/entries", "/api/v1/ledger/entries/3",
                f"/api/v1/trust/organisations/{world['third'].id}", "/api/v1/trust/pairs"]:
        assert _get(client, api_headers, world[role], url).status_code == 200, url
    entries = _get(client, api_headers, world[role], "/api/v1/ledger/entries").get_json()
    assert entries["total"] == 4


def test_members_see_their_own_organisation_only(client, api_headers, world):
    member = world["member"]
    for url in READ_ONLY:
        assert _get(client, api_headers, member, url).status_code == 403, url
    page = _get(client, api_headers, member, "/api/v1/ledger/entries").get_json()
    assert {(e["giver_name"], e["receiver_name"]) for e in page["items"]} == {
        ("Own Org", "Other Org"), ("Other Org", "Own Org")}
    other = world["third"].id
    assert _get(client, api_headers, member,
                f"/api/v1/ledger/entries?organisation={other}").status_code == 403
    assert _get(client, api_headers, member, "/api/v1/ledger/entries/3").status_code == 403
    own = _get(client, api_headers, member,
               f"/api/v1/trust/organisations/{world['own_org'].id}").get_json()
    assert own["scope"] == "full" and own["partners"][0]["name"] == "Other Org"
    public = _get(client, api_headers, member, f"/api/v1/trust/organisations/{other}").get_json()
    assert public["scope"] == "public"
    assert "partners" not in public and "flows" not in public and "reciprocity" not in public
    assert public["exchanges_completed"] == 1 and public["declines"] == 0
    pairs = _get(client, api_headers, member, "/api/v1/trust/pairs").get_json()["items"]
    assert [(p["organisation_a"], p["organisation_b"]) for p in pairs] == [
        ("Own Org", "Other Org")]
    assert _get(client, api_headers, member,
                f"/api/v1/trust/pairs?organisation={other}").status_code == 403


def test_anonymous_gets_401(client, world):
    for url in [*READ_ONLY, "/api/v1/ledger/entries", "/api/v1/trust/pairs"]:
        assert client.get(url).status_code == 401, url


def test_trust_figures(client, api_headers, world):
    own = _get(client, api_headers, world["auditor"],
               f"/api/v1/trust/organisations/{world['own_org'].id}").get_json()
    assert own["exchanges_completed"] == 1 and own["distinct_partners"] == 1
    assert own["agreed"] == 1 and own["completed"] == 1  # the declined one never agreed
    assert own["declines"] == 1  # Own Org declined the third exchange
    assert own["flows"] == [{"currency": "staff", "quantity_given": 2, "value_given": "200.00",
                             "quantity_received": 2, "value_received": "200.00"}]
    assert own["reciprocity_balance"] == "0.00" and own["reciprocity"] == 1.0
    pairs = _get(client, api_headers, world["auditor"], "/api/v1/trust/pairs").get_json()
    assert {(p["organisation_a"], p["organisation_b"], p["exchanges"])
            for p in pairs["items"]} == {("Own Org", "Other Org", 1),
                                         ("Other Org", "Third Org", 1)}
    assert _get(client, api_headers, world["auditor"],
                "/api/v1/trust/organisations/9999").status_code == 404


@pytest.mark.parametrize("query", ["from=2026-13-01", "to=yesterday", "organisation=0",
                                   "organisation=x", "kind=gift", "currency=" + "x" * 40,
                                   "from=2026-02-01&to=2026-01-01", "bogus=1", "per_page=1000"])
def test_bad_filters_are_422_naming_the_field(client, api_headers, world, query):
    response = _get(client, api_headers, world["auditor"], f"/api/v1/ledger/entries?{query}")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error" and body["errors"]
    export = _get(client, api_headers, world["auditor"], f"/api/v1/ledger/export.csv?{query}")
    assert export.status_code == 422 or "per_page" in query or "page" in query


def test_filters_narrow_the_list(client, api_headers, world):
    auditor = world["auditor"]
    third = world["third"].id
    items = _get(client, api_headers, auditor,
                 f"/api/v1/ledger/entries?organisation={third}").get_json()["items"]
    assert sorted(e["sequence"] for e in items) == [3, 4]
    assert _get(client, api_headers, auditor,
                "/api/v1/ledger/entries?currency=jobs").get_json()["total"] == 0
    assert _get(client, api_headers, auditor,
                "/api/v1/ledger/entries?from=2000-01-01&to=2000-12-31").get_json()["total"] == 0
    assert _get(client, api_headers, auditor,
                f"/api/v1/ledger/entries?proposal={world['first'].id}").get_json()["total"] == 2


def test_reversal_through_the_api(client, api_headers, world):
    coordinator = world["coordinator"]
    url = "/api/v1/ledger/entries/3/reverse"
    for user in (world["auditor"], world["admin"], world["member"]):
        response = client.post(url, json={"reason": "x"}, headers=api_headers(user))
        assert response.status_code == 403
    response = client.post(url, json={}, headers=api_headers(coordinator))
    assert response.status_code == 422 and "reason" in response.get_json()["errors"]
    response = client.post(url, json={"reason": "", "extra": 1}, headers=api_headers(coordinator))
    assert response.status_code == 422 and {"reason", "extra"} <= set(
        response.get_json()["errors"])
    headers = api_headers(coordinator, **{"Idempotency-Key": "rev-3"})
    response = client.post(url, json={"reason": "delivered to the wrong team"}, headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert (body["sequence"], body["kind"], body["reverses_sequence"], body["quantity"],
            body["value"]) == (5, EntryKind.REVERSAL, 3, -4, "-400.00")
    replay = client.post(url, json={"reason": "delivered to the wrong team"}, headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    again = client.post(url, json={"reason": "twice"}, headers=api_headers(coordinator))
    assert again.status_code == 409 and "already been reversed" in again.get_json()["message"]
    of_reversal = client.post("/api/v1/ledger/entries/5/reverse", json={"reason": "x"},
                              headers=api_headers(coordinator))
    assert of_reversal.status_code == 409
    missing = client.post("/api/v1/ledger/entries/99/reverse", json={"reason": "x"},
                          headers=api_headers(coordinator))
    assert missing.status_code == 404
    assert db.session.execute(db.select(db.func.count(LedgerEntry.id))).scalar_one() == 5
    verified = _get(client, api_headers, world["auditor"], "/api/v1/ledger/verify").get_json()
    assert verified["ok"] and verified["count"] == 5
    trust = _get(client, api_headers, world["auditor"],
                 f"/api/v1/trust/organisations/{world['third'].id}").get_json()
    assert trust["entries_reversed"] == 1 and trust["exchanges_completed"] == 1
    assert trust["flows"][0]["value_received"] == "0.00"  # the reversed leg nets out


def test_verify_endpoint_and_anchors(client, api_headers, world):
    auditor = world["auditor"]
    body = _get(client, api_headers, auditor, "/api/v1/ledger/verify").get_json()
    assert body["ok"] and body["count"] == 4 and body["first_bad_sequence"] is None
    anchor = f"{body['head_sequence']}:{body['head_hash']}"
    assert _get(client, api_headers, auditor,
                f"/api/v1/ledger/verify?anchor={anchor}").get_json()["ok"]
    wrong = _get(client, api_headers, auditor,
                 f"/api/v1/ledger/verify?anchor=2:{'a' * 64}").get_json()
    assert not wrong["ok"] and wrong["first_bad_sequence"] == 2
    assert wrong["problems"][0]["kind"] == "anchor_mismatch"
    bad = _get(client, api_headers, auditor, "/api/v1/ledger/verify?anchor=2:xyz")
    assert bad.status_code == 422 and "anchor" in bad.get_json()["errors"]


def test_exports_stream_and_verify_offline(client, api_headers, world, tmp_path, capsys):
    auditor = world["auditor"]
    response = client.get("/api/v1/ledger/export.json", headers=api_headers(auditor))
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/json"
    data = response.get_data()
    document = json.loads(data)
    assert document["complete"] is True and document["count"] == 4
    assert document["organisations"][str(world["third"].id)] == "Third Org"
    path = tmp_path / "full.json"
    path.write_bytes(data)
    assert verify_ledger.main([str(path), "--full"]) == 0
    assert "complete chain of 4 entries" in capsys.readouterr().out

    response = client.get(f"/api/v1/ledger/export.csv?organisation={world['third'].id}",
                          headers=api_headers(auditor))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["sequence"] for r in rows] == ["3", "4"]
    assert rows[0]["giver_name"] == "Other Org" and rows[0]["proposal_id"]
    path = tmp_path / "filtered.csv"
    path.write_bytes(response.get_data())
    assert verify_ledger.main([str(path)]) == 0
    assert "1 checked, 1 not checkable" in capsys.readouterr().out


def test_audit_trail_and_timeline(client, api_headers, world):
    auditor = world["auditor"]
    trail = _get(client, api_headers, auditor,
                 "/api/v1/ledger/audit-trail?to_status=declined").get_json()
    assert trail["total"] == 1 and trail["items"][0]["to_status"] == "declined"
    timeline = _get(client, api_headers, auditor,
                    f"/api/v1/ledger/exchanges/{world['first'].id}/timeline").get_json()
    kinds = [e["kind"] for e in timeline["events"]]
    assert kinds[0] == "proposal" and kinds[-2:] == ["entry", "entry"]
    assert [e["sequence"] for e in timeline["entries"]] == [1, 2]
    assert _get(client, api_headers, auditor,
                "/api/v1/ledger/exchanges/999/timeline").status_code == 404


def test_openapi_documents_the_ledger(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/ledger/entries", "/ledger/entries/{sequence}/reverse", "/ledger/verify",
                 "/ledger/export.json", "/ledger/export.csv", "/trust/organisations/{"
                 "organisation_id}", "/trust/pairs"):
        assert path in spec["paths"], path
