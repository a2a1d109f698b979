"""Pages of the market: browse, listings, my organisation, organisations,
currencies and settings. Thin views: parse -> service -> commit -> redirect
or render. Services raise Forbidden/NotFound/Conflict, which the error
handlers turn into pages (and roll back); Invalid goes back onto the form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup
from marshmallow import ValidationError, validate

from app.auth import policy
from app.auth.decorators import permission_required
from app.core import read_cache
from app.core.clock import today
from app.core.limits import MAX_HORIZON_DAYS
from app.core.paging import paginate
from app.market import browse as market_browse
from app.market import currencies as currency_rules
from app.market import listings as listing_rules
from app.market import organisations as organisation_rules
from app.market import settings as settings_rules
from app.market.forms import (
    CurrencyForm,
    ListingForm,
    NewListingForm,
    OrganisationForm,
    SettingsForm,
)
from app.market.models import MarketSettings, Sector
from app.market.schemas import ListingQuerySchema, OrganisationQuerySchema, listing_filters
from app.web.actions import attempt

bp = Blueprint("market", __name__, template_folder="templates")



def _page_size() -> int:
    return current_app.config.get("PAGE_SIZE", 20)


#: The query arguments of the market's lists as the pages name them (their forms' labels).
ARGUMENT_LABELS = {"q": "Search", "kind": "Kind", "currency": "Currency",
                   "category": "Category", "area": "Area", "organisation_id": "Organisation",
                   "status": "Status", "tag": "Tag", "gift": "Gifts", "sector": "Sector",
                   "page": "Page", "per_page": "Listings per page", "cursor": "Page link"}


def _load_args(schema) -> dict:
    """Query arguments through `schema`; invalid ones are dropped with a message naming
    each one and why, rather than failing the whole page."""
    raw = {key: value for key, value in request.args.items() if value != ""}
    raw.setdefault("per_page", str(_page_size()))
    try:
        return schema.load(raw)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {}
        reasons = [f"{ARGUMENT_LABELS.get(key, key)} ({_reason(schema, key, messages[key])})"
                   for key in sorted(messages)]
        flash(f"Not applied: {'; '.join(reasons)}.", "error")
        return schema.load({key: value for key, value in raw.items() if key not in messages})


def _reason(schema, key: str, problem) -> str:
    """Why an argument was refused, in words: a choice validator's message lists the raw
    codes, which mean nothing on a page."""
    text = str(problem[0] if isinstance(problem, list) and problem else problem)
    field = schema.fields.get(key)
    choices = [v for v in getattr(field, "validators", ()) if isinstance(v, validate.OneOf)]
    if any(v.choices_text in text for v in choices):
        return "not one of the choices offered"
    return text.rstrip(".")


def _invalid(template: str, status: int = 422, **context):
    return render_template(template, **context), status


def _date_bounds(listing=None) -> dict:
    """The date pickers' bounds: not before today, not beyond the horizon the service
    accepts. An edit keeps an earlier date it already has (the service does not judge
    a date an edit leaves alone), so re-saving it is not blocked by the browser."""
    first, last = today(), today() + timedelta(days=MAX_HORIZON_DAYS)
    bounds = {}
    for name in ("available_from", "available_until"):
        current = getattr(listing, name, None) if listing is not None else None
        low = min(first, current) if current else first
        bounds[name] = {"min": low.isoformat(), "max": last.isoformat()}
    return bounds


# --- browsing ------------------------------------------------------------------------------

@bp.get("/market")
@login_required
def browse():
    """The market: every organisation's offers and needs, filtered and paged."""
    args = _load_args(ListingQuerySchema())
    filters = listing_filters(args)
    page = market_browse.market_page_ids(filters, args["page"], args["per_page"])
    organisation_options, area_options = organisation_rules.market_menus(
        filters.organisation_id, filters.area)
    currencies, categories = currency_rules.market_menus()
    return render_template(
        "market/browse.html", page=page, listing_rows=_listing_rows(page.items),
        filters=filters, args=filters.as_args(),
        currencies=currencies, organisation_options=organisation_options,
        area_options=area_options, categories=categories)


def _listing_rows(ids: list[int]) -> Markup | None:
    """The market's table of these listings, rendered once per version of the market and
    kept (`app.core.read_cache`): it reads the same for everyone, and new listings are
    other rows. Reading 20 listings and rendering them was a third of a page's time."""
    if not ids:
        return None
    table = get_template_attribute("market/_listings.html", "listing_table")
    return read_cache.remember(
        market_browse.MARKET, ("listing rows", tuple(ids)),
        lambda: table(market_browse.listings_by_id(ids)),
        survives_additions=read_cache.unaffected_by_additions)


@dataclass(frozen=True)
class _ShownListing:
    """A listing page's details as rendered for everyone, with what the page decides its
    owners' buttons by (`can_write_listing` reads the organisation)."""

    id: int
    title: str
    organisation_id: int
    status: str
    reserved: int
    details: Markup


def _shown_listing(listing_id: int) -> _ShownListing:
    """The listing's details, rendered once per version of the market and kept (new
    listings are other rows): reading it with its organisation and currency and
    rendering it was over a third of the page. A missing listing raises, uncached."""

    def read() -> _ShownListing:
        item = market_browse.get_listing(listing_id)
        details = get_template_attribute("market/_listing_details.html", "listing_details")
        return _ShownListing(item.id, item.title, item.organisation_id, item.status,
                             item.reserved, details(item))

    return read_cache.remember(market_browse.MARKET, ("listing page", listing_id), read,
                               survives_additions=read_cache.unaffected_by_additions)


@bp.get("/market/listings/<int:listing_id>")
@login_required
def listing(listing_id: int):
    shown = _shown_listing(listing_id)
    return render_template("market/listing.html", listing=shown,
                           can_write=listing_rules.can_write_listing(current_user, shown))


@bp.get("/market/my-organisation")
@permission_required("organisation.own")
def my_organisation():
    """The member's organisation: its profile and all its offers and needs."""
    organisation = current_user.organisation
    if organisation is None:
        abort(404)
    return render_template("market/my_organisation.html", organisation=organisation,
                           listings=market_browse.organisation_listings(organisation),
                           summary=market_browse.market_summary(organisation))


# --- writing listings ----------------------------------------------------------------------

@bp.route("/market/listings/new", methods=["GET", "POST"])
@permission_required("listing.post")
def new_listing():
    currencies = currency_rules.list_currencies(active_only=True)
    form = NewListingForm(currencies=currencies, areas=organisation_rules.known_areas())
    if request.method == "GET":
        if request.args.get("kind") in ("offer", "need"):
            form.kind.data = request.args["kind"]
        form.areas.data = list(current_user.organisation.areas)
    if form.validate_on_submit():
        outcome = attempt(
            lambda: listing_rules.create_listing(current_user, form.data_for_service()),
            form=form, success=lambda item: f"Your {item.kind} “{item.title}” is on the market.")
        if outcome.ok:
            item = outcome.value
            return redirect(url_for(".listing", listing_id=item.id))
    return _invalid("market/listing_form.html", 422 if request.method == "POST" else 200,
                    form=form, listing=None, currencies=currencies, dates=_date_bounds())


@bp.route("/market/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit_listing(listing_id: int):
    item = market_browse.get_listing(listing_id)
    if not listing_rules.can_write_listing(current_user, item):
        abort(403)
    form = ListingForm(areas=sorted(set(organisation_rules.known_areas()) | set(item.areas)))
    if request.method == "GET":
        form.fill_from(item)
    if form.validate_on_submit():
        outcome = attempt(
            lambda: listing_rules.update_listing(current_user, item, form.data_for_service()),
            form=form, success="Listing updated.")
        if outcome.ok:
            return redirect(url_for(".listing", listing_id=item.id))
    return _invalid("market/listing_form.html", 422 if request.method == "POST" else 200,
                    form=form, listing=item, currencies=[item.currency],
                    dates=_date_bounds(item))


@bp.post("/market/listings/<int:listing_id>/withdraw")
@login_required
def withdraw_listing(listing_id: int):
    item = market_browse.get_listing(listing_id)
    attempt(lambda: listing_rules.withdraw_listing(current_user, item), catch=(),
            success=f"“{item.title}” was withdrawn from the market.")
    return redirect(url_for(".listing", listing_id=item.id))


# --- organisations -------------------------------------------------------------------------

@bp.get("/organisations")
@login_required
def organisations():
    args = _load_args(OrganisationQuerySchema())
    statement = organisation_rules.organisations_query(
        text=args.get("q"), sector=args.get("sector"), area=args.get("area"))
    page = paginate(statement, args["page"], args["per_page"], clamp=True)
    filters = {key: args[key] for key in ("q", "sector", "area") if args.get(key)}
    return render_template("market/organisations.html", page=page, filters=filters,
                           areas=organisation_rules.known_areas(), sectors=Sector.LABELS,
                           open_counts=market_browse.open_listing_counts(),
                           can_create=policy.allows(current_user, "organisation.manage"))


@bp.get("/organisations/<slug>")
@login_required
def organisation(slug: str):
    org = organisation_rules.get_organisation_by_slug(slug)
    return render_template("market/organisation.html", organisation=org,
                           listings=market_browse.organisation_listings(org),
                           private=organisation_rules.can_see_private(current_user, org),
                           can_edit=policy.allows(current_user, "organisation.edit_profile", org))


@bp.route("/organisations/new", methods=["GET", "POST"])
@permission_required("organisation.manage")
def new_organisation():
    form = OrganisationForm(others=organisation_rules.all_organisations())
    if form.validate_on_submit():
        outcome = attempt(
            lambda: organisation_rules.create_organisation(current_user, form.data_for_service()),
            form=form, aliases={"excluded_ids": "excluded"},
            success=lambda org: f"{org.name} joined the partnership.")
        if outcome.ok:
            org = outcome.value
            return redirect(url_for(".organisation", slug=org.slug))
    return _invalid("market/organisation_form.html", 422 if request.method == "POST" else 200,
                    form=form, organisation=None)


@bp.route("/organisations/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit_organisation(slug: str):
    org = organisation_rules.get_organisation_by_slug(slug)
    if not policy.allows(current_user, "organisation.edit_profile", org):
        abort(403)
    staff = policy.allows(current_user, "organisation.manage")
    others = [o for o in organisation_rules.all_organisations() if o.id != org.id]
    form = OrganisationForm(others=others, staff=staff)
    if request.method == "GET":
        form.fill_from(org)
    if form.validate_on_submit():
        outcome = attempt(
            lambda: organisation_rules.update_organisation(current_user, org,
                                                           form.data_for_service()),
            form=form, aliases={"excluded_ids": "excluded"}, success="Organisation updated.")
        if outcome.ok:
            return redirect(url_for(".organisation", slug=org.slug))
    return _invalid("market/organisation_form.html", 422 if request.method == "POST" else 200,
                    form=form, organisation=org)


# --- currencies and settings ---------------------------------------------------------------

@bp.get("/market/currencies")
@login_required
def currencies():
    return render_template("market/currencies.html", currencies=currency_rules.list_currencies(),
                           can_edit=policy.allows(current_user, "currency.manage"))


@bp.route("/market/currencies/new", methods=["GET", "POST"])
@permission_required("currency.manage")
def new_currency():
    form = CurrencyForm(creating=True)
    if form.validate_on_submit():
        outcome = attempt(
            lambda: currency_rules.create_currency(current_user, form.data_for_service()),
            form=form, success=lambda currency: f"Currency {currency.name} added.")
        if outcome.ok:
            return redirect(url_for(".currencies"))
    return _invalid("market/currency_form.html", 422 if request.method == "POST" else 200,
                    form=form, currency=None)


@bp.route("/market/currencies/<int:currency_id>/edit", methods=["GET", "POST"])
@permission_required("currency.manage")
def edit_currency(currency_id: int):
    currency = currency_rules.get_currency(currency_id)
    form = CurrencyForm(creating=False)
    if request.method == "GET":
        form.name.data = currency.name
        form.unit.data = currency.unit
        form.value_per_unit.data = currency.value_per_unit
        form.active.data = currency.active
        form.categories.data = "\n".join(currency.categories or [])
    if form.validate_on_submit():
        outcome = attempt(
            lambda: currency_rules.update_currency(current_user, currency, form.data_for_service()),
            form=form,
            success=f"Currency {currency.name} updated; a new value applies to exchanges "
                    "proposed from now on.")
        if outcome.ok:
            return redirect(url_for(".currencies"))
    return _invalid("market/currency_form.html", 422 if request.method == "POST" else 200,
                    form=form, currency=currency)


@bp.route("/market/settings", methods=["GET", "POST"])
@permission_required("settings.manage")
def settings():
    current = MarketSettings.current()
    form = SettingsForm()
    if request.method == "GET":
        form.fill_from(current)
    if form.validate_on_submit():
        outcome = attempt(
            lambda: settings_rules.update_settings(current_user, form.data_for_service()),
            form=form, success="Market settings saved.")
        if outcome.ok:
            return redirect(url_for(".settings"))
    return _invalid("market/settings.html", 422 if request.method == "POST" else 200,
                    form=form)
