"""Trust figures computed from the ledger and the proposal history, in one batched
computation (`trust_figures`) from which every view derives: an organisation's trust
page (`organisation_trust`), the proposal page's record of each participant
(`history_for`, `trust_history`) and the matcher's `completion_rates`, so they
always show the same numbers.

Definitions (also in the README, "Trust figures"):

* **exchanges completed** — distinct proposals with a trade entry the
  organisation gave or received. Every completed proposal has exactly one trade
  entry per leg, so this equals the number of completed proposals it took part
  in. A reversal corrects a recorded leg; it does not un-complete the exchange.
* **distinct partners** — other organisations it gave to or received from
  directly in those exchanges (a leg between them; two ends of a chain that
  never exchanged are not partners).
* **value given / received per currency** — sums of the entries' `value` and
  `quantity` where the organisation is giver / receiver, reversals included
  (a reversal carries the negated value, so a reversed entry nets to zero).
* **reciprocity balance** — total value given − total value received, in market
  credits: positive means the organisation has given the network more than it
  received; `reciprocity` = min / max of the two (1.0 = perfectly balanced).
* **completion rate** — of the exchanges it *agreed* to (reached `agreed`) whose
  outcome is *settled* (completed, or cancelled / expired after agreeing), the
  share that *completed*, smoothed as (completed + 1) / (settled + 1) so an
  organisation with no history starts at 1.0. Exchanges still in progress
  (agreed, not yet completed) are counted apart (`in_progress`) and never move
  the rate: accepting an exchange cannot lower it. The raw share
  completed / settled is shown too. This is the number the matcher's
  expected-completion term uses (`completion_rates`).
* **declines** — proposals this organisation declined; **cancellations** and
  **expiries** — proposals it took part in that were cancelled or expired.
* **last exchange** — time of its latest trade entry.
* **pair: exchanges completed together** — completed exchanges in which one
  gave the other directly (a trade entry between them, either way): for a
  three-way cycle A→B→C→A each of the three pairs; for a chain A→B→C only A–B
  and B–C, never the ends A–C. Plus the value each gave the other directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from app.auth.policy import allows
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


def money(value) -> Decimal:
    """A sum from the database as money: two decimals, None as zero."""
    return Decimal(value or 0).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Agreements:
    """An organisation's agreed exchanges by outcome (see `agreement_counts`)."""

    agreed: int = 0        # reached `agreed`, whatever happened next
    settled: int = 0       # of those, the ones whose outcome is known (a final status)
    completed: int = 0     # of the settled, the ones that completed

    @property
    def in_progress(self) -> int:
        """Agreed and not yet settled: delivering, so no outcome to count yet."""
        return self.agreed - self.settled


def agreement_counts(organisation_ids: Iterable[int]) -> dict[int, Agreements]:
    """Agreed / settled / completed exchanges per organisation, from the proposal
    history. An exchange counts as agreed once it reached `agreed` and as settled
    once it then reached a final status (completed, cancelled or expired)."""
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
            db.func.sum(db.case((Proposal.status.in_(ProposalStatus.FINAL), 1), else_=0)),
            db.func.sum(db.case((Proposal.status == ProposalStatus.COMPLETED, 1), else_=0)),
        )
        .join(Proposal, Proposal.id == ProposalParticipant.proposal_id)
        .join(reached_agreed, reached_agreed.c.proposal_id == Proposal.id)
        .where(ProposalParticipant.organisation_id.in_(ids))
        .group_by(ProposalParticipant.organisation_id)
    ).all()
    counts = {org_id: Agreements() for org_id in ids}
    for org_id, agreed, settled, completed in rows:
        counts[org_id] = Agreements(int(agreed), int(settled or 0), int(completed or 0))
    return counts


def smoothed_rate(settled: int, completed: int) -> float:
    """(completed + 1) / (settled + 1): a newcomer starts at 1.0, and one failure
    among few settled exchanges weighs more than among many."""
    return (completed + 1) / (settled + 1)


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
    settled: int = 0
    in_progress: int = 0
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


def _direct():
    """(proposal_id, one, other) both ways round for every trade entry: the pairs of
    organisations of each completed exchange in which one gave the other directly.
    Two ends of a chain that never exchanged do not appear together."""
    e = LedgerEntry
    forward = db.select(e.proposal_id.label("proposal_id"), e.giver_id.label("one"),
                        e.receiver_id.label("other")).where(e.kind == EntryKind.TRADE)
    backward = db.select(e.proposal_id.label("proposal_id"), e.receiver_id.label("one"),
                         e.giver_id.label("other")).where(e.kind == EntryKind.TRADE)
    return db.union(forward, backward).subquery("direct")


# Fields a member may see of another organisation: its reputation, not its trades.
PUBLIC_FIELDS = ("organisation_id", "name", "exchanges_completed", "distinct_partners",
                 "agreed", "settled", "in_progress", "completed", "completion_rate",
                 "completion_share", "declines",
                 "cancellations", "expiries", "last_exchange")


# --- the one computation ----------------------------------------------------------------


def trust_figures(organisation_ids: Iterable[int]) -> dict[int, OrganisationTrust]:
    """Every trust figure of each given organisation, in a fixed number of grouped
    queries whatever the number of organisations. Every requested id gets figures
    (an unknown one: no history, completion rate 1.0). No access check: callers
    decide what to show (see `trust_view`)."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return {}
    names = dict(db.session.execute(
        db.select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())
    figures = {org_id: OrganisationTrust(organisation_id=org_id, name=names.get(org_id, ""))
               for org_id in ids}
    e = LedgerEntry
    involvement = _involvement()

    # Exchanges completed: distinct exchanges with a trade entry it gave or received.
    for org_id, n in db.session.execute(
        db.select(involvement.c.organisation_id,
                  db.func.count(db.distinct(involvement.c.proposal_id)))
        .where(involvement.c.organisation_id.in_(ids))
        .group_by(involvement.c.organisation_id)
    ).all():
        figures[org_id].exchanges_completed = int(n)

    # Last exchange, and value / quantity given and received per currency (reversals net).
    flows: dict[int, dict[str, CurrencyFlow]] = defaultdict(dict)
    for side, column in (("giver", e.giver_id), ("receiver", e.receiver_id)):
        for org_id, moment in db.session.execute(
            db.select(column, db.func.max(e.recorded_at))
            .where(column.in_(ids), e.kind == EntryKind.TRADE).group_by(column)
        ).all():
            last = figures[org_id].last_exchange
            if moment is not None and (last is None or moment > last):
                figures[org_id].last_exchange = moment
        for org_id, code, quantity, value in db.session.execute(
            db.select(column, e.currency_code, db.func.sum(e.quantity), db.func.sum(e.value))
            .where(column.in_(ids)).group_by(column, e.currency_code)
        ).all():
            flow = flows[org_id].setdefault(code, CurrencyFlow(code))
            if side == "giver":
                flow.quantity_given, flow.value_given = int(quantity), money(value)
            else:
                flow.quantity_received, flow.value_received = int(quantity), money(value)
    for org_id, by_code in flows.items():
        org = figures[org_id]
        org.flows = [by_code[code] for code in sorted(by_code)]
        org.total_given = sum((f.value_given for f in org.flows), ZERO)
        org.total_received = sum((f.value_received for f in org.flows), ZERO)

    # Partners: whom it gave to or received from directly, and in how many exchanges.
    direct = _direct()
    together = db.session.execute(
        db.select(direct.c.one, direct.c.other, db.func.count(db.distinct(direct.c.proposal_id)))
        .where(direct.c.one.in_(ids), direct.c.one != direct.c.other)
        .group_by(direct.c.one, direct.c.other)
    ).all()
    partner_names = dict(db.session.execute(
        db.select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_({other for _, other, _ in together}))
    ).all()) if together else {}
    partners: dict[int, list[Partner]] = defaultdict(list)
    for org_id, other, n in together:
        if other in partner_names:
            partners[org_id].append(Partner(other, partner_names[other], int(n)))
    for org_id, found in partners.items():
        figures[org_id].partners = sorted(found, key=lambda p: (-p.exchanges, p.name))
        figures[org_id].distinct_partners = len(found)

    # Completion: of the agreed exchanges whose outcome is settled, the share completed.
    for org_id, counts in agreement_counts(ids).items():
        org = figures[org_id]
        org.agreed, org.settled, org.completed = counts.agreed, counts.settled, counts.completed
        org.in_progress = counts.in_progress
        org.completion_rate = smoothed_rate(counts.settled, counts.completed)
        org.completion_share = counts.completed / counts.settled if counts.settled else None

    # Declines it gave; cancellations and expiries of exchanges it took part in.
    for org_id, n in db.session.execute(
        db.select(ProposalParticipant.organisation_id, db.func.count())
        .where(ProposalParticipant.organisation_id.in_(ids),
               ProposalParticipant.response == Response.DECLINED)
        .group_by(ProposalParticipant.organisation_id)
    ).all():
        figures[org_id].declines = int(n)
    for org_id, status, n in db.session.execute(
        db.select(ProposalParticipant.organisation_id, Proposal.status, db.func.count())
        .join(Proposal, Proposal.id == ProposalParticipant.proposal_id)
        .where(ProposalParticipant.organisation_id.in_(ids),
               Proposal.status.in_((ProposalStatus.CANCELLED, ProposalStatus.EXPIRED)))
        .group_by(ProposalParticipant.organisation_id, Proposal.status)
    ).all():
        if status == ProposalStatus.CANCELLED:
            figures[org_id].cancellations = int(n)
        else:
            figures[org_id].expiries = int(n)

    # Reversals of entries it gave or received (an entry counts once per organisation).
    reversed_sides = db.union(
        db.select(e.id.label("entry_id"), e.giver_id.label("organisation_id"))
        .where(e.kind == EntryKind.REVERSAL, e.giver_id.in_(ids)),
        db.select(e.id.label("entry_id"), e.receiver_id.label("organisation_id"))
        .where(e.kind == EntryKind.REVERSAL, e.receiver_id.in_(ids)),
    ).subquery()
    for org_id, n in db.session.execute(
        db.select(reversed_sides.c.organisation_id, db.func.count())
        .group_by(reversed_sides.c.organisation_id)
    ).all():
        figures[org_id].entries_reversed = int(n)
    return figures


def organisation_trust(organisation: Organisation) -> OrganisationTrust:
    """All trust figures of `organisation` (no access check: callers decide what
    to show; see `trust_view`)."""
    return trust_figures([organisation.id])[organisation.id]


def completion_rates(organisation_ids: Iterable[int]) -> dict[int, float]:
    """Share of each organisation's settled agreed exchanges that it completed.

    Smoothed as (completed + 1) / (settled + 1), exchanges still in progress left
    out (agreeing never lowers it): an organisation with no history
    gets the benefit of the doubt (1.0), and one failure among few agreements
    weighs more than among many. Every requested id gets a rate. The matcher's
    expected-completion term uses it.
    """
    return {org_id: figures.completion_rate
            for org_id, figures in trust_figures(organisation_ids).items()}


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
    """Every pair of organisations that gave each other something directly in at
    least one completed exchange (a < b by id), or only the pairs involving
    `organisation_id`; most exchanges first."""
    direct = _direct()
    statement = (
        db.select(direct.c.one, direct.c.other, db.func.count(db.distinct(direct.c.proposal_id)))
        .where(direct.c.one < direct.c.other)
        .group_by(direct.c.one, direct.c.other)
    )
    if organisation_id is not None:
        statement = statement.where(db.or_(direct.c.one == organisation_id,
                                           direct.c.other == organisation_id))
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
            pair.value_a_to_b += money(value)
        else:
            pair.value_b_to_a += money(value)
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
    settled: int
    in_progress: int
    completed: int
    completion_rate: float
    declines: int
    cancellations: int
    last_exchange: datetime | None
    together: dict[int, int] = field(default_factory=dict)


def history_for(organisation_ids: Iterable[int]) -> dict[int, HistorySummary]:
    """A compact record per organisation plus, in `together`, how many
    exchanges it completed with each of the other given organisations. Drawn
    from `trust_figures`, so the figure shown on a proposal is the one the
    trust pages show and the matcher used."""
    figures = trust_figures(organisation_ids)
    ids = list(figures)
    result = {}
    for org_id, org in figures.items():
        with_partner = {p.organisation_id: p.exchanges for p in org.partners}
        result[org_id] = HistorySummary(
            organisation_id=org_id,
            exchanges_completed=org.exchanges_completed,
            agreed=org.agreed, settled=org.settled, in_progress=org.in_progress,
            completed=org.completed,
            completion_rate=org.completion_rate,
            declines=org.declines,
            cancellations=org.cancellations,
            last_exchange=org.last_exchange,
            together={other: with_partner.get(other, 0) for other in ids if other != org_id},
        )
    return result


def trust_history(proposal: Proposal) -> list[dict]:
    """Each participant's record so far, for the proposal page: exchanges completed,
    agreed, completion rate, declines, cancellations, expiries, last exchange, and
    how many exchanges it completed with each other participant."""
    names = {p.organisation_id: p.organisation.name for p in proposal.participants}
    org_ids = [p.organisation_id for p in proposal.participants]
    figures = trust_figures(org_ids)
    rows = []
    for org_id in org_ids:
        org = figures[org_id]
        with_partner = {p.organisation_id: p.exchanges for p in org.partners}
        rows.append({
            "organisation_id": org_id,
            "organisation": names[org_id],
            "completion_rate": org.completion_rate,
            "agreed": org.agreed,
            "settled": org.settled,
            "in_progress": org.in_progress,
            "completed": org.exchanges_completed,
            "declined": org.declines,
            "cancelled": org.cancellations,
            "expired": org.expiries,
            "last_exchange": org.last_exchange,
            "together": {names[other]: with_partner.get(other, 0)
                         for other in sorted(names) if other != org_id},
        })
    return rows


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


# --- who sees what ---------------------------------------------------------------------------


def sees_everything(user) -> bool:
    """Coordinators, auditors and admins see every organisation's full figures."""
    return allows(user, "ledger.read_all")


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
