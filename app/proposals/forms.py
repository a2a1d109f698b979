"""Flask-WTF forms of the matching and proposal pages (every one carries a CSRF token).

The forms check shape (types, ranges, lengths); the services check the rules.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.matching.services import MAX_TIME_LIMIT, OBJECTIVES
from app.proposals.services import MAX_REASON

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    def SelectChoice(value: str, label: str):  # noqa: N802
        return (value, label)


class ReasonForm(FlaskForm):
    """Approve / accept / confirm: an optional reason."""

    reason = StringField("Reason", validators=[Optional(), Length(max=MAX_REASON)])


class RequiredReasonForm(FlaskForm):
    """Reject / decline / cancel: a reason is required."""

    reason = StringField("Reason", validators=[DataRequired("Give a reason."),
                                               Length(max=MAX_REASON)])


class RunForm(FlaskForm):
    """Settings for one matching run; they default to the market's and apply to this run only."""

    max_cycle = IntegerField("Longest cycle (organisations)",
                             validators=[DataRequired(), NumberRange(2, 6)])
    max_chain = IntegerField("Longest chain (transfers)",
                             validators=[Optional(), NumberRange(0, 10)])
    fairness_threshold = DecimalField("Fairness threshold (0–1)", places=3,
                                      validators=[Optional(), NumberRange(0, 1)])
    objective = SelectField("Objective", choices=[SelectChoice(o, o.title()) for o in OBJECTIVES])
    time_limit = IntegerField("Time limit (seconds)",
                              validators=[DataRequired(), NumberRange(1, MAX_TIME_LIMIT)])
    weight_needs = DecimalField("Weight: needs met", validators=[Optional(),
                                                                NumberRange(0, 1_000_000)])
    weight_value = DecimalField("Weight: value exchanged", validators=[Optional(),
                                                                      NumberRange(0, 1_000_000)])
    weight_parties = DecimalField("Weight: fewer parties", validators=[Optional(),
                                                                      NumberRange(0, 1_000_000)])
    weight_completion = DecimalField("Weight: expected completion",
                                     validators=[Optional(), NumberRange(0, 1_000_000)])

    WEIGHTS = ("needs", "value", "parties", "completion")

    def fill(self, settings: dict) -> None:
        self.max_cycle.data = settings["max_cycle"]
        self.max_chain.data = settings["max_chain"]
        self.fairness_threshold.data = settings["fairness_threshold"]
        self.objective.data = settings["objective"]
        self.time_limit.data = settings["time_limit"]
        for key in self.WEIGHTS:
            value = (settings.get("weights") or {}).get(key)
            getattr(self, f"weight_{key}").data = value

    def overrides(self) -> dict:
        """The run's settings; an empty field keeps the market's value."""
        weights = {key: float(getattr(self, f"weight_{key}").data) for key in self.WEIGHTS
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
