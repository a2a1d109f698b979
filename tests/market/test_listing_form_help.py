"""The listing form helps: category a choice tied to the currency (grouped by
currency without script, checked on the server), offer-only and need-only fields
marked and refused where they do not apply, the unit beside the quantity, date
pickers bounded by today and the service's horizon, values kept on error."""

from __future__ import annotations

import re
from datetime import timedelta

from app.core.clock import today
from app.core.limits import MAX_HORIZON_DAYS
from app.extensions import db
from app.market.models import Listing
from tests.market.test_pages import listing_form


def count() -> int:
    return db.session.execute(db.select(db.func.count(Listing.id))).scalar_one()


def test_category_is_a_choice_grouped_by_currency(client, market, as_role):
    as_role("member")
    page = client.get("/market/listings/new").get_data(as_text=True)
    select = page.split('<select id="category"')[1].split("</select>")[0]
    assert 'data-filter-by="currency"' in select
    groups = re.findall(r'<optgroup label="([^"]+)" data-currency="([^"]+)">(.*?)</optgroup>',
                        select, re.S)
    assert {(label, code) for label, code, _ in groups} == {
        ("Staff time", "staff"), ("Premises", "premises")}
    staff = next(body for _, code, body in groups if code == "staff")
    assert 'value="registered nurse"' in staff and "clinic room" not in staff
    assert "<datalist" not in page  # no free text with every category printed below
    # The currency options carry their unit for the script; the unit sits beside quantity.
    assert re.search(r'<option[^>]*data-unit="room-hour"|data-unit="room-hour"[^>]*>', page)
    quantity = page.split('id="quantity-field"')[1].split("</div>")[0]
    assert re.search(r'<span class="unit" data-unit-source="currency">(staff-day|room-hour)'
                     r'</span>', quantity)


def test_a_category_of_another_currency_is_refused_and_values_kept(client, market, as_role):
    as_role("member")
    before = count()
    response = client.post("/market/listings/new", data=listing_form(
        currency="staff", category="clinic room", title="Typed title kept"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert count() == before
    assert "Not a category of Staff time" in page
    summary = page.split('data-testid="error-summary"')[1].split("</div>")[0]
    assert 'href="#category"' in summary
    assert 'aria-invalid="true"' in page.split('<select id="category"')[1].split(">")[0]
    assert 'value="Typed title kept"' in page
    # The typed category comes back selected (in the group where it exists).
    premises = page.split('data-currency="premises">')[1].split("</optgroup>")[0]
    assert '<option value="clinic room" selected>' in premises


def test_fields_for_one_kind_are_marked_and_refused_for_the_other(client, market, as_role):
    as_role("member")
    page = client.get("/market/listings/new").get_data(as_text=True)
    assert re.search(r'<div data-kinds="need">\s*<div class="field\s*" id="min_quantity-field"',
                     page)
    assert re.search(r'<div data-kinds="offer">\s*<div class="field\s*" id="gift-field"', page)
    before = count()
    offer = client.post("/market/listings/new", data=listing_form(min_quantity="2"))
    assert offer.status_code == 422
    assert "Only needs have a minimum acceptable quantity." in offer.get_data(as_text=True)
    need = client.post("/market/listings/new", data=listing_form(
        kind="need", gift="y", category="social worker"))
    assert need.status_code == 422
    assert "Only offers can be gifts." in need.get_data(as_text=True)
    assert count() == before
    # Editing: the kind is fixed, so only its own fields are drawn.
    offer_edit = client.get(f"/market/listings/{market['offer'].id}/edit").get_data(as_text=True)
    assert 'id="gift-field"' in offer_edit and 'id="min_quantity-field"' not in offer_edit
    need_edit = client.get(f"/market/listings/{market['need'].id}/edit").get_data(as_text=True)
    assert 'id="min_quantity-field"' in need_edit and 'id="gift-field"' not in need_edit
    assert "room-hour" in need_edit.split('id="quantity-field"')[1].split("</div>")[0]
    groups = re.findall(r'data-currency="(\w+)"', need_edit)
    assert groups == ["premises"]  # an edit offers its own currency's categories only


def test_date_pickers_are_bounded_by_today_and_the_horizon(client, market, as_role):
    as_role("member")
    page = client.get("/market/listings/new").get_data(as_text=True)
    first, last = today().isoformat(), (today() + timedelta(days=MAX_HORIZON_DAYS)).isoformat()
    for name in ("available_from", "available_until"):
        tag = re.search(rf'<input[^>]*id="{name}"[^>]*>', page).group(0)
        assert 'type="date"' in tag and f'min="{first}"' in tag and f'max="{last}"' in tag
    # Beyond the horizon the server refuses too, naming the field.
    late = (today() + timedelta(days=MAX_HORIZON_DAYS + 1)).isoformat()
    response = client.post("/market/listings/new", data=listing_form(available_until=late))
    assert response.status_code == 422 and 'href="#available_until"' in response.get_data(
        as_text=True)


def test_the_script_that_filters_is_served(client):
    script = client.get("/static/app.js").get_data(as_text=True)
    assert "data-filter-by=currency" in script and "data-kinds" in script
