"""Helpers shared by the accounts tests (web and API): snapshots of stored data,
so a refused request can be shown to have changed nothing."""

from __future__ import annotations

from app.auth.models import ApiToken, LoginAttempt, User
from app.extensions import db


def release() -> None:
    """End the test session's read transaction, so another app's connection may write
    (SQLite locks the whole file while any transaction is open)."""
    db.session.rollback()


def users_snapshot() -> list[tuple]:
    db.session.expire_all()
    rows = [
        (u.id, u.email, u.name, u.role, u.organisation_id, u.enabled, u.password_hash,
         u.session_epoch)
        for u in db.session.execute(db.select(User).order_by(User.id)).scalars()
    ]
    release()
    return rows


def tokens_snapshot() -> list[tuple]:
    db.session.expire_all()
    rows = [
        (t.id, t.user_id, t.name, t.token_hash, t.revoked_at, t.expires_at)
        for t in db.session.execute(db.select(ApiToken).order_by(ApiToken.id)).scalars()
    ]
    release()
    return rows


def stored_state() -> tuple[list, list]:
    """Users and tokens: what a refused write must leave untouched."""
    return users_snapshot(), tokens_snapshot()


def failed_attempts() -> int:
    return db.session.execute(db.select(db.func.count(LoginAttempt.id))).scalar_one()


def reload(model):
    """The row as stored now (not as this session remembers it)."""
    db.session.expire_all()
    return db.session.get(type(model), model.id)
