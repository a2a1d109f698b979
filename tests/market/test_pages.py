"""The market's pages: the authorisation matrix for every form, field-level messages on
bad input (with nothing stored), and what each role sees."""

from __future__ import annotations

from app.extensions import db
from app.market.models import Currency, Listing, ListingStatus, MarketSettings, Organisation
from tests.market.conftest import ROLES, snapshot


def listing_form(**overrides) -> dict:
    data = {"kind": "offer", "currency": "staff", "category": "social worker",
            "title": "Social work sessions", "quantity": "6", "areas": ["north"],
            "tags": "Evenings, DBS checked"}
    data.update(overrides)
    return data


def count(model) -> int:
    return db.session.execute(db.select(db.func.count(model.id))).scalar_one()


def outcome(response) -> str:
    """'login' (sent to the login page), 'done' (redirected onward) or the status code."""
    if response.status_code == 302:
        return "login" if "/login" in response.headers["Location"] else "done"
    return str(response.status_code)


LISTING_WRITE = {"anonymous": "login", "member": "done", "other_member": "403",
                 "coordinator": "403", "auditor": "403", "admin": "403"}
PROFILE_WRITE = {**LISTING_WRITE, "coordinator": "done", "admin": "done"}
STAFF_ONLY = {**LISTING_WRITE, "member": "403", "coordinator": "done", "admin": "done"}
ADMIN_ONLY = {**STAFF_ONLY, "coordinator": "403"}


# --- the matrix -------------------------------------------------------------------------
# Each test walks through every role; permission is checked before state, so an earlier
# role's success does not change what a later role is told.

def test_new_listing_form_matrix(client, market, as_role):
    expected = {**LISTING_WRITE, "other_member": "done"}
    for role in ROLES:
        as_role(role)
        before = count(Listing)
        response = client.post("/market/listings/new", data=listing_form())
        assert outcome(response) == expected[role], role
        assert count(Listing) == before + (1 if expected[role] == "done" else 0), role
        if expected[role] == "done":
            created = db.session.execute(db.select(Listing).order_by(Listing.id.desc())).scalar()
            assert created.organisation_id == market[role].organisation_id
            assert created.tags == ["dbs-checked", "evenings"]


def test_edit_listing_form_matrix(client, market, as_role):
    offer = market["offer"]
    for role in ROLES:
        as_role(role)
        before = snapshot(offer)
        response = client.post(f"/market/listings/{offer.id}/edit", data=listing_form(
            title=f"Renamed by {role}", category="registered nurse", quantity="12"))
        assert outcome(response) == LISTING_WRITE[role], role
        after = snapshot(offer)
        if LISTING_WRITE[role] == "done":
            assert (after["title"], after["quantity"], after["remaining"]) == (
                f"Renamed by {role}", 12, 12)
        else:
            assert after == before, role
            if role != "anonymous":
                assert client.get(f"/market/listings/{offer.id}/edit").status_code == 403


def test_withdraw_listing_form_matrix(client, market, as_role):
    offer = market["offer"]
    for role in sorted(ROLES, key=lambda name: name == "member"):  # the owner last
        as_role(role)
        before = snapshot(offer)
        response = client.post(f"/market/listings/{offer.id}/withdraw")
        assert outcome(response) == LISTING_WRITE[role], role
        after = snapshot(offer)
        if LISTING_WRITE[role] == "done":
            assert after["status"] == ListingStatus.WITHDRAWN
        else:
            assert after == before, role


def test_edit_organisation_form_matrix(client, market, as_role):
    own = market["own_org"]
    for role in ROLES:
        as_role(role)
        before = snapshot(own)
        data = {"name": f"Renamed by {role}", "slug": own.slug, "sector": "hospice",
                "areas": "north, south", "description": f"Edited by {role}",
                "excluded": [str(market["other_org"].id)]}
        response = client.post(f"/organisations/{own.slug}/edit", data=data)
        assert outcome(response) == PROFILE_WRITE[role], role
        after = snapshot(own)
        if PROFILE_WRITE[role] != "done":
            assert after == before, role
            continue
        assert after["description"] == f"Edited by {role}"
        assert [o.id for o in db.session.get(Organisation, own.id).excluded] == [
            market["other_org"].id]
        if role == "member":
            # the member's form has no name, slug or sector: those stay as they were
            assert (after["name"], after["sector"]) == (before["name"], before["sector"])
        else:
            assert (after["name"], after["sector"]) == (f"Renamed by {role}", "hospice")


def test_new_organisation_form_matrix(client, market, as_role):
    for role in ROLES:
        as_role(role)
        before = count(Organisation)
        response = client.post("/organisations/new", data={
            "name": f"Men's Shed ({role})", "sector": "voluntary", "areas": "north"})
        assert outcome(response) == STAFF_ONLY[role], role
        assert count(Organisation) == before + (1 if STAFF_ONLY[role] == "done" else 0)


def test_currency_forms_matrix(client, market, as_role):
    for role in ROLES:
        as_role(role)
        before_count, before_staff = count(Currency), snapshot(market["staff"])
        created = client.post("/market/currencies/new", data={
            "code": f"kit-{role.replace('_', '-')}", "name": "Equipment", "unit": "item-week",
            "value_per_unit": "12.50", "active": "y", "categories": "hoist\nwheelchair"})
        edited = client.post(f"/market/currencies/{market['staff'].id}/edit", data={
            "name": "Staff time", "unit": "staff-day", "value_per_unit": "320", "active": "y",
            "categories": "registered nurse"})
        assert outcome(created) == outcome(edited) == ADMIN_ONLY[role], role
        if ADMIN_ONLY[role] == "done":
            assert count(Currency) == before_count + 1
            assert snapshot(market["staff"])["value_per_unit"] == 320
        else:
            assert count(Currency) == before_count, role
            assert snapshot(market["staff"]) == before_staff, role


def test_settings_form_matrix(client, market, as_role):
    MarketSettings.current()
    db.session.commit()
    for role in ROLES:
        as_role(role)
        before = snapshot(MarketSettings.current())
        response = client.post("/market/settings", data={
            "max_cycle": "4", "max_chain": "2", "fairness_threshold": "0.6",
            "objective": "lexicographic", "time_limit_seconds": "20", "acceptance_days": "10",
            "delivery_days": "30"})
        assert outcome(response) == ADMIN_ONLY[role], role
        after = snapshot(MarketSettings.current())
        assert after["max_cycle"] == (4 if ADMIN_ONLY[role] == "done" else
                                      before["max_cycle"]), role


def test_pages_need_login(client, market):
    for path in ("/market", "/organisations", "/market/currencies", "/market/listings/1",
                 "/market/my-organisation"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_every_role_can_read_the_market(client, market, as_role):
    for role in ROLES[1:]:
        as_role(role)
        for path in ("/", "/market", "/organisations", "/market/currencies",
                     f"/market/listings/{market['offer'].id}",
                     f"/organisations/{market['own_org'].slug}"):
            assert client.get(path).status_code == 200, (role, path)


# --- bad input through the forms --------------------------------------------------------

BAD_LISTING_FORMS = [
    ({"quantity": "-1"}, "Number must be between 1 and 1000000"),
    ({"quantity": "2000000"}, "Number must be between 1 and 1000000"),
    ({"quantity": "lots"}, "Not a valid integer value"),
    ({"quantity": ""}, "This field is required"),
    ({"title": ""}, "This field is required"),
    ({"title": "x" * 141}, "between 3 and 140"),
    ({"currency": "gold"}, "Not a valid choice"),
    ({"kind": "swap"}, "Not a valid choice"),
    ({"category": "plumber"}, "Not a category of Staff time"),
    ({"areas": []}, "Choose at least one area"),
    ({"areas": ["atlantis"]}, "Unknown area(s): atlantis"),
    ({"min_quantity": "3"}, "Only needs have a minimum"),
    ({"available_from": "2030-02-01", "available_until": "2030-01-01"},
     "on or after the start date"),
    ({"available_until": "yesterday"}, "Not a valid date value"),
]


def test_new_listing_form_shows_field_errors(client, market, as_role):
    as_role("member")
    before = count(Listing)
    for overrides, message in BAD_LISTING_FORMS:
        response = client.post("/market/listings/new", data=listing_form(**overrides))
        assert response.status_code == 422, overrides
        page = response.get_data(as_text=True)
        assert 'class="error"' in page and message in page, overrides
    assert count(Listing) == before


def test_edit_form_refuses_quantity_below_reserved(client, market, as_role):
    as_role("member")
    offer = market["offer"]
    offer.reserved = 4
    db.session.commit()
    before = snapshot(offer)
    response = client.post(f"/market/listings/{offer.id}/edit", data=listing_form(
        category="registered nurse", quantity="3"))
    assert response.status_code == 422
    assert "4 reserved by approved proposals" in response.get_data(as_text=True)
    assert snapshot(offer) == before


def test_edit_form_names_the_kind_in_plain_english(client, market, as_role):
    as_role("member")
    offer = client.get(f"/market/listings/{market['offer'].id}/edit").get_data(as_text=True)
    need = client.get(f"/market/listings/{market['need'].id}/edit").get_data(as_text=True)
    assert "An offer in Staff time" in offer and "A need in Premises" in need


def test_double_withdraw_is_409_and_reserved_withdraw_is_409(client, market, as_role):
    as_role("member")
    offer, need = market["offer"], market["need"]
    assert outcome(client.post(f"/market/listings/{offer.id}/withdraw")) == "done"
    again = client.post(f"/market/listings/{offer.id}/withdraw")
    assert again.status_code == 409 and "already withdrawn" in again.get_data(as_text=True)
    need.reserved = 5
    db.session.commit()
    before = snapshot(need)
    refused = client.post(f"/market/listings/{need.id}/withdraw")
    assert refused.status_code == 409 and "reserved" in refused.get_data(as_text=True)
    assert snapshot(need) == before


def test_unknown_ids_are_404(client, market, as_role):
    as_role("member")
    for path in ("/market/listings/987654", "/market/listings/987654/edit",
                 "/market/listings/99999999999999999999", "/organisations/no-such-org",
                 "/organisations/no-such-org/edit"):
        assert client.get(path).status_code == 404, path
    assert client.post("/market/listings/987654/withdraw").status_code == 404


def test_organisation_form_errors(client, market, as_role):
    as_role("coordinator")
    own = market["own_org"]
    before = snapshot(own)
    response = client.post(f"/organisations/{own.slug}/edit", data={
        "name": market["other_org"].name, "slug": "Bad Slug", "sector": "other",
        "contact_email": "nope", "areas": "north"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Another organisation already has this name",
                    "Use lower-case letters", "Not a valid email address"):
        assert message in page
    assert snapshot(own) == before


def test_settings_form_errors(client, market, as_role):
    as_role("admin")
    response = client.post("/market/settings", data={
        "max_cycle": "9", "max_chain": "2", "fairness_threshold": "1.5",
        "objective": "lexicographic", "time_limit_seconds": "20", "acceptance_days": "10",
        "delivery_days": "30"})
    assert response.status_code == 422
    assert response.get_data(as_text=True).count('class="error"') == 2


def test_forms_are_csrf_protected(app, client, market, as_role):
    app.config["WTF_CSRF_ENABLED"] = True
    as_role("member")
    before = count(Listing)
    response = client.post("/market/listings/new", data=listing_form())
    assert response.status_code == 400
    assert client.post(f"/market/listings/{market['offer'].id}/withdraw").status_code == 400
    assert count(Listing) == before
    assert market["offer"].status == ListingStatus.OPEN
    page = client.get("/market/listings/new").get_data(as_text=True)
    assert 'name="csrf_token"' in page


# --- what each role sees ----------------------------------------------------------------

def test_organisation_page_private_fields(client, market, as_role):
    own = market["own_org"]
    own.contact_email, own.internal_notes = "team@own.example", "Wary of the merger."
    own.excluded = [market["other_org"]]
    db.session.commit()
    for role, sees_private in (("member", True), ("other_member", False),
                               ("coordinator", True), ("auditor", True), ("admin", True)):
        as_role(role)
        page = client.get(f"/organisations/{own.slug}").get_data(as_text=True)
        for secret in ("team@own.example", "Wary of the merger.", 'data-testid="private-'):
            assert (secret in page) is sees_private, (role, secret)


def test_browse_filters_and_paging(client, market, as_role, make_listing):
    as_role("other_member")
    for n in range(25):
        make_listing(market["own_org"], title=f"Bulk offer {n:02d}", areas=["south"])
    page = client.get("/market?area=east").get_data(as_text=True)
    assert "Spare clinic room" in page and "Nurse days" not in page
    first = client.get("/market?q=bulk").get_data(as_text=True)
    assert "Page 1 of 2 (25)" in first and "Bulk offer 24" in first
    second = client.get("/market?q=bulk&page=2").get_data(as_text=True)
    assert "Bulk offer 00" in second and "Bulk offer 24" not in second
    ignored = client.get("/market?page=zero&kind=need")
    assert ignored.status_code == 200
    assert "Not applied: Page (Not a valid integer)." in ignored.get_data(as_text=True)
    sector = client.get("/organisations?sector=moon")
    assert sector.status_code == 200
    assert "Not applied: Sector (not one of the choices offered)." in \
        sector.get_data(as_text=True)


def test_listings_past_their_end_read_as_expired_without_a_write(client, market, as_role,
                                                                 make_listing):
    from datetime import date

    past = make_listing(market["other_org"], title="Old offer",
                        available_from=date(2020, 1, 1), available_until=date(2020, 2, 1))
    before = snapshot(past)
    as_role("member")
    assert "Old offer" not in client.get("/market").get_data(as_text=True)
    expired = client.get("/market?status=expired").get_data(as_text=True)
    assert "Old offer" in expired
    page = client.get(f"/market/listings/{past.id}").get_data(as_text=True)
    assert 'data-testid="listing-status">expired<' in page
    # A GET changes nothing: the stored status catches up only via `flask listings expire`.
    assert snapshot(past) == before and before["status"] == ListingStatus.OPEN


def test_my_organisation_and_start_page(client, market, as_role):
    as_role("member")
    page = client.get("/market/my-organisation").get_data(as_text=True)
    assert "Nurse days" in page and "Clinic room" in page and "Spare clinic room" not in page
    start = client.get("/").get_data(as_text=True)
    assert 'data-testid="waiting-on-you"' in start
    assert 'data-testid="my-open-offers">1<' in start
    assert 'data-testid="open-offers">2<' in start
    as_role("coordinator")
    assert client.get("/market/my-organisation").status_code == 403
    assert 'data-testid="my-organisation-summary"' not in client.get("/").get_data(
        as_text=True)


def test_inactive_currency_is_not_offered_on_the_form(client, market, as_role):
    market["premises"].active = False
    db.session.commit()
    as_role("member")
    page = client.get("/market/listings/new").get_data(as_text=True)
    assert 'value="staff"' in page and 'value="premises"' not in page


def test_market_menus_follow_organisation_changes(client, market, as_role, make_org):
    """The organisation menu and the area menu are kept per process between pages, but a
    new organisation or a changed area shows on the next page."""
    from app.market import organisations as organisation_rules

    as_role("member")
    first = client.get("/market").get_data(as_text=True)
    assert "zz-new-area" not in first and "Menu Newcomer" not in first
    org = make_org("Menu Newcomer", areas=["zz-new-area"])
    db.session.commit()
    second = client.get("/market").get_data(as_text=True)
    assert "zz-new-area" in second and "Menu Newcomer" in second
    organisation_rules.update_organisation(market["admin"], org, {"areas": ["zz-moved"]})
    db.session.commit()
    third = client.get("/market").get_data(as_text=True)
    assert "zz-moved" in third and "zz-new-area" not in third


def test_market_menus_are_kept_across_new_listings_and_show_the_choice(
        client, market, as_role, api_as):
    """A posted listing leaves the organisation and area menus as they were (no rebuild:
    neither the names nor the areas are read again); the chosen ones are selected. A
    listing's areas are checked against the same kept list, which follows the
    organisations' areas at once."""
    from sqlalchemy import event

    from app.market import organisations as organisation_rules

    poster = api_as("other_member")
    as_role("member")
    client.get("/market")
    body = {"kind": "offer", "currency": "staff", "category": "social worker",
            "title": "Weekend social worker", "quantity": 2, "areas": ["east"]}
    assert client.post("/api/v1/listings", headers=poster, json=body).status_code == 201
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        other = market["other_org"].id
        page = client.get(f"/market?area=east&organisation_id={other}").get_data(True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert not [s for s in seen if "ORDER BY organisations.name" in s or "unnest" in s.lower()
                or "max(organisations" in s], seen
    assert '<option value="east" selected>east</option>' in page
    assert '<option value="north">north</option>' in page
    assert f'<option value="{other}" selected>' in page
    refused = client.post("/api/v1/listings", headers=poster,
                          json={**body, "areas": ["west"]})
    assert refused.status_code == 422 and "west" in str(refused.get_json()["errors"])
    organisation_rules.update_organisation(market["admin"], market["other_org"],
                                           {"areas": ["north", "east", "west"]})
    db.session.commit()
    assert client.post("/api/v1/listings", headers=poster,
                       json={**body, "areas": ["west"]}).status_code == 201


def test_edit_and_withdraw_from_a_fresh_session(client, market, api_as, as_role):
    """In production each request starts with an empty session, so the listing an edit
    locks was just read with its organisation and currency joined: the lock must take the
    listing's row alone (PostgreSQL refuses FOR UPDATE on the outer-joined side)."""
    headers = api_as("member")
    as_role("member")
    offer_id, need_id = market["offer"].id, market["need"].id

    def fresh():
        db.session.commit()
        db.session.expunge_all()

    fresh()
    edited = client.patch(f"/api/v1/listings/{offer_id}", headers=headers,
                          json={"quantity": 12})
    assert edited.status_code == 200, edited.get_json()
    fresh()
    withdrawn = client.post(f"/api/v1/listings/{offer_id}/withdraw", headers=headers)
    assert withdrawn.status_code == 200, withdrawn.get_json()
    fresh()
    page = client.post(f"/market/listings/{need_id}/edit", data={
        "title": "Renamed need", "category": "clinic room", "quantity": "40",
        "min_quantity": "20", "areas": ["south"]})
    assert page.status_code in (302, 303), page.get_data(True)[:500]
    fresh()
    assert client.post(f"/market/listings/{need_id}/withdraw").status_code in (302, 303)
    fresh()
    statuses = dict(db.session.execute(db.select(Listing.id, Listing.status).where(
        Listing.id.in_([offer_id, need_id]))).all())
    assert statuses == {offer_id: ListingStatus.WITHDRAWN, need_id: ListingStatus.WITHDRAWN}
