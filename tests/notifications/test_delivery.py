"""Sending from the outbox: a relay that fails leaves transitions and in-app
notifications intact and is retried with back-off; at most one email per event and
recipient; the development default writes .eml files."""

from __future__ import annotations

from datetime import timedelta

from app.core.clock import utcnow
from app.extensions import db
from app.notifications import outbox
from app.notifications.models import EmailCategory, EmailMessage, EmailStatus, Notification
from app.proposals import services
from app.proposals.models import Proposal, ProposalStatus


def rows():
    db.session.expire_all()
    return db.session.execute(db.select(EmailMessage).order_by(EmailMessage.id)).scalars().all()


def test_a_failing_relay_breaks_nothing_and_is_retried_with_back_off(
        market, cycle, smtp, deliver):
    smtp.fail = True
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    now = utcnow()
    assert deliver(now) == []
    assert smtp.refused == 3
    # The transition and the in-app notifications stand.
    assert db.session.get(Proposal, cycle.id).status == ProposalStatus.APPROVED
    assert db.session.query(Notification).filter_by(proposal_id=cycle.id).count() == 3
    pending = rows()
    assert [r.status for r in pending] == [EmailStatus.PENDING] * 3
    assert all(r.attempts == 1 and "451" in r.last_error for r in pending)
    assert all(r.next_attempt_at == now + timedelta(seconds=60) for r in pending)

    # Not due again before the back-off; the second failure doubles it.
    assert deliver(now + timedelta(seconds=30)) == [] and smtp.refused == 3
    deliver(now + timedelta(seconds=61))
    assert smtp.refused == 6
    assert all(r.attempts == 2 and r.next_attempt_at == now + timedelta(seconds=61 + 120)
               for r in rows())

    smtp.fail = False  # the relay is back
    sent = deliver(now + timedelta(seconds=200))
    assert len(sent) == 3 and all(r.status == EmailStatus.SENT for r in rows())
    assert deliver(now + timedelta(hours=2)) == []  # sent once, never again


def test_gives_up_after_the_last_attempt(app, market, cycle, smtp, deliver):
    app.config["EMAIL_MAX_ATTEMPTS"] = 2
    smtp.fail = True
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    now = utcnow()
    deliver(now)
    deliver(now + timedelta(hours=1))
    assert [r.status for r in rows()] == [EmailStatus.FAILED] * 3
    smtp.fail = False
    assert deliver(now + timedelta(days=1)) == []


def test_an_unreachable_server_is_a_retry_too(mailed_app, market, cycle, smtp):
    from tests.conftest import free_port

    mailed_app.extensions["mailman"].port = free_port()  # nothing listens there
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    counts = outbox.deliver_due()
    assert counts["retry"] == 3 and counts["sent"] == 0
    assert all("Connection refused" in r.last_error or "Errno" in r.last_error
               for r in rows())


def test_one_email_per_event_and_recipient(market, cycle, smtp, deliver):
    user = market.members["A"]
    for _ in range(2):
        outbox.queue_email(user, event_key="test:once", category=EmailCategory.OUTCOMES,
                           template="run_finished", subject="Once",
                           run=cycle, count=1, link="https://cc.example.org/")
    db.session.commit()
    assert len(rows()) == 1
    deliver()
    deliver()
    assert smtp.subjects(user.email) == ["Once"]


def test_a_row_claimed_by_another_job_is_not_sent_twice(market, cycle, smtp, deliver):
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    first = rows()[0]
    first.status = EmailStatus.SENDING  # another job holds it (and may have sent it)
    first.next_attempt_at = utcnow()
    db.session.commit()
    assert len(deliver()) == 2
    # Still "sending" after 15 minutes: the job died mid-send; failed, never resent.
    deliver(utcnow() + timedelta(minutes=16))
    assert rows()[0].status == EmailStatus.FAILED
    assert len(smtp.messages) == 2


def test_the_development_default_writes_eml_files(app, market, cycle, tmp_path):
    from app.notifications.mail import OUTBOX_BACKEND

    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    app.extensions["mailman"].backend = OUTBOX_BACKEND
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    assert outbox.deliver_due()["sent"] == 3
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 3
    content = files[0].read_bytes()
    assert b"Subject: Action needed:" in content and b"List-Unsubscribe-Post" in content
