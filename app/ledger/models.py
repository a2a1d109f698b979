"""The ledger of trust: append-only, hash-chained entries of completed trades."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common import utcnow
from app.extensions import db


class EntryKind:
    TRADE = "trade"
    REVERSAL = "reversal"
    ALL = (TRADE, REVERSAL)


class LedgerEntry(db.Model):
    """One leg of a completed exchange, or a reversal of an earlier entry.

    `sequence` is gap-free from 1; `hash` = SHA-256 over the canonical encoding
    of the entry plus `previous_hash` (see app/ledger/chain.py and the README).
    Entries are never updated or deleted: the ORM and the database refuse it.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default=EntryKind.TRADE)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), index=True)
    leg_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_legs.id"))
    giver_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    receiver_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    currency_code: Mapped[str] = mapped_column(String(32), nullable=False)
    quantity: Mapped[int] = mapped_column(nullable=False)
    unit_value: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    reverses_sequence: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    previous_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)

    proposal = relationship("Proposal")
    giver = relationship("Organisation", foreign_keys=[giver_id])
    receiver = relationship("Organisation", foreign_keys=[receiver_id])
