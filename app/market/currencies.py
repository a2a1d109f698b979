"""Currencies: staff, jobs, training, premises… their units, exchange values and categories.

Admins manage them. A change of value applies to future exchanges only: proposal legs
copy the value per unit when the proposal is made. The code never changes once
created (listings, proposals and the ledger refer to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.auth import admin_log, policy
from app.auth.models import AdminActionKind, User
from app.core import read_cache
from app.core.errors import NotFound
from app.core.limits import (
    MAX_CATEGORIES,
    MAX_CATEGORY,
    MAX_CURRENCY_CODE,
    MAX_CURRENCY_NAME,
    MAX_UNIT,
    MAX_VALUE_PER_UNIT,
)
from app.core.validation import (
    CONTROL_RE,
    FieldErrors,
    bool_field,
    finite_decimal,
    reject_unknown_fields,
    text_field,
    valid_id,
)
from app.extensions import db
from app.market.browse import MARKET
from app.market.models import Currency

CURRENCY_CODE_RE = re.compile(r"^[a-z][a-z0-9-]*$")
CURRENCY_FIELDS = frozenset({"code", "name", "unit", "value_per_unit", "active", "categories"})


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


def clean_categories(value: object, errors: FieldErrors) -> list[str]:
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
    errors = FieldErrors()
    clean: dict[str, Any] = {}
    creating = currency is None
    if "code" in data:
        if not creating and data["code"] != currency.code:
            errors.add("code", "The code cannot change: listings, proposals and the ledger "
                               "refer to it.")
        elif creating:
            code = text_field(data, "code", errors, max_length=MAX_CURRENCY_CODE, required=True)
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
            value = text_field(data, field, errors, max_length=limit, required=True,
                          min_length=minimum)
            if value is not None:
                clean[field] = value
    if "value_per_unit" in data or creating:
        value = finite_decimal(data.get("value_per_unit"))
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
        clean["active"] = bool_field({"active": data.get("active", True)}, "active", errors)
    if "categories" in data or creating:
        clean["categories"] = clean_categories(data.get("categories"), errors)
    errors.raise_if_any("The currency has invalid fields.")
    return clean


def create_currency(actor: User | None, data: dict) -> Currency:
    """Admins add currencies (equipment, volunteers, analytics…)."""
    policy.require(actor, "currency.manage")
    reject_unknown_fields(data, CURRENCY_FIELDS)
    currency = Currency(**_clean_currency(data, None))
    db.session.add(currency)
    db.session.flush()
    admin_log.record(actor, AdminActionKind.CURRENCY_CREATED, currency, before=None,
                     after=admin_log.snapshot(currency, CURRENCY_FIELDS))
    return currency


def update_currency(actor: User | None, currency: Currency, data: dict) -> Currency:
    """Admins edit a currency. A new value applies to future exchanges only:
    proposal legs copy the value per unit when the proposal is made."""
    policy.require(actor, "currency.manage")
    reject_unknown_fields(data, CURRENCY_FIELDS)
    clean = _clean_currency(data, currency)
    before = admin_log.snapshot(currency, CURRENCY_FIELDS)
    for field, value in clean.items():
        setattr(currency, field, value)
    db.session.flush()
    admin_log.record(actor, AdminActionKind.CURRENCY_UPDATED, currency, before=before,
                     after=admin_log.snapshot(currency, CURRENCY_FIELDS))
    return currency



@dataclass(frozen=True)
class CurrencyOption:
    code: str
    name: str


def market_menus() -> tuple[tuple[CurrencyOption, ...], list[str]]:
    """The currency and category menus of the market's filters, kept under the market's
    version (`app.core.read_cache`; new listings leave them as they are): reading the
    currencies was a statement on every page (1.2 ms of a 15 ms page)."""

    def read() -> tuple[tuple[CurrencyOption, ...], list[str]]:
        currencies = list_currencies()
        return (tuple(CurrencyOption(c.code, c.name) for c in currencies),
                categories_in_use(currencies))

    return read_cache.remember(MARKET, ("currency menus",), read,
                               survives_additions=read_cache.unaffected_by_additions)


def categories_in_use(currencies: list[Currency] | None = None) -> list[str]:
    """Every category of every currency, for filter drop-downs (of `currencies` when the
    caller already read them all)."""
    names: dict[str, str] = {}
    for currency in list_currencies() if currencies is None else currencies:
        for name in currency.categories or []:
            names.setdefault(name.lower(), name)
    return sorted(names.values(), key=str.lower)
