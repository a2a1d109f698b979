"""Coordinators' and auditors' emails: a round finished with N proposals to review
(news: the daily digest by default), a ledger verification that failed (alerts: at once,
once a day)."""

from __future__ import annotations

from datetime import datetime

from app.auth.models import Role
from app.core.clock import frozen_clock
from app.extensions import db
from app.jobs import tasks
from app.market.models import Listing, ListingStatus
from app.matching import services as matching
from app.notifications import outbox
from app.notifications.models import Delivery, EmailCategory, Notification
from tests.ledger.conftest import bypass_triggers
from tests.notifications.conftest import text_of


def test_a_finished_round_is_news_for_every_coordinator(market, make_user, smtp, deliver):
    second = make_user(Role.COORDINATOR)
    outbox.set_preferences(second, {EmailCategory.NEWS: Delivery.IMMEDIATE})
    db.session.commit()
    for listing in (market.offers["C"], market.needs["C"]):
        db.session.get(Listing, listing.id).status = ListingStatus.WITHDRAWN
    db.session.commit()
    run = matching.start_run(market.coordinator, {"max_cycle": 2})
    db.session.commit()
    sent = deliver()
    # The one who chose "immediately" has it now; the other waits for the digest.
    assert [m.recipients[0] for m in sent] == [second.email]
    assert str(sent[0]["Subject"]) == f"Matching run #{run.id}: 1 new proposal to review"
    assert f"https://cc.example.org/proposals/?status=proposed&run={run.id}" in text_of(sent[0])
    with frozen_clock(datetime(2026, 12, 1, 9, 0)):
        assert outbox.compose_digests() == 1
        db.session.commit()
    [digest] = deliver()
    assert digest.recipients == [market.coordinator.email]
    assert f"Matching run #{run.id}" in text_of(digest)
    assert smtp.to(market.members["A"].email) == []  # members get no news of runs
    # In-app, each coordinator has the news once (the starter from the run itself).
    for user_id in (market.coordinator.id, second.id):
        notes = db.session.execute(db.select(Notification.message).where(
            Notification.user_id == user_id)).scalars().all()
        assert notes == [f"Matching run #{run.id} finished: 1 new proposal(s) to review."]


def test_a_failed_ledger_verification_alerts_the_auditors_once_a_day(
        app, market, cycle, smtp, deliver, make_user):
    from app.proposals import services

    other_auditor = make_user(Role.AUDITOR)
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    for name in "ABC":
        services.accept(market.members[name], cycle.id)
        db.session.commit()
    for leg in db.session.get(type(cycle), cycle.id).legs:
        member = next(m for m in market.members.values() if m.organisation_id == leg.receiver_id)
        services.confirm_leg(member, cycle.id, leg.id)
        db.session.commit()
    auditors = sorted([market.auditor.email, other_auditor.email])
    # (A job ends its session: the test's objects are detached after it.)
    assert tasks.verify_ledger() == {"ok": True, "count": 3, "alerted": 0}
    deliver()
    before = len(smtp.messages)

    bypass_triggers(["UPDATE ledger_entries SET quantity = 4 WHERE sequence = 2"])
    summary = tasks.verify_ledger()
    assert summary["ok"] is False and summary["alerted"] == 2
    assert tasks.verify_ledger()["alerted"] == 0  # the same day: not again
    sent = smtp.messages[before:] + deliver()
    assert sorted(m.recipients[0] for m in sent) == auditors
    alerts = db.session.execute(db.select(Notification.message).where(
        Notification.message.like("The scheduled ledger verification failed%"))).scalars().all()
    assert len(alerts) == 2  # in-app too, one per auditor, once
    text = text_of(sent[0])
    assert "ledger FAILED" in text and "the first at entry #2" in text
    assert "https://cc.example.org/ledger/verify" in text
