"""`flask match …`: run the matcher from a shell (the system acts, no login needed).

The commands call the same services as the "Run matcher" page and the API and
commit once. A run from the command line is always solved inline (a shell has
no web worker to protect).
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from app.core.errors import ServiceError
from app.extensions import db
from app.matching import services
from app.matching.models import MatchingRun, RunStatus


def _fail(exc: ServiceError) -> None:
    db.session.rollback()
    details = "; ".join(f"{field}: {' '.join(map(str, messages))}"
                        for field, messages in (exc.errors or {}).items())
    raise click.ClickException(exc.message + (f" ({details})" if details else ""))


@click.group("match")
def match_group() -> None:
    """Matching runs."""


@match_group.command("run")
@click.option("--max-cycle", type=int, default=None, help="Longest cycle, 2..6 (this run only).")
@click.option("--max-chain", type=int, default=None, help="Longest chain, 0..10 transfers.")
@click.option("--fairness-threshold", type=float, default=None, help="0..1.")
@click.option("--objective", type=click.Choice(services.OBJECTIVES), default=None)
@click.option("--time-limit", type=int, default=None, help="Seconds the solver may take.")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@with_appcontext
def run_command(max_cycle, max_chain, fairness_threshold, objective, time_limit,
                as_json: bool) -> None:
    """Run the matcher on the market now; unset options use the market's settings."""
    overrides = {"max_cycle": max_cycle, "max_chain": max_chain,
                 "fairness_threshold": fairness_threshold, "objective": objective,
                 "time_limit": time_limit}
    try:
        run = services.start_run(None, overrides, background=False)
    except ServiceError as exc:
        _fail(exc)
    db.session.commit()
    created = (run.stats or {}).get("proposals", {}).get("created", 0)
    if as_json:
        click.echo(json.dumps({
            "id": run.id, "status": run.status, "solver_status": run.solver_status,
            "optimal": run.optimal, "objective": run.objective, "bound": run.bound,
            "proposals": [p.id for p in run.proposals], "error": run.error or None,
        }))
    elif run.status == RunStatus.COMPLETED:
        click.echo(f"Matching run #{run.id}: {created} new proposal(s); solver "
                   f"{run.solver_status} (optimal: {'yes' if run.optimal else 'no'}, objective "
                   f"{run.objective}, bound {run.bound}).")
    if run.status == RunStatus.FAILED:
        raise click.ClickException(f"Matching run #{run.id} failed: {run.error}")


@match_group.command("input")
@click.argument("run_id", type=int)
@with_appcontext
def input_command(run_id: int) -> None:
    """Print the exact engine input of a run, to replay it with
    `python -m matching_engine solve FILE.json`."""
    run = db.session.get(MatchingRun, run_id)
    if run is None or run.market_input is None:
        raise click.ClickException(f"No stored input for matching run #{run_id}.")
    click.echo(json.dumps(run.market_input, indent=2, sort_keys=True))


COMMANDS = [match_group]
