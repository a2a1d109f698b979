"""Matching runs: snapshot the market, call the engine, store the run and its proposals.

A run records who started it, when, the effective settings, the exact engine
input (for replay), the engine's verdict (optimal, objective, bound, status)
and statistics, and one proposal per exchange (app.proposals.creation
.create_proposals, given the run's id and starter as plain values). Small
markets are matched inline, in the caller's transaction. Markets with more open
listings than MATCHING_BACKGROUND_THRESHOLD are matched in the background, once
the caller has committed the queued run: by the job queue when the app has one
(`app.extensions["job_queue"]`, registered by app.jobs when REDIS_URL is set: an
RQ worker, possibly on another machine, so the run survives the web worker), else
in a thread of this process. Either way `process_run` does the work: it claims the
queued run, reads the market (so the request answers at once, however large the
market), solves, writes the proposals and keeps the run's progress and heartbeat in
its row.

Invariants: at most one run is queued or running at a time; a run that fails
leaves no proposal behind (its proposals are written in a savepoint); a running
run whose heartbeat stops for MATCHING_HEARTBEAT_TIMEOUT seconds is failed
(`fail_stale_runs`) so a new one can start; access is the policy's "run.start"
and "run.read".
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import require
from app.core.clock import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.core.limits import MAX_RUN_TIME_LIMIT, MAX_RUN_WEIGHT, SETTINGS_RANGES, WEIGHT_KEYS
from app.extensions import db
from app.market.listings import expire_listings
from app.market.models import MarketSettings, Objective
from app.matching.engine_process import solve_in_child
from app.matching.models import MatchingRun, RunStatus
from app.matching.snapshot import build_market_document, count_open_listings
from app.notifications.mail import absolute_url
from app.notifications.models import EmailCategory
from app.notifications.outbox import queue_email
from app.notifications.services import notify
from app.proposals.creation import Creation, create_proposals
from app.proposals.emails import coordinators
from app.proposals.expiry import expire_due

log = logging.getLogger(__name__)

OBJECTIVES = Objective.ALL
# A run still queued this long after its time limit was never picked up (no worker
# ran it); a running run is judged by its heartbeat instead.
ABANDON_GRACE = timedelta(minutes=10)

# Threads of background runs, by run id (tests join them).
THREADS: dict[int, threading.Thread] = {}
_PENDING = "matching.pending_background_runs"


# ---------------------------------------------------------------- settings

def market_settings() -> dict:
    """The market's own matching settings as a run would use them."""
    settings = MarketSettings.current()
    return {
        "max_cycle": settings.max_cycle,
        "max_chain": settings.max_chain,
        "fairness_threshold": float(settings.fairness_threshold),
        "objective": settings.objective,
        "weights": dict(settings.weights or {}),
        "time_limit": settings.time_limit_seconds,
    }


def effective_settings(overrides: dict | None = None) -> dict:
    """The market's settings with this run's overrides applied and checked.

    Raises Invalid naming each bad field. Overrides apply to this run only;
    they never change the market's settings.
    """
    settings = market_settings()
    errors: dict[str, list[str]] = {}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in settings:
            errors[key] = ["Unknown setting."]
            continue
        settings[key] = value

    def integer(key: str, low: int, high: int) -> None:
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.setdefault(key, []).append(f"Must be a whole number from {low} to {high}.")

    integer("max_cycle", *SETTINGS_RANGES["max_cycle"])
    integer("max_chain", *SETTINGS_RANGES["max_chain"])
    integer("time_limit", 1, MAX_RUN_TIME_LIMIT)
    threshold = settings["fairness_threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
            0 <= threshold <= 1):
        errors.setdefault("fairness_threshold", []).append("Must be between 0 and 1.")
    else:
        settings["fairness_threshold"] = float(threshold)
    if settings["objective"] not in OBJECTIVES:
        errors.setdefault("objective", []).append(f"Must be one of: {', '.join(OBJECTIVES)}.")
    weights = settings["weights"]
    if not isinstance(weights, dict):
        errors.setdefault("weights", []).append("Must be an object.")
    else:
        clean = {}
        for key, value in weights.items():
            if key not in WEIGHT_KEYS or isinstance(value, bool) or not isinstance(
                    value, int | float) or not 0 <= value <= MAX_RUN_WEIGHT:
                errors.setdefault("weights", []).append(
                    f"{key}: must be one of {', '.join(WEIGHT_KEYS)} with a value "
                    f"0..{MAX_RUN_WEIGHT}.")
            else:
                clean[key] = float(value)
        settings["weights"] = clean
    if errors:
        raise Invalid("The run settings are invalid.", errors=errors)
    return settings


# ---------------------------------------------------------------- runs

def get_run(actor: User, run_id: int) -> MatchingRun:
    """A run, for coordinators, admins and auditors (members do not see runs)."""
    require(actor, "run.read")
    run = db.session.get(MatchingRun, run_id)
    if run is None:
        raise NotFound("No such matching run.")
    return run


def list_runs():
    return select(MatchingRun).order_by(MatchingRun.id.desc())


def fail_stale_runs(now: datetime | None = None) -> list[int]:
    """Fail runs whose worker is gone, so a new run can start; returns their ids.

    A running run whose heartbeat (or start) is older than MATCHING_HEARTBEAT_TIMEOUT
    seconds lost the worker or thread running it (killed, out of memory, a deploy). A
    queued run never picked up within its time limit plus ABANDON_GRACE had no worker.
    Called before every run starts and by the scheduler (every 10 s). Flushes.
    """
    now = now or utcnow()
    timeout = int(current_app.config.get("MATCHING_HEARTBEAT_TIMEOUT", 40))
    failed = []
    for run in db.session.execute(
            select(MatchingRun).where(MatchingRun.status.in_(RunStatus.IN_PROGRESS))
            .with_for_update()
    ).scalars():
        if run.status == RunStatus.RUNNING:
            last = run.heartbeat_at or run.started_at or run.created_at
            if last + timedelta(seconds=timeout) >= now:
                continue
            where = f" ({run.worker})" if run.worker else ""
            run.error = (f"The worker running it stopped{where}: no heartbeat since "
                         f"{last:%Y-%m-%d %H:%M:%S} UTC (more than {timeout} s). "
                         "Start a new run.")
        else:
            limit = timedelta(seconds=int((run.settings or {}).get("time_limit", 30)))
            if run.created_at + limit + ABANDON_GRACE >= now:
                continue
            run.error = ("Abandoned: no worker started it within its time limit plus "
                         f"{int(ABANDON_GRACE.total_seconds() // 60)} minutes.")
        run.status = RunStatus.FAILED
        run.finished_at = now
        run.progress = "failed"
        failed.append(run.id)
        log.warning("Matching run %s failed: %s", run.id, run.error)
    db.session.flush()
    return failed


def start_run(actor: User | None, overrides: dict | None = None, *,
              background: bool | None = None) -> MatchingRun:
    """Start a matching run as `actor` (a coordinator; None = the command line).

    With `background` None, markets above MATCHING_BACKGROUND_THRESHOLD open
    listings run in the background: the run is returned `queued`, without its
    input yet, and goes to the job queue (or a thread) when the caller commits;
    the worker reads the market. Others are read and solved inline and the run
    is returned `completed` (or `failed`, with the error).
    """
    require(actor, "run.start")  # actor None is the command line, acting as the system
    settings = effective_settings(overrides)
    fail_stale_runs()
    # Housekeeping first, in this transaction: overdue exchanges release their
    # reservations and listings past their end stop being open before the snapshot.
    expire_due()
    expire_listings()
    busy = db.session.execute(
        select(MatchingRun.id).where(MatchingRun.status.in_(RunStatus.IN_PROGRESS)).limit(1)
    ).scalar_one_or_none()
    if busy is not None:
        raise Conflict(f"Matching run #{busy} is still in progress; wait for it to finish.",
                       payload={"run_id": busy})
    if background is None:
        background = count_open_listings() > current_app.config.get(
            "MATCHING_BACKGROUND_THRESHOLD", 400)
    run = MatchingRun(
        status=RunStatus.QUEUED,
        started_by_id=actor.id if actor is not None else None,
        started_by_name=actor.name if actor is not None else "command line",
        settings=settings,
    )
    if background:
        queue = current_app.extensions.get("job_queue")
        run.progress = ("queued: waiting for a worker" if queue is not None
                        else "queued")
        db.session.add(run)
        db.session.flush()
        pending = db.session.info.setdefault(_PENDING, [])
        pending.append((current_app._get_current_object(), run.id))
        return run
    run.market_input = build_market_document(settings)
    run.progress = f"queued ({len(run.market_input['listings'])} open listings)"
    db.session.add(run)
    db.session.flush()
    execute_run(run)
    return run


def solve_document(document: dict, nice: int = 0) -> dict:
    """Call the engine (imported lazily: the web app loads without it): in this thread, or
    with ``nice`` > 0 in a child process at that CPU priority (``engine_process``)."""
    if nice > 0:
        return solve_in_child(document, nice)
    from matching_engine import solve

    return solve(copy.deepcopy(document))


def execute_run(run: MatchingRun) -> MatchingRun:
    """Solve the run's stored input and write its proposals, in this transaction.

    A failure (the engine refusing the input, a result that does not match the
    database) leaves no proposal behind and marks the run failed with the error.
    """
    run.status = RunStatus.RUNNING
    run.started_at = run.started_at or utcnow()
    run.progress = f"solving ({len(run.market_input['listings'])} open listings)"
    db.session.flush()
    try:
        result = solve_document(run.market_input)
    except Exception as exc:  # the engine's InputError, or anything it did not foresee
        log.exception("Matching run %s failed in the engine", run.id)
        return _fail(run, f"The engine failed: {exc}")
    try:
        with db.session.begin_nested():
            outcome = _store_proposals(run, result)
    except Exception as exc:
        log.exception("Matching run %s could not store its proposals", run.id)
        return _fail(run, f"Could not store the proposals: {exc}")
    _finish(run, result, outcome)
    return run


def _store_proposals(run: MatchingRun, result: dict) -> Creation:
    """One proposal per exchange of the result, recorded as proposed by the run's starter."""
    return create_proposals(result, run_id=run.id, actor=run.started_by,
                            actor_name=run.started_by_name or None)


def _fail(run: MatchingRun, message: str) -> MatchingRun:
    run.status = RunStatus.FAILED
    run.finished_at = utcnow()
    run.error = message[:4000]
    run.progress = "failed"
    db.session.flush()
    return run


def _finish(run: MatchingRun, result: dict, outcome: Creation) -> None:
    stats = dict(result.get("stats") or {})
    stats["proposals"] = {
        "exchanges": len(result.get("exchanges") or []),
        "created": len(outcome.created),
        "skipped_open": outcome.skipped_open,
        "skipped_declined": outcome.skipped_declined,
    }
    run.stats = stats
    run.optimal = bool(result.get("optimal"))
    run.objective = _float(result.get("objective"))
    run.bound = _float(result.get("bound"))
    run.solver_status = result.get("status")
    run.status = RunStatus.COMPLETED
    run.finished_at = utcnow()
    run.progress = f"completed: {len(outcome.created)} new proposal(s)"
    if run.started_by_id:
        notify([run.started_by_id],
               f"Matching run #{run.id} finished: {len(outcome.created)} new proposal(s) to "
               "review.")
    if outcome.created:
        _mail_coordinators(run, len(outcome.created))
    db.session.flush()


def _mail_coordinators(run: MatchingRun, count: int) -> None:
    """Coordinators' news: a round finished with `count` proposals to review."""
    link = absolute_url("proposals.index", status="proposed", run=run.id)
    staff = coordinators()
    # In-app too, for the coordinators who did not start it (the starter has its message).
    notify([u for u in staff if u.id != run.started_by_id],
           f"Matching run #{run.id} finished: {count} new proposal(s) to review.")
    for user in staff:
        queue_email(user, event_key=f"run:{run.id}:finished", category=EmailCategory.NEWS,
                    template="run_finished", subject=f"Matching run #{run.id}: {count} new "
                    f"proposal{'s' if count != 1 else ''} to review", run=run, count=count,
                    link=link)


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- background

@event.listens_for(Session, "after_commit")
def _launch_pending_runs(session: Session) -> None:
    """Hand the runs queued in the transaction that just committed to the job queue,
    or, without one, to threads of this process."""
    for app, run_id in session.info.pop(_PENDING, []):
        queue = app.extensions.get("job_queue")
        if queue is not None:
            try:
                queue.enqueue_run(run_id)
                continue
            except Exception:  # Redis down: the run must not wait forever for nobody
                log.exception("Could not enqueue matching run %s; running it here", run_id)
        launch(app, run_id)


@event.listens_for(Session, "after_rollback")
def _drop_pending_runs(session: Session) -> None:
    session.info.pop(_PENDING, None)


def launch(app: Flask, run_id: int) -> threading.Thread:
    """Run `run_id` in a daemon thread of this process (no job queue configured)."""
    for finished in [rid for rid, t in THREADS.items() if not t.is_alive()]:
        del THREADS[finished]
    thread = threading.Thread(target=run_in_background, args=(app, run_id),
                              name=f"matching-run-{run_id}", daemon=True)
    THREADS[run_id] = thread
    thread.start()
    return thread


def run_in_background(app: Flask, run_id: int) -> None:
    """The body of an in-process background run: its own app context and session."""
    with app.app_context():
        try:
            process_run(run_id, worker=f"thread in process {os.getpid()}")
        finally:
            db.session.remove()


class Heartbeat:
    """Writes `heartbeat_at = now` into a running run's row every `interval` seconds,
    from its own thread and connection, while the run is processed (the engine may
    hold the main thread for minutes). Stops when the block ends."""

    def __init__(self, app: Flask, run_id: int, interval: float) -> None:
        self.app, self.run_id, self.interval = app, run_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True,
                                        name=f"matching-run-{run_id}-heartbeat")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 30)

    def _beat(self) -> None:
        table = MatchingRun.__table__
        with self.app.app_context():
            while not self._stop.wait(self.interval):
                try:
                    with db.engine.begin() as conn:
                        conn.execute(update(table).where(
                            table.c.id == self.run_id, table.c.status == RunStatus.RUNNING
                        ).values(heartbeat_at=utcnow()))
                except Exception:  # a busy database: the next beat tries again
                    log.warning("Heartbeat of matching run %s failed", self.run_id,
                                exc_info=True)


class RunLost(Exception):
    """The run was failed by someone else meanwhile (its heartbeat was judged lost)."""


def _claim(run_id: int, worker: str) -> MatchingRun | None:
    """queued → running for exactly one worker (a conditional update), else None."""
    now = utcnow()
    table = MatchingRun.__table__
    claimed = db.session.execute(
        update(table).where(table.c.id == run_id, table.c.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now,
                worker=worker[:200], progress="reading the market")
    ).rowcount
    db.session.commit()
    return db.session.get(MatchingRun, run_id) if claimed == 1 else None


def _still_mine(run_id: int, progress: str | None = None) -> MatchingRun:
    """The run, re-read in a new transaction; raises RunLost unless it is still running."""
    db.session.expire_all()
    run = db.session.get(MatchingRun, run_id)
    if run is None or run.status != RunStatus.RUNNING:
        raise RunLost(run_id)
    if progress is not None:
        run.progress = progress[:200]
    return run


def process_run(run_id: int, *, worker: str) -> MatchingRun | None:
    """Run a queued run to the end, committing as it goes (the body of a background run,
    in a thread or an RQ worker; needs an app context, uses the scoped session).

    Claims the run (queued → running; a run already claimed, finished or failed is left
    alone, so a job delivered twice does nothing), writes a heartbeat every
    MATCHING_HEARTBEAT_SECONDS, expires what is due and reads the market, then solves
    with no transaction open (on SQLite an open transaction would hold the write lock
    and stall every request), writes the proposals and finishes. A run failed
    meanwhile by `fail_stale_runs` is left failed and writes nothing.
    """
    app = current_app._get_current_object()
    run = _claim(run_id, worker)
    if run is None:
        log.info("Matching run %s was not queued any more; nothing to do", run_id)
        return None
    nice = int(app.config.get("MATCHING_NICE", 0))
    yield_to_requests(nice)
    interval = float(app.config.get("MATCHING_HEARTBEAT_SECONDS", 10))
    try:
        with Heartbeat(app, run_id, interval):
            return _process(run_id, nice)
    except RunLost:
        db.session.rollback()
        log.warning("Matching run %s was failed while it ran; its result is dropped", run_id)
        return None
    except Exception:  # last resort: never leave a run "running"
        log.exception("Background matching run %s crashed", run_id)
        db.session.rollback()
        run = db.session.get(MatchingRun, run_id)
        if run is not None and run.status in RunStatus.IN_PROGRESS:
            _fail(run, "The run stopped unexpectedly; see the worker's log.")
            db.session.commit()
        return run


def yield_to_requests(nice: int) -> None:
    """Lower this thread's CPU priority by `nice` (Linux: per thread, and inherited by the
    solver's threads started from it). A background run is a thread of its own or a
    forked work horse, so nothing else is slowed; it cannot be raised back unprivileged,
    which is why it is only called there."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + nice))
    except OSError as exc:  # a platform or sandbox that refuses: run at normal priority
        log.warning("Could not lower the matching run's priority: %s", exc)


def _process(run_id: int, nice: int) -> MatchingRun:
    run = _still_mine(run_id)
    if run.market_input is None:
        # Read the market here, not in the request: at 45,000 listings this takes
        # seconds, and the request has answered 202 long ago.
        expire_due()
        expire_listings()
        run.market_input = build_market_document(run.settings)
    document = copy.deepcopy(run.market_input)
    run.progress = f"solving ({len(document['listings'])} open listings)"
    db.session.commit()
    db.session.close()
    try:
        result = solve_document(document, nice)
    except Exception as exc:
        log.exception("Background matching run %s failed in the engine", run_id)
        run = _still_mine(run_id)
        _fail(run, f"The engine failed: {exc}")
        db.session.commit()
        return run
    _still_mine(run_id, f"writing {len(result.get('exchanges') or [])} proposal(s)")
    db.session.commit()
    run = _still_mine(run_id)
    try:
        with db.session.begin_nested():
            outcome = _store_proposals(run, result)
    except Exception as exc:
        log.exception("Background matching run %s could not store proposals", run_id)
        _fail(run, f"Could not store the proposals: {exc}")
        db.session.commit()
        return run
    _finish(run, result, outcome)
    db.session.commit()
    return run
