"""`flask proposals …`: lifecycle chores from a shell, calling the same services as
the pages and the API."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.proposals import services


@click.group("proposals")
def proposals_group() -> None:
    """The proposal lifecycle."""


@proposals_group.command("expire")
@with_appcontext
def expire_command() -> None:
    """Expire approved exchanges past their acceptance deadline and agreed ones past
    their delivery deadline, releasing their reservations. Safe to run from cron."""
    expired = services.expire_due()
    db.session.commit()
    if expired:
        click.echo(f"Expired {len(expired)} proposal(s): "
                   + ", ".join(f"#{pid}" for pid in expired) + ".")
    else:
        click.echo("Nothing to expire.")


COMMANDS = [proposals_group]
