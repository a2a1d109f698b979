"""Common Currency: an exchange marketplace for public-sector partnerships."""

from __future__ import annotations

import os

from flask import Flask

from config import INSTANCE_DIR, Config, config_from_env

BLUEPRINTS = (
    "app.main.routes",
    "app.auth.routes",
    "app.admin.routes",
    "app.market.routes",
    "app.proposals.routes",
    "app.ledger.routes",
    "app.demo.routes",
    "app.api.routes",
)

CLI_GROUPS = (
    "app.auth.cli",
    "app.market.cli",
    "app.proposals.cli",
    "app.ledger.cli",
    "app.demo.cli",
)


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    """Build the application. `overrides` win over the config class (tests use them)."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config_class or config_from_env())
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)

    register_extensions(app)
    register_models()
    register_blueprints(app)
    register_cli(app)
    from app.errors import register_error_handlers
    from app.templating import register_template_helpers

    register_error_handlers(app)
    register_template_helpers(app)
    return app


def register_extensions(app: Flask) -> None:
    from app.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    import app.auth.loader  # noqa: F401  (registers the user loader)


def register_models() -> None:
    """Import every model so metadata (and Alembic) sees the whole schema."""
    import app.models  # noqa: F401


def register_blueprints(app: Flask) -> None:
    import importlib

    from app.extensions import csrf

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
