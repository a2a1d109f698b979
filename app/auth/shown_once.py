"""Secrets shown once, after a redirect, without putting them in the session cookie.

Flask's session is signed, not encrypted: anyone holding the cookie (a browser
extension, a proxy log, a shared machine's disk) can read it. A new API token or a
generated password therefore never goes in it. `hold` seals the secret with a random
one-time pad: the database row keeps the sealed bytes, the session keeps the pad and
the row's random id. `take` (by the same user, within SHOWN_ONCE_SECONDS) joins the
halves and deletes the row, so a second look, another user, or either half alone
finds nothing.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from flask import current_app, session

from app.auth.models import ShownOnceSecret, User
from app.core.clock import utcnow
from app.extensions import db

MAX_SECRET_BYTES = 500  # fits the column as hex


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def hold(viewer: User, session_key: str, payload: dict) -> None:
    """Keep `payload` (JSON-able) for `viewer`'s next page; flushes, the caller commits."""
    data = json.dumps(payload, separators=(",", ":")).encode()
    if len(data) > MAX_SECRET_BYTES:
        raise ValueError("secret too large to hold")
    pad = secrets.token_bytes(len(data))
    now = utcnow()
    db.session.execute(db.delete(ShownOnceSecret).where(ShownOnceSecret.expires_at < now))
    row = ShownOnceSecret(
        id=secrets.token_urlsafe(32), user_id=viewer.id, sealed=_xor(data, pad).hex(),
        created_at=now,
        expires_at=now + timedelta(seconds=int(current_app.config.get("SHOWN_ONCE_SECONDS", 600))))
    db.session.add(row)
    db.session.flush()
    session[session_key] = {"id": row.id, "pad": pad.hex()}


def take(viewer: User, session_key: str) -> dict | None:
    """The payload held under `session_key` for `viewer`, once; None when there is none,
    it expired, or it was held for someone else. Deletes the row (the caller commits)."""
    ref = session.pop(session_key, None)
    if not isinstance(ref, dict) or not viewer.is_authenticated:
        return None
    row = db.session.get(ShownOnceSecret, str(ref.get("id", ""))[:64])
    if row is None:
        return None
    db.session.delete(row)
    db.session.flush()
    if row.user_id != viewer.id or row.expires_at <= utcnow():
        return None
    try:
        pad = bytes.fromhex(str(ref.get("pad", "")))
        return json.loads(_xor(bytes.fromhex(row.sealed), pad))
    except (ValueError, TypeError):  # a pad of the wrong length or shape: nothing to show
        return None
