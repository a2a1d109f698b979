"""The one clock every timestamp and service reads (frozen for the demo's backdated history),
and the created/updated timestamp mixin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

from sqlalchemy.orm import Mapped, mapped_column

# A moment `utcnow()` returns instead of the real time, set only by `frozen_clock`
# (the demo seed backdates its history with it). A ContextVar, not a global: each
# thread and each request sees its own value, so a frozen clock in one never
# leaks into another.
_frozen_now: ContextVar[datetime | None] = ContextVar("frozen_now", default=None)


def utcnow() -> datetime:
    """Naive UTC now: stored the same way on SQLite and PostgreSQL.

    Inside `frozen_clock(moment)` it returns that moment instead; every
    timestamp default and every service reads the time here, so the override
    reaches them all.
    """
    frozen = _frozen_now.get()
    if frozen is not None:
        return frozen
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def frozen_clock(moment: datetime) -> Iterator[datetime]:
    """Make `utcnow()` (and `today()`) return `moment` in this context only.

    For recording something that happened in the past (the demo history) with
    its real services. An aware datetime is converted to naive UTC. Nests:
    leaving restores whatever clock was in force before.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    token = _frozen_now.set(moment)
    try:
        yield moment
    finally:
        _frozen_now.reset(token)


def today() -> date:
    return utcnow().date()


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)
