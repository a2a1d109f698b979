"""Command-line commands of the market feature (registered via COMMANDS):
`flask listings expire` and `flask currencies seed`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.market import currencies as currency_rules
from app.market import listings as listing_rules


@click.group("listings")
def listings_group() -> None:
    """Housekeeping for offers and needs."""


@listings_group.command("expire")
@with_appcontext
def expire_command() -> None:
    """Mark open listings past their `available_until` date as expired (safe to run
    from cron as often as you like)."""
    count = listing_rules.expire_listings()
    db.session.commit()
    click.echo(f"{count} listing(s) expired.")


@click.group("currencies")
def currencies_group() -> None:
    """The market's currencies."""


@currencies_group.command("seed")
@with_appcontext
def seed_currencies_command() -> None:
    """Create the four standard currencies (staff, jobs, training, premises) when missing."""
    from app.demo.seed import ensure_currencies

    before = {c.code for c in currency_rules.list_currencies()}
    created = [c.code for c in ensure_currencies() if c.code not in before]
    db.session.commit()
    click.echo(f"Created: {', '.join(created)}." if created else "All four already exist.")


COMMANDS = [listings_group, currencies_group]
