"""Trust figures computed from the ledger and the proposal history.

Definitions (also in the README, "Trust figures"):

* **exchanges completed** — distinct proposals with a trade entry the
  organisation gave or received. Every completed proposal has exactly one trade
  entry per leg, so this equals the number of completed proposals it took part
  in. A reversal corrects a recorded leg; it does not un-complete the exchange.
* **distinct partners** — other organisations that took part in those exchanges.
* **value given / received per currency** — sums of the entries' `value` and
  `quantity` where the organisation is giver / receiver, reversals included
  (a reversal carries the negated value, so a reversed entry nets to zero).
* **reciprocity balance** — total value given − total value received, in market
  credits: positive means the organisation has given the network more than it
  received; `reciprocity` = min / max of the two (1.0 = perfectly balanced).
* **completion rate** — of the exchanges it *agreed* to (reached `agreed`),
  the share that *completed*, smoothed as (completed + 1) / (agreed + 1) so an
  organisation with no history starts at 1.0. The raw share is shown too. This
  is the number the matcher's expected-completion term uses (`completion_rates`).
* **declines** — proposals this organisation declined; **cancellations** and
  **expiries** — proposals it took part in that were cancelled or expired.
* **last exchange** — time of its latest trade entry.
* **pair: exchanges completed together** — completed exchanges both took part
  in (for a three-way cycle A→B→C→A, each of the three pairs); plus the value
  each gave the other directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from app.core.clock import today
from app.core.errors import Forbidden, NotFound
from app.extensions import db
from app.ledger.models import EntryKind, LedgerEntry
from app.market.models import Organisation
from app.proposals.models import (
    Proposal,
    ProposalParticipant,
    ProposalStatus,
    ProposalTransition,
    Response,
)

ZERO = Decimal("0.00")


def agreement_counts(organisation_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(agreed, completed-of-agreed) per organisation, from the proposal history."""
    ids = list(set(organisation_ids))
    if not ids:
        return {}
    reached_agreed = (
        db.select(ProposalTransition.proposal_id)
        .where(ProposalTransition.to_status == ProposalStatus.AGREED)
        .distinct()
        .subquery()
    )
    rows = db.session.execute(
        db.select(
            ProposalParticipant.organisation_id,
            db.func.count(),
            db.func.sum(db.case((Proposal.status == ProposalStatus.COMPLETED, 1), else_=0)),
        )
        .join(Proposal, Proposal.id == ProposalParticipant.proposal_id)
        .join(reached_agreed, reached_agreed.c.proposal_id == Proposal.id)
        .where(ProposalParticipant.organisation_id.in_(ids))
        .group_by(ProposalParticipant.organisation_id)
    ).all()
    counts = {org_id: (0, 0) for org_id in ids}
    for org_id, agreed, completed in rows:
        counts[org_id] = (int(agreed), int(completed or 0))
    return counts


def smoothed_rate(agreed: int, completed: int) -> float:
    return (completed + 1) / (agreed + 1)


def completion_rates(organisation_ids: Iterable[int]) -> dict[int, float]:
    """Share of the exchanges each organisation agreed to that it completed.

    Smoothed as (completed + 1) / (agreed + 1): an organisation with no history
    gets the benefit of the doubt (1.0), and one failure among few agreements
    weighs more than among many. Every requested id gets a rate.
    """
    return {org_id: smoothed_rate(agreed, completed)
            for org_id, (agreed, completed) in agreement_counts(organisation_ids).items()}


# --- per organisation ------------------------------------------------------------------------


@dataclass
class CurrencyFlow:
    currency: str
    quantity_given: int = 0
    value_given: Decimal = ZERO
    quantity_received: int = 0
    value_received: Decimal = ZERO


@dataclass
class Partner:
    organisation_id: int
    name: str
    exchanges: int


@dataclass
class OrganisationTrust:
    """Every trust figure of one organisation (see the module docstring)."""

    organisation_id: int
    name: str
    exchanges_completed: int = 0
    distinct_partners: int = 0
    partners: list[Partner] = field(default_factory=list)
    flows: list[CurrencyFlow] = field(default_factory=list)
    total_given: Decimal = ZERO
    total_received: Decimal = ZERO
    agreed: int = 0
    completed: int = 0
    completion_rate: float = 1.0
    completion_share: float | None = None
    declines: int = 0
    cancellations: int = 0
    expiries: int = 0
    last_exchange: datetime | None = None
    entries_reversed: int = 0

    @property
    def reciprocity_balance(self) -> Decimal:
        return self.total_given - self.total_received

    @property
    def reciprocity(self) -> float | None:
        high = max(self.total_given, self.total_received)
        if high <= 0:
            return None
        return float(min(self.total_given, self.total_received) / high)

    @property
    def value_given(self) -> dict[str, Decimal]:
        return {f.currency: f.value_given for f in self.flows}

    @property
    def value_received(self) -> dict[str, Decimal]:
        return {f.currency: f.value_received for f in self.flows}


def _trade_proposals_of(org_id: int):
    """Subquery: proposal ids with a trade entry the organisation gave or received."""
    return (db.select(LedgerEntry.proposal_id)
            .where(LedgerEntry.kind == EntryKind.TRADE,
                   db.or_(LedgerEntry.giver_id == org_id, LedgerEntry.receiver_id == org_id))
            .distinct())


def organisation_trust(organisation: Organisation) -> OrganisationTrust:
    """All trust figures of `organisation` (no access check: callers decide what
    to show; see `public_view`)."""
    org_id = organisation.id
    figures = OrganisationTrust(organisation_id=org_id, name=organisation.name)
    e = LedgerEntry
    proposals = _trade_proposals_of(org_id)
    figures.exchanges_completed = db.session.execute(
        db.select(db.func.count()).select_from(proposals.subquery())).scalar_one()
    figures.last_exchange = db.session.execute(
        db.select(db.func.max(e.recorded_at)).where(
            e.kind == EntryKind.TRADE, db.or_(e.giver_id == org_id, e.receiver_id == org_id))
    ).scalar_one()

    flows: dict[str, CurrencyFlow] = {}
    for side in ("giver", "receiver"):
        column = e.giver_id if side == "giver" else e.receiver_id
        for code, quantity, value in db.session.execute(
            db.select(e.currency_code, db.func.sum(e.quantity), db.func.sum(e.value))
            .where(column == org_id).group_by(e.currency_code)
        ).all():
            flow = flows.setdefault(code, CurrencyFlow(code))
            if side == "giver":
                flow.quantity_given, flow.value_given = int(quantity), _money(value)
            else:
                flow.quantity_received, flow.value_received = int(quantity), _money(value)
    figures.flows = [flows[code] for code in sorted(flows)]
    figures.total_given = sum((f.value_given for f in figures.flows), ZERO)
    figures.total_received = sum((f.value_received for f in figures.flows), ZERO)

    involvement = _involvement()
    partner_rows = db.session.execute(
        db.select(Organisation.id, Organisation.name,
                  db.func.count(db.distinct(involvement.c.proposal_id)))
        .join(involvement, involvement.c.organisation_id == Organisation.id)
        .where(involvement.c.proposal_id.in_(proposals), Organisation.id != org_id)
        .group_by(Organisation.id, Organisation.name)
    ).all() if figures.exchanges_completed else []
    figures.partners = sorted((Partner(pid, name, int(n)) for pid, name, n in partner_rows),
                              key=lambda p: (-p.exchanges, p.name))
    figures.distinct_partners = len(figures.partners)

    agreed, completed = agreement_counts([org_id])[org_id]
    figures.agreed, figures.completed = agreed, completed
    figures.completion_rate = smoothed_rate(agreed, completed)
    figures.completion_share = completed / agreed if agreed else None
    figures.declines = db.session.execute(
        db.select(db.func.count()).select_from(ProposalParticipant)
        .where(ProposalParticipant.organisation_id == org_id,
               ProposalParticipant.response == Response.DECLINED)).scalar_one()
    closed = dict(db.session.execute(
        db.select(Proposal.status, db.func.count())
        .join(ProposalParticipant, ProposalParticipant.proposal_id == Proposal.id)
        .where(ProposalParticipant.organisation_id == org_id,
               Proposal.status.in_((ProposalStatus.CANCELLED, ProposalStatus.EXPIRED)))
        .group_by(Proposal.status)).all())
    figures.cancellations = int(closed.get(ProposalStatus.CANCELLED, 0))
    figures.expiries = int(closed.get(ProposalStatus.EXPIRED, 0))
    figures.entries_reversed = db.session.execute(
        db.select(db.func.count()).select_from(e)
        .where(e.kind == EntryKind.REVERSAL,
               db.or_(e.giver_id == org_id, e.receiver_id == org_id))).scalar_one()
    return figures


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _involvement():
    """(proposal_id, organisation_id) for every organisation giving or receiving
    in a trade entry: who took part in each completed exchange."""
    givers = db.select(LedgerEntry.proposal_id.label("proposal_id"),
                       LedgerEntry.giver_id.label("organisation_id")).where(
        LedgerEntry.kind == EntryKind.TRADE)
    receivers = db.select(LedgerEntry.proposal_id.label("proposal_id"),
                          LedgerEntry.receiver_id.label("organisation_id")).where(
        LedgerEntry.kind == EntryKind.TRADE)
    # union (not union all) removes duplicates: one row per participant.
    return db.union(givers, receivers).subquery("involvement")


# Fields a member may see of another organisation: its reputation, not its trades.
PUBLIC_FIELDS = ("organisation_id", "name", "exchanges_completed", "distinct_partners",
                 "agreed", "completed", "completion_rate", "completion_share", "declines",
                 "cancellations", "expiries", "last_exchange")


# --- pairs -----------------------------------------------------------------------------------


@dataclass
class PairTrust:
    a_id: int
    a_name: str
    b_id: int
    b_name: str
    exchanges: int = 0
    value_a_to_b: Decimal = ZERO
    value_b_to_a: Decimal = ZERO
    last_exchange: datetime | None = None


def pair_figures(organisation_id: int | None = None) -> list[PairTrust]:
    """Every pair of organisations that completed at least one exchange together
    (a < b by id), or only the pairs involving `organisation_id`; most
    exchanges first."""
    one = _involvement().alias("one")
    two = _involvement().alias("two")
    statement = (
        db.select(one.c.organisation_id, two.c.organisation_id,
                  db.func.count(db.distinct(one.c.proposal_id)))
        .join(two, db.and_(two.c.proposal_id == one.c.proposal_id,
                           one.c.organisation_id < two.c.organisation_id))
        .group_by(one.c.organisation_id, two.c.organisation_id)
    )
    if organisation_id is not None:
        statement = statement.where(db.or_(one.c.organisation_id == organisation_id,
                                           two.c.organisation_id == organisation_id))
    counts = {(a, b): int(n) for a, b, n in db.session.execute(statement).all()}
    if not counts:
        return []
    ids = {i for pair in counts for i in pair}
    names = dict(db.session.execute(
        db.select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())
    pairs = {key: PairTrust(key[0], names.get(key[0], "?"), key[1], names.get(key[1], "?"), n)
             for key, n in counts.items()}
    e = LedgerEntry
    flow = (db.select(e.giver_id, e.receiver_id, db.func.sum(e.value), db.func.max(e.recorded_at))
            .group_by(e.giver_id, e.receiver_id))
    if organisation_id is not None:
        flow = flow.where(db.or_(e.giver_id == organisation_id, e.receiver_id == organisation_id))
    for giver, receiver, value, last in db.session.execute(flow).all():
        key = (min(giver, receiver), max(giver, receiver))
        pair = pairs.get(key)
        if pair is None:
            continue
        if giver == pair.a_id:
            pair.value_a_to_b += _money(value)
        else:
            pair.value_b_to_a += _money(value)
        if last is not None and (pair.last_exchange is None or last > pair.last_exchange):
            pair.last_exchange = last
    return sorted(pairs.values(), key=lambda p: (-p.exchanges, p.a_name, p.b_name))


# --- for the proposal page -------------------------------------------------------------------


@dataclass
class HistorySummary:
    """What a coordinator or member reviewing a proposal sees of a participant."""

    organisation_id: int
    exchanges_completed: int
    agreed: int
    completed: int
    completion_rate: float
    declines: int
    cancellations: int
    last_exchange: datetime | None
    together: dict[int, int] = field(default_factory=dict)


def history_for(organisation_ids: Iterable[int]) -> dict[int, HistorySummary]:
    """A compact record per organisation plus, in `together`, how many
    exchanges it completed with each of the other given organisations. Uses
    the same definitions (and the same `completion_rates`) as the trust pages,
    so the figure shown on a proposal is the one the matcher used."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return {}
    counts = agreement_counts(ids)
    involvement = _involvement()
    completed_rows = db.session.execute(
        db.select(involvement.c.organisation_id,
                  db.func.count(db.distinct(involvement.c.proposal_id)))
        .where(involvement.c.organisation_id.in_(ids))
        .group_by(involvement.c.organisation_id)).all()
    exchanges = {org: int(n) for org, n in completed_rows}
    e = LedgerEntry
    last: dict[int, datetime] = {}
    for column in (e.giver_id, e.receiver_id):
        for org, moment in db.session.execute(
            db.select(column, db.func.max(e.recorded_at))
            .where(column.in_(ids), e.kind == EntryKind.TRADE).group_by(column)).all():
            if moment is not None and (org not in last or moment > last[org]):
                last[org] = moment
    declines = dict(db.session.execute(
        db.select(ProposalParticipant.organisation_id, db.func.count())
        .where(ProposalParticipant.organisation_id.in_(ids),
               ProposalParticipant.response == Response.DECLINED)
        .group_by(ProposalParticipant.organisation_id)).all())
    cancelled = dict(db.session.execute(
        db.select(ProposalParticipant.organisation_id, db.func.count())
        .join(Proposal, Proposal.id == ProposalParticipant.proposal_id)
        .where(ProposalParticipant.organisation_id.in_(ids),
               Proposal.status == ProposalStatus.CANCELLED)
        .group_by(ProposalParticipant.organisation_id)).all())
    together: dict[int, dict[int, int]] = defaultdict(dict)
    if len(ids) > 1:
        one, two = involvement.alias("one"), involvement.alias("two")
        for a, b, n in db.session.execute(
            db.select(one.c.organisation_id, two.c.organisation_id,
                      db.func.count(db.distinct(one.c.proposal_id)))
            .join(two, db.and_(two.c.proposal_id == one.c.proposal_id,
                               one.c.organisation_id != two.c.organisation_id))
            .where(one.c.organisation_id.in_(ids), two.c.organisation_id.in_(ids))
            .group_by(one.c.organisation_id, two.c.organisation_id)).all():
            together[a][b] = int(n)
    result = {}
    for org_id in ids:
        agreed, completed = counts[org_id]
        result[org_id] = HistorySummary(
            organisation_id=org_id,
            exchanges_completed=exchanges.get(org_id, 0),
            agreed=agreed, completed=completed,
            completion_rate=smoothed_rate(agreed, completed),
            declines=int(declines.get(org_id, 0)),
            cancellations=int(cancelled.get(org_id, 0)),
            last_exchange=last.get(org_id),
            together={other: together[org_id].get(other, 0) for other in ids if other != org_id},
        )
    return result


# --- the network -----------------------------------------------------------------------------


@dataclass
class Network:
    nodes: list[tuple[int, str, int]]  # (organisation id, name, exchanges completed)
    edges: list[PairTrust]


def network() -> Network:
    """Organisations that completed at least one exchange, and the pairs between them."""
    edges = pair_figures()
    involvement = _involvement()
    rows = db.session.execute(
        db.select(Organisation.id, Organisation.name,
                  db.func.count(db.distinct(involvement.c.proposal_id)))
        .join(involvement, involvement.c.organisation_id == Organisation.id)
        .group_by(Organisation.id, Organisation.name).order_by(Organisation.name)).all()
    return Network(nodes=[(i, name, int(n)) for i, name, n in rows], edges=edges)


# --- over time ------------------------------------------------------------------------------


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
            month=start, exchanges=int(n), value=_money(value),
            given=_money(given) if organisation_id is not None else ZERO,
            received=_money(received) if organisation_id is not None else ZERO))
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


# --- who sees what ---------------------------------------------------------------------------


def sees_everything(user) -> bool:
    """Coordinators, auditors and admins see every organisation's full figures."""
    from app.ledger.services import can_read_ledger

    return can_read_ledger(user)


def trust_view(actor, organisation_id: int) -> dict:
    """An organisation's figures as `actor` may see them.

    Full figures for the organisation's own members and for coordinators,
    auditors and admins; for a member of another organisation only the
    reputation figures in PUBLIC_FIELDS (how much it completes, declines and
    cancels; never whom it trades with or what), with `scope` saying which.
    """
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"No organisation {organisation_id}.")
    figures = organisation_trust(organisation)
    payload = {name: getattr(figures, name) for name in (
        *PUBLIC_FIELDS, "partners", "flows", "total_given", "total_received",
        "reciprocity_balance", "reciprocity", "entries_reversed")}
    if sees_everything(actor) or actor.organisation_id == organisation_id:
        return {"scope": "full", **payload}
    return {"scope": "public", **{name: payload[name] for name in PUBLIC_FIELDS}}


def pairs_view(actor, organisation_id: int | None = None) -> list[PairTrust]:
    """Pairs for coordinators, auditors and admins (all, or one organisation's);
    a member sees only the pairs its own organisation belongs to."""
    if not sees_everything(actor):
        if organisation_id not in (None, actor.organisation_id):
            raise Forbidden("Members see only their own organisation's partners.")
        organisation_id = actor.organisation_id
    return pair_figures(organisation_id)
