"""Ledger services: appending entries, reversals, reading, verifying and exporting.

The ledger knows nothing of proposals: a completed exchange reaches it as plain
`TradeLeg` records, and the cross-check of entries against completed proposals
lives in `app.reporting.audit`. Access is the policy's: "ledger.read_all" for the
whole ledger (auditors, coordinators, admins, the system), members read the
entries their own organisation gave or received, "ledger.reverse" for reversals.

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
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import or_, text

from app.auth.models import User
from app.auth.policy import allows, require
from app.core.clock import utcnow
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.validation import clean_reason
from app.extensions import db
from app.ledger import chain
from app.ledger.models import EntryKind, LedgerEntry
from app.market.models import Organisation

# Arbitrary but fixed: the key of the PostgreSQL advisory lock guarding appends.
LEDGER_LOCK_KEY = 0x1ED6E5
BATCH = 2000
_CENT = Decimal("0.01")


# --- who may do what -------------------------------------------------------------------------


def can_read_ledger(user: User | None) -> bool:
    """The whole ledger, audit trail, verification and exports: auditors,
    coordinators, admins (and the system, i.e. `None`, for the CLI)."""
    return allows(user, "ledger.read_all")


def require_reader(user: User | None) -> None:
    require(user, "ledger.read_all")


def can_reverse(user: User | None) -> bool:
    return allows(user, "ledger.reverse")


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


@dataclass(frozen=True)
class TradeLeg:
    """One leg of a completed exchange, as the ledger records it: plain values, so
    the ledger needs nothing of the proposal that produced it."""

    proposal_id: int
    leg_id: int
    giver_id: int
    receiver_id: int
    currency_code: str
    quantity: int
    unit_value: Decimal
    value: Decimal
    confirmed_by_id: int | None
    confirmed_by_name: str


def append_trade_entries(legs: Sequence[TradeLeg]) -> list[LedgerEntry]:
    """Append one trade entry per leg of one just-completed exchange, in the order given.

    Called by the proposal lifecycle in the transaction that sets the exchange
    `completed` (`app.proposals.recording`), so the completion and its entries land
    together or not at all. All of an exchange's entries share one timestamp.
    Refuses no legs, legs of several exchanges, and an exchange that already has
    trade entries. Flushes; never commits.
    """
    if not legs:
        raise Conflict("An exchange without legs cannot be recorded.")
    proposal_id = legs[0].proposal_id
    if any(leg.proposal_id != proposal_id for leg in legs):
        raise Conflict("The legs of one exchange are recorded together, alone.")
    sequence, previous_hash = _lock_and_read_head()
    already = db.session.execute(
        db.select(db.func.count()).select_from(LedgerEntry)
        .where(LedgerEntry.proposal_id == proposal_id, LedgerEntry.kind == EntryKind.TRADE)
    ).scalar_one()
    if already:
        raise Conflict(f"Proposal {proposal_id} is already in the ledger.")
    now = utcnow()
    entries = []
    for leg in legs:
        sequence += 1
        entry = _seal(LedgerEntry(
            sequence=sequence,
            kind=EntryKind.TRADE,
            proposal_id=proposal_id,
            leg_id=leg.leg_id,
            giver_id=leg.giver_id,
            receiver_id=leg.receiver_id,
            currency_code=leg.currency_code,
            quantity=leg.quantity,
            unit_value=_cents(leg.unit_value),
            value=_cents(leg.value),
            recorded_at=now,
            confirmed_by_id=leg.confirmed_by_id,
            confirmed_by_name=leg.confirmed_by_name,
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
    require(actor, "ledger.reverse")
    reason = clean_reason(reason, required=True)
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


def verify_chain(actor: User | None = None, anchors: Mapping[int, str] | None = None, *,
                 verifier: chain.ChainVerifier | None = None) -> chain.VerifyResult:
    """Check the whole chain in the database, streaming: every hash, every link,
    gap-free sequences from genesis, reversals and `anchors`.

    The chain alone; what auditors run (pages, API, `flask ledger verify`) is
    `app.reporting.audit.verify_ledger`, which adds the cross-check against the
    completed proposals to the same `verifier`.
    """
    require_reader(actor)
    verifier = verifier or chain.ChainVerifier(full=True, anchors=anchors)
    for row in iter_rows():
        mapping = row._mapping
        try:
            fields = chain.canonical_fields(mapping)
        except chain.EncodingError as exc:
            verifier.result.count += 1
            verifier._problem(mapping["sequence"], chain.ProblemKind.INVALID, str(exc))
            continue
        verifier.feed(fields, mapping["hash"])
    for sequence, message in reversal_mismatches():
        verifier.add_problem(sequence, chain.ProblemKind.REVERSAL, message)
    return verifier.finish()


# The fields a reversal copies from its original unchanged, and those it negates.
_REVERSAL_COPIES = ("proposal_id", "leg_id", "giver_id", "receiver_id", "currency_code",
                    "unit_value")
_REVERSAL_NEGATES = ("quantity", "value")


def reversal_mismatches() -> list[tuple[int, str]]:
    """(sequence, what is wrong) for each reversal that does not net its original
    exactly: same proposal, leg, parties, currency and unit value, quantity and value
    negated, and the original a trade entry. One query, however long the ledger."""
    reversal = LedgerEntry.__table__.alias("reversal")
    original = LedgerEntry.__table__.alias("original")
    columns = [reversal.c.sequence, reversal.c.reverses_sequence, original.c.kind]
    for name in (*_REVERSAL_COPIES, *_REVERSAL_NEGATES):
        columns += [reversal.c[name].label(f"r_{name}"), original.c[name].label(f"o_{name}")]
    differs = [reversal.c[name].is_distinct_from(original.c[name])
               for name in _REVERSAL_COPIES]
    differs += [reversal.c[name] != -original.c[name] for name in _REVERSAL_NEGATES]
    rows = db.session.execute(
        db.select(*columns)
        .join(original, original.c.sequence == reversal.c.reverses_sequence)
        .where(reversal.c.kind == EntryKind.REVERSAL,
               or_(original.c.kind != EntryKind.TRADE, *differs))
        .order_by(reversal.c.sequence)
    ).all()
    found = []
    for row in rows:
        m = row._mapping
        wrong = [f"{name} {m[f'r_{name}']} (original {m[f'o_{name}']})"
                 for name in _REVERSAL_COPIES if m[f"r_{name}"] != m[f"o_{name}"]]
        wrong += [f"{name} {m[f'r_{name}']} (original {m[f'o_{name}']}, so it must be "
                  f"{-m[f'o_{name}']})"
                  for name in _REVERSAL_NEGATES if m[f"r_{name}"] != -m[f"o_{name}"]]
        if m["kind"] != EntryKind.TRADE:
            wrong.append(f"the original is a {m['kind']}, not a trade")
        found.append((m["sequence"], f"does not net sequence {m['reverses_sequence']} "
                                     f"exactly: {'; '.join(wrong) or 'amounts differ'}"))
    return found


# --- anchors ---------------------------------------------------------------------------------


def head() -> tuple[int, str]:
    """(sequence, hash) of the newest entry; (0, GENESIS_HASH) for an empty ledger."""
    row = db.session.execute(
        db.select(LedgerEntry.sequence, LedgerEntry.hash)
        .order_by(LedgerEntry.sequence.desc()).limit(1)
    ).first()
    return (row.sequence, row.hash) if row is not None else (0, chain.GENESIS_HASH)


def _last_anchor(path: str) -> tuple[int, str] | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            lines = handle.read().decode("ascii", "replace").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        try:
            return chain.parse_anchor(line.split()[-1])
        except (ValueError, IndexError):
            continue
    return None


def record_anchor(path: str) -> tuple[int, str] | None:
    """Append the ledger head to the anchor file `path` (one `<time> SEQ:HASH` line,
    opened for appending only, flushed to disk) unless the ledger is empty or its head
    is the last one recorded. Returns the anchor written, or None.

    The file lives outside the database: someone who rewrites the chain and recomputes
    every hash cannot also rewrite what was recorded here (keep it on another machine
    or append-only storage, and in the backups). Reads only; never commits."""
    sequence, digest = head()
    if sequence == 0 or _last_anchor(path) == (sequence, digest):
        return None
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "a", encoding="ascii") as handle:
        handle.write(chain.format_anchor_line(sequence, digest, utcnow()))
        handle.flush()
        os.fsync(handle.fileno())
    return sequence, digest


def read_anchor_file(path: str) -> tuple[dict[int, str], list[str]]:
    """Every anchor recorded in `path`, and what is wrong with the file (see
    `chain.parse_anchor_lines`)."""
    with open(path, encoding="ascii", errors="replace") as handle:
        return chain.parse_anchor_lines(handle)


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
    `hash`, then the organisations' names (not hashed).

    Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
    `@`, tab or CR) get one `'` in front, and so do cells starting with `'`, so that
    removing one leading `'` from a text cell gives back the hashed text exactly
    (`chain.csv_text_value`; `tools/verify_ledger.py` does the same)."""
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
    text = chain.csv_text_cell
    for n, (fields, digest) in enumerate(canonical_rows(filters), start=1):
        writer.writerow([*(_csv_field(name, fields[name]) for name in chain.HASHED_FIELDS),
                         digest, text(names.get(fields["giver_id"], "")),
                         text(names.get(fields["receiver_id"], ""))])
        if n % 500 == 0:
            yield flush()
    yield flush()


def _csv_field(name: str, value: Any) -> Any:
    if value is None:
        return ""
    return chain.csv_text_cell(value) if isinstance(value, str) and name in \
        chain.TEXT_FIELDS else value


def export_filename(filters: LedgerFilter, extension: str) -> str:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return f"ledger-{'full' if filters.empty else 'filtered'}-{stamp}.{extension}"
