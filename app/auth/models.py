"""Accounts, roles and API tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.choices import ChoiceSet
from app.core.clock import TimestampMixin, utcnow
from app.extensions import db


class Role(ChoiceSet):
    MEMBER = "member"
    COORDINATOR = "coordinator"
    AUDITOR = "auditor"
    ADMIN = "admin"
    LABELS = {ADMIN: "Administrator"}


class User(UserMixin, TimestampMixin, db.Model):
    """A person who logs in. Members belong to exactly one organisation.

    `session_epoch` is part of the Flask-Login id, so bumping it (logout,
    password change, disabling) invalidates every session and remember cookie
    issued before.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(Role.sql_in("role"), name="role_valid"),
        CheckConstraint(
            "role <> 'member' OR organisation_id IS NOT NULL", name="member_has_organisation"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default=Role.MEMBER)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    enabled: Mapped[bool] = mapped_column(default=True, nullable=False)
    session_epoch: Mapped[int] = mapped_column(default=0, nullable=False)
    # The nonce inside the one live password-reset link (None: no link is live). A new
    # request replaces it, using the link or changing the password clears it.
    reset_nonce: Mapped[str | None] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None]

    organisation = relationship("Organisation", back_populates="users")
    tokens = relationship("ApiToken", back_populates="user", cascade="all, delete-orphan")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.enabled

    @property
    def is_member(self) -> bool:
        return self.role == Role.MEMBER

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR

    @property
    def is_auditor(self) -> bool:
        return self.role == Role.AUDITOR

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def belongs_to(self, organisation_id: int | None) -> bool:
        return self.is_member and organisation_id is not None and (
            self.organisation_id == organisation_id
        )

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for the API. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(80), nullable=False, default="api")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user = relationship("User", back_populates="tokens")


class LoginAttempt(db.Model):
    """Recorded failed logins, for rate limiting across processes."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), nullable=False, default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False, index=True)


class ShownOnceSecret(db.Model):
    """A secret waiting to be shown once (a new API token, a generated password), split in
    two: this row holds it XOR-ed with a random pad of the same length, the viewer's
    session holds the pad and the row's random id. Neither half alone reveals anything;
    the row is deleted when it is read, and rows past `expires_at` are purged.
    """

    __tablename__ = "shown_once_secrets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    sealed: Mapped[str] = mapped_column(String(1024), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
