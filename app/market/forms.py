"""Flask-WTF forms of the market pages. They check types and lengths; the
services check the domain rules, and `app.web.actions.attempt` puts their
per-field messages back on the form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice as _Choice
except ImportError:  # pragma: no cover - older WTForms
    def _Choice(value, label):  # noqa: N802
        return (value, label)
from app.core import limits
from app.core.limits import SETTINGS_RANGES
from app.core.validation import finite_decimal
from app.market.models import ListingKind, Objective, Sector


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AreaField(MultiCheckboxField):
    """Area checkboxes; unknown areas are reported by the service, which lists the valid ones."""

    def pre_validate(self, form) -> None:
        pass


class FiniteDecimalField(DecimalField):
    """A decimal that must be an ordinary finite number: "inf", "-inf", "NaN", "sNaN" and
    the like are a field error, not a Decimal that later raises InvalidOperation (a 500)
    in a comparison or in rounding."""

    def process_formdata(self, valuelist) -> None:
        if valuelist:
            self.data = finite_decimal(valuelist[0].strip()) if valuelist[0].strip() else None
            if self.data is None and valuelist[0].strip():
                raise ValueError(self.gettext("Enter a finite number, e.g. 0.5."))
            if self.data is not None and self.data.adjusted() > 15:
                self.data = None
                raise ValueError(self.gettext("The number is far too large."))


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]


# --- listings ------------------------------------------------------------------------------

class ListingForm(FlaskForm):
    """Fields shared by posting and editing a listing (kind and currency are fixed once
    posted, so only `NewListingForm` has them)."""

    # Drawn as a select of the currencies' categories (listing_form.html); any text is
    # accepted here and the service checks it belongs to the listing's currency.
    category = StringField("Category", validators=[Length(max=limits.MAX_CATEGORY)])
    title = StringField("Title", validators=[InputRequired(), Length(limits.MIN_TITLE,
                                                                      limits.MAX_TITLE)])
    description = TextAreaField("Description", validators=[Length(max=limits.MAX_TEXT)])
    tags = StringField("Tags (comma-separated)", validators=[Length(max=600)])
    quantity = IntegerField("Quantity", validators=[
        InputRequired(), NumberRange(1, limits.MAX_QUANTITY)])
    min_quantity = IntegerField("Least quantity you would accept (needs only)", validators=[
        Optional(), NumberRange(1, limits.MAX_QUANTITY)])
    areas = AreaField("Areas")
    remote = BooleanField("Remote / any area")
    available_from = DateField("Available from", validators=[Optional()])
    available_until = DateField("Available until", validators=[Optional()])
    gift = BooleanField("Gift: given without anything back (offers only; can start a chain)")

    def __init__(self, *args, areas: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.areas.choices = [_Choice(code, code) for code in (areas or [])]

    def data_for_service(self) -> dict:
        return {
            "category": self.category.data or None,
            "title": self.title.data or "",
            "description": self.description.data or "",
            "tags": _split(self.tags.data),
            "quantity": self.quantity.data,
            "min_quantity": self.min_quantity.data,
            "areas": list(self.areas.data or []),
            "remote": bool(self.remote.data),
            "available_from": self.available_from.data,
            "available_until": self.available_until.data,
            "gift": bool(self.gift.data),
        }

    def fill_from(self, listing) -> None:
        self.category.data = listing.category or ""
        self.title.data = listing.title
        self.description.data = listing.description
        self.tags.data = ", ".join(listing.tags)
        self.quantity.data = listing.quantity
        self.min_quantity.data = listing.min_quantity
        self.areas.data = list(listing.areas)
        self.remote.data = listing.remote
        self.available_from.data = listing.available_from
        self.available_until.data = listing.available_until
        self.gift.data = listing.is_gift


class NewListingForm(ListingForm):
    kind = RadioField("Kind", choices=[_Choice(ListingKind.OFFER, "Offer: we can give this"),
                                       _Choice(ListingKind.NEED, "Need: we are looking for this")],
                      validators=[InputRequired()], default=ListingKind.OFFER)
    currency = SelectField("Currency", validators=[InputRequired()])

    def __init__(self, *args, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        # data-unit: app.js shows the chosen currency's unit beside the quantity.
        self.currency.choices = [_Choice(c.code, f"{c.name} ({c.unit})",
                                         render_kw={"data-unit": c.unit}) for c in currencies]

    def data_for_service(self) -> dict:
        return {"kind": self.kind.data, "currency": self.currency.data,
                **super().data_for_service()}


# --- organisations -------------------------------------------------------------------------

class OrganisationForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(2, limits.MAX_ORG_NAME)])
    slug = StringField("Slug (used in addresses)", validators=[
        Optional(), Length(max=limits.MAX_SLUG)])
    sector = SelectField("Sector", default=Sector.OTHER, choices=[
        _Choice(code, label) for code, label in Sector.LABELS.items()])
    areas = StringField("Areas served (comma-separated codes, e.g. kingsford, eastmoor)",
                        validators=[Length(max=1000)])
    contact_name = StringField("Contact name", validators=[Length(max=limits.MAX_CONTACT_NAME)])
    contact_email = StringField("Contact email (private)", validators=[
        Length(max=limits.MAX_EMAIL_LENGTH)])
    contact_phone = StringField("Contact phone (private)", validators=[
        Length(max=limits.MAX_PHONE)])
    description = TextAreaField("Description", validators=[Length(max=limits.MAX_TEXT)])
    internal_notes = TextAreaField("Internal notes (private)", validators=[
        Length(max=limits.MAX_TEXT)])
    excluded = MultiCheckboxField("Will not exchange with (private)", coerce=int)

    # Fields only coordinators and admins see (members edit their profile only).
    STAFF_ONLY = ("name", "slug", "sector")

    def __init__(self, *args, others=(), staff: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.excluded.choices = [_Choice(org.id, org.name) for org in others]
        if not staff:
            for name in self.STAFF_ONLY:
                delattr(self, name)

    def data_for_service(self) -> dict:
        data = {
            "areas": _split(self.areas.data),
            "contact_name": self.contact_name.data or "",
            "contact_email": self.contact_email.data or "",
            "contact_phone": self.contact_phone.data or "",
            "description": self.description.data or "",
            "internal_notes": self.internal_notes.data or "",
            "excluded_ids": list(self.excluded.data or []),
        }
        for name in self.STAFF_ONLY:
            if name in self._fields:
                data[name] = self._fields[name].data or ""
        return data

    def fill_from(self, organisation) -> None:
        for name in ("name", "slug", "sector", "contact_name", "contact_email",
                     "contact_phone", "description", "internal_notes"):
            if name in self._fields:
                self._fields[name].data = getattr(organisation, name)
        self.areas.data = ", ".join(organisation.areas)
        self.excluded.data = [org.id for org in organisation.excluded]


# --- currencies and settings ---------------------------------------------------------------

class CurrencyForm(FlaskForm):
    code = StringField("Code (fixed once created)", validators=[
        InputRequired(), Length(2, limits.MAX_CURRENCY_CODE)])
    name = StringField("Name", validators=[InputRequired(), Length(2, limits.MAX_CURRENCY_NAME)])
    unit = StringField("Unit (e.g. staff-day)", validators=[InputRequired(),
                                                           Length(1, limits.MAX_UNIT)])
    value_per_unit = FiniteDecimalField("Value per unit (market credits)", places=2, validators=[
        InputRequired(), NumberRange(min=0.01, max=float(limits.MAX_VALUE_PER_UNIT))])
    active = BooleanField("Active (accepts new listings)", default=True)
    categories = TextAreaField("Categories (one per line)", validators=[Length(max=10_000)])

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not creating:
            delattr(self, "code")

    def data_for_service(self) -> dict:
        data = {"name": self.name.data or "", "unit": self.unit.data or "",
                "value_per_unit": self.value_per_unit.data, "active": bool(self.active.data),
                "categories": (self.categories.data or "").splitlines()}
        if "code" in self._fields:
            data["code"] = self.code.data or ""
        return data


def _weight_field(label: str) -> FloatField:
    return FloatField(label, validators=[Optional(), NumberRange(0, limits.MAX_SETTINGS_WEIGHT)])


class SettingsForm(FlaskForm):
    max_cycle = IntegerField("Longest cycle (organisations)", validators=[
        InputRequired(), NumberRange(*SETTINGS_RANGES["max_cycle"])])
    max_chain = IntegerField("Longest gift chain (transfers)", validators=[
        InputRequired(), NumberRange(*SETTINGS_RANGES["max_chain"])])
    fairness_threshold = FiniteDecimalField("Fairness threshold (0 to 1)", places=3,
                                            validators=[InputRequired(), NumberRange(0, 1)])
    objective = SelectField("Objective", choices=[
        _Choice(code, label) for code, label in Objective.LABELS.items()])
    weight_needs = _weight_field("Weight: needs met")
    weight_value = _weight_field("Weight: value exchanged")
    weight_parties = _weight_field("Weight: fewer parties")
    weight_completion = _weight_field("Weight: expected completion")
    time_limit_seconds = IntegerField("Matcher time limit (seconds)", validators=[
        InputRequired(), NumberRange(*SETTINGS_RANGES["time_limit_seconds"])])
    acceptance_days = IntegerField("Days to accept a proposal", validators=[
        InputRequired(), NumberRange(*SETTINGS_RANGES["acceptance_days"])])
    delivery_days = IntegerField("Days to deliver an agreed exchange", validators=[
        InputRequired(), NumberRange(*SETTINGS_RANGES["delivery_days"])])

    def validate_fairness_threshold(self, field) -> None:
        # Out of range is NumberRange's message; rounding a huge number would raise.
        value = field.data
        if value is not None and 0 <= value <= 1 and value != round(value, 3):
            raise ValidationError("At most three decimal places.")

    def data_for_service(self) -> dict:
        weights = {key: getattr(self, f"weight_{key}").data for key in limits.WEIGHT_KEYS
                   if getattr(self, f"weight_{key}").data is not None}
        return {
            "max_cycle": self.max_cycle.data, "max_chain": self.max_chain.data,
            "fairness_threshold": self.fairness_threshold.data,
            "objective": self.objective.data, "weights": weights,
            "time_limit_seconds": self.time_limit_seconds.data,
            "acceptance_days": self.acceptance_days.data,
            "delivery_days": self.delivery_days.data,
        }

    def fill_from(self, settings) -> None:
        for name in ("max_cycle", "max_chain", "fairness_threshold", "objective",
                     "time_limit_seconds", "acceptance_days", "delivery_days"):
            getattr(self, name).data = getattr(settings, name)
        for key in limits.WEIGHT_KEYS:
            getattr(self, f"weight_{key}").data = (settings.weights or {}).get(key)
