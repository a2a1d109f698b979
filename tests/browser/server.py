"""A real server for the browser tests: the app on a free local port, in a thread, over a
seeded demo database (an SQLite file), so a real Chromium talks HTTP to it.

Seeding (migrations, the Northshire demo and its history) happens once into a template
file; each server gets its own copy, so a test that changes the market (a matching run,
the demo loop) never changes what another test sees.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from flask_migrate import upgrade
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.demo.seed import seed_demo
from app.extensions import db
from app.matching import services as matching
from config import TestingConfig


def app_config(database: Path) -> dict:
    """The browser tests' app: the demo logins shown, CSRF on (the real forms post their
    token), every matching run in the background (so the run page shows its progress)."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "DEMO_MODE": True,
        "WTF_CSRF_ENABLED": True,
        "MATCHING_BACKGROUND_THRESHOLD": 0,
        "REQUEST_LOG": False,
        "LOGIN_RATE_LIMIT": 50,
        "LOGIN_ADDRESS_LIMIT": 500,
    }


def seed_template(path: Path) -> Path:
    """Migrate an empty SQLite file and seed the demo market with its history."""
    app = create_app(TestingConfig, **app_config(path))
    with app.app_context():
        upgrade()
        seed_demo(history=True)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return path


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per request drowns failures
        pass


class LiveServer:
    """The app served by werkzeug on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, template: Path, workdir: Path) -> None:
        database = workdir / "browser.db"
        shutil.copyfile(template, database)
        self.app = create_app(TestingConfig, **app_config(database))
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        # Background matching runs ran in threads of this process, registered in a
        # process-wide dict: wait for them and forget them, so no later test sees them.
        for run_id, thread in list(matching.THREADS.items()):
            thread.join(timeout=30)
            matching.THREADS.pop(run_id, None)
        with self.app.app_context():
            db.engine.dispose()
