"""The Notification model: an in-app message for one user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
