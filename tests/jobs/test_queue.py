"""Matching runs and scheduled work through the real job queue (RQ on a real Redis):
enqueue → a worker runs the job → progress and heartbeat in the run's row → result;
a run whose worker died is failed by the heartbeat check and a new run can start;
the scheduler leads alone and its jobs have their effects."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.api.models import IdempotencyRecord
from app.auth.models import User
from app.core.clock import today, utcnow
from app.extensions import db
from app.jobs import tasks
from app.jobs.scheduler import Scheduler
from app.ledger import services as ledger
from app.market.models import Listing, ListingKind, ListingStatus
from app.matching import services as matching
from app.matching.models import MatchingRun, RunStatus
from app.proposals.models import Proposal
from tests.proposals.helpers import reload


def _reciprocal(market) -> None:
    for listing in (market.offers["C"], market.needs["C"]):
        reload(Listing, listing.id).status = ListingStatus.WITHDRAWN
    db.session.commit()


def _row(app, run_id: int) -> dict:
    """The run's row as another process sees it (its own connection, committed data)."""
    db.session.commit()  # SQLite: this test's session must not hold the write lock
    with db.engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT status, progress, heartbeat_at, worker, market_input FROM matching_runs "
            "WHERE id = :id"), {"id": run_id}).mappings().one())


def test_a_run_is_enqueued_and_a_worker_runs_it(queued_app, work, market, client,
                                                api_headers, monkeypatch):
    _reciprocal(market)
    queued_app.config.update(MATCHING_BACKGROUND_THRESHOLD=0, MATCHING_HEARTBEAT_SECONDS=0.2)
    headers = api_headers(market.coordinator)

    started = time.monotonic()
    answer = client.post("/api/v1/matching/runs", headers=headers)
    assert answer.status_code == 202, answer.get_json()
    assert time.monotonic() - started < 5
    run_id = answer.get_json()["id"]
    queue = queued_app.extensions["job_queue"]
    # Queued, in Redis, and nothing read yet: the worker reads the market.
    assert _row(queued_app, run_id)["status"] == RunStatus.QUEUED
    assert _row(queued_app, run_id)["market_input"] is None
    assert run_id not in matching.THREADS
    [job] = queue.queue.jobs
    assert job.func_name == "app.jobs.tasks.run_matching" and job.args == (run_id,)
    # A second start while it waits is refused: one run at a time.
    again = client.post("/api/v1/matching/runs", headers=headers)
    assert again.status_code == 409

    seen = {}
    real_solve = matching.solve_document

    def slow_solve(document, nice=0):
        time.sleep(0.7)  # long enough for a few heartbeats
        seen.update(_row(queued_app, run_id))
        return real_solve(document, nice)

    monkeypatch.setattr(matching, "solve_document", slow_solve)
    work()

    # While solving: running, progress and worker in the row, heartbeats written.
    assert seen["status"] == RunStatus.RUNNING
    assert seen["progress"].startswith("solving (")
    assert seen["worker"].startswith(f"worker {queue.name}-worker-")
    assert seen["heartbeat_at"] is not None
    run = reload(MatchingRun, run_id)
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.progress == "completed: 1 new proposal(s)"
    assert run.market_input is not None and len(run.market_input["listings"]) == 4
    assert run.heartbeat_at > run.started_at  # beats came after the claim
    assert len(run.proposals) == 1
    assert job.get_status(refresh=True) == "finished"
    # Delivered twice (e.g. re-queued by hand), the job does nothing the second time.
    assert tasks.run_matching(run_id) == f"run {run_id}: not queued any more"
    assert db.session.execute(db.select(db.func.count(Proposal.id))).scalar_one() == 1


def test_a_run_whose_worker_died_is_failed_and_a_new_one_can_start(queued_app, work, market):
    _reciprocal(market)
    queued_app.config["MATCHING_BACKGROUND_THRESHOLD"] = 0
    coordinator_id = market.coordinator.id
    run_id = matching.start_run(market.coordinator).id
    db.session.commit()
    # A worker takes the run, then dies (killed, out of memory): its heartbeat stops.
    assert matching._claim(run_id, "worker doomed") is not None
    db.session.execute(db.update(MatchingRun).where(MatchingRun.id == run_id)
                       .values(heartbeat_at=utcnow() - timedelta(seconds=41)))
    db.session.commit()
    with pytest.raises(Exception, match="still in progress"):
        # 39 s of silence is not yet death…
        db.session.execute(db.update(MatchingRun).where(MatchingRun.id == run_id)
                           .values(heartbeat_at=utcnow() - timedelta(seconds=39)))
        db.session.commit()
        matching.start_run(market.coordinator)
    db.session.rollback()
    db.session.execute(db.update(MatchingRun).where(MatchingRun.id == run_id)
                       .values(heartbeat_at=utcnow() - timedelta(seconds=41)))
    db.session.commit()

    # …41 s is: the scheduler's heartbeat check fails the run — run by the scheduler
    # itself, since the dead worker may have been the only one.
    scheduler = Scheduler(queued_app, queued_app.extensions["job_queue"])
    assert "check_runs" in scheduler.tick()
    run = reload(MatchingRun, run_id)
    assert run.status == RunStatus.FAILED
    assert "The worker running it stopped (worker doomed): no heartbeat since" in run.error
    assert "more than 40 s" in run.error
    # The dead worker's job, if it ever ran again, leaves the failed run alone.
    assert tasks.run_matching(run_id) == f"run {run_id}: not queued any more"
    # And a new run starts and completes through the queue.
    new_id = matching.start_run(reload(User, coordinator_id)).id
    db.session.commit()
    work()
    assert reload(MatchingRun, new_id).status == RunStatus.COMPLETED


def test_several_workers_share_the_queue(queued_app, work):
    queue = queued_app.extensions["job_queue"]
    jobs = [queue.enqueue("send_reminders") for _ in range(4)]
    first = work(max_jobs=2)
    second = work()
    for job in jobs:
        job.refresh()
    assert [job.get_status() for job in jobs] == ["finished"] * 4
    assert [job.worker_name for job in jobs] == [first.name] * 2 + [second.name] * 2


def test_one_scheduler_leads_and_its_jobs_take_effect(queued_app, work, make_exchange,
                                                       make_listing, make_org, make_user,
                                                       coordinator, runner, tmp_path):
    anchors = tmp_path / "anchors" / "ledger-anchors.log"
    queued_app.config["LEDGER_ANCHOR_FILE"] = str(anchors)
    make_exchange()
    make_exchange()  # four entries in the ledger
    org = make_org()
    old = make_listing(org, ListingKind.OFFER, available_until=today() - timedelta(days=1))
    kept = make_listing(org, ListingKind.OFFER)
    old_id, kept_id = old.id, kept.id
    user = make_user()
    now = utcnow()
    for key, age in (("old", timedelta(hours=25)), ("new", timedelta(hours=1))):
        db.session.add(IdempotencyRecord(user_id=user.id, key=key, method="POST", path="/x",
                                         status_code=201, body={}, created_at=now - age))
    db.session.commit()

    queue = queued_app.extensions["job_queue"]
    leader, other = Scheduler(queued_app, queue), Scheduler(queued_app, queue)
    moment = time.time()
    assert set(leader.tick(moment)) == {"check_runs", "expire_due_work", "anchor_ledger",
                                        "prune_idempotency_records", "send_reminders",
                                        "send_emails", "send_digests", "verify_ledger"}
    assert other.tick(moment) == []  # one scheduler, however many are started
    assert leader.tick(moment + 1) == []  # nothing is due again yet
    work()

    assert reload(Listing, old_id).status == ListingStatus.EXPIRED
    assert reload(Listing, kept_id).status == ListingStatus.OPEN
    assert list(db.session.execute(db.select(IdempotencyRecord.key)).scalars()) == ["new"]
    head = ledger.head()
    lines = anchors.read_text().splitlines()
    assert len(lines) == 1 and lines[0].endswith(f" {head[0]}:{head[1]}")

    # The next minute: the frequent jobs again; the ledger moved, so a new anchor.
    make_exchange()
    assert set(leader.tick(moment + 61)) == {"check_runs", "expire_due_work", "send_emails"}
    leader.release()
    assert set(other.tick(moment + 3601)) >= {"anchor_ledger"}  # the other takes over
    work()
    assert len(anchors.read_text().splitlines()) == 2
    result = runner.invoke(args=["ledger", "verify", "--anchors-file", str(anchors)])
    assert result.exit_code == 0, result.output
    assert "2 recorded anchor(s) hold" in result.output

    # An anchor that no longer holds (the chain was rewritten) fails verification.
    forged = anchors.read_text().replace(head[1], "f" * 64)
    anchors.write_text(forged)
    result = runner.invoke(args=["ledger", "verify", "--anchors-file", str(anchors)])
    assert result.exit_code == 1
    assert f"FAILED at sequence {head[0]}: anchor_mismatch" in result.output
