"""Common Currency: an exchange marketplace for public-sector partnerships."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.routing import IntegerConverter

from app.core.limits import MAX_ID
from config import INSTANCE_DIR, Config, config_from_env

BLUEPRINTS = (
    "app.main.routes",
    "app.auth.routes",
    "app.admin.routes",
    "app.market.routes",
    "app.notifications.routes",
    "app.proposals.routes",
    "app.matching.routes",
    "app.ledger.routes",
    "app.reporting.routes",
    "app.demo.routes",
    "app.api.routes",
)

CLI_GROUPS = (
    "app.auth.cli",
    "app.market.cli",
    "app.proposals.cli",
    "app.matching.cli",
    "app.ledger.cli",
    "app.demo.cli",
    "app.jobs.cli",
)


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    """Build the application. `overrides` win over the config class (tests use them)."""
    config_class = config_class or config_from_env()
    config_class.check()  # production without SECRET_KEY or DATABASE_URL stops here
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config_class)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)

    register_operations(app)
    register_extensions(app)
    register_models()
    register_blueprints(app)
    register_cli(app)
    from app.jobs.queue import init_app as register_job_queue

    register_job_queue(app)  # app.extensions["job_queue"] when REDIS_URL is set
    from app.web.errors import register_error_handlers
    from app.web.templating import register_template_helpers

    register_error_handlers(app)
    register_template_helpers(app)
    return app


def register_operations(app: Flask) -> None:
    """What running it for real needs: proxy headers, security headers, request ids
    and JSON request logs, and the /healthz and /readyz probes."""
    from app.web import health, observability, security

    observability.trust_proxies(app)
    observability.init_app(app)
    security.init_app(app)
    app.register_blueprint(health.bp)


def register_extensions(app: Flask) -> None:
    from app.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    from app.notifications.mail import init_app as init_mail

    init_mail(app)  # SMTP with MAIL_SERVER, else .eml files under MAIL_OUTBOX_DIR
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    import app.auth.loader  # noqa: F401  (registers the user loader)


def register_models() -> None:
    """Import every model so metadata (and Alembic) sees the whole schema."""
    import app.models  # noqa: F401




def _digits_at_most(limit: int) -> str:
    """A regular expression matching the decimal numbers 0..limit (leading zeros allowed)."""
    text = str(limit)
    options = [rf"\d{{1,{len(text) - 1}}}"]
    for i, digit in enumerate(text):
        if digit != "0":  # this prefix, a smaller digit here, then any digits
            rest = len(text) - i - 1
            options.append(text[:i] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """`<int:…>` in every route is a database id: a number beyond a 32-bit id cannot
    exist, so it does not match the route (404) instead of overflowing the driver.

    The bound is in the pattern, not only in `max`: Werkzeug checks the method before
    converting, so a conversion failure on one of two same-path rules would read 405.
    """

    regex = _digits_at_most(MAX_ID)

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    import importlib

    from app.extensions import csrf

    app.url_map.converters["int"] = IdConverter

    for module_name in BLUEPRINTS:
        module = importlib.import_module(module_name)
        app.register_blueprint(module.bp)
        if module_name == "app.api.routes":
            # The API authenticates with bearer tokens, never cookies, so CSRF does not apply.
            csrf.exempt(module.bp)


def register_cli(app: Flask) -> None:
    import importlib

    for module_name in CLI_GROUPS:
        module = importlib.import_module(module_name)
        for command in getattr(module, "COMMANDS", ()):
            app.cli.add_command(command)
