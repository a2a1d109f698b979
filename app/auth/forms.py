"""Flask-WTF forms of the auth and admin pages (every one carries a CSRF token).

The forms check shape (required, lengths); the services check the rules.
`apply_service_errors` puts a service's per-field messages back on the form.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.auth.models import Role
from app.core.limits import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_TOKEN_NAME_LENGTH,
    MIN_PASSWORD_LENGTH,
)

PASSWORD_LENGTH = Length(
    min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
    message=f"Use at least {MIN_PASSWORD_LENGTH} characters (and at most {MAX_PASSWORD_LENGTH}).")

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice as _Choice
except ImportError:  # pragma: no cover - older WTForms
    def _Choice(value: str, label: str):  # noqa: N802
        return (value, label)

NO_ORGANISATION = _Choice("", "— none —")
ROLE_CHOICES = [_Choice(role, Role.LABELS[role]) for role in Role.ALL]


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=MAX_EMAIL_LENGTH)],
                        render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password",
                             validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH})
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"})


class ForgotPasswordForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=MAX_EMAIL_LENGTH)],
                        render_kw={"autocomplete": "username", "autofocus": True})


class ChooseNewPasswordForm(FlaskForm):
    """The page a password-reset link opens."""

    password = PasswordField(
        "New password", validators=[DataRequired(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH})
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"})


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(),
                                                 Length(max=MAX_TOKEN_NAME_LENGTH)],
                       render_kw={"placeholder": "e.g. reporting script",
                                  "maxlength": MAX_TOKEN_NAME_LENGTH})


class _UserFields(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=MAX_NAME_LENGTH)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    organisation = SelectField("Organisation (members only)", choices=[NO_ORGANISATION],
                               validate_choice=True)

    def set_organisations(self, organisations) -> None:
        self.organisation.choices = [NO_ORGANISATION] + [
            _Choice(str(org.id), org.name) for org in organisations]

    def organisation_id(self) -> int | None:
        return int(self.organisation.data) if self.organisation.data else None


class UserCreateForm(_UserFields):
    email = StringField("Email", validators=[DataRequired(), Length(max=MAX_EMAIL_LENGTH)])
    password = PasswordField(
        "Initial password",
        validators=[Optional(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password"})


class UserEditForm(_UserFields):
    enabled = BooleanField("Account enabled (unticking ends its sessions and revokes its tokens)")


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), PASSWORD_LENGTH],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", "The two passwords differ.")])
    revoke_tokens = BooleanField("Also revoke this user's API tokens", default=True)


