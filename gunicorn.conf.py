"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app` (what
`make serve` runs). Every value can be changed from the environment.

Self-contained on purpose: it imports nothing from the app, so the master process
never holds the app's modules and `kill -HUP` reloads workers with fresh code.
"""

from __future__ import annotations

import json
import logging
import os
import time

from gunicorn.glogging import Logger

# Where to listen. Behind a reverse proxy on the same host the default is right; in a
# container use GUNICORN_BIND=0.0.0.0:8000.
bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")

# Worker processes. The web tier is CPU-bound (Python plus PostgreSQL on the same
# machine): more workers than cores only adds contention (see the scale issue's facts).
workers = int(os.environ.get("WEB_CONCURRENCY", os.environ.get("GUNICORN_WORKERS", 2)))
threads = int(os.environ.get("GUNICORN_THREADS", 1))

# A worker silent this long is killed and replaced. A matching run is still prepared
# inside the request (up to several seconds on a national market) until the job queue
# takes it over, so this is generous.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))

# Recycling workers bounds slow memory growth, but until runs move to the job queue a
# worker may be solving a matching run in a thread: recycling would kill it. Off unless
# asked for.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 50))

# Each worker builds its own app and its own database pool after the fork.
preload_app = False

# gunicorn's control socket (`gunicornc`) lives at one path per user: two instances on
# one machine would fight over it, and nothing here uses it.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "") == ""
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# The heartbeat file in memory: a slow or full disk must not make workers look dead.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# Logs: JSON lines on stdout (access) and stderr (gunicorn's own messages). The app
# writes its own JSON line per request (with the user id); the access line adds the
# bytes sent and the time gunicorn saw, and both carry the same request id.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + (
        f".{int(seconds % 1 * 1000):03d}Z")


class JsonLogger(Logger):
    """gunicorn's logger, writing one JSON object per line."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(_JsonErrorFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.cfg.accesslog:
            return
        headers = {name.lower(): value for name, value in (resp.headers or [])}
        duration = request_time.seconds * 1000 + request_time.microseconds / 1000
        entry = {
            "time": _iso(time.time()),
            "level": "info",
            "logger": "gunicorn.access",
            "remote_addr": environ.get("REMOTE_ADDR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": resp.status_code if hasattr(resp, "status_code") else None,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(duration, 1),
            "request_id": headers.get("x-request-id"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        try:
            self.access_log.info(json.dumps(entry))
        except Exception:  # a log line must never fail a request
            self.exception("Failed to write the access log")


class _JsonErrorFormatter(logging.Formatter):
    def format(self, record) -> str:
        entry = {"time": _iso(record.created), "level": record.levelname.lower(),
                 "logger": "gunicorn.error", "pid": record.process,
                 "message": record.getMessage()}
        if record.exc_info:
            import traceback

            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry)


logger_class = JsonLogger


def post_worker_init(worker) -> None:
    """Warm each worker up before it takes requests, then keep the garbage collector out
    of their way (app/web/warmup.py). Imported here, in the worker, so the master still
    never holds the app's modules. `worker.wsgi` is the app, or a dispatcher whose default
    `app` it is (bench/web_wsgi.py)."""
    from flask import Flask

    from app.web.warmup import settle_garbage_collection, warm_up

    app = getattr(worker.wsgi, "app", worker.wsgi)
    if isinstance(app, Flask):
        warm_up(app)
        settle_garbage_collection()
