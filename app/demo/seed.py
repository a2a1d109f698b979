"""Seeding the demo market through the same services the pages and the API use,
so every demo record passes the market's validation."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from app.auth import services as accounts
from app.auth.models import User
from app.core.clock import frozen_clock
from app.core.clock import today as utc_today
from app.core.errors import Conflict
from app.demo import data
from app.demo.history import HistoryResult, seed_history
from app.demo.logins import demo_accounts
from app.extensions import db
from app.market import currencies as currency_rules
from app.market import listings as listing_rules
from app.market import organisations as organisation_rules
from app.market.models import Currency, Listing, MarketSettings, Organisation
from app.notifications import outbox


@dataclass
class SeedResult:
    organisations: int = 0
    currencies: int = 0
    listings: int = 0
    users: list[dict] = field(default_factory=list)
    # demo listing key -> database id, for tests and for printing the planted exchanges
    listing_ids: dict[str, int] = field(default_factory=dict)
    # the past exchanges, when seeded with history
    history: HistoryResult | None = None


def market_is_empty() -> bool:
    return db.session.execute(db.select(Organisation.id).limit(1)).first() is None


def ensure_currencies() -> list[Currency]:
    """The four standard currencies (staff, jobs, training, premises); existing ones are kept
    as they are (an admin may have changed their value)."""
    currencies = []
    for spec in data.CURRENCIES:
        currency = currency_rules.currency_by_code(spec["code"])
        if currency is None:
            currency = currency_rules.create_currency(None, dict(spec))
        currencies.append(currency)
    return currencies


# With history, the partnership's organisations and accounts date from this many
# days before the seed day: before the first past exchange.
FOUNDED_DAYS_AGO = 400


def seed_demo(today: date | None = None, *, history: bool = False) -> SeedResult:
    """Create the Northshire demo market in an empty database (flushes; the caller commits).

    With `history`, the organisations and accounts are dated a little over a year
    back and, after the current market is in place, ten months of past exchanges
    are recorded through the real services (see app/demo/history.py).
    Refuses (409) when organisations already exist: the demo never mixes with real data.
    """
    today = today or utc_today()
    if not market_is_empty():
        raise Conflict("The database already has organisations; the demo market is only "
                       "seeded into an empty one.")
    founded = datetime.combine(today - timedelta(days=FOUNDED_DAYS_AGO), time(9))
    with frozen_clock(founded) if history else nullcontext():
        result, members = _seed_partnership()

    for item in data.LISTINGS:
        listing = listing_rules.create_listing(members[item.org], {
            "kind": item.kind, "currency": item.currency, "category": item.category,
            "title": item.title, "description": item.description, "tags": item.tags,
            "quantity": item.quantity, "min_quantity": item.min_quantity,
            "areas": item.areas, "remote": item.remote, "gift": item.gift,
            "available_from": None if item.start is None else today + timedelta(item.start),
            "available_until": None if item.until is None else today + timedelta(item.until),
        }, today=today)
        result.listing_ids[item.key] = listing.id
    result.listings = len(data.LISTINGS)
    db.session.flush()
    if history:
        # The past is recorded, not announced: no emails for exchanges that ended months ago.
        with outbox.suppressed():
            result.history = seed_history(today)
    return result


def _seed_partnership() -> tuple[SeedResult, dict[str, User]]:
    """Currencies, settings, organisations, exclusions and accounts; returns the
    result so far and each organisation's member (by slug)."""
    result = SeedResult()
    before = db.session.execute(db.select(db.func.count(Currency.id))).scalar_one()
    ensure_currencies()
    result.currencies = db.session.execute(
        db.select(db.func.count(Currency.id))).scalar_one() - before
    MarketSettings.current()

    organisations: dict[str, Organisation] = {}
    for number, (slug, name, sector, areas, contact, description) in enumerate(
            data.ORGANISATIONS):
        organisations[slug] = organisation_rules.create_organisation(None, {
            "name": name, "slug": slug, "sector": sector, "areas": list(areas),
            "contact_name": contact,
            "contact_email": f"partnerships@{slug}.{data.EMAIL_DOMAIN}",
            # Ofcom reserves 01632 960000-960999 for drama: never a real line.
            "contact_phone": f"01632 960{number:03d}",
            "description": description,
        })
    result.organisations = len(organisations)
    for slug, excluded, reason in data.EXCLUSIONS:
        organisation = organisations[slug]
        organisation_rules.update_organisation(None, organisation, {
            "excluded_ids": [other.id for other in organisation.excluded]
            + [organisations[excluded].id],
            "internal_notes": reason,
        })

    members: dict[str, User] = {}
    for account in demo_accounts():
        organisation = organisations.get(account["organisation_slug"] or "")
        user = accounts.create_user(None, email=account["email"], name=account["name"],
                                    role=account["role"], password=account["password"],
                                    organisation=organisation)
        if organisation is not None:
            members[organisation.slug] = user
        result.users.append(account)
    return result, members


def planted_exchanges(listing_ids: dict[str, int] | None = None) -> list[dict]:
    """The exchanges the demo guarantees, with organisations and listing ids (when known)."""
    if listing_ids is None:
        titles = {item.key: item.title for item in data.LISTINGS}
        keys = list(titles)
        rows = db.session.execute(
            db.select(Listing.id, Listing.title).where(Listing.title.in_(titles.values()))).all()
        by_title = {title: listing_id for listing_id, title in rows}
        listing_ids = {key: by_title[titles[key]] for key in keys if titles[key] in by_title}
    orgs = {item.key: item.org for item in data.LISTINGS}
    exchanges = []
    for name, (kind, legs) in data.PLANTED.items():
        exchanges.append({
            "name": name, "kind": kind,
            "organisations": [orgs[offer_key] for offer_key, _ in legs],
            "legs": [(listing_ids.get(o), listing_ids.get(n)) for o, n in legs],
        })
    return exchanges
