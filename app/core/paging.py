"""Paging shared by the pages and the API: one page of a select, and the query arguments
every list accepts."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from marshmallow import Schema, fields, validate

from app.core.limits import MAX_PAGE, MAX_PER_PAGE
from app.extensions import db


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int
    # The page asked for when it lay beyond the last one and the last one is shown
    # instead (pages only: `paginate(..., clamp=True)`); None otherwise.
    requested: int | None = None

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page)) if self.per_page else 1


def paginate(statement, page: int, per_page: int, *, clamp: bool = False) -> Page:
    """Run `statement` (a select of one entity) one page at a time.

    `clamp=True` (the web pages): a page beyond the last shows the last one, with
    `requested` set so the pager can say so, rather than an empty "page 999 of 4".
    The API does not clamp: a client walking pages until one comes back empty
    must see it empty."""
    total = db.session.execute(
        db.select(db.func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()
    requested = None
    if clamp and per_page:
        last = max(1, ceil(total / per_page))
        if page > last:
            requested, page = page, last
    items = db.session.execute(
        statement.limit(per_page).offset((page - 1) * per_page)
    ).scalars().all()
    return Page(list(items), page, per_page, total, requested)


class PageArgs(Schema):
    """Query arguments every list endpoint accepts."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))
