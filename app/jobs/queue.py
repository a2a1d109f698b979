"""The job queue: RQ on the Redis at REDIS_URL, one named queue (JOB_QUEUE).

Jobs are enqueued by import path (`app.jobs.tasks.<name>`) with plain arguments, so a
worker on another machine needs only the same code and settings. A matching run's job
id is derived from the run's id, so enqueuing the same run twice yields one job.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue

TASKS = "app.jobs.tasks"


def connection(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def job_timeout(time_limit: int) -> int:
    """Seconds RQ allows a matching job before killing it: far above the solver's own
    limit (reading the market and writing thousands of proposals take time too)."""
    return 2 * int(time_limit) + 1800


class JobQueue:
    """The app's queue, kept in `app.extensions["job_queue"]`."""

    def __init__(self, app: Flask) -> None:
        self.url = app.config["REDIS_URL"]
        self.name = app.config.get("JOB_QUEUE", "common-currency")
        self.redis = connection(self.url)
        self.queue = Queue(self.name, connection=self.redis)

    def enqueue(self, task: str, *args: Any, job_id: str | None = None,
                timeout: int = 600) -> Any:
        """Put `app.jobs.tasks.<task>(*args)` on the queue. Job ids start with the queue's
        name, so every key of this queue's jobs in Redis names it."""
        job_id = job_id or f"{self.name}-{task}-{uuid.uuid4().hex}"
        return self.queue.enqueue(f"{TASKS}.{task}", *args, job_id=job_id,
                                  job_timeout=timeout, result_ttl=24 * 3600,
                                  failure_ttl=7 * 24 * 3600,
                                  description=f"{task}{args if args else ''}")

    def enqueue_email_delivery(self) -> Any:
        """Queue one `send_emails` job unless one is already waiting (it will send every
        email due when it runs, including those queued after it was enqueued)."""
        job_id = f"{self.name}-send-emails"
        waiting = self.queue.fetch_job(job_id)
        if waiting is not None and waiting.get_status(refresh=False) == "queued":
            return waiting
        return self.enqueue("send_emails", job_id=job_id, timeout=600)

    def run_job_id(self, run_id: int) -> str:
        return f"{self.name}-matching-run-{run_id}"

    def enqueue_run(self, run_id: int, time_limit: int = 600) -> Any:
        """Queue matching run `run_id` (called once the request that queued it committed;
        the run's id is the job's only argument)."""
        return self.enqueue("run_matching", run_id, job_id=self.run_job_id(run_id),
                            timeout=job_timeout(time_limit))


def init_app(app: Flask) -> None:
    """Register the queue when REDIS_URL is set (connecting lazily, on first use)."""
    if app.config.get("REDIS_URL"):
        app.extensions["job_queue"] = JobQueue(app)
