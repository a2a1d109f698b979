"""Reminders at the right times (frozen clock), digests, preferences and unsubscribe."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.core.clock import frozen_clock
from app.extensions import db
from app.notifications import outbox
from app.notifications.models import (
    Delivery,
    EmailCategory,
    EmailMessage,
    EmailPreference,
    EmailStatus,
    Notification,
)
from app.proposals import emails as proposal_emails
from app.proposals import services
from app.proposals.models import Proposal
from tests.notifications.conftest import text_of

T0 = datetime(2026, 11, 2, 10, 0)  # Monday; the acceptance deadline is 16 Nov, 10:00


def at(moment, action):
    with frozen_clock(moment):
        result = action()
        db.session.commit()
    return result


def reminders(moment) -> int:
    return at(moment, lambda: proposal_emails.send_reminders(moment))


def test_london_dates_follow_summer_time():
    summer, winter = datetime(2026, 7, 1, 9, 0), datetime(2026, 12, 1, 9, 0)
    assert outbox.london_text(summer) == "Wednesday 1 July 2026, 10:00 (UK time)"
    assert outbox.london_text(winter) == "Tuesday 1 December 2026, 09:00 (UK time)"


def test_acceptance_reminders_3_days_and_1_day_before_to_who_has_not_answered(
        market, cycle, smtp, deliver):
    at(T0, lambda: services.approve(market.coordinator, cycle.id))
    at(T0 + timedelta(hours=1), lambda: services.accept(market.members["A"], cycle.id))
    deliver()
    before = len(smtp.messages)

    assert reminders(datetime(2026, 11, 12, 9, 0)) == 0  # 4 days 1 hour before: too early
    assert reminders(datetime(2026, 11, 13, 11, 0)) == 2  # inside 3 days: B and C, not A
    assert reminders(datetime(2026, 11, 13, 12, 0)) == 0  # the next hour: nothing twice
    sent = deliver()
    assert len(smtp.messages) == before + 2
    assert sorted(m.recipients[0] for m in sent) == sorted(
        [market.members["B"].email, market.members["C"].email])
    subject = str(sent[0]["Subject"])
    assert subject == (f"Reminder: exchange #{cycle.id} needs your answer by Monday 16 "
                       "November 2026, 10:00 (UK time)")
    assert "(3 days left)" in text_of(sent[0])

    assert reminders(datetime(2026, 11, 14, 11, 0)) == 0  # 2 days before: between the two
    at(datetime(2026, 11, 14, 12, 0), lambda: services.accept(market.members["B"], cycle.id))
    assert reminders(datetime(2026, 11, 15, 11, 0)) == 1  # 1 day: only C still owes
    sent = deliver()
    assert [m.recipients[0] for m in sent if "Reminder" in str(m["Subject"])] == [
        market.members["C"].email]
    assert "(1 day left)" in text_of(sent[-1])
    assert reminders(datetime(2026, 11, 16, 11, 0)) == 0  # past the deadline: expiry's job


def test_delivery_reminder_to_organisations_with_open_legs(market, cycle, smtp, deliver):
    at(T0, lambda: services.approve(market.coordinator, cycle.id))
    for name in "ABC":
        at(T0 + timedelta(hours=1), lambda n=name: services.accept(market.members[n], cycle.id))
    deliver_by = db.session.get(Proposal, cycle.id).deliver_by
    assert reminders(deliver_by - timedelta(days=4)) == 0
    assert reminders(deliver_by - timedelta(days=2, hours=23)) == 3
    assert reminders(deliver_by - timedelta(days=2, hours=22)) == 0


def test_a_daily_digest_groups_everything_deadlines_first(market, cycle, propose, smtp,
                                                          deliver):
    b, c = market.members["B"], market.members["C"]
    outbox.set_preferences(b, {EmailCategory.ACTIONS: Delivery.DAILY,
                               EmailCategory.OUTCOMES: Delivery.DAILY})
    outbox.set_preferences(c, {EmailCategory.OUTCOMES: Delivery.WEEKLY})
    db.session.commit()
    at(T0, lambda: services.approve(market.coordinator, cycle.id))
    at(T0 + timedelta(hours=1),
       lambda: services.cancel(market.coordinator, cycle.id, "Board paused swaps."))
    second = propose([(market.offers["A"], market.needs["B"], 3),
                      (market.offers["B"], market.needs["A"], 3)])
    at(T0 + timedelta(hours=2), lambda: services.approve(market.coordinator, second.id))
    deliver()
    assert smtp.to(b.email) == []  # all held for B's digest
    assert len(smtp.to(c.email)) == 1  # C's approval email came at once

    assert at(datetime(2026, 11, 3, 6, 0), outbox.compose_digests) == 0  # before 07:00
    assert at(datetime(2026, 11, 3, 8, 0), outbox.compose_digests) == 1  # B only
    sent = deliver()
    assert [m.recipients[0] for m in sent] == [b.email]
    assert str(sent[0]["Subject"]) == "Your Test Partnership digest: 3 updates"
    text = text_of(sent[0])
    first = text.index(f"exchange #{cycle.id} (by Monday 16 November 2026, 10:00")
    second_at = text.index(f"exchange #{second.id} (by Monday 16 November 2026, 12:00")
    cancelled = text.index(f"Exchange #{cycle.id} was cancelled")
    assert text.index("DEADLINES FIRST") < first < second_at < text.index("OTHER NEWS") < cancelled
    assert "List-Unsubscribe" in sent[0]
    assert at(datetime(2026, 11, 3, 9, 0), outbox.compose_digests) == 0  # nothing new
    # Something new later that day waits for the next day's digest: one a day.
    at(datetime(2026, 11, 3, 10, 0), lambda: services.cancel(
        market.coordinator, second.id, "Second thoughts."))
    assert at(datetime(2026, 11, 3, 11, 0), outbox.compose_digests) == 0
    assert at(datetime(2026, 11, 4, 7, 30), outbox.compose_digests) == 1
    [next_day] = [m for m in deliver() if m.recipients == [b.email]]
    assert "Second thoughts." in text_of(next_day)

    # C's weekly outcome waits for Monday.
    assert at(datetime(2026, 11, 9, 8, 0), outbox.compose_digests) == 1
    weekly = deliver()
    assert [m.recipients[0] for m in weekly] == [c.email]
    assert "Board paused swaps." in text_of(weekly[0])


def test_off_sends_nothing_but_the_in_app_notification_stays(market, cycle, smtp, deliver):
    a = market.members["A"]
    outbox.set_preferences(a, {EmailCategory.ACTIONS: Delivery.OFF})
    db.session.commit()
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    deliver()
    assert smtp.to(a.email) == []
    row = db.session.execute(db.select(EmailMessage).filter_by(user_id=a.id)).scalar_one()
    assert row.status == EmailStatus.SKIPPED
    assert db.session.query(Notification).filter_by(user_id=a.id).count() == 1


def test_preferences_page(client, login, market):
    a = market.members["A"]
    login(a)
    page = client.get("/notifications/email")
    assert page.status_code == 200
    assert b'name="news" value="daily" checked' in page.data  # news defaults to a digest
    assert b'name="outcomes" value="immediate" checked' in page.data
    data = {c: "immediate" for c in EmailCategory.CHOOSABLE} | {"reminders": "weekly"}
    assert client.post("/notifications/email", data=data).status_code == 302
    assert outbox.preferences_for(a)["reminders"] == "weekly"
    bad = client.post("/notifications/email", data=data | {"outcomes": "hourly"})
    assert bad.status_code == 422 and b"Choose one of" in bad.data
    db.session.expire_all()
    assert outbox.preferences_for(a)["outcomes"] == "immediate"
    assert db.session.query(EmailPreference).filter_by(user_id=a.id).count() == 5


def test_one_click_unsubscribe(client, market, cycle, smtp, deliver):
    a = market.members["A"]
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    deliver()
    message = smtp.to(a.email)[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = "".join(str(message["List-Unsubscribe"]).split()).strip("<>")
    assert url.startswith("https://cc.example.org/notifications/unsubscribe/")
    assert url in text_of(message)
    path = url.removeprefix("https://cc.example.org")

    page = client.get(path)  # a link scanner's GET changes nothing
    assert page.status_code == 200 and b"Unsubscribe</button>" in page.data
    assert outbox.preferences_for(a)[EmailCategory.ACTIONS] == Delivery.IMMEDIATE
    # What a mail client sends for List-Unsubscribe-Post (no login, no CSRF token).
    done = client.post(path, data="List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200 and b'data-testid="unsubscribed"' in done.data
    db.session.expire_all()
    assert outbox.preferences_for(a)[EmailCategory.ACTIONS] == Delivery.OFF
    assert outbox.preferences_for(a)[EmailCategory.OUTCOMES] == Delivery.IMMEDIATE
    assert client.post(path).status_code == 200  # twice: still off, no error
    assert client.post(path[:-3] + "xyz").status_code == 400
    assert client.get("/notifications/unsubscribe/not-a-token").status_code == 400
