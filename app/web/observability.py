"""Request ids, one JSON log line per request, and trusting the proxy in front.

Every request gets an id: the caller's `X-Request-ID` when it is sane (a load
balancer or another service already named the request), else a fresh one. It is
echoed in the response's `X-Request-ID`, carried in `g.request_id`, and written in
the request's log line, so one id follows a request through proxy, gunicorn's access
log and the app's log.

The request log is the `app.requests` logger: one JSON object per line on stdout
(method, path, status, duration in milliseconds, user id, request id, remote address).
Tests read it through pytest's log capture; it adds its stdout handler only outside
testing.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, current_app, g, request
from flask.logging import default_handler
from werkzeug.middleware.proxy_fix import ProxyFix

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a little punctuation, at most 128 characters: enough for UUIDs and
# the ids load balancers make, nothing that could forge a log line or a header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# Probes from a load balancer or orchestrator: logged at DEBUG, not once a second at INFO.
_PROBES = frozenset({"/healthz", "/readyz"})

request_log = logging.getLogger("app.requests")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, and any `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def trust_proxies(app: Flask) -> None:
    """Honour X-Forwarded-For/-Proto/-Host from PROXY_FIX_X_FOR trusted hops (0: none).

    Off by default: without a proxy that overwrites them, those headers are whatever
    the client wrote, and the login limits count failures by `request.remote_addr`.
    """
    hops = int(app.config.get("PROXY_FIX_X_FOR", 0) or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")), logging.INFO)
    request_log.setLevel(level)
    app.logger.setLevel(level)
    if app.testing:
        return  # pytest's capture reads the records; no stdout handler in the tests' output
    # Flask's own handler writes plain text to stderr: one format, one stream is enough.
    app.logger.removeHandler(default_handler)
    for logger in (request_log, app.logger):
        if not any(getattr(h, "_common_currency", False) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stdout)
            handler.setFormatter(JsonFormatter())
            handler._common_currency = True  # type: ignore[attr-defined]
            logger.addHandler(handler)
        logger.propagate = False


def request_id() -> str:
    return getattr(g, "request_id", "") or ""


def init_app(app: Flask) -> None:
    _configure_logging(app)

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def _finish(response):
        rid = request_id() or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = rid
        if current_app.config.get("REQUEST_LOG", True):
            _log_request(response.status_code, rid)
        return response


def _current_user_id() -> int | None:
    # Read what this request already loaded; never query the database for a log line.
    # The identity key, not `user.id`: after the commit the user is expired, and reading
    # an attribute would reload it (a query per request, for a log line).
    from sqlalchemy import inspect

    user = g.get("_login_user")
    state = inspect(user, raiseerr=False) if user is not None else None
    if state is None or not state.identity:
        return None
    return state.identity[0]


def _log_request(status: int, rid: str) -> None:
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started else None
    fields = {
        "method": request.method,
        "path": request.path,
        "status": status,
        "duration_ms": duration,
        "user_id": _current_user_id(),
        "request_id": rid,
        "remote_addr": request.remote_addr,
    }
    level = logging.DEBUG if request.path in _PROBES and status == 200 else logging.INFO
    request_log.log(level, "%s %s %s", request.method, request.path, status,
                    extra={"fields": fields})
