"""Job-queue fixtures: a real Redis (127.0.0.1:6379, database 14, keys named after a
per-test token and deleted afterwards) and real RQ workers run in-process.

Without a reachable Redis these tests skip locally with the reason, and fail when the
environment variable CI is set: CI must run them (.ci/run starts Redis).
"""

from __future__ import annotations

import os
import uuid

import pytest
from redis import Redis
from rq import SimpleWorker

from app.jobs import queue as job_queue
from tests.ledger.conftest import coordinator, make_exchange  # noqa: F401
from tests.proposals.helpers import market_fixture  # noqa: F401

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it means the same
        message = (f"Redis is not reachable at {TEST_REDIS_URL} ({exc}); the job-queue "
                   "tests need a real Redis (start one: redis-server --daemonize yes "
                   "--bind 127.0.0.1 --port 6379 --save '' --appendonly no)")
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must run these tests", pytrace=False)
        pytest.skip(message)
    return TEST_REDIS_URL


@pytest.fixture
def queued_app(app, redis_url):
    """The test app with a job queue of its own on the real Redis."""
    token = f"cc-test-{uuid.uuid4().hex[:12]}"
    app.config.update(REDIS_URL=redis_url, JOB_QUEUE=token)
    job_queue.init_app(app)
    queue = app.extensions["job_queue"]
    yield app
    app.extensions.pop("job_queue", None)
    for key in queue.redis.scan_iter(f"*{token}*"):  # jobs, results, registries, workers
        queue.redis.delete(key)
    queue.redis.srem("rq:queues", f"rq:queue:{token}")
    queue.redis.close()


@pytest.fixture
def work(queued_app):
    """work() runs a real RQ worker in this process until the queue is empty."""
    queue = queued_app.extensions["job_queue"]

    def run(max_jobs: int | None = None) -> SimpleWorker:
        worker = SimpleWorker([queue.queue], connection=queue.redis,
                              name=f"{queue.name}-worker-{uuid.uuid4().hex[:6]}")
        worker.work(burst=True, max_jobs=max_jobs)
        return worker

    return run
