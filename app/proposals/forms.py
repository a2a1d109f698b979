"""Flask-WTF forms of the proposal pages (every one carries a CSRF token).

The forms check shape (types, ranges, lengths); the services check the rules.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.core.limits import MAX_REASON


class ReasonForm(FlaskForm):
    """Approve / accept / confirm: an optional reason."""

    reason = StringField("Reason", validators=[Optional(), Length(max=MAX_REASON)])


class RequiredReasonForm(FlaskForm):
    """Reject / decline / cancel: a reason is required."""

    reason = StringField("Reason", validators=[DataRequired("Give a reason."),
                                               Length(max=MAX_REASON)])


class AcceptForm(ReasonForm):
    """Accept: an optional reason and the ticked box saying the member read what
    the organisation commits to (the page shows it). Checked here, on the server,
    so a form posted without the box accepts nothing. The API's accept takes no
    such flag: an API client acts on data it has already read."""

    understood = BooleanField(
        "I have read what my organisation gives and receives, and commit to it",
        validators=[DataRequired("Tick the box to confirm you have read what your "
                                 "organisation commits to before accepting.")])
