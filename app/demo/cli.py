"""`flask demo seed [--if-empty]`: load the Northshire demo market and print its logins."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.core.errors import ServiceError
from app.demo.logins import demo_logins
from app.demo.seed import market_is_empty, planted_exchanges, seed_demo
from app.extensions import db


@click.group("demo")
def demo_group() -> None:
    """The demo market."""


@demo_group.command("seed")
@click.option("--if-empty", is_flag=True,
              help="Do nothing (successfully) when organisations already exist.")
@click.option("--without-history", is_flag=True,
              help="Only the current market: no past exchanges, an empty ledger.")
@with_appcontext
def seed_command(if_empty: bool, without_history: bool) -> None:
    """Seed the demo market (organisations, currencies, listings, users) and its history
    of past exchanges into an empty database, then print the demo logins."""
    if if_empty and not market_is_empty():
        click.echo("The database already has organisations; demo seed skipped.")
        _print_logins(demo_logins())
        return
    try:
        result = seed_demo(history=not without_history)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"Seeded the demo market: {result.organisations} organisations, "
               f"{result.currencies} new currencies, {result.listings} listings.")
    if result.history is not None:
        past = result.history
        outcomes = ", ".join(f"{n} {outcome}" for outcome, n in sorted(past.outcomes.items()))
        click.echo(f"Recorded {past.exchanges} past exchanges ({outcomes}) from "
                   f"{past.first:%B %Y} to {past.last:%B %Y}: {past.ledger_entries} ledger "
                   "entries.")
    click.echo("Planted exchanges (offer id -> need id):")
    for exchange in planted_exchanges(result.listing_ids):
        legs = ", ".join(f"{o}->{n}" for o, n in exchange["legs"])
        click.echo(f"  {exchange['name']} {exchange['kind']}: "
                   f"{' -> '.join(exchange['organisations'])}  [{legs}]")
    _print_logins(result.users)


def _print_logins(users: list[dict]) -> None:
    if not users:
        return
    click.echo("\nDemo logins (demo passwords; never use them for real data):")
    width = max(len(user["email"]) for user in users)
    for user in users:
        where = f"  {user['organisation']}" if user["organisation"] else ""
        click.echo(f"  {user['email']:<{width}}  {user['password']:<28} {user['role']:<12}"
                   f"{where}".rstrip())


COMMANDS = [demo_group]
