"""marshmallow schemas of the market's API: what comes in (validated: types,
lengths, ranges; unknown fields rejected) and what goes out (ids and
timestamps dump-only). The services re-check every domain rule."""

from __future__ import annotations

from datetime import UTC

from flask_login import current_user
from marshmallow import Schema, fields, post_dump, validate

from app.core import limits
from app.core.fields import StrictBoolean, StrictInteger, UtcDateTime
from app.core.paging import CursorPageArgs, PageArgs
from app.market import browse as market_browse
from app.market import organisations as organisation_rules
from app.market.models import ListingKind, ListingStatus, Objective, Sector


def _codes(max_items: int, description: str) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=limits.MAX_CODE)),
        validate=validate.Length(max=max_items),
        metadata={"description": description},
    )


# --- organisations -------------------------------------------------------------------------

PRIVATE_NOTE = ("Private: only the organisation's own members, coordinators, auditors and "
                "admins see it; absent for everybody else.")


class OrganisationRefSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    slug = fields.String(dump_only=True)


class OrganisationSchema(Schema):
    """An organisation as others see it; private fields only for those allowed."""

    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    slug = fields.String(dump_only=True)
    sector = fields.String(dump_only=True, metadata={"enum": list(Sector.ALL)})
    sector_label = fields.Function(lambda org: Sector.LABELS.get(org.sector, org.sector),
                                   dump_only=True)
    areas = fields.List(fields.String(), dump_only=True)
    contact_name = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    contact_email = fields.String(dump_only=True, metadata={"description": PRIVATE_NOTE})
    contact_phone = fields.String(dump_only=True, metadata={"description": PRIVATE_NOTE})
    internal_notes = fields.String(dump_only=True, metadata={"description": PRIVATE_NOTE})
    excluded_ids = fields.Function(lambda org: [other.id for other in org.excluded],
                                   dump_only=True, metadata={"description": PRIVATE_NOTE})
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)

    @post_dump(pass_original=True)
    def hide_private(self, data: dict, original, **kwargs) -> dict:
        if not organisation_rules.can_see_private(current_user, original):
            for name in organisation_rules.PRIVATE_ORGANISATION_FIELDS:
                data.pop(name, None)
        return data


class OrganisationInputSchema(Schema):
    """Fields to create or edit an organisation. Members may send only the
    profile fields (areas, contact, description, internal notes, exclusions)."""

    name = fields.String(required=True, validate=validate.Length(min=2, max=limits.MAX_ORG_NAME))
    slug = fields.String(validate=validate.Length(min=1, max=limits.MAX_SLUG),
                         metadata={"description": "Derived from the name when omitted."})
    sector = fields.String(validate=validate.OneOf(Sector.ALL))
    areas = _codes(limits.MAX_AREAS, "Area codes served (normalised to lower-case-hyphenated).")
    contact_name = fields.String(validate=validate.Length(max=limits.MAX_CONTACT_NAME))
    contact_email = fields.String(validate=validate.Length(max=limits.MAX_EMAIL_LENGTH))
    contact_phone = fields.String(validate=validate.Length(max=limits.MAX_PHONE))
    description = fields.String(validate=validate.Length(max=limits.MAX_TEXT))
    internal_notes = fields.String(validate=validate.Length(max=limits.MAX_TEXT))
    excluded_ids = fields.List(
        StrictInteger(validate=validate.Range(min=1, max=limits.MAX_ID)),
        validate=validate.Length(max=limits.MAX_EXCLUSIONS),
        metadata={"description": "Organisations this one will not exchange with."})


class OrganisationQuerySchema(PageArgs):
    q = fields.String(validate=validate.Length(max=limits.MAX_SEARCH),
                      metadata={"description": "Text in the name or description."})
    sector = fields.String(validate=validate.OneOf(Sector.ALL))
    area = fields.String(validate=validate.Length(max=limits.MAX_CODE))


# --- currencies and settings ---------------------------------------------------------------

class CurrencySchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    unit = fields.String(dump_only=True)
    value_per_unit = fields.Float(dump_only=True, metadata={
        "description": "Market credits per unit; applies to exchanges proposed from now on."})
    active = fields.Boolean(dump_only=True)
    categories = fields.List(fields.String(), dump_only=True)
    updated_at = UtcDateTime(dump_only=True)


class CurrencyInputSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(
        min=2, max=limits.MAX_CURRENCY_CODE), metadata={"description": "Fixed once created."})
    name = fields.String(required=True, validate=validate.Length(
        min=2, max=limits.MAX_CURRENCY_NAME))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=limits.MAX_UNIT))
    value_per_unit = fields.Decimal(required=True, allow_nan=False, validate=validate.Range(
        min=0, min_inclusive=False, max=limits.MAX_VALUE_PER_UNIT))
    active = StrictBoolean()
    categories = fields.List(
        fields.String(validate=validate.Length(min=1, max=limits.MAX_CATEGORY)),
        validate=validate.Length(max=limits.MAX_CATEGORIES))


class CurrencyQuerySchema(Schema):
    active = fields.Boolean(metadata={"description": "Only active (true) or inactive (false)."})


def _range(setting: str) -> validate.Range:
    low, high = limits.SETTINGS_RANGES[setting]
    return validate.Range(min=low, max=high)


class MarketSettingsSchema(Schema):
    max_cycle = StrictInteger(validate=_range("max_cycle"))
    max_chain = StrictInteger(validate=_range("max_chain"))
    fairness_threshold = fields.Float(allow_nan=False, validate=validate.Range(min=0, max=1))
    objective = fields.String(validate=validate.OneOf(Objective.ALL))
    weights = fields.Dict(
        keys=fields.String(validate=validate.OneOf(limits.WEIGHT_KEYS)),
        values=fields.Float(allow_nan=False,
                            validate=validate.Range(min=0, max=limits.MAX_SETTINGS_WEIGHT)))
    time_limit_seconds = StrictInteger(validate=_range("time_limit_seconds"))
    acceptance_days = StrictInteger(validate=_range("acceptance_days"))
    delivery_days = StrictInteger(validate=_range("delivery_days"))


# --- listings ------------------------------------------------------------------------------

class ListingSchema(Schema):
    """A listing as everybody in the market sees it."""

    id = fields.Integer(dump_only=True)
    organisation_id = fields.Integer(dump_only=True)
    organisation = fields.Nested(OrganisationRefSchema, dump_only=True)
    kind = fields.String(dump_only=True, metadata={"enum": list(ListingKind.ALL)})
    currency = fields.Function(lambda listing: listing.currency.code, dump_only=True)
    unit = fields.Function(lambda listing: listing.currency.unit, dump_only=True)
    category = fields.String(dump_only=True, allow_none=True)
    title = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    tags = fields.List(fields.String(), dump_only=True)
    quantity = fields.Integer(dump_only=True)
    min_quantity = fields.Integer(dump_only=True, allow_none=True)
    remaining = fields.Integer(dump_only=True)
    reserved = fields.Integer(dump_only=True, metadata={
        "description": "Held by approved proposals."})
    available = fields.Integer(dump_only=True, metadata={
        "description": "remaining - reserved: what a new proposal may use."})
    areas = fields.List(fields.String(), dump_only=True)
    remote = fields.Boolean(dump_only=True)
    available_from = fields.Date(dump_only=True, allow_none=True)
    available_until = fields.Date(dump_only=True, allow_none=True)
    gift = fields.Boolean(attribute="is_gift", dump_only=True)
    status = fields.String(dump_only=True, attribute="current_status",
                           metadata={"enum": list(ListingStatus.ALL)})
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)

    def dump(self, obj, *, many: bool | None = None):
        """The fields above, built as plain dicts: marshmallow's per-field machinery cost
        ~3 ms for a page of 20 listings (more than the query). The declared fields stay
        the contract (the OpenAPI document is generated from them); a test compares this
        with marshmallow's own dump field by field. A schema narrowed with only/exclude
        takes marshmallow's path."""
        if self.only is not None or self.exclude:
            return super().dump(obj, many=many)
        many = self.many if many is None else many
        return [_listing_dict(item) for item in obj] if many else _listing_dict(obj)


def _utc(moment):
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat() if (
        moment.tzinfo is None) else moment.isoformat()


def _listing_dict(listing) -> dict:
    organisation, currency = listing.organisation, listing.currency
    return {
        "id": listing.id, "organisation_id": listing.organisation_id,
        "organisation": None if organisation is None else {
            "id": organisation.id, "name": organisation.name, "slug": organisation.slug},
        "kind": listing.kind, "currency": currency.code, "unit": currency.unit,
        "category": listing.category, "title": listing.title,
        "description": listing.description,
        "tags": None if listing.tags is None else list(listing.tags),
        "quantity": listing.quantity, "min_quantity": listing.min_quantity,
        "remaining": listing.remaining, "reserved": listing.reserved,
        "available": listing.available,
        "areas": None if listing.areas is None else list(listing.areas),
        "remote": listing.remote,
        "available_from": None if listing.available_from is None
        else listing.available_from.isoformat(),
        "available_until": None if listing.available_until is None
        else listing.available_until.isoformat(),
        "gift": listing.is_gift, "status": listing.current_status,
        "created_at": _utc(listing.created_at), "updated_at": _utc(listing.updated_at),
    }


class ListingInputSchema(Schema):
    """An offer or need to post. On PATCH every field is optional; kind and currency
    cannot change."""

    organisation_id = StrictInteger(validate=validate.Range(min=1, max=limits.MAX_ID), metadata={
        "description": "Defaults to your organisation; any other is refused (403)."})
    kind = fields.String(required=True, validate=validate.OneOf(ListingKind.ALL))
    currency = fields.String(required=True, validate=validate.Length(
        min=1, max=limits.MAX_CURRENCY_CODE), metadata={"description": "A currency code."})
    category = fields.String(allow_none=True, validate=validate.Length(max=limits.MAX_CATEGORY),
                             metadata={"description": "One of the currency's categories; "
                                                      "offers must name one, a need without "
                                                      "one accepts any."})
    title = fields.String(required=True, validate=validate.Length(
        min=limits.MIN_TITLE, max=limits.MAX_TITLE))
    description = fields.String(validate=validate.Length(max=limits.MAX_TEXT))
    tags = _codes(limits.MAX_TAGS, "A need's tags must all be on an offer for them to match.")
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=limits.MAX_QUANTITY))
    min_quantity = StrictInteger(allow_none=True, validate=validate.Range(
        min=1, max=limits.MAX_QUANTITY), metadata={"description": "Needs only."})
    areas = _codes(limits.MAX_AREAS, "Areas of the partnership; required unless remote.")
    remote = StrictBoolean(metadata={"description": "Remote/any: matches every area."})
    available_from = fields.Date(allow_none=True)
    available_until = fields.Date(allow_none=True)
    gift = StrictBoolean(metadata={"description": "Offers only: given without anything back; "
                                                  "can start a chain."})


class ListingUpdateSchema(ListingInputSchema):
    class Meta:
        exclude = ("organisation_id",)


class ListingQuerySchema(CursorPageArgs):
    kind = fields.String(validate=validate.OneOf(ListingKind.ALL))
    currency = fields.String(validate=validate.Length(max=limits.MAX_CURRENCY_CODE))
    category = fields.String(validate=validate.Length(max=limits.MAX_CATEGORY))
    area = fields.String(validate=validate.Length(max=limits.MAX_CODE),
                         metadata={"description": "Remote/any listings match every area."})
    organisation_id = fields.Integer(validate=validate.Range(min=1, max=limits.MAX_ID))
    q = fields.String(validate=validate.Length(max=limits.MAX_SEARCH),
                      metadata={"description": "Text in title, tags, category or description: "
                                             "words, \"a phrase\", a or b, -word; the last "
                                             "word also as a prefix. Ranked by relevance."})
    status = fields.String(load_default=ListingStatus.OPEN,
                           validate=validate.OneOf((*ListingStatus.ALL, market_browse.STATUS_ANY)))
    tag = fields.String(validate=validate.Length(max=limits.MAX_CODE))
    gift = fields.Boolean()


def listing_filters(args: dict) -> market_browse.ListingFilters:
    """ListingFilters from loaded ListingQuerySchema arguments."""
    return market_browse.ListingFilters(
        kind=args.get("kind"), currency=args.get("currency"), category=args.get("category"),
        area=args.get("area"), organisation_id=args.get("organisation_id"), text=args.get("q"),
        status=args.get("status"), tag=args.get("tag"), gift=args.get("gift"))
