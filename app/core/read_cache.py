"""Answers to busy reads kept in memory for as long as the data under them is unchanged.

Browsing the market is read hundreds of times for every write, and the same searches and
filters come back again and again; a ranked text search over 50,000 listings costs the
database ~30 ms each time. So each worker process keeps recent answers, keyed by what was
asked and by the *version* of the data they were read from:

- A `DataVersion` row per watched set of tables ("market": listings, organisations,
  currencies) holds a counter. Any transaction that changes a watched table — through
  the ORM unit of work or a bulk UPDATE/DELETE/INSERT statement run by the session —
  raises the counter in the same transaction, just before it commits (after its last
  flush, so the row is locked for the commit only and cannot take part in a deadlock).
- A read asks for the current counter (one primary-key read per request, shared by
  every cached read of that request) and looks its answer up under it; after a change
  commits, every old answer is simply never asked for again and ages out.
- Answers also carry the date (expiry is read at query time) and live at most
  `MAX_AGE_SECONDS`, the bound on staleness for a change made outside the application
  (psql, a restored backup).

What is cached must not depend on who asks (the market reads a member sees are the
same for every member of the partnership) and must be plain data, never ORM objects.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app
from sqlalchemy import event, insert, update
from sqlalchemy.orm import Session

from app.core.clock import today as utc_today
from app.extensions import db

MAX_ENTRIES = 2048
MAX_AGE_SECONDS = 60.0

#: table name → the version name its changes raise
_WATCHED: dict[str, str] = {}


class DataVersion(db.Model):
    """A change counter per watched set of tables (see the module docstring)."""

    __tablename__ = "data_versions"

    name = db.Column(db.String(40), primary_key=True)
    version = db.Column(db.BigInteger, nullable=False, default=0)


def watch(name: str, *models) -> str:
    """Changes to these models' tables raise version `name`. Returns the name."""
    for model in models:
        _WATCHED[model.__table__.name] = name
    return name


def current_version(name: str) -> int:
    """The version of `name` this transaction reads under (asked once per transaction: a
    request is one)."""
    versions = db.session.info.setdefault("read_versions", {})
    if name not in versions:
        versions[name] = db.session.execute(
            db.select(DataVersion.version).where(DataVersion.name == name)
        ).scalar_one_or_none() or 0
    return versions[name]


def remember(name: str, key: Hashable, compute: Callable[[], Any]) -> Any:
    """`compute()`, or the answer it gave for `key` under the current version of `name`.
    Exceptions are not remembered. The answer is shared: callers must not change it.
    A transaction that has itself changed `name`'s tables reads afresh: its own changes
    are not in any version yet."""
    session = db.session()
    if _changes_pending(session, name):
        return compute()
    cache = _cache()
    full_key = (name, current_version(name), utc_today(), key)
    found = cache.get(full_key)
    if found is not _MISSING:
        return found
    value = compute()
    cache.put(full_key, value)
    return value


class _Entries:
    """A bounded, thread-safe LRU of (key → value, stored at) with a maximum age."""

    def __init__(self, size: int, max_age: float):
        self.size, self.max_age = size, max_age
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or time.monotonic() - entry[1] > self.max_age:
                self.misses += 1
                return _MISSING
            self.entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key, value) -> None:
        with self.lock:
            self.entries[key] = (value, time.monotonic())
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_MISSING = object()


def _cache() -> _Entries:
    """This app's entries (one per app: tests build an app per database)."""
    cache = current_app.extensions.get("read_cache")
    if cache is None:
        cache = current_app.extensions.setdefault(
            "read_cache", _Entries(MAX_ENTRIES, MAX_AGE_SECONDS))
    return cache


def stats() -> dict:
    """Hits and misses of this process's cache (for benchmarks and logs)."""
    cache = _cache()
    return {"hits": cache.hits, "misses": cache.misses, "entries": len(cache.entries)}


# --- noticing changes ----------------------------------------------------------------------

def _watched_names(objects) -> set[str]:
    names = {_WATCHED.get(obj.__table__.name) for obj in objects if hasattr(obj, "__table__")}
    names.discard(None)
    return names


def _changes_pending(session: Session, name: str) -> bool:
    return name in session.info.get("changed_versions", ()) or name in _watched_names(
        (*session.new, *session.dirty, *session.deleted))


def _changed(session: Session, names) -> None:
    session.info.setdefault("changed_versions", set()).update(names)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    names = _watched_names((*session.new, *session.dirty, *session.deleted))
    if names:
        _changed(session, names)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = _WATCHED.get(getattr(table, "name", None))
    if name:
        _changed(state.session, {name})


@event.listens_for(Session, "before_commit")
def _raise_versions(session: Session) -> None:
    session.flush()  # the last flush first: nothing waits on another lock after this
    names = session.info.pop("changed_versions", None)
    for name in sorted(names or ()):
        raised = session.execute(update(DataVersion).where(DataVersion.name == name)
                                 .values(version=DataVersion.version + 1))
        if raised.rowcount == 0:
            session.execute(insert(DataVersion).values(name=name, version=1))


@event.listens_for(Session, "after_commit")
def _forget_versions(session: Session) -> None:
    session.info.pop("read_versions", None)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop("changed_versions", None)
    session.info.pop("read_versions", None)
