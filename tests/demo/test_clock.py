"""`frozen_clock`: the override of `utcnow()` the demo history is recorded with."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

from app.core.clock import frozen_clock, today, utcnow
from app.extensions import db
from app.notifications.models import Notification

PAST = datetime(2025, 6, 1, 9, 30)


def test_frozen_clock_sets_and_restores_now():
    before = utcnow()
    with frozen_clock(PAST) as moment:
        assert moment == PAST and utcnow() == PAST and today() == PAST.date()
        with frozen_clock(PAST + timedelta(days=1)):
            assert utcnow() == PAST + timedelta(days=1)
        assert utcnow() == PAST  # nested clocks restore the outer one
    assert utcnow() >= before and utcnow().year >= 2026
    aware = datetime(2025, 6, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    with frozen_clock(aware):
        assert utcnow() == PAST and utcnow().tzinfo is None


def test_frozen_clock_stays_in_its_own_thread():
    """A request served by another thread meanwhile sees the real time."""
    go, seen = threading.Event(), []

    def other_thread() -> None:
        go.wait(5)
        seen.append(utcnow())

    worker = threading.Thread(target=other_thread)
    worker.start()
    with frozen_clock(PAST):
        go.set()
        worker.join(5)
        assert utcnow() == PAST
    assert seen and seen[0] > PAST + timedelta(days=100)
    assert abs(seen[0] - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=5)


def test_model_defaults_follow_the_frozen_clock(users):
    with frozen_clock(PAST):
        note = Notification(user_id=users["member"].id, message="hello")
        db.session.add(note)
        db.session.flush()
        users["own_org"].description = "changed"
        db.session.flush()
    db.session.commit()
    assert note.created_at == PAST
    assert users["own_org"].updated_at == PAST  # onupdate reads the clock at flush time
