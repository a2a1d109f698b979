"""Flask-WTF forms of the proposal pages (every one carries a CSRF token).

The forms check shape (types, ranges, lengths); the services check the rules.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from app.core.limits import MAX_REASON


class ReasonForm(FlaskForm):
    """Approve / accept / confirm: an optional reason."""

    reason = StringField("Reason", validators=[Optional(), Length(max=MAX_REASON)])


class RequiredReasonForm(FlaskForm):
    """Reject / decline / cancel: a reason is required."""

    reason = StringField("Reason", validators=[DataRequired("Give a reason."),
                                               Length(max=MAX_REASON)])
