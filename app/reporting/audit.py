"""What auditors read beside the chain: the audit trail of every proposal transition,
each exchange's timeline, and the verification that pairs the ledger with the
proposals.

`verify_ledger` is the verification the pages, the API and `flask ledger verify`
run: the ledger's own chain check (`app.ledger.services.verify_chain`: hashes, links,
value = quantity × unit value, reversals netting their originals) plus the
cross-check against the proposals: every completed proposal has exactly one trade
entry per leg and no other proposal has any (which also catches entries cut off the
chain's end), and each trade entry carries its leg's proposal, parties, currency,
quantity, unit value and value.
Everything here is read-only and needs the policy's "ledger.read_all".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_

from app.auth.models import User
from app.auth.policy import require
from app.core.errors import NotFound
from app.extensions import db
from app.ledger import chain
from app.ledger.models import EntryKind, LedgerEntry
from app.ledger.services import verify_chain
from app.market.models import Currency
from app.proposals.models import (
    Action,
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
    ProposalTransition,
)

# --- verification ----------------------------------------------------------------------------


def verify_ledger(actor: User | None = None,
                  anchors: Mapping[int, str] | None = None) -> chain.VerifyResult:
    """Check the whole chain in the database, streaming, then cross-check it
    against the proposals: every completed proposal must have exactly one trade
    entry per leg (this also catches entries cut off the end of the chain), and
    every trade entry must carry its leg's amounts and parties. A chain rewritten
    with freshly computed hashes is consistent in itself; these checks (and
    anchors) are what expose it."""
    verifier = chain.ChainVerifier(full=True, anchors=anchors)
    result = verify_chain(actor, verifier=verifier)
    for sequence, message in leg_mismatches():
        verifier.add_problem(sequence, chain.ProblemKind.LEG, message)
    for proposal_id, legs, entries in unmatched_completions():
        verifier.add_problem(None, chain.ProblemKind.MISSING,
                             f"proposal {proposal_id} is completed with {legs} leg(s) but has "
                             f"{entries} trade entr{'y' if entries == 1 else 'ies'} in the "
                             "ledger")
    return result


# Trade entry field → the proposal leg's column it must equal.
_LEG_FIELDS = ("proposal_id", "giver_id", "receiver_id", "quantity", "unit_value", "value")


def leg_mismatches() -> list[tuple[int, str]]:
    """(sequence, what differs) for each trade entry whose proposal, parties, currency,
    quantity, unit value or value is not its proposal leg's, or whose leg does not
    exist. One query (the comparison runs in the database), in sequence order."""
    entry, leg = LedgerEntry.__table__, ProposalLeg.__table__
    currency = Currency.__table__
    columns = [entry.c.sequence, entry.c.leg_id, leg.c.id.label("leg"),
               entry.c.currency_code.label("e_currency"), currency.c.code.label("l_currency")]
    for name in _LEG_FIELDS:
        columns += [entry.c[name].label(f"e_{name}"), leg.c[name].label(f"l_{name}")]
    differs = [entry.c[name].is_distinct_from(leg.c[name]) for name in _LEG_FIELDS]
    rows = db.session.execute(
        db.select(*columns).select_from(entry)
        .outerjoin(leg, leg.c.id == entry.c.leg_id)
        .outerjoin(currency, currency.c.id == leg.c.currency_id)
        .where(entry.c.kind == EntryKind.TRADE,
               or_(leg.c.id.is_(None), entry.c.currency_code.is_distinct_from(currency.c.code),
                   *differs))
        .order_by(entry.c.sequence)
    ).all()
    found = []
    for row in rows:
        m = row._mapping
        if m["leg"] is None:
            found.append((m["sequence"], f"names leg {m['leg_id']}, which does not exist"))
            continue
        wrong = [f"{name.removesuffix('_id')} {m[f'e_{name}']} where the leg has "
                 f"{m[f'l_{name}']}"
                 for name in _LEG_FIELDS if m[f"e_{name}"] != m[f"l_{name}"]]
        if m["e_currency"] != m["l_currency"]:
            wrong.append(f"currency {m['e_currency']} where the leg has {m['l_currency']}")
        found.append((m["sequence"], f"differs from its proposal leg {m['leg_id']}: "
                                     f"{'; '.join(wrong) or 'amounts differ'}"))
    return found


def unmatched_completions() -> list[tuple[int, int, int]]:
    """Completed proposals whose trade entries do not match their legs one to one,
    and proposals with trade entries that are not completed."""
    legs = (db.select(ProposalLeg.proposal_id, db.func.count().label("n"))
            .group_by(ProposalLeg.proposal_id).subquery())
    trades = (db.select(LedgerEntry.proposal_id, db.func.count().label("n"))
              .where(LedgerEntry.kind == EntryKind.TRADE)
              .group_by(LedgerEntry.proposal_id).subquery())
    rows = db.session.execute(
        db.select(Proposal.id, db.func.coalesce(legs.c.n, 0), db.func.coalesce(trades.c.n, 0))
        .outerjoin(legs, legs.c.proposal_id == Proposal.id)
        .outerjoin(trades, trades.c.proposal_id == Proposal.id)
        .where(or_(
            (Proposal.status == ProposalStatus.COMPLETED)
            & (db.func.coalesce(trades.c.n, 0) != db.func.coalesce(legs.c.n, 0)),
            (Proposal.status != ProposalStatus.COMPLETED) & (db.func.coalesce(trades.c.n, 0) > 0),
        ))
        .order_by(Proposal.id)
    ).all()
    return [(pid, int(n_legs), int(n_entries)) for pid, n_legs, n_entries in rows]


# --- the audit trail and exchange timelines --------------------------------------------------


@dataclass
class TransitionFilter:
    proposal_id: int | None = None
    organisation_id: int | None = None
    actor_id: int | None = None
    action: str | None = None
    to_status: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> TransitionFilter:
        return cls(**{name: args.get(name) for name in (
            "proposal_id", "organisation_id", "actor_id", "action", "to_status", "date_from",
            "date_to")})

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def transitions_statement(actor: User | None, filters: TransitionFilter):
    """The audit trail (every proposal transition), newest first, filtered."""
    require(actor, "ledger.read_all")
    t = ProposalTransition
    stmt = db.select(t)
    if filters.proposal_id:
        stmt = stmt.where(t.proposal_id == filters.proposal_id)
    if filters.organisation_id:
        involved = db.select(ProposalParticipant.proposal_id).where(
            ProposalParticipant.organisation_id == filters.organisation_id)
        stmt = stmt.where(or_(t.organisation_id == filters.organisation_id,
                              t.proposal_id.in_(involved)))
    if filters.actor_id:
        stmt = stmt.where(t.actor_id == filters.actor_id)
    if filters.action:
        stmt = stmt.where(t.action == filters.action)
    if filters.to_status:
        stmt = stmt.where(t.to_status == filters.to_status)
    if filters.date_from:
        stmt = stmt.where(t.created_at >= datetime.combine(filters.date_from, datetime.min.time()))
    if filters.date_to:
        stmt = stmt.where(t.created_at < datetime.combine(
            filters.date_to + timedelta(days=1), datetime.min.time()))
    return stmt.order_by(t.created_at.desc(), t.id.desc())


def transition_actions() -> list[str]:
    return list(db.session.execute(
        db.select(ProposalTransition.action).distinct().order_by(ProposalTransition.action)
    ).scalars())


@dataclass
class TimelineEvent:
    at: datetime
    kind: str  # run | proposal | transition | confirmation | entry
    title: str
    actor: str = ""
    detail: str = ""
    organisation: str = ""


@dataclass
class Timeline:
    proposal: Proposal
    run: Any  # the MatchingRun that found it (matching comes after reporting), or None
    events: list[TimelineEvent] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)


def exchange_timeline(actor: User | None, proposal_id: int) -> Timeline:
    """Everything that happened to one exchange, oldest first: the matching run,
    the proposal, every transition (approvals, acceptances, declines,
    cancellations…), each leg's confirmation and the ledger entries."""
    require(actor, "ledger.read_all")
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"No proposal {proposal_id}.")
    run = proposal.run
    events: list[TimelineEvent] = []
    if run is not None:
        events.append(TimelineEvent(run.created_at, "run", f"Matching run {run.id} started",
                                    actor=run.started_by_name,
                                    detail=f"status {run.status}"))
    events.append(TimelineEvent(proposal.created_at, "proposal",
                                f"Proposal {proposal.id} created ({proposal.kind}, "
                                f"{len(proposal.legs)} legs)"))
    for t in proposal.transitions:
        org = t.organisation.name if t.organisation else ""
        events.append(TimelineEvent(
            t.created_at, "transition",
            f"{t.action}: {t.from_status or '—'} → {t.to_status}",
            actor=t.actor_name, detail=t.reason, organisation=org))
    # The lifecycle records each confirmation as a transition too; a leg's own
    # confirmation is shown only when no such transition names its receiver.
    confirmed_by_transition = {t.organisation_id for t in proposal.transitions
                               if t.action == Action.CONFIRM}
    for leg in proposal.legs:
        if leg.confirmed_at is not None and leg.receiver_id not in confirmed_by_transition:
            events.append(TimelineEvent(
                leg.confirmed_at, "confirmation",
                f"Leg {leg.position + 1} confirmed received by {leg.receiver.name}",
                actor=leg.confirmed_by.name if leg.confirmed_by else "",
                organisation=leg.receiver.name))
    entries = list(db.session.execute(
        db.select(LedgerEntry).where(LedgerEntry.proposal_id == proposal.id)
        .order_by(LedgerEntry.sequence)
    ).scalars())
    for entry in entries:
        events.append(TimelineEvent(
            entry.recorded_at, "entry",
            f"Ledger entry {entry.sequence} ({entry.kind}): {entry.giver.name} → "
            f"{entry.receiver.name}, {entry.quantity} {entry.currency_code}",
            actor=entry.confirmed_by_name, detail=entry.reason))
    order = {"run": 0, "proposal": 1, "transition": 2, "confirmation": 3, "entry": 4}
    events.sort(key=lambda e: (e.at, order[e.kind]))
    return Timeline(proposal=proposal, run=run, events=events, entries=entries)
