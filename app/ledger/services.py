"""Ledger services: appending entries, reversals, reading, verifying and exporting.

Appends are serialised so concurrent completions still make one unbroken
chain: on PostgreSQL a transaction-level advisory lock is taken before the
head is read; on SQLite every transaction already starts with BEGIN IMMEDIATE,
which admits one writer at a time. The database backs this with unique
`sequence` / `previous_hash` and an insert trigger that only accepts an entry
extending the head, so a bug here fails loudly instead of forking the chain.

Services flush but never commit: the caller commits once, so a proposal's
completion and its entries land together or not at all.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import or_, text

from app.auth.models import Role, User
from app.core.clock import utcnow
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.ledger import chain
from app.ledger.models import EntryKind, LedgerEntry
from app.market.models import Organisation
from app.proposals.models import (
    Action,
    MatchingRun,
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
    ProposalTransition,
)

# Arbitrary but fixed: the key of the PostgreSQL advisory lock guarding appends.
LEDGER_LOCK_KEY = 0x1ED6E5
READER_ROLES = (Role.AUDITOR, Role.COORDINATOR, Role.ADMIN)
MAX_REASON = 1000
BATCH = 2000
_CENT = Decimal("0.01")


# --- who may do what -------------------------------------------------------------------------


def can_read_ledger(user: User | None) -> bool:
    """The whole ledger, audit trail, verification and exports: auditors,
    coordinators, admins (and the system, i.e. `None`, for the CLI)."""
    return user is None or user.role in READER_ROLES


def require_reader(user: User | None) -> None:
    if not can_read_ledger(user):
        raise Forbidden("Only auditors, coordinators and admins may see the whole ledger.")


def can_reverse(user: User | None) -> bool:
    return user is not None and user.role == Role.COORDINATOR


# --- appending -------------------------------------------------------------------------------


def _lock_and_read_head() -> tuple[int, str]:
    """Take the append lock (PostgreSQL) and return (head sequence, head hash)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
    row = db.session.execute(
        db.select(LedgerEntry.sequence, LedgerEntry.hash)
        .order_by(LedgerEntry.sequence.desc()).limit(1)
    ).first()
    if row is None:
        return 0, chain.GENESIS_HASH
    return row.sequence, row.hash


def _cents(value: Decimal | int | str) -> Decimal:
    # The columns keep two decimals; hashing the stored form keeps hashes stable.
    return Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)


def _seal(entry: LedgerEntry) -> LedgerEntry:
    entry.hash = chain.hash_entry(entry)
    db.session.add(entry)
    return entry


def append_trade_entries(proposal: Proposal, actor: User | None) -> list[LedgerEntry]:
    """Append one trade entry per leg of a just-completed proposal, in leg order.

    Called by the proposals service in the transaction that sets the proposal
    `completed`. Each entry names the user who confirmed its leg (falling back
    to `actor`, who confirmed the last one) with a copy of their name, and all
    of the proposal's entries share one timestamp. Refuses a proposal that is
    not completed, has no legs, or already has entries. Flushes; never commits.
    """
    if proposal.status != ProposalStatus.COMPLETED:
        raise Conflict(f"Proposal {proposal.id} is {proposal.status}, not completed: "
                       "only completed exchanges are written to the ledger.")
    legs = sorted(proposal.legs, key=lambda leg: leg.position)
    if not legs:
        raise Conflict(f"Proposal {proposal.id} has no legs to record.")
    sequence, previous_hash = _lock_and_read_head()
    already = db.session.execute(
        db.select(db.func.count()).select_from(LedgerEntry)
        .where(LedgerEntry.proposal_id == proposal.id, LedgerEntry.kind == EntryKind.TRADE)
    ).scalar_one()
    if already:
        raise Conflict(f"Proposal {proposal.id} is already in the ledger.")
    now = utcnow()
    entries = []
    for leg in legs:
        confirmer = leg.confirmed_by or actor
        sequence += 1
        entry = _seal(LedgerEntry(
            sequence=sequence,
            kind=EntryKind.TRADE,
            proposal_id=proposal.id,
            leg_id=leg.id,
            giver_id=leg.giver_id,
            receiver_id=leg.receiver_id,
            currency_code=leg.currency.code,
            quantity=leg.quantity,
            unit_value=_cents(leg.unit_value),
            value=_cents(leg.value),
            recorded_at=now,
            confirmed_by_id=confirmer.id if confirmer else None,
            confirmed_by_name=confirmer.name if confirmer else "system",
            reverses_sequence=None,
            reason="",
            previous_hash=previous_hash,
        ))
        previous_hash = entry.hash
        entries.append(entry)
    db.session.flush()
    return entries


def reverse_entry(actor: User | None, sequence: int, reason: str | None) -> LedgerEntry:
    """Correct a mistaken trade entry with a new reversing entry.

    The reversal copies the original's proposal, leg, giver, receiver, currency
    and unit value, negates its quantity and value (so sums over the ledger net
    the original out), references the original's sequence and carries the
    coordinator's reason. Only coordinators may reverse; only trade entries can
    be reversed, and each at most once (the database refuses a second one too).
    """
    if not can_reverse(actor):
        raise Forbidden("Only a coordinator may reverse a ledger entry.")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("A reason is required to reverse an entry.",
                      errors={"reason": ["Give the reason for the reversal."]})
    if len(reason) > MAX_REASON:
        raise Invalid("The reason is too long.",
                      errors={"reason": [f"At most {MAX_REASON} characters."]})
    head_sequence, previous_hash = _lock_and_read_head()
    original = get_entry(actor, sequence)
    if original.kind != EntryKind.TRADE:
        raise Conflict(f"Entry {sequence} is a reversal; a reversal cannot be reversed.")
    if reversal_of(sequence) is not None:
        raise Conflict(f"Entry {sequence} has already been reversed.")
    entry = _seal(LedgerEntry(
        sequence=head_sequence + 1,
        kind=EntryKind.REVERSAL,
        proposal_id=original.proposal_id,
        leg_id=original.leg_id,
        giver_id=original.giver_id,
        receiver_id=original.receiver_id,
        currency_code=original.currency_code,
        quantity=-original.quantity,
        unit_value=_cents(original.unit_value),
        value=-_cents(original.value),
        recorded_at=utcnow(),
        confirmed_by_id=actor.id,
        confirmed_by_name=actor.name,
        reverses_sequence=original.sequence,
        reason=reason,
        previous_hash=previous_hash,
    ))
    db.session.flush()
    return entry


# --- reading ---------------------------------------------------------------------------------


@dataclass
class LedgerFilter:
    """Filters shared by browse, API and exports. Dates are inclusive, UTC."""

    organisation_id: int | None = None
    currency: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    kind: str | None = None
    proposal_id: int | None = None

    @property
    def empty(self) -> bool:
        return not any((self.organisation_id, self.currency, self.date_from, self.date_to,
                        self.kind, self.proposal_id))

    def as_dict(self) -> dict[str, Any]:
        return {
            "organisation_id": self.organisation_id,
            "currency": self.currency,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "kind": self.kind,
            "proposal_id": self.proposal_id,
        }

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> LedgerFilter:
        return cls(**{name: args.get(name) for name in (
            "organisation_id", "currency", "date_from", "date_to", "kind", "proposal_id")})


def _where(filters: LedgerFilter) -> list:
    table = LedgerEntry.__table__.c
    clauses = []
    if filters.organisation_id:
        clauses.append(or_(table.giver_id == filters.organisation_id,
                           table.receiver_id == filters.organisation_id))
    if filters.currency:
        clauses.append(table.currency_code == filters.currency)
    if filters.date_from:
        start = datetime.combine(filters.date_from, datetime.min.time())
        clauses.append(table.recorded_at >= start)
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time())
        clauses.append(table.recorded_at < end)
    if filters.kind:
        clauses.append(table.kind == filters.kind)
    if filters.proposal_id:
        clauses.append(table.proposal_id == filters.proposal_id)
    return clauses


def scope_for(actor: User | None, filters: LedgerFilter) -> LedgerFilter:
    """Members read only entries their own organisation gave or received."""
    if can_read_ledger(actor):
        return filters
    if actor.organisation_id is None:
        raise Forbidden("Only auditors, coordinators and admins may see the ledger.")
    if filters.organisation_id not in (None, actor.organisation_id):
        raise Forbidden("Members see only their own organisation's ledger entries.")
    filters.organisation_id = actor.organisation_id
    return filters


def entries_statement(actor: User | None, filters: LedgerFilter):
    """A select of LedgerEntry, newest first, limited to what `actor` may see."""
    filters = scope_for(actor, filters)
    return db.select(LedgerEntry).where(*_where(filters)).order_by(LedgerEntry.sequence.desc())


def get_entry(actor: User | None, sequence: int) -> LedgerEntry:
    entry = db.session.execute(
        db.select(LedgerEntry).where(LedgerEntry.sequence == sequence)
    ).scalar_one_or_none()
    if entry is None:
        raise NotFound(f"No ledger entry with sequence {sequence}.")
    if not can_read_ledger(actor) and actor.organisation_id not in (
            entry.giver_id, entry.receiver_id):
        raise Forbidden("Members see only their own organisation's ledger entries.")
    return entry


def reversal_of(sequence: int) -> LedgerEntry | None:
    """The entry reversing `sequence`, if any."""
    return db.session.execute(
        db.select(LedgerEntry).where(LedgerEntry.reverses_sequence == sequence)
    ).scalar_one_or_none()


def iter_rows(filters: LedgerFilter | None = None, batch: int = BATCH) -> Iterator[Any]:
    """Stream entries as plain rows in sequence order, `batch` at a time.

    Keyset pagination (sequence > last) keeps memory flat and each query cheap,
    however long the ledger.
    """
    table = LedgerEntry.__table__
    columns = [table.c[name] for name in chain.HASHED_FIELDS] + [table.c.hash]
    clauses = _where(filters) if filters else []
    last = 0
    while True:
        rows = db.session.execute(
            db.select(*columns).where(table.c.sequence > last, *clauses)
            .order_by(table.c.sequence).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].sequence


def canonical_rows(filters: LedgerFilter | None = None) -> Iterator[tuple[dict[str, Any], str]]:
    """(canonical hashed fields, stored hash) for each entry, in sequence order."""
    for row in iter_rows(filters):
        mapping = row._mapping
        yield chain.canonical_fields(mapping), mapping["hash"]


# --- verification ----------------------------------------------------------------------------


def verify_ledger(actor: User | None = None,
                  anchors: Mapping[int, str] | None = None) -> chain.VerifyResult:
    """Check the whole chain in the database, streaming, then cross-check it
    against the proposals: every completed proposal must have exactly one trade
    entry per leg (this also catches entries cut off the end of the chain)."""
    require_reader(actor)
    verifier = chain.ChainVerifier(full=True, anchors=anchors)
    for row in iter_rows():
        mapping = row._mapping
        try:
            fields = chain.canonical_fields(mapping)
        except chain.EncodingError as exc:
            verifier.result.count += 1
            verifier._problem(mapping["sequence"], chain.ProblemKind.INVALID, str(exc))
            continue
        verifier.feed(fields, mapping["hash"])
    result = verifier.finish()
    for proposal_id, legs, entries in _unmatched_completions():
        verifier._problem(None, chain.ProblemKind.MISSING,
                          f"proposal {proposal_id} is completed with {legs} leg(s) but has "
                          f"{entries} trade entr{'y' if entries == 1 else 'ies'} in the ledger")
    return result


def _unmatched_completions() -> list[tuple[int, int, int]]:
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


# --- exports ---------------------------------------------------------------------------------

EXPORT_FORMAT = "common-currency-ledger-export"
CSV_COLUMNS = (*chain.HASHED_FIELDS, "hash", "giver_name", "receiver_name")


def _organisation_names() -> dict[int, str]:
    return dict(db.session.execute(db.select(Organisation.id, Organisation.name)).all())


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def export_json(actor: User | None, filters: LedgerFilter) -> Iterator[str]:
    """Stream a JSON export: a header, one entry per line, then a trailer.

    Each entry holds its hashed fields already in canonical form plus `hash`;
    `organisations` (id → name) is context for readers and is not hashed.
    """
    require_reader(actor)
    names = _organisation_names()
    header = {
        "format": EXPORT_FORMAT,
        "encoding_version": chain.ENCODING_VERSION,
        "generated_at": chain.format_time(utcnow()),
        "complete": filters.empty,
        "filters": filters.as_dict(),
        "hashed_fields": list(chain.HASHED_FIELDS),
        "genesis_hash": chain.GENESIS_HASH,
        "organisations": {str(k): v for k, v in sorted(names.items())},
    }
    head = _dumps(header)
    yield head[:-1] + ',"entries":[\n'
    count, last_sequence, last_hash = 0, None, None
    for fields, digest in canonical_rows(filters):
        line = _dumps({**fields, "hash": digest})
        yield ("," if count else "") + line + "\n"
        count += 1
        last_sequence, last_hash = fields["sequence"], digest
    yield "]," + _dumps({"count": count, "last_sequence": last_sequence,
                         "last_hash": last_hash})[1:] + "\n"


def export_csv(actor: User | None, filters: LedgerFilter) -> Iterator[str]:
    """Stream a CSV export: the hashed fields (canonical text; empty = null),
    `hash`, then the organisations' names (not hashed)."""
    require_reader(actor)
    names = _organisation_names()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        out = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return out

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for n, (fields, digest) in enumerate(canonical_rows(filters), start=1):
        writer.writerow([*("" if fields[name] is None else fields[name]
                           for name in chain.HASHED_FIELDS),
                         digest, names.get(fields["giver_id"], ""),
                         names.get(fields["receiver_id"], "")])
        if n % 500 == 0:
            yield flush()
    yield flush()


def export_filename(filters: LedgerFilter, extension: str) -> str:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return f"ledger-{'full' if filters.empty else 'filtered'}-{stamp}.{extension}"


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
    require_reader(actor)
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
    run: MatchingRun | None
    events: list[TimelineEvent] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)


def exchange_timeline(actor: User | None, proposal_id: int) -> Timeline:
    """Everything that happened to one exchange, oldest first: the matching run,
    the proposal, every transition (approvals, acceptances, declines,
    cancellations…), each leg's confirmation and the ledger entries."""
    require_reader(actor)
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
