"""The ledger of trust: append-only, hash-chained entries of completed trades."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.core.choices import ChoiceSet
from app.core.clock import utcnow
from app.core.errors import AppendOnlyViolation  # noqa: F401  (re-exported)
from app.extensions import db


class EntryKind(ChoiceSet):
    TRADE = "trade"
    REVERSAL = "reversal"


class LedgerEntry(db.Model):
    """One leg of a completed exchange, or a reversal of an earlier entry.

    `sequence` is gap-free from 1; `hash` = SHA-256 over the canonical encoding
    of the entry plus `previous_hash` (see app/ledger/chain.py and the README).
    Entries are never updated or deleted: the ORM and the database refuse it.

    Database invariants: `sequence`, `hash` and `previous_hash` are unique (two
    entries claiming the same predecessor would be a fork); an entry is reversed
    at most once (`reverses_sequence` unique); a trade moves a positive
    quantity, a reversal negates the quantity and value of the trade it
    references and carries a reason; migration 0005 adds triggers refusing
    UPDATE, DELETE, TRUNCATE and any INSERT that does not extend the head.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint(EntryKind.sql_in("kind"), name="kind_valid"),
        CheckConstraint(
            "(kind = 'trade' AND quantity > 0 AND value >= 0 AND reverses_sequence IS NULL)"
            " OR (kind = 'reversal' AND quantity < 0 AND value <= 0"
            " AND reverses_sequence IS NOT NULL AND reverses_sequence < sequence"
            " AND reason <> '')",
            name="kind_shape",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default=EntryKind.TRADE)
    # The exchange and leg an entry records, by id only: the ledger knows nothing of
    # proposals (the foreign keys keep the ids honest).
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), index=True)
    leg_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_legs.id"))
    giver_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), nullable=False, index=True
    )
    receiver_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), nullable=False, index=True
    )
    currency_code: Mapped[str] = mapped_column(String(32), nullable=False)
    quantity: Mapped[int] = mapped_column(nullable=False)
    unit_value: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False, index=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    reverses_sequence: Mapped[int | None] = mapped_column(unique=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    previous_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)

    giver = relationship("Organisation", foreign_keys=[giver_id])
    receiver = relationship("Organisation", foreign_keys=[receiver_id])
    confirmed_by = relationship("User")

    def __repr__(self) -> str:
        return f"<LedgerEntry {self.sequence} {self.kind} {self.hash[:12] if self.hash else ''}>"


# --- append-only at the ORM level ----------------------------------------------------------
# The database triggers are the real guarantee; these listeners make a mistaken
# code path fail loudly in development instead of only at the database.


@event.listens_for(Session, "before_flush")
def _refuse_changed_entries(session: Session, flush_context, instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, LedgerEntry):
            raise AppendOnlyViolation(f"ledger entry {obj.sequence} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, LedgerEntry) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"ledger entry {obj.sequence} cannot be changed")


@event.listens_for(LedgerEntry, "before_update")
def _refuse_update(mapper, connection, target: LedgerEntry) -> None:
    raise AppendOnlyViolation(f"ledger entry {target.sequence} cannot be changed")


@event.listens_for(LedgerEntry, "before_delete")
def _refuse_delete(mapper, connection, target: LedgerEntry) -> None:
    raise AppendOnlyViolation(f"ledger entry {target.sequence} cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    mappers = state.all_mappers
    if getattr(table, "name", None) == LedgerEntry.__tablename__ or any(
            m.class_ is LedgerEntry for m in mappers):
        raise AppendOnlyViolation("ledger entries cannot be updated or deleted")
