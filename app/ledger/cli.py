"""Command-line commands of the ledger feature (registered via COMMANDS).

    flask ledger verify [--anchor SEQ:HASH ...] [--json]
    flask ledger export --format json|csv [--output FILE] [filters]
"""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from app.extensions import db
from app.ledger import chain, services
from app.reporting.audit import verify_ledger

ledger_cli = AppGroup("ledger", help="Verify and export the ledger of trust.")


def _anchors(values: tuple[str, ...]) -> dict[int, str]:
    anchors = {}
    for value in values:
        try:
            sequence, digest = chain.parse_anchor(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--anchor") from exc
        anchors[sequence] = digest
    return anchors


@ledger_cli.command("verify")
@click.option("--anchor", "anchors", multiple=True, metavar="SEQ:HASH",
              help="A hash recorded earlier (e.g. a past head): the entry SEQ must still "
                   "have it. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_command(anchors: tuple[str, ...], as_json: bool) -> None:
    """Recompute every hash and link; exit 0 when the chain is intact, 1 otherwise.

    The same verification as the pages and the API: the chain, then the cross-check
    with the completed exchanges."""
    result = verify_ledger(None, anchors=_anchors(anchors))
    db.session.rollback()
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    elif result.ok:
        click.echo(f"Ledger OK: {result.count} entries; head sequence {result.head_sequence}; "
                   f"head hash {result.head_hash}")
    else:
        first = result.first_problem
        where = (f"sequence {first.sequence}" if first.sequence is not None
                 else "the ledger as a whole")
        click.echo(f"Ledger verification FAILED at {where}: {first.kind}: {first.message}",
                   err=True)
        for problem in result.problems[1:]:
            click.echo(f"  also: {problem}", err=True)
        if result.problem_count > len(result.problems):
            click.echo(f"  … {result.problem_count - len(result.problems)} more", err=True)
        click.echo(f"{result.count} entries read.", err=True)
    sys.exit(0 if result.ok else 1)


@ledger_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json",
              show_default=True)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default: standard output).")
@click.option("--organisation", "organisation_id", type=click.IntRange(min=1),
              help="Only entries this organisation gave or received.")
@click.option("--currency", help="Only entries in this currency code.")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]),
              help="From this date (UTC, inclusive).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]),
              help="Up to this date (UTC, inclusive).")
def export_command(fmt: str, output, organisation_id: int | None, currency: str | None,
                   date_from, date_to) -> None:
    """Write an export carrying every hashed field and the hashes."""
    filters = services.LedgerFilter(
        organisation_id=organisation_id, currency=currency,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None)
    stream = (services.export_json if fmt == "json" else services.export_csv)(None, filters)
    for chunk in stream:
        output.write(chunk)
    db.session.rollback()


COMMANDS = [ledger_cli]
