"""Accounts, roles and API tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.choices import ChoiceSet
from app.core.clock import TimestampMixin, utcnow
from app.core.errors import AppendOnlyViolation
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


class AdminActionKind(ChoiceSet):
    """What an administrative action changed (the audit log's `action`)."""

    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_PASSWORD_RESET = "user.password_reset"
    ORGANISATION_CREATED = "organisation.created"
    ORGANISATION_UPDATED = "organisation.updated"
    CURRENCY_CREATED = "currency.created"
    CURRENCY_UPDATED = "currency.updated"
    SETTINGS_UPDATED = "settings.updated"
    LABELS = {
        USER_CREATED: "Account created", USER_UPDATED: "Account changed",
        USER_PASSWORD_RESET: "Password reset by an administrator",
        ORGANISATION_CREATED: "Organisation added", ORGANISATION_UPDATED: "Organisation changed",
        CURRENCY_CREATED: "Currency added", CURRENCY_UPDATED: "Currency changed",
        SETTINGS_UPDATED: "Market settings changed",
    }


class AdminAction(db.Model):
    """One administrative change (accounts, roles, organisations, currencies and their
    values, market settings): who, when, what, and each changed field's old and new value.

    Append-only like the ledger: the ORM refuses to change or delete a row, the database
    triggers refuse it too, and the app's PostgreSQL role has no UPDATE or DELETE on it.
    `actor_name` is a copy, so the record reads the same after the account changes; no
    secret (password, token) is ever written into `changes`.
    """

    __tablename__ = "admin_actions"
    __table_args__ = (CheckConstraint(AdminActionKind.sql_in("action"), name="action_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    target_type: Mapped[str] = mapped_column(String(20), nullable=False)
    target_id: Mapped[int | None]
    target_label: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)

    actor = relationship("User")

    def __repr__(self) -> str:
        return f"<AdminAction {self.id} {self.action} {self.target_type}:{self.target_id}>"


# The database triggers (migration 0008) are the real guarantee; these make a mistaken
# code path fail loudly before it reaches them.
@event.listens_for(AdminAction, "before_update")
def _refuse_update(mapper, connection, target: AdminAction) -> None:
    raise AppendOnlyViolation(f"admin action {target.id} cannot be changed")


@event.listens_for(AdminAction, "before_delete")
def _refuse_delete(mapper, connection, target: AdminAction) -> None:
    raise AppendOnlyViolation(f"admin action {target.id} cannot be deleted")
