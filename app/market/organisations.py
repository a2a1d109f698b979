"""Organisations of the partnership: profiles, areas, exclusions.

Coordinators and admins add and edit organisations; a member edits only its own
organisation's profile (PROFILE_FIELDS), never its name, slug or sector. Contact
email/phone, internal notes and exclusions are private (policy
"organisation.see_private"). Services flush; the caller commits.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import Select, func, or_
from sqlalchemy.orm import selectinload

from app.auth import admin_log, policy
from app.auth.loader import USERS
from app.auth.models import AdminActionKind, User
from app.core import read_cache
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.limits import (
    MAX_AREAS,
    MAX_CONTACT_NAME,
    MAX_EMAIL_LENGTH,
    MAX_EXCLUSIONS,
    MAX_ORG_NAME,
    MAX_PHONE,
    MAX_SLUG,
    MAX_TEXT,
)
from app.core.validation import (
    CONTROL_RE,
    EMAIL_RE,
    FieldErrors,
    escape_like,
    normalise_code,
    normalise_codes,
    reject_unknown_fields,
    text_field,
    valid_id,
)
from app.extensions import db
from app.market.models import Organisation, Sector, code_list_contains

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PHONE_RE = re.compile(r"^[0-9+() .-]*$")

# The organisation-profile fields a member may edit for its own organisation;
# name, slug and sector identify it in the partnership and stay with coordinators.
PROFILE_FIELDS = frozenset({
    "areas", "contact_name", "contact_email", "contact_phone", "description",
    "internal_notes", "excluded_ids",
})
ORGANISATION_FIELDS = PROFILE_FIELDS | {"name", "slug", "sector"}
PRIVATE_ORGANISATION_FIELDS = ("contact_email", "contact_phone", "internal_notes", "excluded_ids")


def can_see_private(user: User | None, organisation: Organisation) -> bool:
    """Contact email/phone, internal notes and exclusions: own members, coordinators,
    auditors and admins only."""
    return policy.allows(user, "organisation.see_private", organisation)


def find_organisation(*, organisation_id: int | None = None,
                      slug: str | None = None) -> Organisation:
    """The organisation by id or slug; Invalid naming `organisation` when unknown
    (for forms and commands that name an organisation as a field)."""
    organisation = None
    if organisation_id is not None:
        if valid_id(organisation_id):
            organisation = db.session.get(Organisation, organisation_id)
        label = f"id {organisation_id}"
    else:
        slug = (slug or "").strip()
        if slug and len(slug) <= MAX_SLUG and not CONTROL_RE.search(slug):
            organisation = db.session.execute(
                db.select(Organisation).where(Organisation.slug == slug)
            ).scalar_one_or_none()
        label = f"slug {slug!r}"
    if organisation is None:
        raise Invalid(f"No organisation with {label}.",
                      errors={"organisation": [f"No organisation with {label}."]})
    return organisation


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
    # Exclusions are part of what the API shows (to those allowed): loaded in one query.
    statement = db.select(Organisation).options(selectinload(Organisation.excluded)).order_by(
        Organisation.name, Organisation.id)
    if text:
        pattern = f"%{escape_like(text.strip().lower())}%"
        statement = statement.where(or_(
            func.lower(Organisation.name).like(pattern, escape="\\"),
            func.lower(Organisation.description).like(pattern, escape="\\"),
        ))
    if sector:
        statement = statement.where(Organisation.sector == sector)
    if area:
        statement = statement.where(code_list_contains(Organisation.areas, normalise_code(area)))
    return statement


#: What the filter menus are kept under (app.core.read_cache): organisations only, so
#: that new listings (which raise the market's version) leave them alone.
ORGANISATIONS = read_cache.watch("organisations", Organisation, shared=True)
# The signed-in user is kept with its organisation (app.auth.loader).
read_cache.watch(USERS, Organisation)


def market_menus(selected_id: int | None, selected_area: str | None = None
                 ) -> tuple[Markup, Markup]:
    """The market's filter menus as `<option>`s: every organisation by name, and every
    area some organisation serves, with the chosen ones selected.

    Both are built once per process and version of the organisations rather than on
    every page: 2,000 organisations are ~2,000 rows fetched and escaped, and unnesting
    their areas is 1–3 ms of the database's time."""
    organisations, areas = _menus()
    return (Markup(_select(organisations, str(int(selected_id)) if selected_id else None)),
            Markup(_select(areas, escape(selected_area) if selected_area else None)))


def _menus() -> tuple[str, str]:
    def build() -> tuple[str, str]:
        return ("".join(f'<option value="{org_id}">{escape(name)}</option>'
                        for org_id, name in organisation_names()),
                "".join(f'<option value="{escape(area)}">{escape(area)}</option>'
                        for area in known_areas()))

    return read_cache.remember(ORGANISATIONS, ("menus",), build)


def _select(options: str, value: str | None) -> str:
    if not value:
        return options
    marker = f'<option value="{value}">'
    return options.replace(marker, f'<option value="{value}" selected>', 1)


def organisation_names() -> list:
    """(id, name) of every organisation by name, for filter menus: two columns, not whole
    organisations (2,000 of them on a platform)."""
    return list(db.session.execute(
        db.select(Organisation.id, Organisation.name).order_by(Organisation.name)))


def known_areas() -> list[str]:
    """Every area some organisation serves: the partnership's map (kept like the menus:
    every listing posted checks its areas against it)."""
    return list(read_cache.remember(ORGANISATIONS, ("areas",),
                                    lambda: tuple(_read_known_areas())))


def _read_known_areas() -> list[str]:
    if db.session.get_bind().dialect.name == "postgresql":
        # The database unnests the arrays: one short list back instead of every row's.
        return list(db.session.execute(db.select(
            func.unnest(Organisation.areas).label("area")).distinct().order_by("area"))
            .scalars())
    areas: set[str] = set()
    for (codes,) in db.session.execute(db.select(Organisation.areas)):
        areas.update(codes or [])
    return sorted(areas)


def slugify(name: str) -> str:
    return normalise_code(name)[:MAX_SLUG].strip("-")


def _clean_organisation(data: dict, organisation: Organisation | None) -> dict:
    """Validate organisation fields present in `data`; returns cleaned values."""
    errors = FieldErrors()
    clean: dict[str, Any] = {}
    creating = organisation is None
    if "name" in data or creating:
        name = text_field(data, "name", errors, max_length=MAX_ORG_NAME, required=True,
                          min_length=2)
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
        slug = text_field({"slug": raw}, "slug", errors, max_length=MAX_SLUG, required=True)
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
    for field, limit in (("contact_name", MAX_CONTACT_NAME), ("contact_email", MAX_EMAIL_LENGTH),
                         ("contact_phone", MAX_PHONE), ("description", MAX_TEXT),
                         ("internal_notes", MAX_TEXT)):
        if field in data or creating:
            value = text_field(data, field, errors, max_length=limit)
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
                      errors: FieldErrors) -> list[Organisation]:
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


def _logged(organisation: Organisation) -> dict:
    """What the audit log of administrative actions keeps of an organisation."""
    fields = (ORGANISATION_FIELDS - {"excluded_ids"}) | {"excluded"}
    return admin_log.snapshot(organisation, fields)


def create_organisation(actor: User | None, data: dict) -> Organisation:
    """Coordinators and admins add organisations to the partnership."""
    policy.require(actor, "organisation.manage")
    reject_unknown_fields(data, ORGANISATION_FIELDS)
    clean = _clean_organisation(data, None)
    excluded = clean.pop("excluded", [])
    organisation = Organisation(**clean)
    organisation.excluded = excluded
    db.session.add(organisation)
    db.session.flush()
    admin_log.record(actor, AdminActionKind.ORGANISATION_CREATED, organisation, before=None,
                     after=_logged(organisation))
    return organisation


def update_organisation(actor: User | None, organisation: Organisation,
                        data: dict) -> Organisation:
    """Coordinators and admins edit any field; a member edits only its own
    organisation's profile (PROFILE_FIELDS), never its name, slug or sector."""
    reject_unknown_fields(data, ORGANISATION_FIELDS)
    policy.require(actor, "organisation.edit_profile", organisation)
    refused = sorted(set(data) - PROFILE_FIELDS)
    if refused and actor is not None and not policy.allows(actor, "organisation.manage"):
        raise Forbidden(
            f"Members may not change {', '.join(refused)}; ask a coordinator.",
            errors={name: ["Only coordinators and administrators may change this."]
                    for name in refused})
    clean = _clean_organisation(data, organisation)
    before = _logged(organisation)
    if "excluded" in clean:
        organisation.excluded = clean.pop("excluded")
    for field, value in clean.items():
        setattr(organisation, field, value)
    db.session.flush()
    admin_log.record(actor, AdminActionKind.ORGANISATION_UPDATED, organisation, before=before,
                     after=_logged(organisation))
    return organisation
