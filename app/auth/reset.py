"""Self-service password reset: a signed, single-use link valid PASSWORD_RESET_SECONDS.

The link carries the user's id and a random nonce, signed with SECRET_KEY and stamped
with the time (itsdangerous). The nonce is also stored on the user: a newer request
replaces it, using the link or any password change clears it, so only the latest
link works, and only once. Requests are limited with the login counters
(`login_attempts`, key "password-reset:<email>"): the same per-account back-off and
per-address ceiling as failed logins. Whether the email is known never shows: the
caller answers the same either way.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from app.auth.models import User
from app.auth.passwords import hash_password
from app.auth.services import (
    LoginRefused,
    check_password_strength,
    end_sessions,
    find_user_by_email,
    login_retry_after,
    normalise_email,
    record_failed_login,
)
from app.core.clock import utcnow
from app.core.errors import Invalid
from app.extensions import db

KEY_PREFIX = "password-reset:"


class _ClockSigner(TimestampSigner):
    """Stamps and checks ages with the app's clock (app.core.clock), so a frozen clock
    (tests, the demo's history) moves links' ages too."""

    def get_timestamp(self) -> int:
        return int(utcnow().replace(tzinfo=UTC).timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset",
                                  signer=_ClockSigner)


def valid_for() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("PASSWORD_RESET_SECONDS", 1800)))


def request_reset(email: str | None, remote_addr: str | None) -> tuple[User, str] | None:
    """Count the request against the limits, then, for an enabled account with that
    email, issue a new link (voiding any older one): (user, token). None otherwise.
    LoginRefused (429) when this email or address has asked too often."""
    key = KEY_PREFIX + normalise_email(email if isinstance(email, str) else "")
    retry_after = login_retry_after(key, remote_addr)
    if retry_after:
        raise LoginRefused(
            "Too many password-reset requests for this email or from this address. "
            f"Try again in {retry_after} second{'s' if retry_after != 1 else ''}.",
            status=429, code="too_many_requests", retry_after=retry_after)
    record_failed_login(key, remote_addr)
    user = find_user_by_email(email) if isinstance(email, str) else None
    if user is None or not user.enabled:
        return None
    user.reset_nonce = secrets.token_urlsafe(24)
    db.session.flush()
    return user, _serializer().dumps({"u": user.id, "n": user.reset_nonce})


def user_for_token(token: str | None) -> User:
    """The user whose live link this is, or Invalid naming why it does not work."""
    try:
        data = _serializer().loads(token or "", max_age=int(valid_for().total_seconds()))
    except SignatureExpired:
        raise Invalid("This password-reset link has expired (links last "
                      f"{int(valid_for().total_seconds() // 60)} minutes). Ask for a new "
                      "one.") from None
    except BadSignature:
        raise Invalid("This password-reset link is not valid.") from None
    user_id, nonce = (data.get("u"), data.get("n")) if isinstance(data, dict) else (None, None)
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if (user is None or not user.enabled or not user.reset_nonce or not isinstance(nonce, str)
            or not hmac.compare_digest(user.reset_nonce, nonce)):
        raise Invalid("This password-reset link was already used, or a newer one was "
                      "sent. Ask for a new one if you need it.")
    return user


def complete_reset(token: str | None, new_password: str | None) -> User:
    """Set the new password through a live link; the link dies, and every session and
    remember-me cookie of the user ends."""
    user = user_for_token(token)
    password = check_password_strength(new_password, "password")
    user.password_hash = hash_password(password)
    user.reset_nonce = None
    end_sessions(user)
    return user
