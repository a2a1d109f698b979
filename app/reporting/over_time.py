"""Exchanges over time: completed exchanges and value exchanged per calendar month (UTC),
for the whole market or one organisation, read from the ledger's trade entries.

An exchange counts in the month its entries were recorded (all of an exchange's
entries share one timestamp: the moment it completed). One grouped query,
whatever the ledger's size; empty months are included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from app.core.clock import today
from app.core.errors import Forbidden, NotFound
from app.extensions import db
from app.ledger.models import EntryKind, LedgerEntry
from app.market.models import Organisation
from app.reporting.trust import ZERO, money, sees_everything


@dataclass
class MonthFigures:
    """Completed exchanges in one calendar month (UTC), read from the trade entries.

    An exchange counts in the month its entries were recorded (all of a
    proposal's entries share one timestamp: the moment it completed). Values
    are those of the trade entries; a later reversal shows in the ledger and
    the net figures, not here.
    """

    month: date  # the first day of the month
    exchanges: int = 0  # distinct exchanges completed that month
    value: Decimal = ZERO  # value of every leg recorded that month
    given: Decimal = ZERO  # with an organisation: the value it gave that month
    received: Decimal = ZERO  # … and the value it received


def month_starts(months: int, until: date | None = None) -> list[date]:
    """The first days of the `months` calendar months ending with `until`'s, oldest first."""
    until = until or today()
    year, month = until.year, until.month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _month_key(column):
    """SQL giving 'YYYY-MM' of a timestamp column, in this database's dialect."""
    if db.session.get_bind().dialect.name == "postgresql":
        return db.func.to_char(column, "YYYY-MM")
    return db.func.strftime("%Y-%m", column)


def exchanges_by_month(organisation_id: int | None = None, *, months: int = 12,
                       until: date | None = None) -> list[MonthFigures]:
    """Exchanges completed and value exchanged per month, for the `months` calendar
    months ending with `until`'s (default: this month), empty months included.

    With `organisation_id`, only the exchanges that organisation gave or
    received in, with its value given and received. No access check: see
    `exchanges_over_time_view`. One grouped query, whatever the ledger's size.
    """
    starts = month_starts(months, until)
    last = starts[-1]
    end = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    e = LedgerEntry
    key = _month_key(e.recorded_at).label("month")
    zero = db.literal(0)
    statement = (
        db.select(
            key,
            db.func.count(db.distinct(e.proposal_id)),
            db.func.sum(e.value),
            db.func.sum(db.case((e.giver_id == organisation_id, e.value), else_=zero)),
            db.func.sum(db.case((e.receiver_id == organisation_id, e.value), else_=zero)),
        )
        .where(e.kind == EntryKind.TRADE,
               e.recorded_at >= datetime.combine(starts[0], datetime.min.time()),
               e.recorded_at < datetime.combine(end, datetime.min.time()))
        .group_by(key)
    )
    if organisation_id is not None:
        statement = statement.where(
            db.or_(e.giver_id == organisation_id, e.receiver_id == organisation_id))
    rows = {month: (n, value, given, received)
            for month, n, value, given, received in db.session.execute(statement).all()}
    figures = []
    for start in starts:
        n, value, given, received = rows.get(start.strftime("%Y-%m"), (0, 0, 0, 0))
        figures.append(MonthFigures(
            month=start, exchanges=int(n), value=money(value),
            given=money(given) if organisation_id is not None else ZERO,
            received=money(received) if organisation_id is not None else ZERO))
    return figures


def exchanges_over_time_view(actor, organisation_id: int | None = None, *, months: int = 12,
                             until: date | None = None) -> list[MonthFigures]:
    """`exchanges_by_month` as `actor` may see it: the whole market for
    coordinators, auditors and admins; one organisation's months for those
    roles and for that organisation's own members (whom it traded with and
    how much is not part of its public reputation)."""
    if not sees_everything(actor) and actor.organisation_id != organisation_id:
        raise Forbidden("Members see only their own organisation's exchanges over time.")
    if organisation_id is not None and db.session.get(Organisation, organisation_id) is None:
        raise NotFound(f"No organisation {organisation_id}.")
    return exchanges_by_month(organisation_id, months=months, until=until)
