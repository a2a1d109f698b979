"""Posting, editing, withdrawing and expiring offers and needs.

Invariants kept here (the database checks the numeric ones too):
- a listing's quantity is 1..MAX_QUANTITY; a need's minimum is 1..quantity; offers
  have no minimum and only offers can be gifts;
- `available_until` >= `available_from`, and a listing is never posted already past
  its end; a listing past its end is `expired` (see `expire_listings`);
- a listing names at least one area unless it is remote/any, and every area is one
  the partnership serves (an area of some organisation);
- when the currency defines categories, a listing's category is one of them (spelled
  as the currency spells it); offers must name one, a need without one accepts any;
- edits never take a listing's quantity below what was delivered plus what approved
  proposals reserve; a listing holding reservations cannot be withdrawn;
- only members of an organisation write its listings (policy "listing.post",
  "listing.write"): nobody acts on behalf of an organisation they do not belong to.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from app.auth import policy
from app.auth.models import User
from app.core.clock import today as utc_today
from app.core.errors import Conflict, Forbidden, Invalid
from app.core.limits import (
    MAX_AREAS,
    MAX_CATEGORY,
    MAX_HORIZON_DAYS,
    MAX_QUANTITY,
    MAX_TAGS,
    MAX_TEXT,
    MAX_TITLE,
    MIN_TITLE,
)
from app.core.validation import (
    FieldErrors,
    bool_field,
    date_field,
    int_field,
    normalise_codes,
    reject_unknown_fields,
    text_field,
    valid_id,
)
from app.extensions import db
from app.market.currencies import currency_by_code
from app.market.models import Currency, Listing, ListingKind, ListingStatus, Organisation
from app.market.organisations import known_areas

LISTING_FIELDS = frozenset({
    "kind", "currency", "category", "title", "description", "tags", "quantity",
    "min_quantity", "areas", "remote", "available_from", "available_until", "gift",
})
# Changing these would make it another listing: withdraw it and post a new one.
IMMUTABLE_LISTING_FIELDS = ("kind", "currency")
EDITABLE_STATUSES = (ListingStatus.OPEN, ListingStatus.EXPIRED)


def can_write_listing(user: User | None, listing: Listing) -> bool:
    return policy.allows(user, "listing.write", listing)


def _clean_listing(data: dict, listing: Listing | None, today: date) -> dict:
    """Validate a whole listing (`data` merged over the current values when editing).

    Returns model attribute values. Raises one Invalid naming every bad field.
    """
    errors = FieldErrors()
    clean: dict[str, Any] = {}
    creating = listing is None

    kind = data.get("kind")
    if kind not in ListingKind.ALL:
        errors.add("kind", "Must be 'offer' or 'need'.")
    clean["kind"] = kind

    currency = None
    code = data.get("currency")
    if isinstance(code, Currency):
        currency = code
    elif not isinstance(code, str) or not code.strip():
        errors.add("currency", "Currency is required.")
    else:
        currency = currency_by_code(code.strip().lower())
        if currency is None:
            errors.add("currency", f"Unknown currency '{code.strip()[:40]}'.")
    if currency is not None:
        if creating and not currency.active:
            errors.add("currency", f"{currency.name} is inactive and accepts no new listings.")
        clean["currency"] = currency

    title = text_field(data, "title", errors, max_length=MAX_TITLE, required=True,
                  min_length=MIN_TITLE)
    clean["title"] = title
    clean["description"] = text_field(data, "description", errors, max_length=MAX_TEXT) or ""

    category = text_field(data, "category", errors, max_length=MAX_CATEGORY) or None
    if currency is not None and currency.categories:
        if category is not None:
            canonical = {name.lower(): name for name in currency.categories}
            if category.lower() not in canonical:
                errors.add("category", f"Not a category of {currency.name}: choose one of "
                                       f"{', '.join(currency.categories)}.")
            category = canonical.get(category.lower())
        elif kind == ListingKind.OFFER:
            errors.add("category", "Offers name their category (needs may leave it open).")
    clean["category"] = category

    clean["tags"] = normalise_codes(data.get("tags"), "tags", errors, max_items=MAX_TAGS)

    quantity = int_field(data, "quantity", errors, minimum=1, maximum=MAX_QUANTITY)
    clean["quantity"] = quantity
    min_quantity = int_field(data, "min_quantity", errors, minimum=1, maximum=MAX_QUANTITY,
                        required=False)
    if min_quantity is not None:
        if kind == ListingKind.OFFER:
            errors.add("min_quantity", "Only needs have a minimum acceptable quantity.")
        elif quantity is not None and min_quantity > quantity:
            errors.add("min_quantity", f"Must not exceed the quantity ({quantity:,}).")
    clean["min_quantity"] = min_quantity

    remote = bool_field(data, "remote", errors)
    clean["remote"] = remote
    areas = normalise_codes(data.get("areas"), "areas", errors, max_items=MAX_AREAS)
    if "areas" not in errors:
        if not areas and not remote:
            errors.add("areas", "Choose at least one area, or mark the listing remote/any.")
        unknown = sorted(set(areas) - set(known_areas()))
        if unknown:
            errors.add("areas", f"Unknown area(s): {', '.join(unknown)}. The partnership's "
                                f"areas are: {', '.join(known_areas()) or 'none yet'}.")
    clean["areas"] = areas

    start = date_field(data, "available_from", errors)
    until = date_field(data, "available_until", errors)
    # Dates an edit leaves alone are not judged again against today.
    start_changed = creating or start != listing.available_from
    until_changed = creating or until != listing.available_until
    horizon = today + timedelta(days=MAX_HORIZON_DAYS)
    if start is not None and start_changed and not (
            today - timedelta(days=MAX_HORIZON_DAYS) <= start <= horizon):
        errors.add("available_from", "Must be within five years of today.")
    if until is not None:
        if until > horizon and until_changed:
            errors.add("available_until", "Must be within five years of today.")
        elif start is not None and until < start:
            errors.add("available_until", "Must be on or after the start date.")
        elif until < today and until_changed:
            errors.add("available_until", "Must not be in the past.")
    clean["available_from"] = start
    clean["available_until"] = until

    gift = bool_field(data, "gift", errors)
    if gift and kind == ListingKind.NEED:
        errors.add("gift", "Only offers can be gifts.")
    clean["is_gift"] = gift

    errors.raise_if_any("The listing has invalid fields.")
    return clean


def create_listing(actor: User | None, data: dict, *, organisation: Organisation | None = None,
                   today: date | None = None) -> Listing:
    """A member posts an offer or need for its own organisation.

    `data` may name `organisation_id`; it must be the member's own (else 403).
    The system (actor None: the demo seed) passes `organisation` instead.
    """
    today = today or utc_today()
    data = dict(data)
    organisation_id = data.pop("organisation_id", None)
    reject_unknown_fields(data, LISTING_FIELDS)
    if actor is None:
        if organisation is None:
            raise Invalid("The organisation is required.",
                          errors={"organisation_id": ["Required."]})
    else:
        policy.require(actor, "listing.post")
        if organisation_id is not None and organisation_id != actor.organisation_id:
            if not valid_id(organisation_id) or db.session.get(
                    Organisation, organisation_id) is None:
                raise Invalid("Unknown organisation.",
                              errors={"organisation_id": ["No such organisation."]})
            raise Forbidden("You may only post listings for your own organisation.")
        organisation = actor.organisation
    clean = _clean_listing(data, None, today)
    listing = Listing(organisation=organisation, remaining=clean["quantity"], reserved=0,
                      status=ListingStatus.OPEN, created_by=actor, **clean)
    db.session.add(listing)
    db.session.flush()
    return listing


def _lock(listing: Listing) -> None:
    """Lock the listing's row and re-read it. Only its row: a refresh would repeat the
    loader options the listing was read with (its organisation and currency outer-joined,
    which PostgreSQL cannot lock: "FOR UPDATE cannot be applied to the nullable side of
    an outer join") and lock their rows too."""
    db.session.execute(select(Listing).where(Listing.id == listing.id)
                       .with_for_update(of=Listing)
                       .execution_options(populate_existing=True))


def _current_values(listing: Listing) -> dict:
    return {
        "kind": listing.kind, "currency": listing.currency, "category": listing.category,
        "title": listing.title, "description": listing.description, "tags": list(listing.tags),
        "quantity": listing.quantity, "min_quantity": listing.min_quantity,
        "areas": list(listing.areas), "remote": listing.remote,
        "available_from": listing.available_from, "available_until": listing.available_until,
        "gift": listing.is_gift,
    }


def _require_listing_writer(actor: User | None, listing: Listing) -> None:
    policy.require(actor, "listing.write", listing,
                   message=f"Only members of {listing.organisation.name} may change its listings.")


def update_listing(actor: User | None, listing: Listing, data: dict, *,
                   today: date | None = None) -> Listing:
    """Edit an open (or expired) listing; `data` holds the fields to change.

    Kind and currency cannot change. The quantity never drops below what was
    already delivered plus what approved proposals reserve. An expired listing
    whose new end date is not past opens again.
    """
    today = today or utc_today()
    _require_listing_writer(actor, listing)
    reject_unknown_fields(data, LISTING_FIELDS)
    # Lock the row: an approval reserving units meanwhile must not slip under the new quantity.
    _lock(listing)
    if listing.status not in EDITABLE_STATUSES:
        raise Conflict(f"This listing is {listing.status}; it can no longer be edited.",
                       payload={"listing_status": listing.status})
    changed = {name for name in IMMUTABLE_LISTING_FIELDS if name in data and data[name] != (
        listing.kind if name == "kind" else listing.currency.code)}
    if changed:
        raise Invalid("Kind and currency cannot change: withdraw the listing and post a new one.",
                      errors={name: ["Cannot be changed after posting."] for name in changed})
    merged = {**_current_values(listing), **data, "currency": listing.currency}
    clean = _clean_listing(merged, listing, today)
    delivered = listing.quantity - listing.remaining
    floor = delivered + max(listing.reserved, 1)
    if clean["quantity"] < floor:
        parts = []
        if delivered:
            parts.append(f"{delivered:,} already delivered")
        if listing.reserved:
            parts.append(f"{listing.reserved:,} reserved by approved proposals")
        reason = " and ".join(parts) or "something must remain"
        raise Invalid(f"The quantity cannot go below {floor:,} ({reason}).",
                      errors={"quantity": [f"At least {floor:,}: {reason}."]})
    if clean["min_quantity"] is not None and clean["min_quantity"] > clean["quantity"] - delivered:
        raise Invalid("The minimum is more than what is still needed.",
                      errors={"min_quantity": [
                          f"At most {clean['quantity'] - delivered:,} (what is still needed)."]})
    clean.pop("kind")
    clean.pop("currency")
    new_remaining = clean["quantity"] - delivered
    for field, value in clean.items():
        setattr(listing, field, value)
    listing.remaining = new_remaining
    if listing.status == ListingStatus.EXPIRED and (
            listing.available_until is None or listing.available_until >= today):
        listing.status = ListingStatus.OPEN
    db.session.flush()
    return listing


def withdraw_listing(actor: User | None, listing: Listing) -> Listing:
    """Take an open or expired listing off the market. Refused (409) while approved
    proposals hold reservations on it, and for a listing already withdrawn or fulfilled."""
    _require_listing_writer(actor, listing)
    # Lock the row so a concurrent approval cannot reserve it between check and update.
    _lock(listing)
    if listing.status not in EDITABLE_STATUSES:
        raise Conflict(f"This listing is already {listing.status}.",
                       payload={"listing_status": listing.status})
    if listing.reserved > 0:
        raise Conflict(
            f"{listing.reserved:,} {listing.currency.unit}(s) of this listing are reserved by "
            "approved proposals; cancel or complete those exchanges before withdrawing it.",
            payload={"listing_status": listing.status, "reserved": listing.reserved})
    listing.status = ListingStatus.WITHDRAWN
    db.session.flush()
    return listing


def expire_listings(today: date | None = None) -> int:
    """Mark open listings whose `available_until` is before `today` as expired.

    Idempotent housekeeping, run by `flask listings expire` and before a
    matching run; reads never write, they treat such listings as expired
    already (`Listing.current_status`). Returns how many listings expired.
    Reservations are left alone: approved exchanges still complete.
    """
    today = today or utc_today()
    result = db.session.execute(
        update(Listing)
        .where(Listing.status == ListingStatus.OPEN, Listing.available_until.is_not(None),
               Listing.available_until < today)
        .values(status=ListingStatus.EXPIRED)
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    return result.rowcount or 0
