"""The RQ worker, with the app: `flask jobs worker`.

RQ forks a work horse per job (the run's memory — up to ~2 GB at national scale — is
given back when it exits); the horse inherits the app context but must not share the
parent's database connections, so it drops its copy of the pool first. Several
workers, on one machine or many, share the queue: each job goes to exactly one.
"""

from __future__ import annotations

from rq import Worker

from app.extensions import db


class AppWorker(Worker):
    """An RQ worker whose work horses open their own database connections."""

    def main_work_horse(self, *args, **kwargs):
        # The forked child holds copies of the parent's pooled connections; using them
        # from two processes would corrupt both. Forget them (without closing the
        # parent's sockets) and let the child open its own.
        db.engine.dispose(close=False)
        return super().main_work_horse(*args, **kwargs)
