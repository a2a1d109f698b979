"""The audit log of administrative actions: accounts and roles, organisations, currencies
and their values, market settings.

The services that make those changes call `record` in the same transaction (services
flush, the edge commits once), so a change and its record land together or not at all.
Each record keeps who, when, what and every changed field's old and new value, as plain
JSON (names rather than ids where a person reads it). Auditors, coordinators and admins
read it (policy "admin_log.read") on the ledger's audit pages and through the API.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Select

from app.auth import policy
from app.auth.models import AdminAction, AdminActionKind, User
from app.extensions import db

SYSTEM_ACTOR = "system (command line or scheduled job)"


def plain(value: Any) -> Any:
    """`value` as JSON: decimals as exact text, dates in ISO 8601, records by name."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):  # 1.50 and 1.5 are the same value: no spurious change
        return format(value.normalize(), "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, Iterable):
        return [plain(v) for v in value]
    return getattr(value, "name", None) or str(value)


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of `obj`, as JSON."""
    return {field: plain(getattr(obj, field)) for field in sorted(fields)}


def record(actor: User | None, action: str, target: Any, *, before: dict | None,
           after: dict, label: str | None = None) -> AdminAction | None:
    """Log `action` on `target` (a User, Organisation, Currency or MarketSettings row).

    `before` is None for a creation (every field of `after` is recorded as new); for an
    update only the fields whose value changed are kept, and nothing is logged when none
    did. Flushes; the caller commits with the change itself.
    """
    if action not in AdminActionKind.ALL:
        raise ValueError(f"unknown admin action {action!r}")
    if before is None:
        changes = {field: [None, value] for field, value in after.items()}
    else:
        changes = {field: [before.get(field), value] for field, value in after.items()
                   if before.get(field) != value}
        if not changes and action != AdminActionKind.USER_PASSWORD_RESET:
            return None
    entry = AdminAction(
        actor_id=actor.id if actor is not None else None,
        actor_name=(f"{actor.name} <{actor.email}>" if actor is not None else SYSTEM_ACTOR)[:200],
        action=action, target_type=type(target).__name__.lower()[:20],
        target_id=getattr(target, "id", None),
        target_label=(label if label is not None else _label(target))[:200], changes=changes)
    db.session.add(entry)
    db.session.flush()
    return entry


def _label(target: Any) -> str:
    for attribute in ("email", "code", "name"):
        value = getattr(target, attribute, None)
        if value:
            return str(value)
    return type(target).__name__


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminActionFilter:
    action: str | None = None
    target_type: str | None = None
    actor_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> AdminActionFilter:
        return cls(**{name: args.get(name) for name in cls.__dataclass_fields__})


TARGET_LABELS = {"user": "Accounts", "organisation": "Organisations",
                 "currency": "Currencies", "marketsettings": "Market settings"}
TARGET_TYPES = tuple(TARGET_LABELS)


def actions_statement(actor: User | None, filters: AdminActionFilter) -> Select:
    """The log, newest first, filtered; auditors, coordinators and admins only."""
    policy.require(actor, "admin_log.read")
    statement = db.select(AdminAction).order_by(AdminAction.id.desc())
    if filters.action:
        statement = statement.where(AdminAction.action == filters.action)
    if filters.target_type:
        statement = statement.where(AdminAction.target_type == filters.target_type)
    if filters.actor_id:
        statement = statement.where(AdminAction.actor_id == filters.actor_id)
    if filters.date_from:
        statement = statement.where(
            AdminAction.created_at >= datetime.combine(filters.date_from, time.min))
    if filters.date_to:
        statement = statement.where(
            AdminAction.created_at <= datetime.combine(filters.date_to, time.max))
    return statement
