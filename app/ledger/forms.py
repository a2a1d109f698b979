"""Forms of the ledger pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app.core.limits import MAX_REASON


class ReverseForm(FlaskForm):
    """A coordinator's reversal of a trade entry: the reason is required."""

    reason = TextAreaField("Reason for the reversal", validators=[
        DataRequired("Give the reason for the reversal."), Length(max=MAX_REASON)])
