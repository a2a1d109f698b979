"""The jobs: what the worker runs, each in an app context, committing once.

Every job can run in an RQ worker (enqueued by name from `app.jobs.queue` or the
scheduler) or inline (`flask jobs run NAME`, the in-process default). A worker started
by `flask jobs worker` already has the app; one started by plain `rq worker` builds it
from the environment (`create_app()`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import current_app, has_app_context

from app.api.models import IdempotencyRecord
from app.core.clock import utcnow
from app.core.limits import IDEMPOTENCY_WINDOW_SECONDS
from app.extensions import db
from app.ledger import services as ledger
from app.market.listings import expire_listings
from app.matching import services as matching
from app.notifications import outbox
from app.proposals import emails as proposal_emails
from app.proposals.expiry import expire_due
from app.reporting import alerts

log = logging.getLogger(__name__)


def _app_context():
    if has_app_context():
        return nullcontext()
    from app import create_app

    return create_app().app_context()


def job(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run `function` in an app context with a clean session; roll back whatever it left
    uncommitted (a failure), and give the connection back when done."""

    @wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _app_context():
            try:
                return function(*args, **kwargs)
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return run


def worker_name() -> str:
    """Who runs a job, for the run page: the RQ worker's name, else host and pid."""
    try:
        from rq import get_current_job

        current = get_current_job()
        if current is not None and current.worker_name:
            return f"worker {current.worker_name}"
    except Exception:  # not in a worker
        pass
    return f"worker {socket.gethostname()}:{os.getpid()}"


@job
def run_matching(run_id: int) -> str:
    """Run the queued matching run `run_id`: read the market, solve, write proposals,
    with progress and heartbeat in the run's row (`matching.process_run`)."""
    run = matching.process_run(run_id, worker=worker_name())
    return f"run {run_id}: {run.status if run is not None else 'not queued any more'}"


@job
def check_runs() -> list[int]:
    """Fail matching runs whose worker stopped (no heartbeat), so a new one can start."""
    failed = matching.fail_stale_runs()
    db.session.commit()
    return failed


@job
def expire_due_work() -> dict[str, Any]:
    """Expire exchanges past their acceptance or delivery deadline (releasing their
    reservations) and listings past their end date, when due rather than when someone
    happens to act."""
    proposals = expire_due()
    listings = expire_listings()
    db.session.commit()
    return {"proposals": proposals, "listings": listings}


@job
def prune_idempotency_records() -> int:
    """Delete stored API answers older than IDEMPOTENCY_WINDOW_SECONDS (24 h): within
    the window a repeated Idempotency-Key replays its answer; after it the key acts anew."""
    cutoff = utcnow() - timedelta(seconds=IDEMPOTENCY_WINDOW_SECONDS)
    deleted = db.session.execute(
        db.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
    ).rowcount
    db.session.commit()
    return deleted


@job
def anchor_ledger() -> str | None:
    """Append the ledger head (sequence and hash) to LEDGER_ANCHOR_FILE, so a chain
    rewritten later with fresh hashes is caught by `flask ledger verify --anchors-file`
    without anyone remembering to record a head."""
    written = ledger.record_anchor(current_app.config["LEDGER_ANCHOR_FILE"])
    db.session.rollback()
    return None if written is None else f"{written[0]}:{written[1]}"


@job
def send_reminders() -> int:
    """Queue the reminders due now (3 days and 1 day before an open acceptance or
    delivery deadline, to the organisations that still owe something; each once) and
    send them. Returns how many were queued."""
    queued = proposal_emails.send_reminders()
    db.session.commit()
    return queued


@job
def send_emails() -> dict[str, int]:
    """Send every email that is due from the outbox (new ones, and failed ones whose
    back-off has passed). Run after each commit that queued emails and by the scheduler
    every minute, so a failure is retried without anyone acting."""
    return outbox.deliver_due()


@job
def send_digests() -> int:
    """Compose the daily (and on DIGEST_WEEKDAY, weekly) digests once DIGEST_HOUR has
    passed in London; each user gets at most one digest per day."""
    queued = outbox.compose_digests()
    db.session.commit()
    return queued


@job
def verify_ledger() -> dict:
    """Recompute the ledger's hash chain; email the auditors if it fails."""
    summary = alerts.verify_and_alert()
    db.session.commit()
    return summary
