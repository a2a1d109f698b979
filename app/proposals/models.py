"""Proposals (exchanges the matcher found), their legs and participants, and the
audit trail of every transition.

Statuses are ChoiceSets; CHECK constraints keep the columns to them, and a partial
unique index keeps at most one open proposal per exchange signature. Transitions
are written once and never edited."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.choices import ChoiceSet
from app.core.clock import TimestampMixin, utcnow
from app.extensions import db


class ProposalStatus(ChoiceSet):
    PROPOSED = "proposed"
    APPROVED = "approved"
    AGREED = "agreed"
    COMPLETED = "completed"
    REJECTED = "rejected"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    OPEN = (PROPOSED, APPROVED, AGREED)
    FINAL = (COMPLETED, REJECTED, DECLINED, CANCELLED, EXPIRED, SUPERSEDED)
    # Statuses in which the proposal holds reservations on its listings.
    RESERVING = (APPROVED, AGREED)


class Action(ChoiceSet):
    """What a ProposalTransition records (one per service function)."""

    PROPOSE = "propose"
    APPROVE = "approve"
    REJECT = "reject"
    ACCEPT = "accept"
    DECLINE = "decline"
    CONFIRM = "confirm"
    COMPLETE = "complete"
    CANCEL = "cancel"
    EXPIRE = "expire"
    SUPERSEDE = "supersede"


class ExchangeKind(ChoiceSet):
    CYCLE = "cycle"
    CHAIN = "chain"


class Response(ChoiceSet):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


OPEN_SIGNATURE_WHERE = f"status IN ({', '.join(repr(s) for s in ProposalStatus.OPEN)})"


class Proposal(TimestampMixin, db.Model):
    """A proposed exchange (cycle or chain) and where it is in its lifecycle.

    `signature` is the canonical sorted set of (offer, need) pairs: an exchange
    a participant declined is never proposed again with the same signature.
    """

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(ProposalStatus.sql_in("status"), name="status_valid"),
        CheckConstraint(ExchangeKind.sql_in("kind"), name="kind_valid"),
        # At most one open proposal per exchange, whatever runs overlap.
        Index(
            "uq_proposals_open_signature", "signature", unique=True,
            sqlite_where=text(OPEN_SIGNATURE_WHERE), postgresql_where=text(OPEN_SIGNATURE_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("matching_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(
        String(12), nullable=False, default=ProposalStatus.PROPOSED, index=True
    )
    signature: Mapped[str] = mapped_column(String(2000), nullable=False, index=True)
    weight: Mapped[float] = mapped_column(nullable=False, default=0.0)
    fairness: Mapped[float | None]
    expected_completion: Mapped[float | None]
    explanation: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accept_by: Mapped[datetime | None]
    deliver_by: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    status_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    run = relationship("MatchingRun", back_populates="proposals")
    approved_by = relationship("User")
    legs = relationship(
        "ProposalLeg", back_populates="proposal", order_by="ProposalLeg.position",
        cascade="all, delete-orphan",
    )
    participants = relationship(
        "ProposalParticipant", back_populates="proposal",
        order_by="ProposalParticipant.position", cascade="all, delete-orphan",
    )
    transitions = relationship(
        "ProposalTransition", back_populates="proposal", order_by="ProposalTransition.id"
    )

    @property
    def deadline_passed(self) -> bool:
        """Approved past its acceptance deadline or agreed past its delivery deadline:
        the next transition (or `flask proposals expire`) records it as expired."""
        now = utcnow()
        if self.status == ProposalStatus.APPROVED:
            return self.accept_by is not None and self.accept_by <= now
        if self.status == ProposalStatus.AGREED:
            return self.deliver_by is not None and self.deliver_by <= now
        return False


class ProposalParticipant(db.Model):
    """An organisation taking part in a proposal and its free response."""

    __tablename__ = "proposal_participants"
    __table_args__ = (UniqueConstraint("proposal_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), nullable=False)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(nullable=False)
    value_given: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=0)
    value_received: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=0)
    response: Mapped[str] = mapped_column(String(10), nullable=False, default=Response.PENDING)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responded_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    proposal = relationship("Proposal", back_populates="participants")
    organisation = relationship("Organisation")
    responded_by = relationship("User")

    @property
    def fairness(self) -> float | None:
        """min(given, received) / max(given, received); None for a side that only gives
        (a chain's gift) or only receives (a chain's end), which are exempt."""
        given, received = Decimal(self.value_given or 0), Decimal(self.value_received or 0)
        if given <= 0 or received <= 0:
            return None
        return float(min(given, received) / max(given, received))


class ProposalLeg(db.Model):
    """One transfer: giver's offer meets receiver's need, at the value of the day."""

    __tablename__ = "proposal_legs"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("proposal_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), nullable=False)
    position: Mapped[int] = mapped_column(nullable=False)
    giver_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    receiver_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    offer_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), nullable=False, index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), nullable=False, index=True)
    currency_id: Mapped[int] = mapped_column(ForeignKey("currencies.id"), nullable=False)
    quantity: Mapped[int] = mapped_column(nullable=False)
    unit_value: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    proposal = relationship("Proposal", back_populates="legs")
    giver = relationship("Organisation", foreign_keys=[giver_id])
    receiver = relationship("Organisation", foreign_keys=[receiver_id])
    offer = relationship("Listing", foreign_keys=[offer_id])
    need = relationship("Listing", foreign_keys=[need_id])
    currency = relationship("Currency")
    confirmed_by = relationship("User")


class ProposalTransition(db.Model):
    """Audit trail: every state change of a proposal, who made it and why.

    Rows are written once and never edited; the actor's name is copied so the
    trail reads the same after an account is renamed.
    """

    __tablename__ = "proposal_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id"), nullable=False, index=True
    )
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(120), nullable=False, default="system")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    proposal = relationship("Proposal", back_populates="transitions")
    actor = relationship("User")
    organisation = relationship("Organisation")
