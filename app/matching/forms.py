"""The "Run matcher" form: settings for one run (every POST carries a CSRF token).

The form checks shape (types and the ranges in `app.core.limits`); the run service
checks the same again for the API and the command line.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField
from wtforms.validators import DataRequired, NumberRange, Optional

from app.core.limits import MAX_RUN_TIME_LIMIT, MAX_RUN_WEIGHT, SETTINGS_RANGES, WEIGHT_KEYS
from app.market.models import Objective

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    def SelectChoice(value: str, label: str):  # noqa: N802
        return (value, label)


def _weight(label: str) -> DecimalField:
    return DecimalField(label, validators=[Optional(), NumberRange(0, MAX_RUN_WEIGHT)])


class RunForm(FlaskForm):
    """Settings for one matching run; they default to the market's and apply to this run only."""

    max_cycle = IntegerField("Longest cycle (organisations)",
                             validators=[DataRequired(),
                                         NumberRange(*SETTINGS_RANGES["max_cycle"])])
    max_chain = IntegerField("Longest chain (transfers)",
                             validators=[Optional(), NumberRange(*SETTINGS_RANGES["max_chain"])])
    fairness_threshold = DecimalField("Fairness threshold (0–1)", places=3,
                                      validators=[Optional(), NumberRange(0, 1)])
    objective = SelectField("Objective",
                            choices=[SelectChoice(o, o.title()) for o in Objective.ALL])
    time_limit = IntegerField("Time limit (seconds)",
                              validators=[DataRequired(), NumberRange(1, MAX_RUN_TIME_LIMIT)])
    weight_needs = _weight("Weight: needs met")
    weight_value = _weight("Weight: value exchanged")
    weight_parties = _weight("Weight: fewer parties")
    weight_completion = _weight("Weight: expected completion")

    def fill(self, settings: dict) -> None:
        self.max_cycle.data = settings["max_cycle"]
        self.max_chain.data = settings["max_chain"]
        self.fairness_threshold.data = settings["fairness_threshold"]
        self.objective.data = settings["objective"]
        self.time_limit.data = settings["time_limit"]
        for key in WEIGHT_KEYS:
            value = (settings.get("weights") or {}).get(key)
            getattr(self, f"weight_{key}").data = value

    def overrides(self) -> dict:
        """The run's settings; an empty field keeps the market's value."""
        weights = {key: float(getattr(self, f"weight_{key}").data) for key in WEIGHT_KEYS
                   if getattr(self, f"weight_{key}").data is not None}
        return {
            "max_cycle": self.max_cycle.data,
            "max_chain": self.max_chain.data,
            "fairness_threshold": (float(self.fairness_threshold.data)
                                   if self.fairness_threshold.data is not None else None),
            "objective": self.objective.data,
            "time_limit": self.time_limit.data,
            "weights": weights or None,
        }
