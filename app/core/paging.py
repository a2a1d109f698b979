"""Paging shared by the pages and the API: one page of a select, and the query arguments
every list accepts.

Two ways: `paginate` (numbered pages: OFFSET, for the HTML pages and most API lists) and
`keyset_page` (an opaque cursor holding the last row's sort keys: page 200 costs what
page 1 costs, for lists that grow with the platform). Counting every matching row is what
makes big lists slow, so `count_rows` counts exactly only up to `EXACT_COUNT_LIMIT` and
otherwise answers PostgreSQL's planner estimate ("about N"). Where the planner expects
more rows than that bound, the rows are not counted at all: counting to the bound scans
thousands of rows (8 ms for an area filter at 50,000 listings, the page itself 0.3 ms) only to
answer the estimate anyway.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import datetime
from math import ceil

from marshmallow import Schema, fields, validate
from sqlalchemy import literal, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, ColumnElement, Executable
from sqlalchemy.sql.visitors import InternalTraversal

from app.core.limits import MAX_PAGE, MAX_PER_PAGE
from app.extensions import db

EXACT_COUNT_LIMIT = 1000
#: Planner estimates from here up skip the bounded count (see the module docstring). On the
#: benchmark's 50,000 listings the estimate of every filter and search was below the true
#: count (0.73-0.79 of it for broad ones), never above; a first page that ends early is
#: counted exactly whatever the estimate.
SKIP_COUNT_ESTIMATE = EXACT_COUNT_LIMIT


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int
    exact: bool = True
    # The page asked for when it lay beyond the last one and the last one is shown
    # instead (pages only: `paginate(..., clamp=True)`); None otherwise.
    requested: int | None = None

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page)) if self.per_page else 1


def paginate(statement, page: int, per_page: int, *, clamp: bool = False,
             bounded_count: bool = False) -> Page:
    """Run `statement` (a select of one entity) one page at a time.

    `clamp=True` (the web pages): a page beyond the last shows the last one, with
    `requested` set so the pager can say so, rather than an empty "page 999 of 4".
    The API does not clamp: a client walking pages until one comes back empty
    must see it empty. `bounded_count`: count with `count_rows` (exact up to a limit,
    else an estimate) rather than every row, in the page's own statement; an estimated
    total never clamps."""
    if bounded_count:
        return _page_with_bounded_count(statement, page, per_page, clamp)
    total = _count_all(statement)
    requested = None
    if clamp and per_page:
        last = max(1, ceil(total / per_page))
        if page > last:
            requested, page = page, last
    items = db.session.execute(
        statement.limit(per_page).offset((page - 1) * per_page)
    ).scalars().all() if total else []
    return Page(list(items), page, per_page, total, True, requested)


def _page_with_bounded_count(statement, page: int, per_page: int, clamp: bool) -> Page:
    """One statement for the page and its bounded count (a scalar subquery beside the rows)
    instead of a count and then the page: one round trip fewer on every page with rows.
    At 50,000 listings a broad ranked search's `/market` miss took 51–57 ms against
    60–70 ms (in-process, fastest of 9, two alternating runs). Counted apart only when a
    page past the first comes back empty: beyond the last page (then clamped), or empty."""
    count = _bounded_count(statement)
    counted = statement.add_columns(count.column)
    rows = db.session.execute(
        counted.limit(per_page).offset((page - 1) * per_page)).all() if per_page else []
    if rows:
        if page == 1 and len(rows) < per_page:
            total, exact = len(rows), True  # the one page there is
        else:
            total, exact = count.result(statement, rows[0][1])
        return Page([row[0] for row in rows], page, per_page, total, exact)
    if page == 1 and per_page:
        return Page([], 1, per_page, 0, True)  # an empty first page: nothing matches
    total, exact = count_rows(statement)
    last = max(1, ceil(total / per_page)) if per_page else 1
    if not (clamp and exact and page > last):
        return Page([], page, per_page, total, exact)
    items = db.session.execute(
        statement.limit(per_page).offset((last - 1) * per_page)).scalars().all() if total else []
    return Page(list(items), last, per_page, total, exact, requested=page)


def count_rows(statement) -> tuple[int, bool]:
    """(count, exact): exact when at most EXACT_COUNT_LIMIT rows match (a bounded scan) or on
    SQLite (the embedded, small default); otherwise PostgreSQL's planner estimate."""
    count = _bounded_count(statement)
    return count.result(statement, db.session.execute(db.select(count.column)).scalar_one())


def _count_all(statement) -> int:
    return db.session.execute(
        db.select(db.func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()


@dataclass(frozen=True)
class _BoundedCount:
    """count_rows' query as a column (a scalar subquery, also carried along with a page):
    exact on SQLite; on PostgreSQL bounded, or not run at all when the planner expects more
    rows than the bound (then `column` is the constant bound + 1 and `estimate` that
    expectation, which answers the count)."""

    column: ColumnElement
    estimate: int | None = None

    def result(self, statement, bounded: int) -> tuple[int, bool]:
        """(count, exact) from what `column` gave: past the bound, PostgreSQL's estimate."""
        if db.session.get_bind().dialect.name != "postgresql" or bounded <= EXACT_COUNT_LIMIT:
            return bounded, True
        estimate = self.estimate
        if estimate is None:
            estimate = _planner_estimate(statement.order_by(None))
        return max(estimate, bounded), False


def _bounded_count(statement) -> _BoundedCount:
    plain = statement.order_by(None).options()
    if db.session.get_bind().dialect.name == "postgresql":
        estimate = _planner_estimate(plain)
        if estimate >= SKIP_COUNT_ESTIMATE:
            return _BoundedCount(literal(EXACT_COUNT_LIMIT + 1).label(None), estimate)
        plain = plain.limit(EXACT_COUNT_LIMIT + 1)
    return _BoundedCount(
        db.select(db.func.count()).select_from(plain.subquery()).scalar_subquery())


_ESTIMATES: dict[tuple, tuple[float, int]] = {}
ESTIMATE_SECONDS = 60


def _planner_estimate(statement) -> int:
    """PostgreSQL's estimate of the rows `statement` returns, kept a minute per process
    (an estimate need not be fresher; planning it on every page would cost a round trip)."""
    key = _estimate_key(statement)
    now = time.monotonic()
    cached = _ESTIMATES.get(key)
    if cached and now - cached[0] < ESTIMATE_SECONDS:
        return cached[1]
    plan = db.session.execute(_ExplainJson(statement), execution_options={
        # One JSON column, not the select's: its columns must not be matched to the row.
        "_result_disable_adapt_to_context": True}).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    if len(_ESTIMATES) > 500:
        _ESTIMATES.clear()
    _ESTIMATES[key] = (now, int(plan[0]["Plan"]["Plan Rows"]))
    return _ESTIMATES[key][1]


class _ExplainJson(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <select>`, cached by SQLAlchemy like the select itself:
    compiling the ORM select afresh for every estimate cost ~7 ms of Python, more than
    the rest of a list request."""

    inherit_cache = True
    _traverse_internals = [("statement", InternalTraversal.dp_clauseelement)]

    def __init__(self, statement):
        self.statement = statement


@compiles(_ExplainJson, "postgresql")
def _compile_explain(element, compiler, **kw):
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def _estimate_key(statement) -> tuple:
    """The statement's shape and parameter values. SQLAlchemy's cache key, not the
    compiled SQL: compiling an ORM select costs more Python (~5 ms) than the rest of a
    list request, and the key is what SQLAlchemy itself looks its compiled cache up by."""
    cache_key = statement._generate_cache_key()
    if cache_key is None:  # an uncacheable construct: the SQL text is the key
        compiled = statement.compile(dialect=db.session.get_bind().dialect)
        return str(compiled), repr(sorted(compiled.params.items()))
    return cache_key.key, repr([param.effective_value for param in cache_key.bindparams])


# --- keyset (cursor) pages -----------------------------------------------------------------

class BadCursor(ValueError):
    """The cursor was not made by this list (or was altered)."""


@dataclass
class CursorPage:
    items: list
    per_page: int
    total: int
    exact: bool
    next_cursor: str | None
    prev_cursor: str | None
    page: int | None = None

    @property
    def pages(self) -> int | None:
        if not self.exact:
            return None
        return max(1, ceil(self.total / self.per_page)) if self.per_page else 1


def encode_cursor(values: list, direction: str) -> str:
    plain = [{"t": value.isoformat()} if isinstance(value, datetime) else value
             for value in values]
    raw = json.dumps({"k": plain, "d": direction}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> tuple[list, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        direction, keys = data["d"], data["k"]
        if direction not in ("n", "p") or not isinstance(keys, list) or len(keys) != size:
            raise BadCursor
        values = [datetime.fromisoformat(key["t"]) if isinstance(key, dict) else key
                  for key in keys]
    except (BadCursor, ValueError, TypeError, KeyError, AttributeError, binascii.Error,
            UnicodeDecodeError) as exc:
        raise BadCursor("The cursor is not one this list gave out.") from exc
    return values, direction


def _fits(key, value) -> bool:
    """`value` is of the key's type (and a number the database can compare)."""
    expected = key.type.python_type
    if isinstance(value, bool):
        return False
    if expected is datetime:
        return isinstance(value, datetime)
    if expected is float and isinstance(value, int | float):
        return value == value and abs(value) < 1e300
    return expected is int and isinstance(value, int) and abs(value) < 2**62


def keyset_page(statement, keys: list, per_page: int, *, cursor: str | None = None,
                page: int = 1) -> CursorPage:
    """One page of `statement`, ordered by `keys` (all descending, the last unique). With
    `cursor`, the page after (or before) the row it names; without, numbered `page` (an
    OFFSET, for the first pages). Raises BadCursor."""
    # The bounded count rides along as an uncorrelated subquery (computed once): one
    # round trip for the page and its count.
    count = _bounded_count(statement)
    selected = statement.add_columns(count.column.label("bounded_total"), *keys)
    direction = "n"
    if cursor:
        values, direction = decode_cursor(cursor, len(keys))
        if not all(_fits(key, value) for key, value in zip(keys, values, strict=True)):
            raise BadCursor("The cursor is not one this list gave out.")
        bound = tuple_(*(literal(value, key.type)
                         for key, value in zip(keys, values, strict=True)))
        if direction == "n":
            selected = selected.where(tuple_(*keys) < bound)
        else:
            selected = selected.where(tuple_(*keys) > bound).order_by(None).order_by(
                *(key.asc() for key in keys))
    elif page > 1:
        selected = selected.offset((page - 1) * per_page)
    rows = db.session.execute(selected.limit(per_page + 1)).all()
    if rows and not cursor and page == 1 and len(rows) <= per_page:
        total, exact = len(rows), True  # the one page there is
    elif rows:
        total, exact = count.result(statement, rows[0][1])
    elif not cursor and page == 1:
        total, exact = 0, True  # the first page is empty: nothing matches
    else:
        total, exact = count_rows(statement)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if direction == "p":
        rows.reverse()
    items = [row[0] for row in rows]
    first, last = (list(rows[0][2:]), list(rows[-1][2:])) if rows else (None, None)
    if direction == "n":
        next_cursor = encode_cursor(last, "n") if more else None
        prev_cursor = encode_cursor(first, "p") if first and (cursor or page > 1) else None
    else:
        prev_cursor = encode_cursor(first, "p") if more else None
        next_cursor = encode_cursor(last, "n") if last else None
    return CursorPage(items, per_page, total, exact, next_cursor, prev_cursor,
                      page=None if cursor else page)


class PageArgs(Schema):
    """Query arguments every list endpoint accepts."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class CursorPageArgs(PageArgs):
    """Lists paged by cursor also take the cursor of a previous answer's links."""

    cursor = fields.String(validate=validate.Length(min=1, max=1000), metadata={
        "description": "From `links.next` / `links.prev` of a previous answer; when given, "
                       "`page` is ignored."})
