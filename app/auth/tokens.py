"""API bearer tokens: issued once in clear, stored as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy.orm import joinedload

from app.auth.loader import USERS, attach_token, token_values
from app.auth.models import ApiToken, User
from app.core import read_cache
from app.core.clock import utcnow
from app.extensions import db

LAST_USED_RESOLUTION = timedelta(minutes=1)

TOKEN_PREFIX = "cc_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_token(user: User, name: str = "api", days: int | None = 90) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the clear token (shown once)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    db.session.add(token)
    db.session.flush()
    return token, raw


def resolve_token(raw: str) -> User | None:
    """The enabled user a live token belongs to, or None."""
    if not raw or len(raw) > 200:
        return None
    digest = hash_token(raw)
    # This runs on every API request: the token, its user and the user's organisation are
    # kept under the users version (app.auth.loader), read in one query when they are not.
    kept = read_cache.remember(USERS, ("token", digest), lambda: _read_token(digest))
    if kept is None:
        return None
    token = attach_token(kept)
    now = utcnow()
    if token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.enabled:
        return None
    # Written at most once a minute: a write (and a row lock) on every API read would make
    # reads cost what writes cost, and concurrent reads with one token queue on the row.
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token.user


def _read_token(digest: str) -> tuple | None:
    token = db.session.execute(
        db.select(ApiToken)
        .options(joinedload(ApiToken.user).joinedload(User.organisation))
        .where(ApiToken.token_hash == digest)
    ).scalar_one_or_none()
    return None if token is None else token_values(token)


def revoke_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
