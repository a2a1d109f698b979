"""marshmallow schemas of the auth API: token requests, tokens, the current user.

Unknown fields are rejected (marshmallow's default RAISE); ids and timestamps
are dump-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, fields, validate

from app.auth.models import ApiToken, Role
from app.auth.services import MAX_EMAIL_LENGTH, MAX_TOKEN_NAME_LENGTH, token_state
from app.core.fields import UtcDateTime
from app.core.limits import MAX_PASSWORD_LENGTH


class TokenRequestSchema(Schema):
    """Credentials exchanged for a bearer token."""

    email = fields.String(required=True, validate=validate.Length(min=1, max=MAX_EMAIL_LENGTH),
                          metadata={"example": "coordinator@example.org"})
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH))
    name = fields.String(validate=validate.Length(min=1, max=MAX_TOKEN_NAME_LENGTH),
                         metadata={"description": "A label to recognise the token by; unique "
                                                  "among your live tokens. Default: the time "
                                                  "it was created.",
                                   "example": "reporting script"})


class ApiTokenSchema(Schema):
    """One of your API tokens. The clear token is never shown again after creation."""

    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    prefix = fields.String(dump_only=True,
                           metadata={"description": "The token's first characters, "
                                                    "to recognise it."})
    created_at = UtcDateTime(dump_only=True)
    expires_at = UtcDateTime(dump_only=True, allow_none=True)
    last_used_at = UtcDateTime(dump_only=True, allow_none=True)
    revoked_at = UtcDateTime(dump_only=True, allow_none=True)
    revoked = fields.Function(lambda token: token.revoked_at is not None, dump_only=True)
    state = fields.Function(lambda token: token_state(token), dump_only=True,
                            metadata={"enum": ["live", "expired", "revoked"]})


class NewApiTokenSchema(ApiTokenSchema):
    """A freshly issued token, including the clear token (this once only)."""

    token = fields.String(dump_only=True, metadata={
        "description": "Send as `Authorization: Bearer <token>`. Shown only in this answer."})
    token_type = fields.Constant("Bearer", dump_only=True)


@dataclass
class IssuedToken:
    """A new token row plus its clear value, for NewApiTokenSchema to dump."""

    row: ApiToken
    token: str

    def __getattr__(self, name: str):
        return getattr(self.row, name)


class UserOrganisationSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    slug = fields.String(dump_only=True)


class MeSchema(Schema):
    """The account the bearer token belongs to."""

    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True, metadata={"enum": list(Role.ALL)})
    organisation = fields.Nested(UserOrganisationSchema, dump_only=True, allow_none=True,
                                 metadata={"description": "Members only; null otherwise."})
    created_at = UtcDateTime(dump_only=True)
    last_login_at = UtcDateTime(dump_only=True, allow_none=True)
