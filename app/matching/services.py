"""Matching runs: snapshot the market, call the engine, store the run and its proposals.

A run records who started it, when, the effective settings, the exact engine
input (for replay), the engine's verdict (optimal, objective, bound, status)
and statistics, and one proposal per exchange (app.proposals.creation
.create_proposals, given the run's id and starter as plain values). Small
markets are matched inline, in the caller's transaction; markets with more open
listings than MATCHING_BACKGROUND_THRESHOLD are matched in a background thread
(own application context, own session) started only once the caller has
committed the queued run, and the run page shows its progress.

Invariants: at most one run is queued or running at a time; a run that fails
leaves no proposal behind (its proposals are written in a savepoint); access is
the policy's "run.start" and "run.read".
"""

from __future__ import annotations

import copy
import logging
import threading
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import require
from app.core.clock import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.core.limits import MAX_RUN_TIME_LIMIT, MAX_RUN_WEIGHT, SETTINGS_RANGES, WEIGHT_KEYS
from app.extensions import db
from app.market.listings import expire_listings
from app.market.models import MarketSettings, Objective
from app.matching.models import MatchingRun, RunStatus
from app.matching.snapshot import build_market_document
from app.notifications.services import notify
from app.proposals.creation import Creation, create_proposals
from app.proposals.expiry import expire_due

log = logging.getLogger(__name__)

OBJECTIVES = Objective.ALL
# A run still queued or running this long after its time limit was abandoned
# (e.g. the process that ran it stopped).
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


def _fail_abandoned_runs() -> None:
    now = utcnow()
    for run in db.session.execute(
            select(MatchingRun).where(MatchingRun.status.in_(RunStatus.IN_PROGRESS))
    ).scalars():
        limit = timedelta(seconds=int((run.settings or {}).get("time_limit", 30)))
        if run.created_at + limit + ABANDON_GRACE < now:
            run.status = RunStatus.FAILED
            run.finished_at = now
            run.error = "Abandoned: the process running it stopped before it finished."
            run.progress = "failed"


def start_run(actor: User | None, overrides: dict | None = None, *,
              background: bool | None = None) -> MatchingRun:
    """Start a matching run as `actor` (a coordinator; None = the command line).

    Reads the market now and stores the engine input on the run. With
    `background` None, markets above MATCHING_BACKGROUND_THRESHOLD open
    listings go to a background thread (the run is returned `queued` and the
    thread starts when the caller commits); others are solved inline and the
    run is returned `completed` (or `failed`, with the error).
    """
    require(actor, "run.start")  # actor None is the command line, acting as the system
    settings = effective_settings(overrides)
    _fail_abandoned_runs()
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
    document = build_market_document(settings)
    run = MatchingRun(
        status=RunStatus.QUEUED,
        started_by_id=actor.id if actor is not None else None,
        started_by_name=actor.name if actor is not None else "command line",
        settings=settings,
        market_input=document,
        progress=f"queued ({len(document['listings'])} open listings)",
    )
    db.session.add(run)
    db.session.flush()
    if background is None:
        background = len(document["listings"]) > current_app.config.get(
            "MATCHING_BACKGROUND_THRESHOLD", 400)
    if background:
        pending = db.session.info.setdefault(_PENDING, [])
        pending.append((current_app._get_current_object(), run.id))
        return run
    execute_run(run)
    return run


def solve_document(document: dict) -> dict:
    """Call the engine (imported lazily: the web app loads without it)."""
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
    db.session.flush()


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- background

@event.listens_for(Session, "after_commit")
def _launch_pending_runs(session: Session) -> None:
    """Start the threads of runs queued in the transaction that just committed."""
    for app, run_id in session.info.pop(_PENDING, []):
        launch(app, run_id)


@event.listens_for(Session, "after_rollback")
def _drop_pending_runs(session: Session) -> None:
    session.info.pop(_PENDING, None)


def launch(app: Flask, run_id: int) -> threading.Thread:
    for finished in [rid for rid, t in THREADS.items() if not t.is_alive()]:
        del THREADS[finished]
    thread = threading.Thread(target=run_in_background, args=(app, run_id),
                              name=f"matching-run-{run_id}", daemon=True)
    THREADS[run_id] = thread
    thread.start()
    return thread


def run_in_background(app: Flask, run_id: int) -> None:
    """The body of a background run: own app context, own session, commits as it goes.

    No transaction is held while the engine solves (on SQLite an open
    transaction would hold the write lock and stall every request).
    """
    with app.app_context():
        try:
            run = db.session.get(MatchingRun, run_id)
            if run is None or run.status != RunStatus.QUEUED:
                return
            run.status = RunStatus.RUNNING
            run.started_at = utcnow()
            document = copy.deepcopy(run.market_input)
            run.progress = f"solving ({len(document['listings'])} open listings)"
            db.session.commit()
            db.session.close()
            try:
                result = solve_document(document)
            except Exception as exc:
                log.exception("Background matching run %s failed in the engine", run_id)
                _fail(db.session.get(MatchingRun, run_id), f"The engine failed: {exc}")
                db.session.commit()
                return
            run = db.session.get(MatchingRun, run_id)
            run.progress = f"writing {len(result.get('exchanges') or [])} proposal(s)"
            db.session.commit()
            run = db.session.get(MatchingRun, run_id)
            try:
                with db.session.begin_nested():
                    outcome = _store_proposals(run, result)
            except Exception as exc:
                log.exception("Background matching run %s could not store proposals", run_id)
                _fail(run, f"Could not store the proposals: {exc}")
                db.session.commit()
                return
            _finish(run, result, outcome)
            db.session.commit()
        except Exception:  # pragma: no cover - last resort: never leave a run "running"
            log.exception("Background matching run %s crashed", run_id)
            db.session.rollback()
            run = db.session.get(MatchingRun, run_id)
            if run is not None and run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
                _fail(run, "The run stopped unexpectedly; see the server log.")
                db.session.commit()
        finally:
            db.session.remove()
