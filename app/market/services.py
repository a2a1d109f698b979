"""The market's rules, shared by the pages, the API, the CLI and the demo seed.

Every function that changes something takes the acting `User` (None for the
system: the CLI and the demo seed) and does its own checks: role, object-level
ownership ("is this listing my organisation's?"), state. They raise
`app.errors` exceptions with clear messages (422s name each field) and flush,
never commit: the view, API endpoint or CLI command commits once.

Invariants kept here (the database checks the numeric ones too):
- a listing's quantity is 1..1,000,000; a need's minimum is 1..quantity; offers
  have no minimum and only offers can be gifts;
- `available_until` >= `available_from`, and a listing is never posted already
  past its end; a listing past its end is `expired` (see `expire_listings`);
- a listing names at least one area unless it is remote/any, and every area is
  one the partnership serves (an area of some organisation);
- when the currency defines categories, a listing's category is one of them
  (spelled as the currency spells it); offers must name one, a need without one
  accepts any category;
- tags and areas are normalised codes: lower-case letters, digits, hyphens;
- edits never take a listing's quantity below what was delivered plus what
  approved proposals reserve; a listing holding reservations cannot be
  withdrawn;
- only members of an organisation write its listings: nobody acts on behalf
  of an organisation they do not belong to; coordinators and admins manage
  organisations, admins currencies and settings; auditors write nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, func, or_, update

from app.auth.models import Role, User
from app.core.clock import today as utc_today
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.market.models import (
    Currency,
    Listing,
    ListingKind,
    ListingStatus,
    MarketSettings,
    Objective,
    Organisation,
    Sector,
    code_list_contains,
)

# --- limits shared with the schemas and forms ---------------------------------------------

MAX_QUANTITY = 1_000_000
MAX_TITLE = 140
MIN_TITLE = 3
MAX_TEXT = 5000
MAX_CATEGORY = 80
MAX_CATEGORIES = 50
MAX_CODE = 40
MAX_TAGS = 12
MAX_AREAS = 20
MAX_ORG_NAME = 160
MAX_SLUG = 80
MAX_CONTACT_NAME = 120
MAX_EMAIL = 254
MAX_PHONE = 40
MAX_EXCLUSIONS = 200
MAX_CURRENCY_CODE = 32
MAX_CURRENCY_NAME = 80
MAX_UNIT = 40
MAX_VALUE_PER_UNIT = Decimal("1000000")
MAX_SEARCH = 200
# Listings end within this horizon; later dates are almost certainly typing mistakes.
MAX_HORIZON_DAYS = 5 * 366
# Larger ids cannot exist (INTEGER primary keys); refusing them early avoids
# driver overflow errors on SQLite.
MAX_ID = 2**31 - 1

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CURRENCY_CODE_RE = re.compile(r"^[a-z][a-z0-9-]*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^[0-9+() .-]*$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# The organisation-profile fields a member may edit for its own organisation;
# name, slug and sector identify it in the partnership and stay with coordinators.
PROFILE_FIELDS = frozenset({
    "areas", "contact_name", "contact_email", "contact_phone", "description",
    "internal_notes", "excluded_ids",
})
ORGANISATION_FIELDS = PROFILE_FIELDS | {"name", "slug", "sector"}
PRIVATE_ORGANISATION_FIELDS = ("contact_email", "contact_phone", "internal_notes", "excluded_ids")

LISTING_FIELDS = frozenset({
    "kind", "currency", "category", "title", "description", "tags", "quantity",
    "min_quantity", "areas", "remote", "available_from", "available_until", "gift",
})
# Changing these would make it another listing: withdraw it and post a new one.
IMMUTABLE_LISTING_FIELDS = ("kind", "currency")
EDITABLE_STATUSES = (ListingStatus.OPEN, ListingStatus.EXPIRED)


# --- small helpers ---------------------------------------------------------------------------

class _Errors:
    """Collects per-field messages; `raise_if_any` raises one 422 naming them all."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.messages.setdefault(field, []).append(message)

    def __contains__(self, field: str) -> bool:
        return field in self.messages

    def raise_if_any(self, message: str = "Some fields are not valid.") -> None:
        if self.messages:
            raise Invalid(message, errors=self.messages)



def _finite_decimal(raw) -> Decimal | None:
    """``raw`` as a finite Decimal, or None for anything else (booleans, None, text, NaN)."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None

def normalise_code(raw: object) -> str:
    """An area or tag as stored: lower-case letters, digits and single hyphens."""
    text = str(raw).strip().lower()
    text = re.sub(r"[\s_/]+", "-", text)
    text = re.sub(r"[^a-z0-9-]", "", text)
    return re.sub(r"-{2,}", "-", text).strip("-")


def normalise_codes(values: object, field: str, errors: _Errors, *, max_items: int) -> list[str]:
    """Normalise, de-duplicate and sort a list of codes; bad entries are reported on `field`."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [part for part in re.split(r"[,;\n]", values)]
    if not isinstance(values, list | tuple | set):
        errors.add(field, "Must be a list.")
        return []
    codes: set[str] = set()
    for raw in values:
        if not isinstance(raw, str):
            errors.add(field, "Each entry must be text.")
            continue
        if not raw.strip():
            continue
        code = normalise_code(raw)
        if not code:
            errors.add(field, f"'{raw.strip()[:40]}' has no letters or digits.")
        elif len(code) > MAX_CODE:
            errors.add(field, f"'{code[:40]}…' is longer than {MAX_CODE} characters.")
        else:
            codes.add(code)
    if len(codes) > max_items:
        errors.add(field, f"At most {max_items} entries.")
    return sorted(codes)


def _text(data: dict, field: str, errors: _Errors, *, max_length: int, required: bool = False,
          min_length: int = 0, label: str | None = None) -> str | None:
    """A trimmed text value from `data`, checked for type, length and control characters."""
    value = data.get(field)
    label = label or field.replace("_", " ").capitalize()
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, "Must be text.")
        return None
    value = value.strip()
    if CONTROL_RE.search(value):
        errors.add(field, "Contains control characters.")
        return None
    if required and not value:
        errors.add(field, f"{label} is required.")
        return None
    if value and len(value) < min_length:
        errors.add(field, f"{label} must be at least {min_length} characters.")
        return None
    if len(value) > max_length:
        errors.add(field, f"{label} must be at most {max_length} characters.")
        return None
    return value


def _int(data: dict, field: str, errors: _Errors, *, minimum: int, maximum: int,
         required: bool = True) -> int | None:
    value = data.get(field)
    if value is None:
        if required:
            errors.add(field, "Required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, "Must be a whole number.")
        return None
    if not minimum <= value <= maximum:
        errors.add(field, f"Must be between {minimum:,} and {maximum:,}.")
        return None
    return value


def _bool(data: dict, field: str, errors: _Errors) -> bool:
    value = data.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        errors.add(field, "Must be true or false.")
        return False
    return value


def _date(data: dict, field: str, errors: _Errors) -> date | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            errors.add(field, "Must be a date (YYYY-MM-DD).")
            return None
    if not isinstance(value, date):
        errors.add(field, "Must be a date (YYYY-MM-DD).")
        return None
    return value


def valid_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _unknown_fields(data: dict, allowed: frozenset | set) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise Invalid("Unknown fields.", errors={name: ["Unknown field."] for name in unknown})


# --- permissions -------------------------------------------------------------------------

def is_staff(user: User | None) -> bool:
    """Coordinators and admins: they manage organisations."""
    return bool(user is not None and user.is_authenticated
                and user.role in (Role.COORDINATOR, Role.ADMIN))


def can_see_private(user: User | None, organisation: Organisation) -> bool:
    """Contact email/phone, internal notes and exclusions: own members, coordinators,
    auditors and admins only."""
    if user is None or not user.is_authenticated:
        return False
    if user.role in (Role.COORDINATOR, Role.AUDITOR, Role.ADMIN):
        return True
    return user.belongs_to(organisation.id)


def can_edit_profile(user: User | None, organisation: Organisation) -> bool:
    return is_staff(user) or bool(
        user is not None and user.is_authenticated and user.belongs_to(organisation.id))


def can_write_listing(user: User | None, listing: Listing) -> bool:
    return bool(user is not None and user.is_authenticated
                and user.belongs_to(listing.organisation_id))


def _require_authenticated(actor: User | None) -> User:
    if actor is None or not actor.is_authenticated:
        raise Forbidden("You must be logged in.")
    return actor


def _require_admin(actor: User | None) -> None:
    # actor None is the system (CLI, demo seed).
    if actor is not None and not (actor.is_authenticated and actor.is_admin):
        raise Forbidden("Only administrators may do this.")


def _require_staff(actor: User | None) -> None:
    if actor is not None and not is_staff(actor):
        raise Forbidden("Only coordinators and administrators may do this.")


# --- organisations -----------------------------------------------------------------------

def get_organisation(organisation_id: int) -> Organisation:
    organisation = db.session.get(Organisation, organisation_id) if valid_id(
        organisation_id) else None
    if organisation is None:
        raise NotFound(f"No organisation with id {organisation_id}.")
    return organisation


def get_organisation_by_slug(slug: str) -> Organisation:
    organisation = db.session.execute(
        db.select(Organisation).where(Organisation.slug == slug)).scalar_one_or_none()
    if organisation is None:
        raise NotFound(f"No organisation called '{slug}'.")
    return organisation


def all_organisations() -> list[Organisation]:
    return list(db.session.execute(
        db.select(Organisation).order_by(Organisation.name)).scalars())


def organisations_query(*, text: str | None = None, sector: str | None = None,
                        area: str | None = None) -> Select:
    """Organisations matching the filters, by name. `area` is a code (normalised here)."""
    statement = db.select(Organisation).order_by(Organisation.name, Organisation.id)
    if text:
        pattern = f"%{_escape_like(text.strip().lower())}%"
        statement = statement.where(or_(
            func.lower(Organisation.name).like(pattern, escape="\\"),
            func.lower(Organisation.description).like(pattern, escape="\\"),
        ))
    if sector:
        statement = statement.where(Organisation.sector == sector)
    if area:
        statement = statement.where(code_list_contains(Organisation.areas, normalise_code(area)))
    return statement


def known_areas() -> list[str]:
    """Every area some organisation serves: the partnership's map."""
    areas: set[str] = set()
    for (codes,) in db.session.execute(db.select(Organisation.areas)):
        areas.update(codes or [])
    return sorted(areas)


def slugify(name: str) -> str:
    return normalise_code(name)[:MAX_SLUG].strip("-")


def _clean_organisation(data: dict, organisation: Organisation | None) -> dict:
    """Validate organisation fields present in `data`; returns cleaned values."""
    errors = _Errors()
    clean: dict[str, Any] = {}
    creating = organisation is None
    if "name" in data or creating:
        name = _text(data, "name", errors, max_length=MAX_ORG_NAME, required=True, min_length=2)
        if name is not None:
            clash = db.session.execute(db.select(Organisation.id).where(
                func.lower(Organisation.name) == name.lower())).scalar_one_or_none()
            if clash is not None and (creating or clash != organisation.id):
                errors.add("name", "Another organisation already has this name.")
            clean["name"] = name
    if "slug" in data or creating:
        raw = data.get("slug")
        if creating and not raw and clean.get("name"):
            raw = slugify(clean["name"])
        slug = _text({"slug": raw}, "slug", errors, max_length=MAX_SLUG, required=True)
        if slug is not None:
            if not SLUG_RE.match(slug):
                errors.add("slug", "Use lower-case letters, digits and single hyphens.")
            else:
                clash = db.session.execute(db.select(Organisation.id).where(
                    Organisation.slug == slug)).scalar_one_or_none()
                if clash is not None and (creating or clash != organisation.id):
                    errors.add("slug", "Another organisation already uses this slug.")
                clean["slug"] = slug
    if "sector" in data or creating:
        sector = data.get("sector") or Sector.OTHER
        if sector not in Sector.ALL:
            errors.add("sector", f"Must be one of: {', '.join(Sector.ALL)}.")
        clean["sector"] = sector
    if "areas" in data or creating:
        clean["areas"] = normalise_codes(data.get("areas"), "areas", errors, max_items=MAX_AREAS)
    for field, limit in (("contact_name", MAX_CONTACT_NAME), ("contact_email", MAX_EMAIL),
                         ("contact_phone", MAX_PHONE), ("description", MAX_TEXT),
                         ("internal_notes", MAX_TEXT)):
        if field in data or creating:
            value = _text(data, field, errors, max_length=limit)
            if value is not None:
                clean[field] = value
    if clean.get("contact_email") and not EMAIL_RE.match(clean["contact_email"]):
        errors.add("contact_email", "Not a valid email address.")
    if clean.get("contact_phone") and not PHONE_RE.match(clean["contact_phone"]):
        errors.add("contact_phone", "Use digits, spaces and + ( ) - only.")
    if "excluded_ids" in data:
        clean["excluded"] = _clean_exclusions(data.get("excluded_ids"), organisation, errors)
    errors.raise_if_any("The organisation has invalid fields.")
    return clean


def _clean_exclusions(value: object, organisation: Organisation | None,
                      errors: _Errors) -> list[Organisation]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(valid_id(v) for v in value):
        errors.add("excluded_ids", "Must be a list of organisation ids.")
        return []
    ids = sorted(set(value))
    if len(ids) > MAX_EXCLUSIONS:
        errors.add("excluded_ids", f"At most {MAX_EXCLUSIONS} organisations.")
        return []
    if organisation is not None and organisation.id in ids:
        errors.add("excluded_ids", "An organisation cannot exclude itself.")
    found = list(db.session.execute(
        db.select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)
    ).scalars()) if ids else []
    missing = sorted(set(ids) - {org.id for org in found})
    if missing:
        errors.add("excluded_ids", f"Unknown organisation ids: {', '.join(map(str, missing))}.")
    return [org for org in found if organisation is None or org.id != organisation.id]


def create_organisation(actor: User | None, data: dict) -> Organisation:
    """Coordinators and admins add organisations to the partnership."""
    _require_staff(actor)
    _unknown_fields(data, ORGANISATION_FIELDS)
    clean = _clean_organisation(data, None)
    excluded = clean.pop("excluded", [])
    organisation = Organisation(**clean)
    organisation.excluded = excluded
    db.session.add(organisation)
    db.session.flush()
    return organisation


def update_organisation(actor: User | None, organisation: Organisation,
                        data: dict) -> Organisation:
    """Coordinators and admins edit any field; a member edits only its own
    organisation's profile (PROFILE_FIELDS), never its name, slug or sector."""
    _unknown_fields(data, ORGANISATION_FIELDS)
    if actor is not None:
        _require_authenticated(actor)
        if not is_staff(actor):
            if not actor.belongs_to(organisation.id):
                raise Forbidden("You may only edit your own organisation's profile.")
            refused = sorted(set(data) - PROFILE_FIELDS)
            if refused:
                raise Forbidden(
                    f"Members may not change {', '.join(refused)}; ask a coordinator.",
                    errors={name: ["Only coordinators and administrators may change this."]
                            for name in refused})
    clean = _clean_organisation(data, organisation)
    if "excluded" in clean:
        organisation.excluded = clean.pop("excluded")
    for field, value in clean.items():
        setattr(organisation, field, value)
    db.session.flush()
    return organisation


# --- currencies --------------------------------------------------------------------------

def get_currency(currency_id: int) -> Currency:
    currency = db.session.get(Currency, currency_id) if valid_id(currency_id) else None
    if currency is None:
        raise NotFound(f"No currency with id {currency_id}.")
    return currency


def currency_by_code(code: str) -> Currency | None:
    return db.session.execute(
        db.select(Currency).where(Currency.code == code)).scalar_one_or_none()


def list_currencies(*, active_only: bool = False) -> list[Currency]:
    statement = db.select(Currency).order_by(Currency.name)
    if active_only:
        statement = statement.where(Currency.active.is_(True))
    return list(db.session.execute(statement).scalars())


def clean_categories(value: object, errors: _Errors) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively) categories in the order given."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        errors.add("categories", "Must be a list of names.")
        return []
    seen: set[str] = set()
    categories: list[str] = []
    for raw in value:
        if not isinstance(raw, str):
            errors.add("categories", "Each category must be text.")
            continue
        name = " ".join(raw.split())
        if not name:
            continue
        if len(name) > MAX_CATEGORY or CONTROL_RE.search(name) or "," in name:
            errors.add("categories",
                       f"'{name[:40]}': at most {MAX_CATEGORY} characters, no commas.")
            continue
        if name.lower() not in seen:
            seen.add(name.lower())
            categories.append(name)
    if len(categories) > MAX_CATEGORIES:
        errors.add("categories", f"At most {MAX_CATEGORIES} categories.")
    return categories


def _clean_currency(data: dict, currency: Currency | None) -> dict:
    errors = _Errors()
    clean: dict[str, Any] = {}
    creating = currency is None
    if "code" in data:
        if not creating and data["code"] != currency.code:
            errors.add("code", "The code cannot change: listings, proposals and the ledger "
                               "refer to it.")
        elif creating:
            code = _text(data, "code", errors, max_length=MAX_CURRENCY_CODE, required=True)
            if code is not None:
                code = code.lower()
                if not CURRENCY_CODE_RE.match(code) or len(code) < 2:
                    errors.add("code", "2 to 32 lower-case letters, digits or hyphens, "
                                       "starting with a letter.")
                elif currency_by_code(code) is not None:
                    errors.add("code", "Another currency already uses this code.")
                clean["code"] = code
    elif creating:
        errors.add("code", "Code is required.")
    for field, limit, minimum in (("name", MAX_CURRENCY_NAME, 2), ("unit", MAX_UNIT, 1)):
        if field in data or creating:
            value = _text(data, field, errors, max_length=limit, required=True,
                          min_length=minimum)
            if value is not None:
                clean[field] = value
    if "value_per_unit" in data or creating:
        value = _finite_decimal(data.get("value_per_unit"))
        if value is None:
            errors.add("value_per_unit", "Must be a number.")
        else:
            if value <= 0 or value > MAX_VALUE_PER_UNIT:
                errors.add("value_per_unit", "Must be more than 0 and at most 1,000,000.")
            elif value != value.quantize(Decimal("0.01")):
                errors.add("value_per_unit", "At most two decimal places.")
            else:
                clean["value_per_unit"] = value
    if "active" in data or creating:
        clean["active"] = _bool({"active": data.get("active", True)}, "active", errors)
    if "categories" in data or creating:
        clean["categories"] = clean_categories(data.get("categories"), errors)
    errors.raise_if_any("The currency has invalid fields.")
    return clean


CURRENCY_FIELDS = frozenset({"code", "name", "unit", "value_per_unit", "active", "categories"})


def create_currency(actor: User | None, data: dict) -> Currency:
    """Admins add currencies (equipment, volunteers, analytics…)."""
    _require_admin(actor)
    _unknown_fields(data, CURRENCY_FIELDS)
    currency = Currency(**_clean_currency(data, None))
    db.session.add(currency)
    db.session.flush()
    return currency


def update_currency(actor: User | None, currency: Currency, data: dict) -> Currency:
    """Admins edit a currency. A new value applies to future exchanges only:
    proposal legs copy the value per unit when the proposal is made."""
    _require_admin(actor)
    _unknown_fields(data, CURRENCY_FIELDS)
    for field, value in _clean_currency(data, currency).items():
        setattr(currency, field, value)
    db.session.flush()
    return currency


# --- market settings ---------------------------------------------------------------------

WEIGHT_KEYS = ("needs", "value", "parties", "completion")
SETTINGS_FIELDS = frozenset({
    "max_cycle", "max_chain", "fairness_threshold", "objective", "weights",
    "time_limit_seconds", "acceptance_days", "delivery_days",
})


def update_settings(actor: User | None, data: dict) -> MarketSettings:
    """Admins tune the matcher and the proposal lifecycle; every value is range-checked."""
    _require_admin(actor)
    _unknown_fields(data, SETTINGS_FIELDS)
    settings = MarketSettings.current()
    errors = _Errors()
    clean: dict[str, Any] = {}
    for field, low, high in (("max_cycle", 2, 6), ("max_chain", 0, 10),
                             ("time_limit_seconds", 1, 3600), ("acceptance_days", 1, 365),
                             ("delivery_days", 1, 730)):
        if field in data:
            value = _int(data, field, errors, minimum=low, maximum=high)
            if value is not None:
                clean[field] = value
    if "fairness_threshold" in data:
        value = _finite_decimal(data["fairness_threshold"])
        if value is None:
            errors.add("fairness_threshold", "Must be a number between 0 and 1.")
        else:
            if not Decimal(0) <= value <= Decimal(1):
                errors.add("fairness_threshold", "Must be between 0 and 1.")
            elif value != value.quantize(Decimal("0.001")):
                errors.add("fairness_threshold", "At most three decimal places.")
            else:
                clean["fairness_threshold"] = value
    if "objective" in data:
        if data["objective"] not in Objective.ALL:
            errors.add("objective", f"Must be one of: {', '.join(Objective.ALL)}.")
        else:
            clean["objective"] = data["objective"]
    if "weights" in data:
        weights = data["weights"] or {}
        if not isinstance(weights, dict) or set(weights) - set(WEIGHT_KEYS):
            errors.add("weights", f"An object with keys among: {', '.join(WEIGHT_KEYS)}.")
        elif not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1000
                     for v in weights.values()):
            errors.add("weights", "Each weight is a number between 0 and 1000.")
        else:
            clean["weights"] = {key: float(weights[key]) for key in WEIGHT_KEYS if key in weights}
    errors.raise_if_any("The settings have invalid fields.")
    for field, value in clean.items():
        setattr(settings, field, value)
    db.session.flush()
    return settings


# --- listings: reading -------------------------------------------------------------------

STATUS_ANY = "any"


@dataclass
class ListingFilters:
    """What the market can be browsed by. Codes and text are normalised here."""

    kind: str | None = None
    currency: str | None = None
    category: str | None = None
    area: str | None = None
    organisation_id: int | None = None
    text: str | None = None
    status: str | None = ListingStatus.OPEN
    tag: str | None = None
    gift: bool | None = None

    def as_args(self) -> dict:
        """The filters as query-string arguments (for paging links)."""
        args = {"kind": self.kind, "currency": self.currency, "category": self.category,
                "area": self.area, "organisation_id": self.organisation_id, "q": self.text,
                "tag": self.tag, "gift": self.gift, "status": self.status or STATUS_ANY}
        return {key: value for key, value in args.items() if value not in (None, "")}


def listings_query(filters: ListingFilters) -> Select:
    """Listings matching `filters`, newest first. Works the same on SQLite and PostgreSQL:
    area and tag are LIKE predicates on the delimited code lists."""
    statement = db.select(Listing).order_by(Listing.created_at.desc(), Listing.id.desc())
    if filters.kind:
        statement = statement.where(Listing.kind == filters.kind)
    if filters.currency:
        statement = statement.join(Currency, Listing.currency_id == Currency.id).where(
            Currency.code == filters.currency)
    if filters.category:
        statement = statement.where(
            func.lower(Listing.category) == filters.category.strip().lower())
    if filters.area:
        code = normalise_code(filters.area)
        # remote/any listings match every area, as in the compatibility rule.
        statement = statement.where(or_(code_list_contains(Listing.areas, code),
                                        Listing.remote.is_(True)))
    if filters.tag:
        statement = statement.where(code_list_contains(Listing.tags, normalise_code(filters.tag)))
    if filters.organisation_id:
        statement = statement.where(Listing.organisation_id == filters.organisation_id)
    if filters.gift is not None:
        statement = statement.where(Listing.is_gift.is_(filters.gift))
    if filters.status == ListingStatus.OPEN:
        statement = statement.where(Listing.open_on(utc_today()))
    elif filters.status == ListingStatus.EXPIRED:
        statement = statement.where(Listing.expired_on(utc_today()))
    elif filters.status and filters.status != STATUS_ANY:
        statement = statement.where(Listing.status == filters.status)
    if filters.text:
        pattern = f"%{_escape_like(filters.text.strip().lower())}%"
        statement = statement.where(or_(
            func.lower(Listing.title).like(pattern, escape="\\"),
            func.lower(Listing.description).like(pattern, escape="\\"),
            func.lower(Listing.category).like(pattern, escape="\\"),
            func.lower(Listing.tags).like(pattern, escape="\\"),
        ))
    return statement


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_listing(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id) if valid_id(listing_id) else None
    if listing is None:
        raise NotFound(f"No listing with id {listing_id}.")
    return listing


def organisation_listings(organisation: Organisation) -> dict[str, list[Listing]]:
    """An organisation's listings grouped by kind, open first then newest."""
    listings = db.session.execute(
        db.select(Listing).where(Listing.organisation_id == organisation.id)
        .order_by(Listing.open_on(utc_today()).desc(), Listing.created_at.desc(),
                  Listing.id.desc())
    ).scalars().all()
    return {kind: [item for item in listings if item.kind == kind] for kind in ListingKind.ALL}


def open_listing_counts() -> dict[int, int]:
    """Open listings per organisation id (one query, for lists of organisations)."""
    rows = db.session.execute(
        db.select(Listing.organisation_id, func.count(Listing.id))
        .where(Listing.open_on(utc_today())).group_by(Listing.organisation_id))
    return {organisation_id: count for organisation_id, count in rows}


def categories_in_use() -> list[str]:
    """Every category of every currency, for filter drop-downs."""
    names: dict[str, str] = {}
    for currency in list_currencies():
        for name in currency.categories or []:
            names.setdefault(name.lower(), name)
    return sorted(names.values(), key=str.lower)


def market_summary(organisation: Organisation | None = None) -> dict:
    """Counts for the start page: open offers and needs, market-wide and for `organisation`."""

    def count(*conditions) -> int:
        return db.session.execute(
            db.select(func.count(Listing.id)).where(*conditions)).scalar_one()

    is_open = Listing.open_on(utc_today())
    summary = {
        "open_offers": count(is_open, Listing.kind == ListingKind.OFFER),
        "open_needs": count(is_open, Listing.kind == ListingKind.NEED),
        "gifts": count(is_open, Listing.is_gift.is_(True)),
        "organisations": db.session.execute(
            db.select(func.count(Organisation.id))).scalar_one(),
        "expiring_soon": count(is_open, Listing.available_until.is_not(None),
                               Listing.available_until <= utc_today() + timedelta(days=14)),
    }
    if organisation is not None:
        mine = Listing.organisation_id == organisation.id
        summary.update(
            my_open_offers=count(mine, is_open, Listing.kind == ListingKind.OFFER),
            my_open_needs=count(mine, is_open, Listing.kind == ListingKind.NEED),
            my_reserved=count(mine, is_open, Listing.reserved > 0),
            my_expiring=list(db.session.execute(
                db.select(Listing).where(
                    mine, is_open, Listing.available_until.is_not(None),
                    Listing.available_until <= utc_today() + timedelta(days=14))
                .order_by(Listing.available_until)).scalars()),
        )
    return summary


# --- listings: writing -------------------------------------------------------------------

def _clean_listing(data: dict, listing: Listing | None, today: date) -> dict:
    """Validate a whole listing (`data` merged over the current values when editing).

    Returns model attribute values. Raises one Invalid naming every bad field.
    """
    errors = _Errors()
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

    title = _text(data, "title", errors, max_length=MAX_TITLE, required=True,
                  min_length=MIN_TITLE)
    clean["title"] = title
    clean["description"] = _text(data, "description", errors, max_length=MAX_TEXT) or ""

    category = _text(data, "category", errors, max_length=MAX_CATEGORY) or None
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

    quantity = _int(data, "quantity", errors, minimum=1, maximum=MAX_QUANTITY)
    clean["quantity"] = quantity
    min_quantity = _int(data, "min_quantity", errors, minimum=1, maximum=MAX_QUANTITY,
                        required=False)
    if min_quantity is not None:
        if kind == ListingKind.OFFER:
            errors.add("min_quantity", "Only needs have a minimum acceptable quantity.")
        elif quantity is not None and min_quantity > quantity:
            errors.add("min_quantity", f"Must not exceed the quantity ({quantity:,}).")
    clean["min_quantity"] = min_quantity

    remote = _bool(data, "remote", errors)
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

    start = _date(data, "available_from", errors)
    until = _date(data, "available_until", errors)
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

    gift = _bool(data, "gift", errors)
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
    _unknown_fields(data, LISTING_FIELDS)
    if actor is None:
        if organisation is None:
            raise Invalid("The organisation is required.",
                          errors={"organisation_id": ["Required."]})
    else:
        _require_authenticated(actor)
        if not actor.is_member or actor.organisation is None:
            raise Forbidden("Only members of an organisation post its offers and needs; "
                            "nobody posts on behalf of another organisation.")
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
    if actor is None:
        return
    _require_authenticated(actor)
    if not can_write_listing(actor, listing):
        raise Forbidden(f"Only members of {listing.organisation.name} may change its listings.")


def update_listing(actor: User | None, listing: Listing, data: dict, *,
                   today: date | None = None) -> Listing:
    """Edit an open (or expired) listing; `data` holds the fields to change.

    Kind and currency cannot change. The quantity never drops below what was
    already delivered plus what approved proposals reserve. An expired listing
    whose new end date is not past opens again.
    """
    today = today or utc_today()
    _require_listing_writer(actor, listing)
    _unknown_fields(data, LISTING_FIELDS)
    # Lock the row: an approval reserving units meanwhile must not slip under the new quantity.
    db.session.refresh(listing, with_for_update=True)
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
    db.session.refresh(listing, with_for_update=True)
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
