"""Answers of `app.core.read_cache` shared between processes through Redis.

Each worker process keeps its own answers; with several workers each would read the same
answer from the database once for itself. `read_cache.remember` asks here, under the same
version, before it reads. Keys are named after the database (on PostgreSQL its address
and oid, a database created again gets a new one; on SQLite the file and its inode; an
in-memory database is never shared) and a digest of the app's code and templates, so two
databases or two releases never read each other's answers; a key with any part that is
not a plain value stays local. A failing Redis costs one warning and `RETRY_SECONDS` of
per-process answers, never an error.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

from flask import current_app
from redis import Redis, RedisError

from app.extensions import db

#: After a Redis failure, answers are kept per process only for this long.
RETRY_SECONDS = 30.0
#: Redis waits at most this long (seconds) before a read goes to the database instead.
TIMEOUT = 0.25
#: Larger answers are kept per process only.
MAX_BYTES = 512 * 1024

log = logging.getLogger(__name__)


class SharedAnswers:
    """Answers in Redis, under this database's and this code's namespace, each stored as
    (its key, the answer, its version, when it was read) and expiring with the local ones.
    Pickled, as the job queue's jobs are: this Redis is trusted like that one."""

    def __init__(self, redis: Redis, namespace: str, max_age: float):
        self.redis, self.namespace, self.max_age = redis, namespace, max_age
        self.retry_at = 0.0

    def _name(self, key) -> tuple[str, str] | None:
        encoded = _encode(key)
        if encoded is None:
            return None
        return self.namespace + hashlib.blake2b(encoded.encode(), digest_size=16).hexdigest(), \
            encoded

    def _down(self) -> bool:
        return time.monotonic() < self.retry_at

    def _failed(self, exc: Exception) -> None:
        if not self._down():
            log.warning("cached reads are kept per process for %.0f s: Redis failed (%s)",
                        RETRY_SECONDS, exc)
        self.retry_at = time.monotonic() + RETRY_SECONDS

    def get(self, key) -> tuple[Any, int, float] | None:
        """(answer, version, age in seconds), or None."""
        named = self._name(key)
        if named is None or self._down():
            return None
        try:
            data = self.redis.get(named[0])
        except RedisError as exc:
            self._failed(exc)
            return None
        if data is None:
            return None
        try:
            encoded, value, version, read_at = pickle.loads(data)
        except Exception:  # noqa: BLE001 - an unreadable entry is only a miss
            return None
        age = max(time.time() - read_at, 0.0)
        if encoded != named[1] or age > self.max_age:
            return None
        return value, version, age

    def put(self, key, value, version: int, age: float = 0.0) -> None:
        named = self._name(key)
        ttl = self.max_age - age
        if named is None or ttl <= 0 or self._down():
            return
        try:
            data = pickle.dumps((named[1], value, version, time.time() - age),
                                protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an answer that cannot be pickled stays local
            return
        if len(data) > MAX_BYTES:
            return
        try:
            self.redis.set(named[0], data, px=max(int(ttl * 1000), 1))
        except RedisError as exc:
            self._failed(exc)


def _encode(key) -> str | None:
    """A key as text that means the same in every process, or None when a part of it is
    not a plain value (its text could differ between processes, or collide)."""
    if key is None or isinstance(key, (bool, int, float)) and not isinstance(key, Enum):
        return repr(key)
    if isinstance(key, Enum):
        return _encode(key.value)
    if type(key) is str:
        return repr(key)
    if isinstance(key, date):
        return f"d{key.isoformat()}"
    if isinstance(key, (tuple, list)):
        parts = [_encode(part) for part in key]
        return None if None in parts else "(" + ",".join(parts) + ")"
    return None


def shared_answers(max_age: float) -> SharedAnswers | None:
    """This app's shared answers (kept at most `max_age` seconds), or None (no Redis
    configured, or an in-memory database)."""
    extensions = current_app.extensions
    if "read_cache_shared" not in extensions:
        url = current_app.config.get("READ_CACHE_REDIS_URL", "")
        database = _database_identity() if url else None
        shared: SharedAnswers | None = None
        if database is not None:
            namespace = "{}{}:".format(
                current_app.config.get("READ_CACHE_PREFIX", "cc:read:"),
                hashlib.blake2b(f"{database}|{_code_fingerprint()}".encode(),
                                digest_size=12).hexdigest())
            redis = Redis.from_url(url, socket_timeout=TIMEOUT,
                                   socket_connect_timeout=TIMEOUT)
            shared = SharedAnswers(redis, namespace, max_age)
        extensions["read_cache_shared"] = shared
    return extensions["read_cache_shared"]


def _database_identity() -> str | None:
    """What tells this database from any other: on PostgreSQL its address and oid (a
    database dropped and created again gets a new one), on SQLite the file and its inode."""
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        oid = db.session.execute(db.text(
            "SELECT oid FROM pg_database WHERE datname = current_database()")).scalar_one()
        return f"postgresql://{url.host}:{url.port}/{url.database}#{oid}"
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database).resolve()
        return f"sqlite://{path}#{os.stat(path).st_ino}" if path.exists() else None
    return None


_FINGERPRINT: str | None = None


def _code_fingerprint() -> str:
    """A digest of the app's code and templates: a release reads only its own answers."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        root = Path(__file__).resolve().parents[1]
        digest = hashlib.blake2b(digest_size=12)
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".html") and path.is_file():
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
        _FINGERPRINT = digest.hexdigest()
    return _FINGERPRINT
