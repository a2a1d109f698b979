"""Command-line commands of the ledger feature (registered via COMMANDS).

    flask ledger verify [--anchor SEQ:HASH ...] [--anchors-file PATH] [--json]
    flask ledger anchor [--file PATH]
    flask ledger export --format json|csv [--output FILE] [filters]
"""

from __future__ import annotations

import json
import re
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate.cli import db as migrations_cli
from sqlalchemy import text

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
@click.option("--anchors-file", "anchors_file",
              type=click.Path(exists=True, dir_okay=False, readable=True),
              help="An anchor file (one `<time> SEQ:HASH` per line, as the scheduler writes "
                   "LEDGER_ANCHOR_FILE): every anchor in it must still hold.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_command(anchors: tuple[str, ...], anchors_file: str | None, as_json: bool) -> None:
    """Recompute every hash and link; exit 0 when the chain is intact, 1 otherwise.

    The same verification as the pages and the API: the chain, then the cross-check
    with the completed exchanges."""
    recorded, file_problems = ({}, [])
    if anchors_file:
        recorded, file_problems = services.read_anchor_file(anchors_file)
    given = _anchors(anchors)
    for sequence, digest in given.items():
        if recorded.get(sequence, digest) != digest:
            file_problems.append(f"--anchor {sequence}:{digest} contradicts the anchor file "
                                 f"({recorded[sequence]})")
    result = verify_ledger(None, anchors={**recorded, **given})
    for message in file_problems:
        result.problem_count += 1
        if len(result.problems) < 20:
            result.problems.append(chain.Problem(None, chain.ProblemKind.ANCHOR, message))
    db.session.rollback()
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    elif result.ok:
        checked = (f"; {len(recorded)} recorded anchor(s) hold" if anchors_file else "")
        click.echo(f"Ledger OK: {result.count} entries; head sequence {result.head_sequence}; "
                   f"head hash {result.head_hash}{checked}")
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


@ledger_cli.command("anchor")
@click.option("--file", "path", default=None,
              help="The anchor file (default: LEDGER_ANCHOR_FILE).")
def anchor_command(path: str | None) -> None:
    """Append the ledger head (sequence and hash) to the anchor file now (the scheduler
    does this every LEDGER_ANCHOR_SECONDS)."""
    path = path or current_app.config["LEDGER_ANCHOR_FILE"]
    written = services.record_anchor(path)
    db.session.rollback()
    if written is None:
        click.echo(f"Nothing new to anchor in {path} (empty ledger, or head already there).")
    else:
        click.echo(f"Anchored sequence {written[0]}, hash {written[1]} in {path}.")


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


# --- least privilege in PostgreSQL ----------------------------------------------------------

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def app_role_statements(role: str, database: str) -> list[str]:
    """The SQL that makes `role` the app's login: no superuser or other special powers,
    and on the tables only what the app does — SELECT, INSERT, UPDATE, DELETE, except the
    ledger and the audit log of administrative actions (SELECT and INSERT only: no UPDATE,
    DELETE or TRUNCATE) and the migrations'
    version table (SELECT, for /readyz). Not the owner, so it can neither alter a table
    nor disable the ledger's triggers, and not a superuser, so it cannot set
    session_replication_role. Idempotent: run it again after every `flask db upgrade`
    (new tables get their grants then)."""
    if not ROLE_NAME.fullmatch(role):
        raise click.BadParameter("a role name is lower-case letters, digits and _ "
                                 "(at most 63, not starting with a digit)")
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} LOGIN; END IF; END $$",
        f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        "NOBYPASSRLS INHERIT",
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {role}',
        f'REVOKE CREATE ON DATABASE "{database}" FROM {role}',
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"REVOKE CREATE ON SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ledger_entries FROM {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON admin_actions FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]


@click.command("grant-app-role")
@click.argument("role")
@click.option("--print", "print_only", is_flag=True,
              help="Print the SQL instead of running it (e.g. for a DBA to run with psql).")
def grant_app_role_command(role: str, print_only: bool) -> None:
    """Create or update ROLE, the least-privileged login the app runs as (PostgreSQL).

    Run it as the owner that runs the migrations (the release step), after
    `flask db upgrade`; then set the app's DATABASE_URL to ROLE (give it a password
    with ALTER ROLE … PASSWORD, or use the platform's own authentication)."""
    engine = current_app.extensions["sqlalchemy"].engine
    if engine.dialect.name != "postgresql" and not print_only:
        raise click.ClickException("Roles are a PostgreSQL matter; SQLite has none.")
    database = engine.url.database or ""
    statements = app_role_statements(role, database)
    if print_only:
        click.echo(";\n".join(statements) + ";")
        return
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    click.echo(f"Role {role}: may log in to {database}; SELECT/INSERT/UPDATE/DELETE on the "
               "app's tables, SELECT/INSERT only on ledger_entries; not an owner, not a "
               "superuser.")


# `flask db grant-app-role ROLE`, beside the migrations it follows.
migrations_cli.add_command(grant_app_role_command)

COMMANDS = [ledger_cli]
