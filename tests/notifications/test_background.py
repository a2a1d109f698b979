"""Emails leave from a job, never from the request: with REDIS_URL a `send_emails` job
on the RQ queue (one waiting job however many commits), without it a thread; the
scheduler's sweep and `flask jobs run` send what is due too."""

from __future__ import annotations

from app.extensions import db
from app.jobs import tasks
from app.notifications import outbox
from app.proposals import services


def test_a_commit_that_queued_emails_enqueues_one_delivery_job(queued_app, work, market,
                                                               cycle, propose, smtp,
                                                               mailed_app):
    queued_app.config["EMAIL_DELIVERY"] = "background"
    queue = queued_app.extensions["job_queue"]
    addresses = sorted(market.members[n].email for n in "ABC")
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    assert smtp.messages == []  # nothing was sent inside the transition
    assert queue.queue.job_ids == [f"{queue.name}-send-emails"]
    services.cancel(market.coordinator, cycle.id, "Paused.")
    db.session.commit()
    assert queue.queue.job_ids == [f"{queue.name}-send-emails"]  # still one waiting job
    work()
    assert sorted(m.recipients[0] for m in smtp.messages) == sorted(addresses * 2)


def test_without_a_queue_a_thread_sends_them(app, market, cycle, smtp, mailed_app):
    app.config["EMAIL_DELIVERY"] = "background"
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    for thread in list(outbox.THREADS):
        thread.join(30)
    assert len(smtp.messages) == 3


def test_the_scheduled_job_and_the_command_send_what_is_due(app, runner, market, cycle, smtp,
                                                            mailed_app):
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    result = runner.invoke(args=["jobs", "run", "send_emails"])
    assert result.exit_code == 0, result.output
    assert '"sent": 3' in result.output and len(smtp.messages) == 3
    assert tasks.send_emails()["sent"] == 0
