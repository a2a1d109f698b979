"""Scheduled work: one scheduler, however many web servers and workers.

`flask jobs scheduler` loops once a second. With REDIS_URL it puts each job that is
due on the job queue, for the workers (the dead-worker check it runs itself, since the
dead worker may have been the only one), and only the instance holding a lock in Redis
does so (`SET NX` with a 30 s expiry, renewed each second by its holder), so starting a
scheduler on every machine is harmless: one leads, another takes over within 30 s if it
dies. When each job last ran is kept in Redis too, so a new leader carries on where the
old one stopped. Without REDIS_URL it runs the due jobs itself, in-process (run only
one then).

Why not RQ's own cron or rq-scheduler: RQ's `CronScheduler` has no leader election
(each instance enqueues everything), and rq-scheduler is another dependency for what
this lock and a table of intervals do.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from app.jobs import tasks
from app.jobs.queue import JobQueue

log = logging.getLogger(__name__)

LOCK_SECONDS = 30
# Renew the lock only if we still hold it (compare-and-expire, atomically).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
return 0
"""


@dataclass(frozen=True)
class Entry:
    """A job (a function of app.jobs.tasks) and how often it runs, in seconds. An
    `inline` job is run by the scheduler itself instead of being enqueued: the check
    for dead workers must not wait for a worker (the only one may be the dead one)."""

    task: str
    every: int
    inline: bool = False


def schedule(app: Flask) -> tuple[Entry, ...]:
    return (
        Entry("check_runs", 10, inline=True),
        Entry("expire_due_work", 60),
        Entry("anchor_ledger", int(app.config.get("LEDGER_ANCHOR_SECONDS", 3600))),
        Entry("prune_idempotency_records", 3600),
        Entry("send_reminders", 3600),
        Entry("send_emails", 60),
        Entry("send_digests", 3600),
        Entry("verify_ledger", 24 * 3600),
    )


class Scheduler:
    """Enqueues due jobs on `queue` while it holds the scheduler lock."""

    def __init__(self, app: Flask, queue: JobQueue, *, lock_seconds: int = LOCK_SECONDS):
        self.app, self.queue, self.lock_seconds = app, queue, lock_seconds
        self.redis = queue.redis
        self.token = uuid.uuid4().hex
        self.lock_key = f"{queue.name}:scheduler:leader"
        self.entries = schedule(app)

    def _last_key(self, task: str) -> str:
        return f"{self.queue.name}:scheduler:last:{task}"

    def lead(self) -> bool:
        """Take or keep the lock; True while this instance is the one scheduler."""
        if self.redis.set(self.lock_key, self.token, nx=True, ex=self.lock_seconds):
            log.info("Scheduler %s now leads", self.token[:8])
            return True
        return bool(self.redis.eval(_RENEW, 1, self.lock_key, self.token, self.lock_seconds))

    def release(self) -> None:
        if self.redis.get(self.lock_key) == self.token.encode():
            self.redis.delete(self.lock_key)

    def tick(self, now: float | None = None) -> list[str]:
        """Enqueue (or, `inline`, run) every job that is due, if this instance leads;
        returns their names."""
        if not self.lead():
            return []
        now = time.time() if now is None else now
        enqueued = []
        for entry in self.entries:
            key = self._last_key(entry.task)
            last = self.redis.get(key)
            if last is not None and now - float(last) < entry.every:
                continue
            job_id = f"{self.queue.name}-scheduled-{entry.task}"
            if entry.inline:
                self.redis.set(key, repr(now), ex=max(7 * 24 * 3600, 2 * entry.every))
                try:
                    getattr(tasks, entry.task)()
                    enqueued.append(entry.task)
                except Exception:
                    log.exception("Scheduled job %s failed", entry.task)
                continue
            waiting = self.queue.queue.fetch_job(job_id)
            if waiting is None or waiting.get_status(refresh=False) not in ("queued", "started"):
                self.queue.enqueue(entry.task, job_id=job_id, timeout=max(600, entry.every))
                enqueued.append(entry.task)
            self.redis.set(key, repr(now), ex=max(7 * 24 * 3600, 2 * entry.every))
        return enqueued



class InlineScheduler:
    """Without Redis: run the due jobs here, one after another (one instance only)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.entries = schedule(app)
        self.last: dict[str, float] = {}

    def tick(self, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        ran = []
        for entry in self.entries:
            if now - self.last.get(entry.task, float("-inf")) < entry.every:
                continue
            self.last[entry.task] = now
            try:
                getattr(tasks, entry.task)()
                ran.append(entry.task)
            except Exception:
                log.exception("Scheduled job %s failed", entry.task)
        return ran

    def release(self) -> None:
        pass


def run_forever(scheduler: Scheduler | InlineScheduler, *, interval: float = 1.0,
                stop: Callable[[], bool] = lambda: False) -> None:
    try:
        while not stop():
            try:
                done = scheduler.tick()
                if done:
                    log.info("Scheduled: %s", ", ".join(done))
            except Exception:  # Redis briefly away: try again next second
                log.exception("Scheduler tick failed")
            time.sleep(interval)
    finally:
        scheduler.release()
