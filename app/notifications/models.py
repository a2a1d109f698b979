"""In-app notifications, and the email outbox and preferences beside them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.choices import ChoiceSet
from app.core.clock import utcnow
from app.core.limits import MAX_MESSAGE
from app.extensions import db


class Notification(db.Model):
    """An in-app message for one user, optionally about one proposal.

    Written in the same transaction as the change it reports, so a rolled-back
    change leaves no message behind. `read_at` is set once, never cleared.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    # The proposal it is about (by table name: notifications know nothing of proposals).
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    message: Mapped[str] = mapped_column(String(MAX_MESSAGE), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    read_at: Mapped[datetime | None]

    user = relationship("User")


class EmailCategory(ChoiceSet):
    """What an email is about; each user chooses, per category, how to receive it."""

    ACTIONS = "actions"      # something to do: accept or decline, deliver and confirm
    REMINDERS = "reminders"  # a deadline still open in 3 days, in 1 day
    OUTCOMES = "outcomes"    # completed, declined, cancelled, expired, superseded
    NEWS = "news"            # coordinators: a round finished, exchanges stalled
    ALERTS = "alerts"        # auditors: a scheduled ledger verification failed
    ACCOUNT = "account"      # password reset: always sent at once, no unsubscribe
    LABELS = {
        ACTIONS: "Exchanges waiting for you (accept, decline, deliver, confirm)",
        REMINDERS: "Deadline reminders (3 days and 1 day before)",
        OUTCOMES: "Outcomes (completed, declined, cancelled, expired, superseded)",
        NEWS: "News for coordinators (rounds finished, stalled exchanges)",
        ALERTS: "Alerts for auditors (ledger verification failed)",
        ACCOUNT: "Your account (password reset)",
    }
    CHOOSABLE = (ACTIONS, REMINDERS, OUTCOMES, NEWS, ALERTS)


class Delivery(ChoiceSet):
    """How a user receives a category: at once, in a daily or weekly digest, or not."""

    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"
    OFF = "off"
    LABELS = {IMMEDIATE: "Immediately", DAILY: "Daily digest", WEEKLY: "Weekly digest",
              OFF: "Off"}
    DIGESTS = (DAILY, WEEKLY)


# Outcomes and requests for action arrive at once; news waits for the daily digest.
DEFAULT_DELIVERY = {
    EmailCategory.ACTIONS: Delivery.IMMEDIATE,
    EmailCategory.REMINDERS: Delivery.IMMEDIATE,
    EmailCategory.OUTCOMES: Delivery.IMMEDIATE,
    EmailCategory.NEWS: Delivery.DAILY,
    EmailCategory.ALERTS: Delivery.IMMEDIATE,
    EmailCategory.ACCOUNT: Delivery.IMMEDIATE,
}


class EmailStatus(ChoiceSet):
    PENDING = "pending"    # to be sent by the next delivery job (maybe after a back-off)
    HELD = "held"          # waiting for the user's daily or weekly digest
    SENDING = "sending"    # claimed by a delivery job
    SENT = "sent"
    DIGESTED = "digested"  # went out inside the digest `digest_id`
    SKIPPED = "skipped"    # the user turned the category off
    FAILED = "failed"      # gave up after EMAIL_MAX_ATTEMPTS, or interrupted mid-send


class EmailMessage(db.Model):
    """The outbox: one email for one user about one event, written in the same
    transaction as the event (so a rolled-back change sends nothing).

    `event_key` + `user_id` is unique: the same event never mails the same person
    twice, however often a job or a transition is retried. The body is rendered when
    the event happens (what was true then); a digest is itself a row whose items point
    to it through `digest_id`.
    """

    __tablename__ = "email_messages"
    __table_args__ = (
        UniqueConstraint("event_key", "user_id"),
        CheckConstraint(EmailCategory.sql_in("category"), name="category_valid"),
        CheckConstraint(EmailStatus.sql_in("status"), name="status_valid"),
        Index("ix_email_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=EmailStatus.PENDING)
    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    body_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The item as a digest shows it: a short text and HTML fragment, and its deadline.
    summary_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    summary_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    deadline: Mapped[datetime | None]
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("email_messages.id"), index=True)
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None]

    user = relationship("User")


class EmailPreference(db.Model):
    """A user's choice for one category; no row means the category's default."""

    __tablename__ = "email_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "category"),
        CheckConstraint(EmailCategory.sql_in("category"), name="category_valid"),
        CheckConstraint(Delivery.sql_in("delivery"), name="delivery_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         nullable=False)
    category: Mapped[str] = mapped_column(String(20), nullable=False)
    delivery: Mapped[str] = mapped_column(String(10), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow,
                                                 nullable=False)
