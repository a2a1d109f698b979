"""The demo's web part: the logins block the login page includes, and the guided first
visit (/start), both only in DEMO_MODE."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from app.demo.data import PLANTED
from app.demo.logins import demo_accounts, demo_logins

bp = Blueprint("demo", __name__, template_folder="templates")


@bp.app_context_processor
def inject_demo_logins() -> dict:
    return {"demo_logins": demo_logins}


@bp.get("/start")
def start():
    """A guided first visit following the demo's story: run a round, approve, each
    organisation accepts, the receivers confirm, then the ledger and trust. Off (404)
    outside DEMO_MODE, where the demo passwords do not exist."""
    if not current_app.config.get("DEMO_MODE"):
        abort(404)
    accounts = {account["email"].partition("@")[0]: account
                for account in demo_accounts()}
    # The reciprocal exchange R1 (mental-health trust and county council) is the example:
    # two organisations, so the visit needs only two member logins.
    example = [accounts[local] for local in ("fellside-mh", "nsh-county")]
    return render_template("demo/start.html", accounts=accounts, example=example,
                           exchanges=len(PLANTED))
