"""`flask users …`: manage accounts from a shell (the system acts, no login needed).

Each command calls the same services as the admin pages and commits once;
a refused action prints a clear message and exits non-zero.
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from app.auth import services
from app.auth.models import Role, User
from app.core.errors import ServiceError
from app.extensions import db
from app.market import organisations as organisation_rules


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def _fail(exc: ServiceError) -> None:
    db.session.rollback()
    details = "; ".join(f"{field}: {' '.join(map(str, messages))}"
                        for field, messages in (exc.errors or {}).items())
    raise click.ClickException(exc.message + (f" ({details})" if details else ""))


def _user_or_fail(email: str) -> User:
    user = services.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No account with the email {email}.")
    return user


def _obtain_password(given: str | None) -> tuple[str, bool]:
    """The password to set and whether it was generated (so it must be printed)."""
    if given is not None:
        return given, False
    if _stdin_is_tty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True), False
    return services.generate_password(), True


@click.group("users")
def users_group() -> None:
    """Manage user accounts."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(Role.ALL), help="The account's role.")
@click.option("--org", "org_slug", default=None, help="Organisation slug (members only).")
@click.option("--name", default=None, help="Full name (default: the part before the @).")
@click.option("--password", default=None,
              help="Initial password. Without it: prompted on a terminal, else generated "
                   "and printed once.")
@with_appcontext
def create_command(email: str, role: str, org_slug: str | None, name: str | None,
                   password: str | None) -> None:
    """Create an account."""
    try:
        organisation = organisation_rules.find_organisation(slug=org_slug) if org_slug else None
        password, generated = _obtain_password(password)
        user = services.create_user(
            None, email=email, name=name or email.split("@")[0], role=role,
            organisation=organisation, password=password)
    except ServiceError as exc:
        _fail(exc)
    db.session.commit()
    where = f" of {user.organisation.name}" if user.organisation else ""
    click.echo(f"Created {Role.LABELS[user.role].lower()} {user.email}{where} (id {user.id}).")
    if generated:
        click.echo(f"Password (shown once): {password}")


@users_group.command("list")
@click.option("--role", type=click.Choice(Role.ALL), default=None, help="Only this role.")
@with_appcontext
def list_command(role: str | None) -> None:
    """List accounts: email, role, organisation, status."""
    rows = db.session.execute(services.users_query(None, role=role)).scalars().all()
    if not rows:
        click.echo("No accounts.")
        return
    width = max(len(user.email) for user in rows)
    for user in rows:
        org = user.organisation.slug if user.organisation else "-"
        status = "enabled" if user.enabled else "disabled"
        click.echo(f"{user.email:<{width}}  {user.role:<11}  {status:<8}  {org}")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def disable_command(email: str) -> None:
    """Disable an account: ends its sessions and revokes its API tokens."""
    user = _user_or_fail(email)
    try:
        services.disable_user(None, user)
    except ServiceError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Disabled {user.email}; its sessions ended and its API tokens were revoked.")


@users_group.command("enable")
@click.argument("email")
@with_appcontext
def enable_command(email: str) -> None:
    """Enable a disabled account again (its old tokens stay revoked)."""
    user = _user_or_fail(email)
    try:
        services.update_user(None, user, enabled=True)
    except ServiceError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Enabled {user.email}.")


@users_group.command("set-password")
@click.argument("email")
@click.option("--password", default=None,
              help="The new password. Without it: prompted on a terminal, else generated "
                   "and printed once.")
@click.option("--revoke-tokens", is_flag=True, help="Also revoke the account's API tokens.")
@with_appcontext
def set_password_command(email: str, password: str | None, revoke_tokens: bool) -> None:
    """Set an account's password; ends its sessions."""
    user = _user_or_fail(email)
    try:
        password, generated = _obtain_password(password)
        services.set_password(None, user, password, revoke_tokens=revoke_tokens)
    except ServiceError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Password of {user.email} set; its sessions ended.")
    if generated:
        click.echo(f"Password (shown once): {password}")


COMMANDS = [users_group]
