"""`flask jobs …`: the worker, the scheduler, and running a scheduled job by hand.

    flask jobs worker [--burst] [--name NAME]   # RQ worker on JOB_QUEUE at REDIS_URL
    flask jobs scheduler [--once]               # enqueue scheduled work (one leads)
    flask jobs run NAME                         # run one job now, in this process
"""

from __future__ import annotations

import json
import logging
import os
import socket

import click
from flask import current_app
from flask.cli import with_appcontext

from app.jobs import scheduler as scheduling
from app.jobs import tasks


def _queue():
    queue = current_app.extensions.get("job_queue")
    if queue is None:
        raise click.ClickException("REDIS_URL is not set: there is no job queue to work on "
                                   "(without it, background runs use threads of the web "
                                   "worker).")
    return queue


@click.group("jobs")
def jobs_group() -> None:
    """The job queue: worker, scheduler, scheduled jobs."""


@jobs_group.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--name", default=None, help="Worker name (default: host.pid); it is shown on "
              "the run page.")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """Run jobs from the queue (matching runs, scheduled work) until stopped.

    Start as many as you like, on as many machines: each job goes to one worker."""
    from app.jobs.worker import AppWorker

    queue = _queue()
    name = name or f"{socket.gethostname()}.{os.getpid()}"
    logging.getLogger("rq.worker").setLevel(current_app.config.get("LOG_LEVEL", "INFO"))
    worker = AppWorker([queue.queue], connection=queue.redis, name=name)
    worker.work(burst=burst, logging_level=current_app.config.get("LOG_LEVEL", "INFO"))


@jobs_group.command("scheduler")
@click.option("--once", is_flag=True, help="Do what is due now, then stop.")
@with_appcontext
def scheduler_command(once: bool) -> None:
    """Run the scheduled jobs when due: with REDIS_URL by enqueuing them (only the
    instance holding the lock does), else by running them here."""
    app = current_app._get_current_object()
    queue = app.extensions.get("job_queue")
    scheduler = (scheduling.Scheduler(app, queue) if queue is not None
                 else scheduling.InlineScheduler(app))
    if once:
        done = scheduler.tick()
        scheduler.release()
        click.echo(f"Scheduled: {', '.join(done) or 'nothing (not due, or not leading)'}")
        return
    click.echo("Scheduler started: " + ", ".join(
        f"{e.task} every {e.every} s" for e in scheduler.entries))
    scheduling.run_forever(scheduler)


@jobs_group.command("run")
@click.argument("name", type=click.Choice(
    ["check_runs", "expire_due_work", "prune_idempotency_records", "anchor_ledger",
     "send_reminders", "send_emails", "send_digests", "verify_ledger"]))
@with_appcontext
def run_command(name: str) -> None:
    """Run one scheduled job now, in this process (what cron would call without Redis)."""
    result = getattr(tasks, name)()
    click.echo(json.dumps({"job": name, "result": result}, default=str))


COMMANDS = [jobs_group]
