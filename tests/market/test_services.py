"""The market's rules, exercised through the services (no HTTP)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.core import validation
from app.core.errors import Conflict, Forbidden, Invalid
from app.extensions import db
from app.market import browse as market_browse
from app.market import currencies as currency_rules
from app.market import listings as listing_rules
from app.market import organisations as organisation_rules
from app.market import settings as market_settings
from app.market.models import Listing, ListingKind, ListingStatus, MarketSettings
from tests.market.conftest import snapshot

TODAY = date(2026, 6, 1)


def offer_data(**overrides) -> dict:
    data = {"kind": "offer", "currency": "staff", "category": "registered nurse",
            "title": "Nurse days", "quantity": 5, "areas": ["north"]}
    data.update(overrides)
    return data


def errors_of(excinfo) -> dict:
    return excinfo.value.errors


# --- normalisation ----------------------------------------------------------------------

def test_codes_are_normalised():
    for raw, code in (("DBS checked", "dbs-checked"), ("  Evenings ", "evenings"),
                      ("home_visits", "home-visits"), ("a--b", "a-b"), ("Ünïcode!", "ncode"),
                      ("-x-", "x")):
        assert validation.normalise_code(raw) == code


def test_tags_are_normalised_deduplicated_and_sorted(market):
    listing = listing_rules.create_listing(market["member"], offer_data(
        tags=["Nights", "DBS checked", "nights", " "]), today=TODAY)
    assert listing.tags == ["dbs-checked", "nights"]


def test_category_takes_the_currency_spelling(market):
    listing = listing_rules.create_listing(
        market["member"], offer_data(category="Registered NURSE"), today=TODAY)
    assert listing.category == "registered nurse"


# --- field rules ------------------------------------------------------------------------

BAD_LISTINGS = [
    ({"quantity": 0}, "quantity"),
    ({"quantity": -3}, "quantity"),
    ({"quantity": 1_000_001}, "quantity"),
    ({"quantity": "5"}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"quantity": None}, "quantity"),
    ({"title": "ab"}, "title"),
    ({"title": "x" * 141}, "title"),
    ({"title": "bad\x00title"}, "title"),
    ({"description": "x" * 5001}, "description"),
    ({"kind": "swap"}, "kind"),
    ({"currency": "gold"}, "currency"),
    ({"currency": ""}, "currency"),
    ({"category": "plumber"}, "category"),
    ({"category": None}, "category"),  # offers must name a category
    ({"min_quantity": 2}, "min_quantity"),  # offers have no minimum
    ({"areas": []}, "areas"),
    ({"areas": ["atlantis"]}, "areas"),
    ({"areas": "north"}, None),  # a string is split, not refused
    ({"tags": ["x" * 41]}, "tags"),
    ({"tags": ["!!!"]}, "tags"),
    ({"tags": [f"t{i}" for i in range(13)]}, "tags"),
    ({"tags": [1, 2]}, "tags"),
    ({"available_from": date(2026, 7, 1), "available_until": date(2026, 6, 30)},
     "available_until"),
    ({"available_until": date(2026, 5, 31)}, "available_until"),
    ({"available_until": date(2040, 1, 1)}, "available_until"),
    ({"available_from": "not a date"}, "available_from"),
    ({"remote": "yes"}, "remote"),
]


def test_listing_fields_are_validated(market):
    before = db.session.execute(db.select(db.func.count(Listing.id))).scalar_one()
    for overrides, field in BAD_LISTINGS:
        if field is None:
            listing_rules.create_listing(market["member"], offer_data(**overrides), today=TODAY)
            db.session.rollback()
            continue
        with pytest.raises(Invalid) as excinfo:
            listing_rules.create_listing(market["member"], offer_data(**overrides), today=TODAY)
        assert field in errors_of(excinfo), overrides
        db.session.rollback()
    assert db.session.execute(db.select(db.func.count(Listing.id))).scalar_one() == before


def test_need_rules(market):
    member = market["member"]
    with pytest.raises(Invalid) as excinfo:
        listing_rules.create_listing(member, offer_data(kind="need", quantity=5, min_quantity=6),
                           today=TODAY)
    assert "min_quantity" in errors_of(excinfo)
    with pytest.raises(Invalid) as excinfo:
        listing_rules.create_listing(member, offer_data(kind="need", gift=True), today=TODAY)
    assert "gift" in errors_of(excinfo)
    need = listing_rules.create_listing(
        member, offer_data(kind="need", category=None, min_quantity=2), today=TODAY)
    assert need.category is None and need.min_quantity == 2


def test_remote_listing_needs_no_area(market):
    listing = listing_rules.create_listing(market["member"], offer_data(areas=[], remote=True),
                                 today=TODAY)
    assert listing.remote and listing.areas == []


def test_several_errors_are_reported_together(market):
    with pytest.raises(Invalid) as excinfo:
        listing_rules.create_listing(market["member"], offer_data(quantity=0, title="", areas=[]),
                           today=TODAY)
    assert {"quantity", "title", "areas"} <= set(errors_of(excinfo))


def test_unknown_fields_are_refused(market):
    with pytest.raises(Invalid) as excinfo:
        listing_rules.create_listing(market["member"], offer_data(status="fulfilled"), today=TODAY)
    assert "status" in errors_of(excinfo)


def test_inactive_currency_takes_no_new_listings(market):
    market["staff"].active = False
    db.session.commit()
    with pytest.raises(Invalid) as excinfo:
        listing_rules.create_listing(market["member"], offer_data(), today=TODAY)
    assert "inactive" in errors_of(excinfo)["currency"][0]


# --- who may write ----------------------------------------------------------------------

def test_only_members_post_listings(market):
    for role in ("coordinator", "auditor", "admin"):
        with pytest.raises(Forbidden):
            listing_rules.create_listing(market[role], offer_data(), today=TODAY)


def test_a_member_posts_only_for_its_own_organisation(market):
    with pytest.raises(Forbidden):
        listing_rules.create_listing(market["member"], offer_data(
            organisation_id=market["other_org"].id), today=TODAY)
    with pytest.raises(Invalid):
        listing_rules.create_listing(market["member"], offer_data(organisation_id=999_999),
                                     today=TODAY)
    own = listing_rules.create_listing(market["member"], offer_data(
        organisation_id=market["own_org"].id), today=TODAY)
    assert own.organisation_id == market["own_org"].id
    assert own.created_by_id == market["member"].id


def test_only_the_owning_members_edit_and_withdraw(market):
    offer = market["offer"]
    before = snapshot(offer)
    for role in ("other_member", "coordinator", "auditor", "admin"):
        with pytest.raises(Forbidden):
            listing_rules.update_listing(market[role], offer, {"title": "Changed"}, today=TODAY)
        with pytest.raises(Forbidden):
            listing_rules.withdraw_listing(market[role], offer)
        db.session.rollback()
    assert snapshot(offer) == before


# --- editing and withdrawing ------------------------------------------------------------

def test_edit_keeps_delivered_and_reserved(market):
    offer = market["offer"]  # quantity 10
    offer.remaining, offer.reserved = 8, 3  # 2 delivered, 3 held by approved proposals
    db.session.commit()
    with pytest.raises(Invalid) as excinfo:
        listing_rules.update_listing(market["member"], offer, {"quantity": 4}, today=TODAY)
    assert "quantity" in errors_of(excinfo)
    assert "2 already delivered and 3 reserved" in errors_of(excinfo)["quantity"][0]
    db.session.rollback()
    updated = listing_rules.update_listing(market["member"], offer, {"quantity": 5}, today=TODAY)
    assert (updated.quantity, updated.remaining, updated.reserved) == (5, 3, 3)
    updated = listing_rules.update_listing(market["member"], offer, {"quantity": 20}, today=TODAY)
    assert (updated.quantity, updated.remaining) == (20, 18)


def test_kind_and_currency_cannot_change(market):
    with pytest.raises(Invalid) as excinfo:
        listing_rules.update_listing(market["member"], market["offer"],
                           {"kind": "need", "currency": "premises"}, today=TODAY)
    assert set(errors_of(excinfo)) == {"kind", "currency"}
    # sending the current values is harmless
    listing_rules.update_listing(market["member"], market["offer"],
                       {"kind": "offer", "currency": "staff", "title": "Nurse weeks"},
                       today=TODAY)
    assert market["offer"].title == "Nurse weeks"


def test_withdraw_refuses_reserved_and_double_submit(market):
    offer = market["offer"]
    offer.reserved = 2
    db.session.commit()
    with pytest.raises(Conflict) as excinfo:
        listing_rules.withdraw_listing(market["member"], offer)
    assert "reserved" in excinfo.value.message
    db.session.rollback()
    offer.reserved = 0
    db.session.commit()
    assert listing_rules.withdraw_listing(market["member"], offer).status == ListingStatus.WITHDRAWN
    db.session.commit()
    with pytest.raises(Conflict) as excinfo:
        listing_rules.withdraw_listing(market["member"], offer)
    assert "already withdrawn" in excinfo.value.message
    with pytest.raises(Conflict):
        listing_rules.update_listing(market["member"], offer, {"title": "Back again"}, today=TODAY)


# --- expiry ----------------------------------------------------------------------------

def test_expire_listings_marks_past_ones_only(market, make_listing):
    past = make_listing(market["own_org"], available_from=date(2026, 1, 1),
                        available_until=TODAY - timedelta(days=1))
    today_ends = make_listing(market["own_org"], available_until=TODAY)
    withdrawn = make_listing(market["own_org"], available_until=TODAY - timedelta(days=9),
                             status=ListingStatus.WITHDRAWN)
    assert listing_rules.expire_listings(TODAY) == 1
    db.session.commit()
    assert past.status == ListingStatus.EXPIRED
    assert today_ends.status == ListingStatus.OPEN
    assert withdrawn.status == ListingStatus.WITHDRAWN
    assert listing_rules.expire_listings(TODAY) == 0  # idempotent


def test_an_expired_listing_reopens_when_its_window_is_extended(market, make_listing):
    listing = make_listing(market["own_org"], available_until=TODAY - timedelta(days=1))
    listing_rules.expire_listings(TODAY)
    listing_rules.update_listing(market["member"], listing, {"description": "still relevant"},
                       today=TODAY)
    assert listing.status == ListingStatus.EXPIRED  # unchanged window: stays expired
    listing_rules.update_listing(market["member"], listing,
                       {"available_until": TODAY + timedelta(days=30)}, today=TODAY)
    assert listing.status == ListingStatus.OPEN


# --- browsing ---------------------------------------------------------------------------

def ids(filters: market_browse.ListingFilters) -> set[int]:
    return set(db.session.execute(
        market_browse.listings_query(filters).with_only_columns(Listing.id)).scalars())


def test_filters(market, make_listing):
    offer, need, other = market["offer"], market["need"], market["other_offer"]
    remote = make_listing(market["other_org"], currency=market["staff"],
                          title="Online safeguarding", areas=[], remote=True, tags=["online"])
    assert ids(market_browse.ListingFilters(kind=ListingKind.NEED)) == {need.id}
    assert ids(market_browse.ListingFilters(currency="premises")) == {need.id, other.id}
    assert ids(market_browse.ListingFilters(category="Clinic Room")) == {need.id, other.id}
    # remote/any listings match every area
    assert ids(market_browse.ListingFilters(area="east")) == {other.id, remote.id}
    assert ids(market_browse.ListingFilters(area="South")) == {need.id, remote.id}
    assert ids(market_browse.ListingFilters(area="nort")) == {remote.id}  # whole codes only
    own_org_id = market["own_org"].id
    assert ids(market_browse.ListingFilters(organisation_id=own_org_id)) == {offer.id, need.id}
    assert ids(market_browse.ListingFilters(text="CLINIC")) == {need.id, other.id}
    assert ids(market_browse.ListingFilters(text="dbs")) == {offer.id}  # tags are searched
    assert ids(market_browse.ListingFilters(text="100%_")) == set()  # wildcards are literal
    assert ids(market_browse.ListingFilters(tag="DBS checked")) == {offer.id}
    offer.status = ListingStatus.WITHDRAWN
    db.session.commit()
    assert offer.id not in ids(market_browse.ListingFilters())
    assert ids(market_browse.ListingFilters(status=ListingStatus.WITHDRAWN)) == {offer.id}
    assert offer.id in ids(market_browse.ListingFilters(status=market_browse.STATUS_ANY))


def test_organisations_filter_by_area_and_text(market):
    found = db.session.execute(organisation_rules.organisations_query(area="east")).scalars().all()
    assert [org.id for org in found] == [market["other_org"].id]
    found = db.session.execute(organisation_rules.organisations_query(text="own")).scalars().all()
    assert [org.id for org in found] == [market["own_org"].id]


# --- organisations ----------------------------------------------------------------------

def test_private_fields_visibility(market):
    own = market["own_org"]
    assert organisation_rules.can_see_private(market["member"], own)
    for role in ("coordinator", "auditor", "admin"):
        assert organisation_rules.can_see_private(market[role], own)
    assert not organisation_rules.can_see_private(market["other_member"], own)
    assert not organisation_rules.can_see_private(None, own)


def test_member_edits_only_its_profile(market):
    own, member = market["own_org"], market["member"]
    organisation_rules.update_organisation(member, own, {"description": "We run clinics.",
                                          "areas": ["North", "south"],
                                          "excluded_ids": [market["other_org"].id]})
    assert own.description == "We run clinics."
    assert [o.id for o in own.excluded] == [market["other_org"].id]
    for field, value in (("slug", "renamed"), ("name", "Renamed"), ("sector", "hospice")):
        with pytest.raises(Forbidden) as excinfo:
            organisation_rules.update_organisation(member, own, {field: value})
        assert field in excinfo.value.errors
    with pytest.raises(Forbidden):
        organisation_rules.update_organisation(member, market["other_org"],
                                               {"description": "hijack"})
    with pytest.raises(Forbidden):
        organisation_rules.update_organisation(market["auditor"], own, {"description": "audit"})


def test_organisation_validation(market):
    coordinator, own = market["coordinator"], market["own_org"]
    cases = [
        ({"name": market["other_org"].name.upper()}, "name"),
        ({"slug": market["other_org"].slug}, "slug"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"sector": "bank"}, "sector"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"excluded_ids": [own.id]}, "excluded_ids"),
        ({"excluded_ids": [987654]}, "excluded_ids"),
        ({"excluded_ids": ["1"]}, "excluded_ids"),
        ({"areas": [f"a{i}" for i in range(21)]}, "areas"),
    ]
    for data, field in cases:
        with pytest.raises(Invalid) as excinfo:
            organisation_rules.update_organisation(coordinator, own, data)
        assert field in excinfo.value.errors, data
        db.session.rollback()


def test_staff_create_organisations_with_a_derived_slug(market):
    org = organisation_rules.create_organisation(market["coordinator"], {
        "name": "Kingsford Men's Shed", "sector": "voluntary", "areas": ["Kingsford"]})
    assert org.slug == "kingsford-mens-shed" and org.areas == ["kingsford"]
    for role in ("member", "auditor"):
        with pytest.raises(Forbidden):
            organisation_rules.create_organisation(market[role], {"name": "Another"})


# --- known areas ------------------------------------------------------------------------

def test_known_areas_are_the_organisations_areas(market):
    assert organisation_rules.known_areas() == ["east", "north", "south"]


# --- currencies and settings ------------------------------------------------------------

def test_currency_rules(market):
    admin = market["admin"]
    currency = currency_rules.create_currency(admin, {
        "code": "Equipment", "name": "Equipment loans", "unit": "item-week",
        "value_per_unit": "12.50", "categories": ["hoist", "Hoist", " wheelchair "]})
    assert currency.code == "equipment" and currency.categories == ["hoist", "wheelchair"]
    for data, field in (({"value_per_unit": 0}, "value_per_unit"),
                        ({"value_per_unit": "1.234"}, "value_per_unit"),
                        ({"value_per_unit": "NaN"}, "value_per_unit"),
                        ({"value_per_unit": 10**7}, "value_per_unit"),
                        ({"code": "other"}, "code"),
                        ({"categories": ["a,b"]}, "categories")):
        with pytest.raises(Invalid) as excinfo:
            currency_rules.update_currency(admin, currency, data)
        assert field in excinfo.value.errors
    currency_rules.update_currency(admin, currency, {"value_per_unit": Decimal("15")})
    assert currency.value_per_unit == Decimal("15")
    with pytest.raises(Forbidden):
        currency_rules.update_currency(market["coordinator"], currency, {"name": "Kit"})
    with pytest.raises(Invalid):
        currency_rules.create_currency(admin, {"code": "staff", "name": "Dup", "unit": "u",
                                    "value_per_unit": 1})


def test_settings_rules(market):
    admin = market["admin"]
    settings = market_settings.update_settings(admin, {"max_cycle": 4, "fairness_threshold": 0.6,
                                           "weights": {"needs": 2}})
    db.session.commit()
    assert (settings.max_cycle, settings.fairness_threshold) == (4, Decimal("0.6"))
    for data, field in (({"max_cycle": 7}, "max_cycle"), ({"max_cycle": 1}, "max_cycle"),
                        ({"max_chain": 11}, "max_chain"),
                        ({"fairness_threshold": 1.5}, "fairness_threshold"),
                        ({"fairness_threshold": True}, "fairness_threshold"),
                        ({"objective": "random"}, "objective"),
                        ({"weights": {"luck": 1}}, "weights"),
                        ({"time_limit_seconds": 0}, "time_limit_seconds")):
        with pytest.raises(Invalid) as excinfo:
            market_settings.update_settings(admin, data)
        assert field in excinfo.value.errors
    for role in ("coordinator", "auditor", "member"):
        with pytest.raises(Forbidden):
            market_settings.update_settings(market[role], {"max_cycle": 2})
    db.session.rollback()
    assert MarketSettings.current().max_cycle == 4
