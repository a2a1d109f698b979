"""The market as the engine sees it: a market document (README, "The matching engine")
built from the database at one moment.

What goes in: listings a new exchange may draw on today (`Listing.usable_on`:
open, not past their `available_until`, with remaining − reserved > 0) in
active currencies, each offered at its *available* quantity; the organisations
owning them with their exclusions and completion rates (`app.reporting.trust`);
the run's settings; and `declined`, the signature of every exchange a
participant declined, so the engine never proposes them again. The document is stored on
the run as it was given to the engine, so an auditor can replay the run with
`python -m matching_engine solve FILE.json`.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from app.core.clock import today
from app.extensions import db
from app.market.models import Currency, Listing, ListingKind, Organisation, organisation_exclusions
from app.proposals.models import Proposal, ProposalStatus
from app.reporting.trust import completion_rates


def open_listings(on: date | None = None):
    """A select of (Listing, currency code, value per unit) rows a matching run may use."""
    on = on or today()
    return (
        select(Listing, Currency.code, Currency.value_per_unit)
        .join(Currency, Currency.id == Listing.currency_id)
        .where(Listing.usable_on(on), Currency.active.is_(True))
        .order_by(Listing.id)
    )


def count_open_listings(on: date | None = None) -> int:
    """How many listings the next run would read (decides inline vs background)."""
    statement = open_listings(on).with_only_columns(Listing.id)
    return db.session.execute(
        select(db.func.count()).select_from(statement.subquery())).scalar_one()


def declined_signatures(listing_ids: set[str] | None = None) -> list[list[list[str]]]:
    """Signatures of every declined exchange, sorted; with `listing_ids`, only those
    whose listings are all still in the market (the others cannot recur)."""
    result = []
    for raw in sorted(set(db.session.execute(
            select(Proposal.signature).where(Proposal.status == ProposalStatus.DECLINED)
    ).scalars())):
        pairs = json.loads(raw)
        if listing_ids is None or all(o in listing_ids and n in listing_ids for o, n in pairs):
            result.append(pairs)
    return result


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def build_market_document(settings: dict, *, on: date | None = None) -> dict:
    """The engine's market document for the market as it stands.

    `settings` holds the run's effective settings (max_cycle, max_chain,
    fairness_threshold, objective, weights, time_limit); `declined` is added.
    Everything is plain JSON (ids as strings), deterministic for the same data.
    """
    listings_out = []
    currencies: dict[str, float] = {}
    org_ids: set[int] = set()
    for listing, code, unit_value in db.session.execute(open_listings(on)).all():
        available = listing.remaining - listing.reserved
        min_quantity = None
        if listing.kind == ListingKind.NEED and listing.min_quantity is not None:
            # What is still needed may be less than the original minimum.
            min_quantity = min(listing.min_quantity, available)
        listings_out.append({
            "id": str(listing.id),
            "organisation": str(listing.organisation_id),
            "kind": listing.kind,
            "currency": code,
            "category": listing.category or None,
            "tags": sorted(listing.tags or []),
            "quantity": available,
            "min_quantity": min_quantity,
            "areas": sorted(listing.areas or []),
            "remote": bool(listing.remote),
            "available_from": _iso(listing.available_from),
            "available_until": _iso(listing.available_until),
            "gift": bool(listing.is_gift) and listing.kind == ListingKind.OFFER,
        })
        org_ids.add(listing.organisation_id)
        currencies[code] = float(unit_value)

    rates = completion_rates(org_ids)
    excludes: dict[int, set[int]] = {oid: set() for oid in org_ids}
    if org_ids:
        for org_id, excluded_id in db.session.execute(
            select(organisation_exclusions.c.organisation_id, organisation_exclusions.c.excluded_id)
            .where(organisation_exclusions.c.organisation_id.in_(org_ids))
        ).all():
            if excluded_id in org_ids:
                excludes[org_id].add(excluded_id)
    organisations = []
    if org_ids:
        for org in db.session.execute(
                select(Organisation).where(Organisation.id.in_(org_ids)).order_by(Organisation.id)
        ).scalars():
            organisations.append({
                "id": str(org.id),
                "name": org.name,
                "areas": sorted(org.areas or []),
                "excludes": [str(x) for x in sorted(excludes[org.id])],
                "completion_rate": round(float(rates.get(org.id, 1.0)), 6),
            })

    listing_ids = {item["id"] for item in listings_out}
    document_settings = {
        key: settings[key] for key in ("max_cycle", "max_chain", "fairness_threshold",
                                       "objective", "weights", "time_limit") if key in settings
    }
    document_settings["declined"] = declined_signatures(listing_ids)
    return {
        "organisations": organisations,
        "currencies": [{"code": code, "value": currencies[code]} for code in sorted(currencies)],
        "listings": listings_out,
        "settings": document_settings,
    }
