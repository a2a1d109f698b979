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
- Most changes to a market only *add* rows (a new listing), and most answers do not
  change when a row is added that they do not match. So a set can name one model whose
  new rows are *additions* (`watch(..., additive=Listing)`): a transaction that only
  inserts such rows logs their ids (`data_additions`) with the version it raised;
  anything else it changes marks the version as a *rewrite* (`DataVersion.rewritten`).
  An answer from an older version with only additions since can be kept when the
  caller shows that none of the added rows would change it (`remember(...,
  survives_additions=...)`: one small query instead of the full read). The log keeps
  `ADDITIONS_KEPT` versions; an answer older than that is read afresh.

Each process keeps its own answers. The names watched with `shared=True` (the market's)
also keep them in Redis when `READ_CACHE_REDIS_URL` is set (by default the job queue's
`REDIS_URL`), under the same version, so that a process without an answer of the current
version asks there before the database (`app.core.shared_answers`).

What is cached must not depend on who asks (the market reads a member sees are the
same for every member of the partnership), or be keyed by who asks (the unread count,
the signed-in user), and must be plain data, never ORM objects.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app
from sqlalchemy import delete, event, insert, update
from sqlalchemy.orm import Session

from app.core.clock import today as utc_today
from app.core.shared_answers import shared_answers
from app.extensions import db

MAX_ENTRIES = 2048
MAX_AGE_SECONDS = 60.0
#: Versions of additions logged: an answer more versions behind is read afresh.
ADDITIONS_KEPT = 500

#: table name → the version names its changes raise
_WATCHED: dict[str, set[str]] = {}
#: version name → the table whose inserted rows are additions (see the module docstring)
_ADDITIVE: dict[str, str] = {}
#: version names whose answers are shared between processes through Redis
_SHARED: set[str] = set()


class DataVersion(db.Model):
    """A change counter per watched set of tables (see the module docstring)."""

    __tablename__ = "data_versions"

    name = db.Column(db.String(40), primary_key=True)
    version = db.Column(db.BigInteger, nullable=False, default=0)
    #: the last version raised by a change that was not only additions
    rewritten = db.Column(db.BigInteger, nullable=False, default=0, server_default="0")


class DataAddition(db.Model):
    """A row added by the change that raised version `name` to `version` (pruned after
    `ADDITIONS_KEPT` versions)."""

    __tablename__ = "data_additions"

    name = db.Column(db.String(40), primary_key=True)
    version = db.Column(db.BigInteger, primary_key=True)
    row_id = db.Column(db.Integer, primary_key=True, autoincrement=False)


def watch(name: str, *models, additive=None, shared: bool = False) -> str:
    """Changes to these models' tables raise version `name` (a table may be watched under
    several names); inserted rows of `additive` (one of them) are logged as additions;
    `shared`: answers are shared between processes (see the module docstring).
    Returns the name."""
    for model in models:
        _WATCHED.setdefault(model.__table__.name, set()).add(name)
    if additive is not None:
        _ADDITIVE[name] = additive.__table__.name
    if shared:
        _SHARED.add(name)
    return name


def _current(name: str) -> tuple[int, int]:
    """(version, rewritten) of `name` for this transaction. Every name's row is read at
    once, once per transaction (a request is one): a page with cached reads under several
    names still makes one round trip for them."""
    versions = db.session.info.get("read_versions")
    if versions is None:
        versions = {row.name: (row.version, row.rewritten) for row in db.session.execute(
            db.select(DataVersion.name, DataVersion.version, DataVersion.rewritten))}
        db.session.info["read_versions"] = versions
    return versions.get(name, (0, 0))


def remember(name: str, key: Hashable, compute: Callable[[], Any], *,
             survives_additions: Callable[[Any], bool] | None = None) -> Any:
    """`compute()`, or the answer it gave for `key` under the current version of `name`.
    Exceptions are not remembered. The answer is shared: callers must not change it.
    A transaction that has itself changed `name`'s tables reads afresh: its own changes
    are not in any version yet.

    `survives_additions(added_ids)`, given a select of the ids of the rows added since an
    older answer, is True when none of them would change that answer; the answer is then
    kept for the current version too."""
    session = db.session()
    if _changes_pending(session, name):
        return compute()
    cache = _cache()
    version, rewritten = _current(name)
    full_key = (name, utc_today(), key)
    found = cache.get(full_key)
    outcome = "hits"
    shared = shared_answers(MAX_AGE_SECONDS) if name in _SHARED else None
    if shared is not None and (found is None or found[1] != version):
        other = shared.get(full_key)
        if other is not None and (found is None or other[1] > found[1]):
            value, stored, age = other
            cache.put(full_key, value, stored, age)
            found, outcome = (value, stored), "shared"
    if found is not None:
        value, stored = found
        if stored == version:
            cache.count(name, outcome)
            return value
        if (survives_additions is not None and rewritten <= stored < version
                and version - stored <= ADDITIONS_KEPT
                and survives_additions(_added_since(name, stored, version))):
            cache.restamp(full_key, version)
            if shared is not None:
                shared.put(full_key, value, version, cache.age(full_key))
            cache.count(name, "kept")
            return value
    cache.count(name, "misses")
    value = compute()
    cache.put(full_key, value, version)
    if shared is not None:
        shared.put(full_key, value, version)
    return value


def unaffected_by_additions(_added_ids) -> bool:
    """`survives_additions` for answers about rows that exist already (one listing, the
    rows of a page chosen by id): added rows are other rows, so they change nothing."""
    return True


def _added_since(name: str, stored: int, version: int):
    return db.select(DataAddition.row_id).where(
        DataAddition.name == name, DataAddition.version > stored,
        DataAddition.version <= version)


class _Entries:
    """A bounded, thread-safe LRU of key → (value, version, stored at) with a maximum age
    (from when the value was read, however often it is kept for a newer version)."""

    def __init__(self, size: int, max_age: float):
        self.size, self.max_age = size, max_age
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        #: version name → outcome → reads
        self.counts: dict[str, dict[str, int]] = {}

    def get(self, key) -> tuple[Any, int] | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or time.monotonic() - entry[2] > self.max_age:
                return None
            self.entries.move_to_end(key)
            return entry[0], entry[1]

    def put(self, key, value, version: int, age: float = 0.0) -> None:
        """Keep `value` (read `age` seconds ago, by this process or another)."""
        with self.lock:
            self.entries[key] = (value, version, time.monotonic() - age)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def age(self, key) -> float:
        with self.lock:
            entry = self.entries.get(key)
            return self.max_age if entry is None else time.monotonic() - entry[2]

    def restamp(self, key, version: int) -> None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None and entry[1] < version:
                self.entries[key] = (entry[0], version, entry[2])

    def count(self, name: str, outcome: str) -> None:
        with self.lock:
            counts = self.counts.setdefault(
                name, {"hits": 0, "shared": 0, "kept": 0, "misses": 0})
            counts[outcome] += 1


def _cache() -> _Entries:
    """This app's entries (one per app: tests build an app per database)."""
    cache = current_app.extensions.get("read_cache")
    if cache is None:
        cache = current_app.extensions.setdefault(
            "read_cache", _Entries(MAX_ENTRIES, MAX_AGE_SECONDS))
    return cache


def stats(*names: str, leaving_out: tuple[str, ...] = ()) -> dict:
    """This process's cache: answers served as stored (hits), served from another
    process's reads through Redis (shared), kept across additions (kept), read afresh
    (misses), summed over the reads kept under `names` (every name when none is given)
    but those in `leaving_out`; for benchmarks and logs."""
    cache = _cache()
    with cache.lock:
        counted = [counts for name, counts in cache.counts.items()
                   if (not names or name in names) and name not in leaving_out]
        totals = {outcome: sum(counts[outcome] for counts in counted)
                  for outcome in ("hits", "shared", "kept", "misses")}
        return {**totals, "entries": len(cache.entries)}


# --- noticing changes ----------------------------------------------------------------------

def _watched_names(objects) -> set[str]:
    return set().union(*(_WATCHED.get(obj.__table__.name, ()) for obj in objects
                         if hasattr(obj, "__table__")))


def _changes_pending(session: Session, name: str) -> bool:
    return name in session.info.get("changed_versions", ()) or name in _watched_names(
        (*session.new, *session.dirty, *session.deleted))


def _changed(session: Session, names, added: dict[str, list[int]] | None = None) -> None:
    """Record that `names` changed: by additions only (the ids in `added`) or not."""
    changes = session.info.setdefault("changed_versions", {})
    for name in names:
        ids = (added or {}).get(name)
        previous = changes.get(name, [])
        changes[name] = None if ids is None or previous is None else previous + ids


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    added: dict[str, list[int]] = {}
    rewritten: set[str] = set()
    for obj in session.new:
        table = getattr(getattr(obj, "__table__", None), "name", None)
        for name in _WATCHED.get(table, ()):
            if _ADDITIVE.get(name) == table:
                added.setdefault(name, []).append(obj.id)
            else:
                rewritten.add(name)
    # A row whose only change is a collection (an organisation gaining a listing through
    # the relationship's backref) is not written: it is no rewrite.
    changed = [obj for obj in session.dirty
               if session.is_modified(obj, include_collections=False)]
    rewritten |= _watched_names((*changed, *session.deleted))
    if added:
        _changed(session, set(added) - rewritten, added)
    if rewritten:
        _changed(session, rewritten)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    names = _WATCHED.get(getattr(table, "name", None))
    if names:
        _changed(state.session, names)


@event.listens_for(Session, "before_commit")
def _raise_versions(session: Session) -> None:
    session.flush()  # the last flush first: nothing waits on another lock after this
    changes = session.info.pop("changed_versions", None) or {}
    for name in sorted(changes):
        added = changes[name]
        # Rows are locked in name order by every writer; the counter's row lock also
        # orders the additions' log by commit.
        # One UPDATE raises the version and, for a rewrite, marks it (SET reads old values).
        raised = DataVersion.version + 1
        version = session.execute(
            update(DataVersion).where(DataVersion.name == name)
            .values(version=raised, rewritten=raised if added is None else DataVersion.rewritten)
            .returning(DataVersion.version)
        ).scalar_one_or_none()
        if version is None:
            version = 1
            session.execute(insert(DataVersion).values(name=name, version=1, rewritten=1))
        elif added is None:
            # Answers older than a rewrite are never kept: their additions are of no use.
            session.execute(delete(DataAddition).where(DataAddition.name == name))
        else:
            session.execute(insert(DataAddition), [
                {"name": name, "version": version, "row_id": row_id}
                for row_id in sorted(set(added))])
            if version % 100 == 0:  # pruned now and then, not on every commit
                session.execute(delete(DataAddition).where(
                    DataAddition.name == name,
                    DataAddition.version <= version - ADDITIONS_KEPT))


@event.listens_for(Session, "after_commit")
def _forget_versions(session: Session) -> None:
    session.info.pop("read_versions", None)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop("changed_versions", None)
    session.info.pop("read_versions", None)
