"""The API's own table: stored answers of requests sent with an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.extensions import db


class IdempotencyRecord(db.Model):
    """The stored answer to a request sent with an Idempotency-Key header.

    One per (user, key): sending the key again replays this answer instead of acting
    twice; the same key with another body is refused (`request_hash` differs).
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    path: Mapped[str] = mapped_column(String(500), nullable=False)
    # SHA-256 of the request body: a key reused with another body is refused, not replayed.
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    status_code: Mapped[int] = mapped_column(nullable=False)
    body: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
