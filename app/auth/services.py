"""Account rules shared by the pages, the API and the CLI.

Every function takes the acting `User` (None for the system: the CLI, the demo
seed) and does its own checks. They flush but never commit: the view, API
endpoint or CLI command commits once.

Invariants kept here:
- emails are stored stripped and lower-case, so uniqueness is case-insensitive;
- a member belongs to exactly one organisation; other roles belong to none;
- at least one enabled administrator always remains, and nobody can disable
  or demote their own account;
- bumping `session_epoch` (logout, password change, disabling) invalidates
  every session and remember-me cookie issued before;
- a failed login is recorded before the answer is sent, so the rate limit
  holds across processes.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select

from app.auth import admin_log, policy
from app.auth.models import AdminActionKind, ApiToken, LoginAttempt, Role, User
from app.auth.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from app.auth.tokens import issue_token, revoke_token
from app.core.clock import utcnow
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from app.core.limits import (
    MAX_EMAIL_LENGTH,
    MAX_LIVE_TOKENS,
    MAX_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_TOKEN_NAME_LENGTH,
    MIN_PASSWORD_LENGTH,
)
from app.core.validation import EMAIL_RE, LINE_CONTROL_RE, valid_id
from app.extensions import db


class LoginRefused(ServiceError):
    """A login or token request was refused: wrong credentials (401), a
    disabled account (403) or too many recent failures (429)."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, status: int = 401, code: str | None = None,
                 retry_after: int = 0):
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


BAD_CREDENTIALS = "The email or password is not correct."
#: What the audit log of administrative actions keeps of an account (never its password).
USER_LOGGED_FIELDS = ("email", "name", "role", "organisation", "enabled")


# --- validation helpers ------------------------------------------------------------------

def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def _clean_email(email: str | None) -> str:
    email = normalise_email(email)
    if not email:
        raise Invalid("An email address is required.", errors={"email": ["Enter an email."]})
    if len(email) > MAX_EMAIL_LENGTH:
        raise Invalid("The email address is too long.",
                      errors={"email": [f"At most {MAX_EMAIL_LENGTH} characters."]})
    if LINE_CONTROL_RE.search(email) or not EMAIL_RE.match(email):
        raise Invalid("The email address is not valid.",
                      errors={"email": ["Enter an address like name@example.org."]})
    return email


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid("A name is required.", errors={"name": ["Enter a name."]})
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid("The name is too long.",
                      errors={"name": [f"At most {MAX_NAME_LENGTH} characters."]})
    if LINE_CONTROL_RE.search(name):
        raise Invalid("The name contains control characters.",
                      errors={"name": ["Remove control characters."]})
    return name


def check_password_strength(password: str | None, field: str = "password") -> str:
    """The password itself, or Invalid naming `field`."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("The password is too short.",
                      errors={field: [f"Use at least {MIN_PASSWORD_LENGTH} characters."]})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid("The password is too long.",
                      errors={field: [f"At most {MAX_PASSWORD_LENGTH} characters."]})
    if "\x00" in password:
        raise Invalid("The password contains a NUL character.",
                      errors={field: ["Remove the NUL character."]})
    return password


def generate_password() -> str:
    """A random password comfortably above the minimum length (shown once)."""
    return secrets.token_urlsafe(15)


def _check_role_and_organisation(role: str, organisation: object) -> None:
    if role not in Role.ALL:
        raise Invalid("Unknown role.",
                      errors={"role": [f"Choose one of: {', '.join(Role.ALL)}."]})
    if role == Role.MEMBER and organisation is None:
        raise Invalid("A member must belong to an organisation.",
                      errors={"organisation": ["Choose the member's organisation."]})
    if role != Role.MEMBER and organisation is not None:
        raise Invalid("Only members belong to an organisation.",
                      errors={"organisation": [
                          f"A {Role.LABELS[role].lower()} belongs to no organisation; "
                          "leave it empty."]})


def _enabled_admins_other_than(user: User) -> int:
    return db.session.execute(
        db.select(db.func.count(User.id)).where(
            User.role == Role.ADMIN, User.enabled.is_(True), User.id != user.id)
    ).scalar_one()


# --- lookups -----------------------------------------------------------------------------

def find_user_by_email(email: str | None) -> User | None:
    email = normalise_email(email)
    # PostgreSQL refuses NUL in a query parameter; no stored email has control characters.
    if not email or len(email) > MAX_EMAIL_LENGTH or LINE_CONTROL_RE.search(email):
        return None
    return db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()


def get_user(actor: User | None, user_id: int) -> User:
    """An account, for an administrator (or the system)."""
    policy.require(actor, "user.manage")
    user = db.session.get(User, user_id) if valid_id(user_id) else None
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def users_query(actor: User | None, *, text: str = "", role: str | None = None,
                organisation_id: int | None = None, enabled: bool | None = None) -> Select:
    """The accounts an administrator may list, filtered, ordered by email."""
    policy.require(actor, "user.manage")
    statement = db.select(User).order_by(User.email)
    text = LINE_CONTROL_RE.sub("", text or "").strip().lower()[:100]
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(db.or_(
            db.func.lower(User.email).like(pattern, escape="\\"),
            db.func.lower(User.name).like(pattern, escape="\\"),
        ))
    if role in Role.ALL:
        statement = statement.where(User.role == role)
    if organisation_id is not None and valid_id(organisation_id):
        statement = statement.where(User.organisation_id == organisation_id)
    if enabled is not None:
        statement = statement.where(User.enabled.is_(enabled))
    return statement


# --- login and rate limiting -------------------------------------------------------------
#
# Two limits, both counted in `login_attempts` (so they hold across processes without a
# shared cache):
# * per account (email): LOGIN_RATE_LIMIT failures are free; after that each attempt
#   waits LOGIN_BACKOFF_SECONDS after the latest failure, doubling with every further
#   failure, capped at LOGIN_BACKOFF_MAX_SECONDS. A refused attempt is not a failure,
#   so waiting it out costs nothing more; guessing gets exponentially slower.
# * per address: LOGIN_ADDRESS_LIMIT failures (for any accounts) in the window, a
#   ceiling far above one person's typing. Behind a trust's proxy every user shares one
#   address: one typist's mistakes lock only their own account, never a colleague's.
# Failures older than LOGIN_RATE_WINDOW_SECONDS are forgotten; a success clears the
# account's failures.

def _rate_settings() -> dict:
    config = current_app.config
    return {
        "limit": int(config.get("LOGIN_RATE_LIMIT", 5)),
        "window": int(config.get("LOGIN_RATE_WINDOW_SECONDS", 900)),
        "backoff": int(config.get("LOGIN_BACKOFF_SECONDS", 30)),
        "backoff_max": int(config.get("LOGIN_BACKOFF_MAX_SECONDS", 900)),
        "address_limit": int(config.get("LOGIN_ADDRESS_LIMIT", 100)),
    }


def _attempt_key(email: str | None, remote_addr: str | None) -> tuple[str, str]:
    # Whatever arrives is stored, so strip what the database may refuse (NUL on PostgreSQL).
    email = normalise_email(email).replace("\x00", "")[:MAX_EMAIL_LENGTH]
    remote_addr = (remote_addr or "").replace("\x00", "")[:64]
    return email, remote_addr


def account_backoff_seconds(failures: int) -> int:
    """How long an account waits after its latest failure, given its failures so far."""
    settings = _rate_settings()
    if failures < settings["limit"]:
        return 0
    doublings = min(failures - settings["limit"], 30)  # 2**30 s is past any cap
    return min(settings["backoff"] * 2 ** doublings, settings["backoff_max"])


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds()) + 1) if moment > now else 0


def login_retry_after(email: str | None, remote_addr: str | None) -> int:
    """Seconds until this email may try again from this address (0: allowed now)."""
    settings = _rate_settings()
    email, remote_addr = _attempt_key(email, remote_addr)
    now = utcnow()
    since = now - timedelta(seconds=settings["window"])
    wait = 0
    if email:
        failures = db.session.execute(
            db.select(db.func.count(LoginAttempt.id), db.func.max(LoginAttempt.created_at))
            .where(LoginAttempt.email == email, LoginAttempt.created_at > since)
        ).one()
        backoff = account_backoff_seconds(failures[0])
        if backoff:
            wait = _seconds_until(failures[1] + timedelta(seconds=backoff), now)
    if remote_addr:
        ceiling = settings["address_limit"]
        recent = db.session.execute(
            db.select(LoginAttempt.created_at)
            .where(LoginAttempt.remote_addr == remote_addr, LoginAttempt.created_at > since)
            .order_by(LoginAttempt.created_at.desc())
            .limit(ceiling)
        ).scalars().all()
        if len(recent) >= ceiling:
            # The oldest of the last `ceiling` failures leaves the window first.
            wait = max(wait, _seconds_until(recent[-1] + timedelta(seconds=settings["window"]),
                                            now) or 1)
    return wait


def record_failed_login(email: str | None, remote_addr: str | None) -> None:
    """Remember a failure (and forget failures older than the window)."""
    window = _rate_settings()["window"]
    email, remote_addr = _attempt_key(email, remote_addr)
    db.session.execute(db.delete(LoginAttempt).where(
        LoginAttempt.created_at < utcnow() - timedelta(seconds=window)))
    db.session.add(LoginAttempt(email=email, remote_addr=remote_addr))
    db.session.flush()


def authenticate(email: str | None, password: str | None, remote_addr: str | None) -> User:
    """The enabled user with these credentials, or LoginRefused.

    Limited per account (growing back-off) and per remote address (a high ceiling),
    see above; an unknown email costs the
    same hashing time as a known one; the stored hash is upgraded when the
    hashing parameters changed. A failure is flushed: the caller commits it
    even though it answers with an error.
    """
    retry_after = login_retry_after(email, remote_addr)
    if retry_after:
        if retry_after < 90:
            when = f"{retry_after} second{'s' if retry_after != 1 else ''}"
        else:
            when = f"about {round(retry_after / 60)} minutes"
        raise LoginRefused(
            "Too many failed log-in attempts for this account or from this address. "
            f"Try again in {when}.",
            status=429, code="too_many_requests", retry_after=retry_after)
    password = password if isinstance(password, str) else ""
    user = find_user_by_email(email)
    if user is None or len(password) > MAX_PASSWORD_LENGTH:
        verify_password(DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
        record_failed_login(email, remote_addr)
        raise LoginRefused(BAD_CREDENTIALS)
    if not verify_password(user.password_hash, password):
        record_failed_login(email, remote_addr)
        raise LoginRefused(BAD_CREDENTIALS)
    if not user.enabled:
        raise LoginRefused("This account is disabled; ask an administrator.", status=403,
                           code="account_disabled")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    # A success clears the account's failures; the address keeps its count.
    db.session.execute(db.delete(LoginAttempt).where(LoginAttempt.email == user.email))
    db.session.flush()
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie issued to `user` so far."""
    user.session_epoch = (user.session_epoch or 0) + 1
    db.session.flush()


# --- accounts ----------------------------------------------------------------------------

def new_user_problems(*, email: str | None, name: str | None, role: str | None,
                      organisation=None, password: str | None = None) -> dict[str, list[str]]:
    """Every problem with a new account's fields at once, per field (empty: none),
    so a form shows them all together rather than one per attempt. `password`
    None: not checked (the page generates one). Writes nothing."""
    return _new_user_check(email, name, role, organisation, password)[0]


def _new_user_check(email, name, role, organisation, password) -> tuple[dict, list[str]]:
    """(problems per field, the checks' own messages) of a new account's fields."""
    problems: dict[str, list[str]] = {}
    messages: list[str] = []
    checks = [lambda: _clean_email(email), lambda: _clean_name(name),
              lambda: _check_role_and_organisation(role, organisation)]
    if password is not None:
        checks.append(lambda: check_password_strength(password))
    for check in checks:
        try:
            check()
        except Invalid as exc:
            messages.append(exc.message)
            for field, field_messages in exc.errors.items():
                problems.setdefault(field, []).extend(field_messages)
    return problems, messages


def create_user(actor: User | None, *, email: str, name: str, role: str,
                password: str, organisation=None) -> User:
    """A new enabled account. Admins (or the system) only; the email must be new."""
    policy.require(actor, "user.manage")
    problems, messages = _new_user_check(email, name, role, organisation, password)
    if problems:
        raise Invalid(" ".join(messages), errors=problems)
    email, name = _clean_email(email), _clean_name(name)
    if find_user_by_email(email) is not None:
        raise Conflict(f"An account with the email {email} already exists.",
                       errors={"email": ["An account with this email already exists."]})
    user = User(email=email, name=name, role=role, organisation=organisation,
                password_hash=hash_password(password), enabled=True)
    db.session.add(user)
    db.session.flush()
    admin_log.record(actor, AdminActionKind.USER_CREATED, user, before=None,
                     after=admin_log.snapshot(user, USER_LOGGED_FIELDS))
    return user


_UNSET: object = object()


def update_user(actor: User | None, user: User, *, name: str | object = _UNSET,
                role: str | object = _UNSET, organisation: object = _UNSET,
                enabled: bool | object = _UNSET) -> User:
    """Change an account's name, role, organisation or enabled flag (admins only).

    Refuses to let an administrator disable or demote themselves, and to leave
    the system without an enabled administrator. Disabling ends every session
    and revokes every API token.
    """
    policy.require(actor, "user.manage")
    new_name = user.name if name is _UNSET else _clean_name(name)  # type: ignore[arg-type]
    new_role = user.role if role is _UNSET else role
    new_org = user.organisation if organisation is _UNSET else organisation
    new_enabled = user.enabled if enabled is _UNSET else bool(enabled)
    _check_role_and_organisation(new_role, new_org)  # type: ignore[arg-type]

    stays_admin = new_role == Role.ADMIN and new_enabled
    if user.is_admin and user.enabled and not stays_admin:
        if actor is not None and actor.id == user.id:
            field = "enabled" if not new_enabled else "role"
            raise Invalid("You cannot disable or demote your own account.",
                          errors={field: ["You cannot disable or demote your own account; "
                                          "ask another administrator."]})
        if _enabled_admins_other_than(user) == 0:
            raise Conflict("At least one enabled administrator must remain.",
                           errors={"role": ["This is the last enabled administrator."]})

    disabling = user.enabled and not new_enabled
    before = admin_log.snapshot(user, USER_LOGGED_FIELDS)
    user.name = new_name
    user.role = new_role  # type: ignore[assignment]
    user.organisation = new_org  # type: ignore[assignment]
    user.enabled = new_enabled
    if disabling:
        end_sessions(user)
        revoke_all_tokens(user)
    db.session.flush()
    admin_log.record(actor, AdminActionKind.USER_UPDATED, user, before=before,
                     after=admin_log.snapshot(user, USER_LOGGED_FIELDS))
    return user


def disable_user(actor: User | None, user: User) -> User:
    return update_user(actor, user, enabled=False)


def set_password(actor: User | None, user: User, new_password: str, *,
                 current_password: str | None = None, revoke_tokens: bool = False) -> None:
    """Set a new password and end the user's other sessions.

    A user changing their own password must give the current one; an
    administrator (or the system) may reset anyone's.
    """
    if actor is not None and actor.id == user.id:
        if not verify_password(user.password_hash, current_password or ""):
            raise Invalid("The current password is not correct.",
                          errors={"current_password": ["This is not your current password."]})
        field = "new_password"
    else:
        policy.require(actor, "user.manage")
        field = "password"
    check_password_strength(new_password, field)
    user.password_hash = hash_password(new_password)
    user.reset_nonce = None  # a password change voids any live reset link
    end_sessions(user)
    if revoke_tokens:
        revoke_all_tokens(user)
    if field == "password":  # someone else's password: an administrative action
        admin_log.record(actor, AdminActionKind.USER_PASSWORD_RESET, user, before={},
                         after={"tokens_revoked": bool(revoke_tokens)})


# --- API tokens --------------------------------------------------------------------------

def _live(now: datetime):
    return db.and_(ApiToken.revoked_at.is_(None),
                   db.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))


def _clean_token_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid("A token name is required.", errors={"name": ["Enter a name."]})
    if len(name) > MAX_TOKEN_NAME_LENGTH:
        raise Invalid("The token name is too long.",
                      errors={"name": [f"At most {MAX_TOKEN_NAME_LENGTH} characters."]})
    if LINE_CONTROL_RE.search(name):
        raise Invalid("The token name contains control characters.",
                      errors={"name": ["Remove control characters."]})
    return name


def issue_api_token(actor: User, name: str | None = None) -> tuple[ApiToken, str]:
    """A new token for the actor themself; returns the row and the clear token.

    Live token names are unique per user, which also turns a double submit
    into a clear conflict instead of a second token.
    """
    if actor is None or not actor.enabled:
        raise Forbidden("Only an enabled account may hold API tokens.")
    now = utcnow()
    if name is None:
        name = f"API token {now:%Y-%m-%d %H:%M:%S}"
    name = _clean_token_name(name)
    live = db.session.execute(
        db.select(ApiToken.name).where(ApiToken.user_id == actor.id, _live(now))
    ).scalars().all()
    if name in live:
        raise Conflict(f"You already have a live token named {name!r}.",
                       errors={"name": ["You already have a live token with this name; "
                                        "revoke it or choose another name."]})
    if len(live) >= MAX_LIVE_TOKENS:
        raise Conflict(f"You already have {MAX_LIVE_TOKENS} live tokens; revoke some first.",
                       errors={"name": [f"At most {MAX_LIVE_TOKENS} live tokens."]})
    days = int(current_app.config.get("API_TOKEN_DAYS", 90)) or None
    return issue_token(actor, name=name, days=days)


def tokens_query(actor: User) -> Select:
    """The actor's own tokens, newest first (revoked and expired ones included)."""
    return (db.select(ApiToken).where(ApiToken.user_id == actor.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))


def get_own_token(actor: User, token_id: int) -> ApiToken:
    """One of the actor's tokens; another user's token is reported as unknown (404)."""
    token = db.session.get(ApiToken, token_id) if valid_id(token_id) else None
    if token is None or token.user_id != actor.id:
        raise NotFound(f"You have no token with id {token_id}.")
    return token


def revoke_api_token(actor: User, token_id: int) -> ApiToken:
    """Revoke one of the actor's tokens (revoking twice is harmless)."""
    token = get_own_token(actor, token_id)
    revoke_token(token)
    db.session.flush()
    return token


def revoke_all_tokens(user: User) -> int:
    """Revoke every live token of `user`; returns how many."""
    tokens = db.session.execute(
        db.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).scalars().all()
    for token in tokens:
        revoke_token(token)
    db.session.flush()
    return len(tokens)


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """'revoked', 'expired' or 'live' — for display."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "live"
