"""The scheduled ledger verification, and the auditors' alert when it fails.

The job (`verify_ledger` in app.jobs.tasks, daily) recomputes the whole chain with the
same check auditors run by hand; on failure every enabled auditor is emailed (category
"alerts"), at most once per day (the event key names the day, in Europe/London).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.auth.models import Role, User
from app.core.clock import utcnow
from app.extensions import db
from app.notifications.mail import absolute_url
from app.notifications.models import EmailCategory
from app.notifications.outbox import london, queue_email
from app.notifications.services import notify
from app.reporting.audit import verify_ledger


def verify_and_alert(now: datetime | None = None) -> dict:
    """Verify the ledger; on failure queue the auditors' alert. Flushes; returns a summary."""
    now = now or utcnow()
    result = verify_ledger(None)
    if result.ok:
        return {"ok": True, "count": result.count, "alerted": 0}
    auditors = db.session.execute(
        select(User).where(User.role == Role.AUDITOR, User.enabled.is_(True))
        .order_by(User.id)).scalars().all()
    first = result.first_problem
    alerted = 0
    for user in auditors:
        if queue_email(user, event_key=f"ledger-verify-failed:{london(now).date().isoformat()}",
                       category=EmailCategory.ALERTS, template="ledger_failed",
                       subject="Ledger verification FAILED: "
                               f"{result.problem_count} problem(s)",
                       problems=result.problems, count=result.count, checked_at=now,
                       first_bad=first.sequence if first else None,
                       link=absolute_url("ledger.verify")):
            alerted += 1
            notify([user], f"The scheduled ledger verification failed: "
                           f"{result.problem_count} problem(s). Verify the ledger for details.")
    return {"ok": False, "count": result.count, "problems": result.problem_count,
            "alerted": alerted}
