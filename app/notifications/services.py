"""Writing and reading in-app notifications.

Invariants: a notification is written in the same transaction as the change it
reports (services flush, the edge commits); each user gets at most one copy of
a message per call and the person acting gets none; messages are cut to
MAX_MESSAGE characters; a user reads and marks only their own notifications.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.auth.models import Role, User
from app.core import read_cache
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.limits import MAX_MESSAGE
from app.extensions import db
from app.notifications.models import Notification

#: Every page's header shows the unread count: kept per user under a version of the
#: notifications (app.core.read_cache), read in the same round trip as the market's, so a
#: page costs one query fewer; any new or read notification shows on the next page.
NOTIFICATIONS = read_cache.watch("notifications", Notification)


def unread_count(user: User) -> int:
    """How many of `user`'s notifications are unread (shown in the page header)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return read_cache.remember(NOTIFICATIONS, ("unread", user.id), lambda: db.session.execute(
        db.select(db.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    ).scalar_one())


def members_of(organisation_ids: Iterable[int]) -> list[User]:
    """The enabled members of the given organisations, in a stable order."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return []
    return list(db.session.execute(
        db.select(User).where(
            User.organisation_id.in_(ids), User.role == Role.MEMBER, User.enabled.is_(True)
        ).order_by(User.id)
    ).scalars())


def notify(users: Iterable[User | int], message: str, *, proposal_id: int | None = None,
           exclude: User | None = None) -> int:
    """Queue one notification per distinct user (not `exclude`, the person acting)."""
    seen: set[int] = set()
    skip = exclude.id if exclude is not None and getattr(exclude, "id", None) else None
    for user in users:
        user_id = user if isinstance(user, int) else user.id
        if user_id in seen or user_id == skip:
            continue
        seen.add(user_id)
        db.session.add(Notification(
            user_id=user_id, proposal_id=proposal_id, message=message[:MAX_MESSAGE]))
    return len(seen)


def notifications_for(user: User):
    """A select of `user`'s notifications, newest first (for paging)."""
    return (db.select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.id.desc()))


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read (idempotent)."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound("No such notification.")
    if note.read_at is None:
        note.read_at = utcnow()
        db.session.flush()
    return note


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    result = db.session.execute(
        db.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
