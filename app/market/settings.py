"""The market's matching and lifecycle settings (a single row), tuned by admins.

Every range is `app.core.limits.SETTINGS_RANGES`, the same the forms, the schemas and
the database's CHECK constraints use.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.auth import admin_log, policy
from app.auth.models import AdminActionKind, User
from app.core.limits import FAIRNESS_PLACES, MAX_SETTINGS_WEIGHT, SETTINGS_RANGES, WEIGHT_KEYS
from app.core.validation import FieldErrors, finite_decimal, int_field, reject_unknown_fields
from app.extensions import db
from app.market.models import MarketSettings, Objective

SETTINGS_FIELDS = frozenset({*SETTINGS_RANGES, "fairness_threshold", "objective", "weights"})


def update_settings(actor: User | None, data: dict) -> MarketSettings:
    """Admins tune the matcher and the proposal lifecycle; every value is range-checked."""
    policy.require(actor, "settings.manage")
    reject_unknown_fields(data, SETTINGS_FIELDS)
    settings = MarketSettings.current()
    errors = FieldErrors()
    clean: dict[str, Any] = {}
    for field, (low, high) in SETTINGS_RANGES.items():
        if field in data:
            value = int_field(data, field, errors, minimum=low, maximum=high)
            if value is not None:
                clean[field] = value
    if "fairness_threshold" in data:
        value = finite_decimal(data["fairness_threshold"])
        if value is None:
            errors.add("fairness_threshold", "Must be a number between 0 and 1.")
        else:
            if not Decimal(0) <= value <= Decimal(1):
                errors.add("fairness_threshold", "Must be between 0 and 1.")
            elif value != value.quantize(Decimal(1).scaleb(-FAIRNESS_PLACES)):
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
        elif not all(isinstance(v, int | float) and not isinstance(v, bool)
                     and 0 <= v <= MAX_SETTINGS_WEIGHT for v in weights.values()):
            errors.add("weights", f"Each weight is a number between 0 and {MAX_SETTINGS_WEIGHT}.")
        else:
            clean["weights"] = {key: float(weights[key]) for key in WEIGHT_KEYS if key in weights}
    errors.raise_if_any("The settings have invalid fields.")
    before = admin_log.snapshot(settings, SETTINGS_FIELDS)
    for field, value in clean.items():
        setattr(settings, field, value)
    db.session.flush()
    admin_log.record(actor, AdminActionKind.SETTINGS_UPDATED, settings, before=before,
                     after=admin_log.snapshot(settings, SETTINGS_FIELDS),
                     label="Market settings")
    return settings
