"""The market's JSON API: authorisation matrix for every write endpoint, bad input,
private fields, filters and paging. A refused request must leave the data unchanged."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.market.models import Currency, Listing, ListingStatus, MarketSettings, Organisation
from tests.market.conftest import ROLES, build_market, headers_for_role, snapshot

API = "/api/v1"


@pytest.fixture
def market(users, make_currency, make_listing):
    return build_market(users, make_currency, make_listing)


@pytest.fixture
def api_as(api_headers, users):
    return headers_for_role(api_headers, users)


def new_offer(**overrides) -> dict:
    body = {"kind": "offer", "currency": "staff", "category": "social worker",
            "title": "Social work sessions", "quantity": 6, "areas": ["north"],
            "tags": ["Evenings"]}
    body.update(overrides)
    return body


def count(model) -> int:
    return db.session.execute(db.select(db.func.count(model.id))).scalar_one()


# --- the matrix -------------------------------------------------------------------------
# Each test walks through every role; permission is checked before state, so an earlier
# role's success does not change what a later role is told.

LISTING_WRITE = {"anonymous": 401, "member": 200, "other_member": 403, "coordinator": 403,
                 "auditor": 403, "admin": 403}
ORG_PROFILE_WRITE = {"anonymous": 401, "member": 200, "other_member": 403, "coordinator": 200,
                     "auditor": 403, "admin": 200}
STAFF_CREATE = {"anonymous": 401, "member": 403, "other_member": 403, "coordinator": 201,
                "auditor": 403, "admin": 201}
ADMIN_ONLY = {"anonymous": 401, "member": 403, "other_member": 403, "coordinator": 403,
              "auditor": 403, "admin": 200}


def test_create_listing_matrix(client, market, api_as):
    expected = {**LISTING_WRITE, "member": 201, "other_member": 201}
    for role in ROLES:
        before = count(Listing)
        response = client.post(f"{API}/listings", json=new_offer(), headers=api_as(role))
        assert response.status_code == expected[role], (role, response.json)
        if expected[role] == 201:
            assert response.json["organisation_id"] == market[role].organisation_id
            assert response.json["tags"] == ["evenings"]
            assert count(Listing) == before + 1
        else:
            assert response.json["code"] in ("unauthorized", "forbidden"), role
            assert count(Listing) == before, role


def test_create_listing_for_another_organisation_is_refused(client, market, api_as):
    expected = {**LISTING_WRITE, "member": 201}
    body = new_offer(organisation_id=market["own_org"].id)
    for role in ROLES:
        before = count(Listing)
        response = client.post(f"{API}/listings", json=body, headers=api_as(role))
        assert response.status_code == expected[role], role
        assert count(Listing) == before + (1 if expected[role] == 201 else 0), role


def test_update_listing_matrix(client, market, api_as):
    offer = market["offer"]
    for role in ROLES:
        before = snapshot(offer)
        response = client.patch(f"{API}/listings/{offer.id}", json={"title": f"By {role}"},
                                headers=api_as(role))
        assert response.status_code == LISTING_WRITE[role], role
        if response.status_code == 200:
            assert snapshot(offer)["title"] == f"By {role}"
        else:
            assert snapshot(offer) == before, role


def test_withdraw_listing_matrix(client, market, api_as):
    offer = market["offer"]
    # the owner goes last: after it withdraws, nobody else could be told anything new
    for role in sorted(ROLES, key=lambda name: name == "member"):
        before = snapshot(offer)
        response = client.post(f"{API}/listings/{offer.id}/withdraw", headers=api_as(role))
        assert response.status_code == LISTING_WRITE[role], role
        if response.status_code == 200:
            assert snapshot(offer)["status"] == ListingStatus.WITHDRAWN
        else:
            assert snapshot(offer) == before, role


def test_update_organisation_matrix(client, market, api_as):
    own = market["own_org"]
    for role in ROLES:
        before = snapshot(own)
        response = client.patch(f"{API}/organisations/{own.id}",
                                json={"description": f"Edited by {role}"}, headers=api_as(role))
        assert response.status_code == ORG_PROFILE_WRITE[role], role
        if response.status_code == 200:
            assert snapshot(own)["description"] == f"Edited by {role}"
        else:
            assert snapshot(own) == before, role


def test_members_cannot_rename_or_reslug(client, market, api_as):
    own = market["own_org"]
    expected = {**ORG_PROFILE_WRITE, "member": 403}
    for role in ROLES:
        before = snapshot(own)
        response = client.patch(f"{API}/organisations/{own.id}",
                                json={"slug": f"renamed-by-{role.replace('_', '-')}"},
                                headers=api_as(role))
        assert response.status_code == expected[role], role
        if role == "member":
            assert "slug" in response.json["errors"]
        if expected[role] != 200:
            assert snapshot(own) == before, role


def test_create_organisation_matrix(client, market, api_as):
    for role in ROLES:
        before = count(Organisation)
        response = client.post(f"{API}/organisations", json={
            "name": f"Men's Shed ({role})", "sector": "voluntary", "areas": ["north"]},
            headers=api_as(role))
        assert response.status_code == STAFF_CREATE[role], role
        assert count(Organisation) == before + (1 if response.status_code == 201 else 0)


def test_create_currency_matrix(client, market, api_as):
    for role in ROLES:
        before = count(Currency)
        response = client.post(f"{API}/currencies", json={
            "code": f"kit-{role.replace('_', '-')}", "name": "Equipment", "unit": "item-week",
            "value_per_unit": 12.5, "categories": ["hoist"]}, headers=api_as(role))
        assert response.status_code == {**ADMIN_ONLY, "admin": 201}[role], role
        assert count(Currency) == before + (1 if response.status_code == 201 else 0)


def test_update_currency_matrix(client, market, api_as):
    staff = market["staff"]
    for role in ROLES:
        before = snapshot(staff)
        response = client.patch(f"{API}/currencies/{staff.id}", json={"value_per_unit": 320},
                                headers=api_as(role))
        assert response.status_code == ADMIN_ONLY[role], role
        if response.status_code == 200:
            assert response.json["value_per_unit"] == 320.0
        else:
            assert snapshot(staff) == before, role


def test_update_settings_matrix(client, market, api_as):
    MarketSettings.current()
    db.session.commit()
    for role in ROLES:
        before = snapshot(MarketSettings.current())
        response = client.patch(f"{API}/market/settings", json={"max_cycle": 4},
                                headers=api_as(role))
        assert response.status_code == ADMIN_ONLY[role], role
        after = snapshot(MarketSettings.current())
        assert after["max_cycle"] == (4 if response.status_code == 200 else
                                      before["max_cycle"]), role


# --- bad input --------------------------------------------------------------------------

BAD_LISTING_BODIES = [
    ({"quantity": "six"}, "quantity"),
    ({"quantity": 6.5}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"quantity": -1}, "quantity"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": 10**12}, "quantity"),
    ({"quantity": None}, "quantity"),
    ({"min_quantity": 2}, "min_quantity"),
    ({"kind": "swap"}, "kind"),
    ({"kind": None}, "kind"),
    ({"currency": "gold"}, "currency"),
    ({"currency": 7}, "currency"),
    ({"category": "plumber"}, "category"),
    ({"title": ""}, "title"),
    ({"title": "x" * 141}, "title"),
    ({"description": "x" * 5001}, "description"),
    ({"tags": "evenings"}, "tags"),
    ({"tags": ["x" * 41]}, "tags"),
    ({"tags": [f"t{i}" for i in range(13)]}, "tags"),
    ({"areas": []}, "areas"),
    ({"areas": ["atlantis"]}, "areas"),
    ({"remote": "yes"}, "remote"),
    ({"gift": 1}, "gift"),
    ({"available_from": "2026-13-40"}, "available_from"),
    ({"available_from": "2030-01-02", "available_until": "2030-01-01"}, "available_until"),
    ({"available_until": "2001-01-01"}, "available_until"),
    ({"status": "fulfilled"}, "status"),
    ({"remaining": 99}, "remaining"),
    ({"organisation_id": "1"}, "organisation_id"),
    ({"organisation_id": 10**15}, "organisation_id"),
    ({"organisation_id": 999_999}, "organisation_id"),
]


def test_bad_listing_bodies(client, market, api_as):
    headers = api_as("member")
    before = count(Listing)
    for overrides, field in BAD_LISTING_BODIES:
        response = client.post(f"{API}/listings", json=new_offer(**overrides), headers=headers)
        assert response.status_code == 422, (overrides, response.json)
        assert set(response.json) >= {"code", "status", "message", "errors"}
        assert field in response.json["errors"], (overrides, response.json)
    for missing in ("kind", "currency", "title", "quantity"):
        body = new_offer()
        del body[missing]
        response = client.post(f"{API}/listings", json=body, headers=headers)
        assert response.status_code == 422 and missing in response.json["errors"]
    assert count(Listing) == before


def test_malformed_bodies(client, market, api_as):
    headers = api_as("member", **{"Content-Type": "application/json"})
    before = count(Listing)
    for data, status in ((b"{not json", 400), (b"", 400), (b"[1, 2]", 422), (b'"text"', 422),
                         (b"null", 422)):
        for path in ("/listings", f"/listings/{market['offer'].id}"):
            method = client.post if path == "/listings" else client.patch
            response = method(f"{API}{path}", data=data, headers=headers)
            assert response.status_code == status, (data, path)
            assert response.json["status"] == status
    assert count(Listing) == before
    assert snapshot(market["offer"])["title"] == "Nurse days"


def test_bad_listing_patches(client, market, api_as):
    offer = market["offer"]
    headers = api_as("member")
    before = snapshot(offer)
    for body, field in (({"quantity": 0}, "quantity"), ({"quantity": "x"}, "quantity"),
                        ({"kind": "need"}, "kind"), ({"currency": "premises"}, "currency"),
                        ({"title": "x" * 500}, "title"),
                        ({"organisation_id": 2}, "organisation_id"),
                        ({"min_quantity": 3}, "min_quantity"),
                        ({"available_until": "2000-01-01"}, "available_until")):
        response = client.patch(f"{API}/listings/{offer.id}", json=body, headers=headers)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"], body
    assert snapshot(offer) == before


def test_patch_cannot_drop_below_reserved(client, market, api_as):
    offer = market["offer"]
    offer.reserved = 7
    db.session.commit()
    before = snapshot(offer)
    response = client.patch(f"{API}/listings/{offer.id}", json={"quantity": 6},
                            headers=api_as("member"))
    assert response.status_code == 422
    assert "7 reserved" in response.json["errors"]["quantity"][0]
    assert snapshot(offer) == before
    ok = client.patch(f"{API}/listings/{offer.id}", json={"quantity": 7},
                      headers=api_as("member"))
    assert ok.status_code == 200 and ok.json["available"] == 0


def test_unknown_ids_are_404(client, market, api_as):
    member, admin = api_as("member"), api_as("admin")
    for missing in (987654, 10**20):
        for method, path, headers, body in (
                ("get", "/listings/{}", member, None),
                ("patch", "/listings/{}", member, {"title": "Whatever"}),
                ("post", "/listings/{}/withdraw", member, None),
                ("get", "/organisations/{}", member, None),
                ("patch", "/organisations/{}", member, {"description": "x"}),
                ("patch", "/currencies/{}", admin, {"name": "Kit"})):
            kwargs = {"json": body} if body is not None else {}
            response = getattr(client, method)(f"{API}{path.format(missing)}", headers=headers,
                                               **kwargs)
            assert response.status_code == 404, (method, path, missing)
            assert response.json["code"] == "not_found"


def test_withdraw_twice_is_409_naming_the_status(client, market, api_as):
    offer = market["offer"]
    first = client.post(f"{API}/listings/{offer.id}/withdraw", headers=api_as("member"))
    assert first.status_code == 200 and first.json["status"] == "withdrawn"
    second = client.post(f"{API}/listings/{offer.id}/withdraw", headers=api_as("member"))
    assert second.status_code == 409
    assert "withdrawn" in second.json["message"]
    assert second.json["listing_status"] == "withdrawn"


def test_withdraw_with_idempotency_key_replays(client, market, api_as):
    offer = market["offer"]
    headers = api_as("member", **{"Idempotency-Key": "withdraw-1"})
    first = client.post(f"{API}/listings/{offer.id}/withdraw", headers=headers)
    again = client.post(f"{API}/listings/{offer.id}/withdraw", headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json


def test_withdraw_reserved_listing_is_409(client, market, api_as):
    offer = market["offer"]
    offer.reserved = 2
    db.session.commit()
    before = snapshot(offer)
    response = client.post(f"{API}/listings/{offer.id}/withdraw", headers=api_as("member"))
    assert response.status_code == 409
    assert "reserved" in response.json["message"]
    assert snapshot(offer) == before


def test_bad_organisation_currency_and_settings_bodies(client, market, api_as):
    own, staff = market["own_org"], market["staff"]
    coordinator, admin = api_as("coordinator"), api_as("admin")
    before_org, before_staff = snapshot(own), snapshot(staff)
    before_settings = snapshot(MarketSettings.current())
    cases = [
        (f"/organisations/{own.id}", coordinator, {"name": "x" * 161}, "name"),
        (f"/organisations/{own.id}", coordinator, {"sector": "bank"}, "sector"),
        (f"/organisations/{own.id}", coordinator, {"contact_email": "nope"}, "contact_email"),
        (f"/organisations/{own.id}", coordinator, {"excluded_ids": [0]}, "excluded_ids"),
        (f"/organisations/{own.id}", coordinator, {"excluded_ids": "all"}, "excluded_ids"),
        (f"/organisations/{own.id}", coordinator, {"areas": [""]}, "areas"),
        (f"/organisations/{own.id}", coordinator, {"internal_notes": "x" * 5001},
         "internal_notes"),
        (f"/organisations/{own.id}", coordinator, {"id": 5}, "id"),
        (f"/currencies/{staff.id}", admin, {"value_per_unit": -1}, "value_per_unit"),
        (f"/currencies/{staff.id}", admin, {"value_per_unit": "lots"}, "value_per_unit"),
        (f"/currencies/{staff.id}", admin, {"code": "renamed"}, "code"),
        (f"/currencies/{staff.id}", admin, {"active": "no"}, "active"),
        (f"/currencies/{staff.id}", admin, {"categories": ["x" * 81]}, "categories"),
        ("/market/settings", admin, {"max_cycle": 7}, "max_cycle"),
        ("/market/settings", admin, {"max_cycle": "3"}, "max_cycle"),
        ("/market/settings", admin, {"fairness_threshold": 2}, "fairness_threshold"),
        ("/market/settings", admin, {"objective": "x"}, "objective"),
        ("/market/settings", admin, {"weights": {"luck": 1}}, "weights"),
        ("/market/settings", admin, {"delivery_days": 0}, "delivery_days"),
    ]
    for path, headers, body, field in cases:
        response = client.patch(f"{API}{path}", json=body, headers=headers)
        assert response.status_code == 422, (path, body, response.json)
        assert field in response.json["errors"], (path, body)
    assert snapshot(own) == before_org and snapshot(staff) == before_staff
    assert snapshot(MarketSettings.current()) == before_settings


# --- reading ----------------------------------------------------------------------------

PRIVATE = {"contact_email", "contact_phone", "internal_notes", "excluded_ids"}


def test_private_fields_only_for_those_allowed(client, market, api_as):
    own = market["own_org"]
    own.contact_email, own.internal_notes = "team@own.example", "Board is wary of X."
    db.session.commit()
    for role, sees_private in (("member", True), ("other_member", False),
                               ("coordinator", True), ("auditor", True), ("admin", True)):
        headers = api_as(role)
        one = client.get(f"{API}/organisations/{own.id}", headers=headers).json
        listed = {org["id"]: org for org in client.get(
            f"{API}/organisations", headers=headers).json["items"]}
        for body in (one, listed[own.id]):
            assert (set(body) >= PRIVATE) is sees_private, role
            assert bool(PRIVATE & set(body)) is sees_private, role
            assert body["name"] == own.name
        if role == "member":
            assert not PRIVATE & set(listed[market["other_org"].id])


def test_reading_needs_a_token(client, market):
    offer_id = market["offer"].id
    for path in ("/listings", "/organisations", "/currencies", f"/listings/{offer_id}"):
        assert client.get(f"{API}{path}").status_code == 401


def test_listing_filters_and_paging(client, market, api_as):
    headers = api_as("other_member")
    data = client.get(f"{API}/listings?kind=need", headers=headers).json
    assert [item["id"] for item in data["items"]] == [market["need"].id]
    data = client.get(f"{API}/listings?area=east&currency=premises", headers=headers).json
    assert [item["id"] for item in data["items"]] == [market["other_offer"].id]
    data = client.get(f"{API}/listings?q=clinic&per_page=1&page=2", headers=headers).json
    assert (data["total"], data["pages"], data["page"], len(data["items"])) == (2, 2, 2, 1)
    data = client.get(f"{API}/listings?organisation_id={market['own_org'].id}",
                      headers=headers).json
    assert {item["id"] for item in data["items"]} == {market["offer"].id, market["need"].id}


def test_bad_listing_queries_are_422(client, market, api_as):
    headers = api_as("member")
    for query in ("kind=swap", "page=0", "per_page=1000", "status=gone", "organisation_id=abc",
                  "q=" + "x" * 201, "gift=maybe", "page=99999999999"):
        response = client.get(f"{API}/listings?{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.json["errors"]


def test_listings_past_their_end_read_as_expired_without_a_write(client, market, api_as,
                                                                 make_listing):
    from datetime import date

    past = make_listing(market["other_org"], available_from=date(2020, 1, 1),
                        available_until=date(2020, 2, 1))
    headers = api_as("member")
    data = client.get(f"{API}/listings?status=any", headers=headers).json
    statuses = {item["id"]: item["status"] for item in data["items"]}
    assert statuses[past.id] == "expired"
    open_ids = {item["id"] for item in client.get(f"{API}/listings", headers=headers).json["items"]}
    expired = client.get(f"{API}/listings?status=expired", headers=headers).json["items"]
    assert past.id not in open_ids and past.id in {item["id"] for item in expired}
    assert snapshot(past)["status"] == "open"  # a GET never writes


def test_currencies_and_settings_are_readable(client, market, api_as):
    currencies = client.get(f"{API}/currencies", headers=api_as("member")).json
    assert {c["code"] for c in currencies} == {"staff", "premises"}
    assert next(c for c in currencies if c["code"] == "staff")["categories"]
    settings = client.get(f"{API}/market/settings", headers=api_as("auditor")).json
    assert settings["max_cycle"] == 3 and settings["fairness_threshold"] == 0.5


def test_openapi_registry_documents_the_market():
    from app.api.core import REGISTRY

    declared = {(doc.method, doc.rule) for doc in REGISTRY}
    assert {("GET", "/listings"), ("POST", "/listings"), ("GET", "/listings/<int:listing_id>"),
            ("PATCH", "/listings/<int:listing_id>"),
            ("POST", "/listings/<int:listing_id>/withdraw"), ("GET", "/organisations"),
            ("GET", "/organisations/<int:organisation_id>"),
            ("PATCH", "/organisations/<int:organisation_id>"), ("GET", "/currencies")} <= declared
    market_docs = [doc for doc in REGISTRY if doc.tag == "market"]
    assert all(doc.response is not None for doc in market_docs)
    assert all(doc.body is not None for doc in market_docs
               if doc.method in ("POST", "PATCH") and not doc.rule.endswith("/withdraw"))


def test_listing_dump_equals_marshmallows_field_by_field(app, market, make_listing):
    """ListingSchema builds its dicts by hand (speed); they must equal what marshmallow
    makes of the declared fields, for every kind of listing: dated, undated, expired,
    withdrawn, gifts, needs with a minimum, no tags or areas."""
    from datetime import date, datetime, timedelta

    from marshmallow import Schema

    from app.market.schemas import ListingSchema

    make_listing(market["own_org"], available_from=date.today() - timedelta(days=9),
                 available_until=date.today() - timedelta(days=1), tags=["a", "b"])
    make_listing(market["own_org"], kind="need", min_quantity=2, areas=[], remote=True,
                 category=None, status=ListingStatus.WITHDRAWN)
    make_listing(market["own_org"], is_gift=True, description="",
                 created_at=datetime(2026, 1, 2, 3, 4, 5, 678901))
    db.session.commit()
    listings = db.session.execute(db.select(Listing)).scalars().all()
    schema = ListingSchema()
    assert len(listings) >= 4
    assert schema.dump(listings, many=True) == Schema.dump(schema, listings, many=True)
    assert schema.dump(listings[-1]) == Schema.dump(schema, listings[-1])
    statuses = {item["status"] for item in schema.dump(listings, many=True)}
    assert {"expired", "withdrawn", "open"} <= statuses
    # A narrowed schema still goes through marshmallow.
    assert set(ListingSchema(only=("id", "title")).dump(listings[0])) == {"id", "title"}
