"""API endpoints of the auth feature: bearer tokens and the current user.

Tokens are obtained with email and password (rate-limited exactly like the
log-in form), stored hashed, listed and revoked by their owner only.
"""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.api.core import PUBLIC, endpoint
from app.auth import services
from app.auth.schemas import (
    ApiTokenSchema,
    IssuedToken,
    MeSchema,
    NewApiTokenSchema,
    TokenRequestSchema,
)
from app.core.paging import PageArgs, paginate
from app.extensions import db
from app.web.errors import json_error
from app.web.security import no_store


@endpoint("/auth/tokens", "POST", allow=PUBLIC, body=TokenRequestSchema(),
          response=NewApiTokenSchema(), status=201, tag="auth",
          # The answer holds the clear token: it must not be stored for replay.
          idempotent=False,
          responses={"401": "Wrong email or password",
                     "403": "The account is disabled",
                     "409": "You already have a live token with this name (or too many)",
                     "429": "Too many recent failures for this account (the wait doubles "
                            "with each one) or from this address; see Retry-After"})
def create_token(body: dict):
    """Get a bearer token.

    Exchange your email and password for a token. The clear token is in this
    answer only (sent with `Cache-Control: no-store`); afterwards only its prefix
    is shown. Failed attempts are limited exactly like the log-in page: per account,
    with a wait that doubles with each failure past the limit, and per address
    with a much higher ceiling.
    """
    try:
        user = services.authenticate(body["email"], body["password"], request.remote_addr)
    except services.LoginRefused as exc:
        db.session.commit()  # keep the recorded failure: it is what the limit counts
        response = json_error(exc.status, exc.message, code=exc.code)
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    token, raw = services.issue_api_token(user, body.get("name"))
    no_store()  # the answer carries the clear token: no cache may keep it
    return IssuedToken(token, raw)


@endpoint("/auth/tokens", "GET", query=PageArgs(), response=ApiTokenSchema(), paged=True,
          tag="auth")
def list_tokens(args: dict):
    """List your tokens (newest first, revoked and expired ones included)."""
    return paginate(services.tokens_query(current_user), args["page"], args["per_page"])


@endpoint("/auth/tokens/<int:token_id>/revoke", "POST", response=ApiTokenSchema(), tag="auth")
def revoke_token(token_id: int):
    """Revoke one of your tokens.

    It stops working at once. Revoking twice is harmless; another user's
    token id answers 404.
    """
    return services.revoke_api_token(current_user, token_id)


@endpoint("/me", "GET", response=MeSchema(), tag="auth")
def me():
    """Who the token belongs to: account, role and organisation."""
    return current_user
