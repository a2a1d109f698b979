"""API endpoints for the market: organisations, currencies, settings and listings.

Thin views: the decorator authenticates and validates, the services decide
(role, ownership, state) and the decorator commits once.
"""

from __future__ import annotations

from flask_login import current_user

from app.api.core import AUTHENTICATED, ApiAbort, endpoint
from app.auth.models import Role
from app.core import read_cache
from app.core.paging import BadCursor, paginate
from app.market import browse as market_browse
from app.market import currencies as currency_rules
from app.market import listings as listing_rules
from app.market import organisations as organisation_rules
from app.market import settings as settings_rules
from app.market.models import MarketSettings
from app.market.schemas import (
    CurrencyInputSchema,
    CurrencyQuerySchema,
    CurrencySchema,
    ListingInputSchema,
    ListingQuerySchema,
    ListingSchema,
    ListingUpdateSchema,
    MarketSettingsSchema,
    OrganisationInputSchema,
    OrganisationQuerySchema,
    OrganisationSchema,
    listing_filters,
)

STAFF = (Role.COORDINATOR, Role.ADMIN)
ADMIN = (Role.ADMIN,)


# --- organisations -------------------------------------------------------------------------

@endpoint("/organisations", "GET", query=OrganisationQuerySchema(),
          response=OrganisationSchema(), paged=True, tag="market")
def list_organisations(args: dict):
    """List organisations (private fields only where you may see them)."""
    statement = organisation_rules.organisations_query(
        text=args.get("q"), sector=args.get("sector"), area=args.get("area"))
    return paginate(statement, args["page"], args["per_page"])


@endpoint("/organisations", "POST", allow="organisation.manage", body=OrganisationInputSchema(),
          response=OrganisationSchema(), status=201, tag="market")
def create_organisation(body: dict):
    """Add an organisation (coordinators and admins)."""
    return organisation_rules.create_organisation(current_user, body)


@endpoint("/organisations/<int:organisation_id>", "GET", response=OrganisationSchema(),
          tag="market")
def get_organisation(organisation_id: int):
    """One organisation. Contact email/phone, internal notes and exclusions appear only
    for its own members, coordinators, auditors and admins."""
    return organisation_rules.get_organisation(organisation_id)


@endpoint("/organisations/<int:organisation_id>", "PATCH", allow=AUTHENTICATED,
          body=OrganisationInputSchema(), response=OrganisationSchema(), tag="market",
          responses={"403": "Not your organisation, or a field members may not change "
                            "(name, slug, sector)"})
def update_organisation(organisation_id: int, body: dict):
    """Edit an organisation: coordinators and admins any field; its own members the
    profile (areas, contact, description, internal notes, exclusions)."""
    organisation = organisation_rules.get_organisation(organisation_id)
    return organisation_rules.update_organisation(current_user, organisation, body)


# --- currencies and settings ---------------------------------------------------------------

@endpoint("/currencies", "GET", query=CurrencyQuerySchema(), response=CurrencySchema(many=True),
          tag="market")
def list_currencies(args: dict):
    """The market's currencies with their unit, value per unit and categories."""
    currencies = currency_rules.list_currencies()
    if "active" in args:
        currencies = [c for c in currencies if c.active is args["active"]]
    return currencies


@endpoint("/currencies", "POST", allow="currency.manage", body=CurrencyInputSchema(),
          response=CurrencySchema(), status=201, tag="market")
def create_currency(body: dict):
    """Add a currency (admins)."""
    return currency_rules.create_currency(current_user, body)


@endpoint("/currencies/<int:currency_id>", "PATCH", allow="currency.manage",
          body=CurrencyInputSchema(),
          response=CurrencySchema(), tag="market")
def update_currency(currency_id: int, body: dict):
    """Edit a currency (admins). A new value applies to future exchanges only; the code
    cannot change."""
    currency = currency_rules.get_currency(currency_id)
    return currency_rules.update_currency(current_user, currency, body)


@endpoint("/market/settings", "GET", response=MarketSettingsSchema(), tag="market")
def get_settings():
    """The matcher's and the proposal lifecycle's settings."""
    return MarketSettings.current()


@endpoint("/market/settings", "PATCH", allow="settings.manage", body=MarketSettingsSchema(),
          response=MarketSettingsSchema(), tag="market")
def update_settings(body: dict):
    """Change the market settings (admins)."""
    return settings_rules.update_settings(current_user, body)


# --- listings ------------------------------------------------------------------------------

@endpoint("/listings", "GET", query=ListingQuerySchema(), response=ListingSchema(), paged=True,
          tag="market", cached=market_browse.MARKET, survives_additions=lambda kwargs:
          market_browse.survives_additions(listing_filters(kwargs["args"])))
def list_listings(args: dict):
    """Browse offers and needs (open by default; `status=any` for all): the most relevant
    first when `q` is given, otherwise the newest first.

    Paging: follow `links.next` / `links.prev` (an opaque cursor; every page costs the
    same). `total` is exact when `total_exact` is true (up to 1,000 matches, on SQLite, or
    when the first page holds every match); above that, or when PostgreSQL expects more, it
    is the database's estimate ("about N") and `pages` is null. `page`
    still works for the first pages (it is null on pages reached by cursor).

    `q` syntax: words must all appear (stemmed, so "nurses" finds "nurse"); `"a phrase"`;
    `a or b`; `-word` excludes; the last word also matches as a prefix. Title matches rank
    above tag and category matches, above description matches. On PostgreSQL, words that
    match nothing are looked up again as misspellings of title words."""
    try:
        return market_browse.listing_keyset_page(listing_filters(args), args["per_page"],
                                                 cursor=args.get("cursor"), page=args["page"])
    except BadCursor as exc:
        raise ApiAbort(422, "The query has invalid parameters.",
                       errors={"cursor": [str(exc)]}) from exc


@endpoint("/listings", "POST", body=ListingInputSchema(), response=ListingSchema(), status=201,
          tag="market", responses={"403": "Not a member, or another organisation's id"})
def create_listing(body: dict):
    """Post an offer or a need for your own organisation (members)."""
    return listing_rules.create_listing(current_user, body)


@endpoint("/listings/<int:listing_id>", "GET", response=ListingSchema(), tag="market",
          cached=market_browse.MARKET,
          survives_additions=lambda kwargs: read_cache.unaffected_by_additions)
def get_listing(listing_id: int):
    """One listing."""
    return market_browse.get_listing(listing_id)


@endpoint("/listings/<int:listing_id>", "PATCH", body=ListingUpdateSchema(),
          response=ListingSchema(), tag="market",
          responses={"403": "Another organisation's listing",
                     "409": "The listing is withdrawn or fulfilled"})
def update_listing(listing_id: int, body: dict):
    """Edit your organisation's listing. The quantity cannot go below what was delivered
    plus what approved proposals reserve."""
    return listing_rules.update_listing(current_user, market_browse.get_listing(listing_id), body)


@endpoint("/listings/<int:listing_id>/withdraw", "POST", response=ListingSchema(),
          tag="market", responses={"403": "Another organisation's listing",
                                   "409": "Already withdrawn/fulfilled, or reserved by "
                                          "approved proposals"})
def withdraw_listing(listing_id: int):
    """Withdraw your organisation's listing. Send an Idempotency-Key to make a retried
    request replay the first answer instead of answering 409."""
    return listing_rules.withdraw_listing(current_user, market_browse.get_listing(listing_id))
