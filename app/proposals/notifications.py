"""In-app notifications: a message per user at each step of a proposal's life.

Notifications are written in the same transaction as the transition that causes
them, so a rolled-back transition leaves no message behind.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.auth.models import Role, User
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.extensions import db
from app.proposals.models import Notification, ProposalParticipant

MAX_MESSAGE = 500


def unread_count(user: User) -> int:
    """How many of `user`'s notifications are unread (shown in the page header)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return db.session.execute(
        db.select(db.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    ).scalar_one()


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


def notify_participants(proposal_id: int, message: str, *, exclude: User | None = None,
                        also: Iterable[int] = ()) -> int:
    """Notify every member of every organisation taking part in the proposal,
    plus the user ids in `also` (e.g. the coordinator who approved it)."""
    org_ids = db.session.execute(
        db.select(ProposalParticipant.organisation_id).where(
            ProposalParticipant.proposal_id == proposal_id)
    ).scalars().all()
    recipients: list[User | int] = [*members_of(org_ids), *[i for i in also if i]]
    return notify(recipients, message, proposal_id=proposal_id, exclude=exclude)


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
