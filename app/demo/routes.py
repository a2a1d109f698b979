"""The demo's only web part: the logins block the login page includes in DEMO_MODE."""

from __future__ import annotations

from flask import Blueprint

from app.demo.logins import demo_logins

bp = Blueprint("demo", __name__, template_folder="templates")


@bp.app_context_processor
def inject_demo_logins() -> dict:
    return {"demo_logins": demo_logins}
