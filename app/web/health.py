"""Probes for load balancers and orchestrators.

`/healthz`: the process is alive and answering (touches nothing else), for a liveness
check that restarts a hung worker. `/readyz`: this instance can serve traffic — the
database answers, its schema is at the migrations' head (a deploy that skipped
`flask db upgrade` is not ready), and Redis answers when `REDIS_URL` is set — for a
readiness check that keeps traffic away until then. Both answer JSON, 200 or 503,
and are never cached.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import unquote, urlsplit

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("health", __name__)

REDIS_TIMEOUT_SECONDS = 2.0


def _answer(body: dict, ok: bool):
    response = jsonify(body)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    if not ok:
        response.headers["Retry-After"] = "5"
    return response


@bp.get("/healthz")
def healthz():
    return _answer({"status": "ok"}, True)


def _check_database() -> dict:
    """Reachable, and the schema's Alembic revision is the scripts' head."""
    directory = current_app.extensions["migrate"].directory
    expected = set(ScriptDirectory(directory).get_heads())
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # any failure to talk to the database means "not ready"
        return {"ok": False, "error": f"database unreachable: {type(exc).__name__}"}
    if current != expected:
        return {"ok": False, "error": "migrations not at head; run `flask db upgrade`",
                "revision": sorted(current), "head": sorted(expected)}
    return {"ok": True, "revision": sorted(current)}


def redis_ping(url: str, timeout: float = REDIS_TIMEOUT_SECONDS) -> None:
    """PING the Redis at `url`; raises OSError (or ValueError) unless it answers PONG.

    Uses the `redis` client when installed (TLS, sentinels…); otherwise speaks the two
    commands it needs over a plain socket, so the check needs no dependency.
    """
    try:
        import redis  # type: ignore[import-not-found]
    except ImportError:
        redis = None
    if redis is not None:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            if not client.ping():
                raise OSError("no PONG")
        except redis.RedisError as exc:
            raise OSError(str(exc)) from exc
        finally:
            client.close()
        return
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise ValueError(f"unsupported scheme {parts.scheme!r} without the redis package")
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379),
                                  timeout=timeout) as conn:
        if parts.password is not None:
            words = ([unquote(parts.username)] if parts.username else []) + [
                unquote(parts.password)]
            conn.sendall(_resp(["AUTH", *words]))
            if not _read_line(conn).startswith(b"+OK"):
                raise OSError("authentication refused")
        conn.sendall(_resp(["PING"]))
        if not _read_line(conn).startswith(b"+PONG"):
            raise OSError("no PONG")


def _resp(words: list[str]) -> bytes:
    out = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n") and len(data) < 512:
        chunk = conn.recv(512)
        if not chunk:
            break
        data += chunk
    return data


def _check_redis(url: str) -> dict:
    started = time.perf_counter()
    try:
        redis_ping(url)
    except (OSError, ValueError) as exc:
        return {"ok": False, "error": f"redis unreachable: {exc}"}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


@bp.get("/readyz")
def readyz():
    checks = {"database": _check_database()}
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = _check_redis(redis_url)
    ok = all(check["ok"] for check in checks.values())
    return _answer({"status": "ok" if ok else "unavailable", "checks": checks}, ok)
