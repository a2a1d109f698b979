"""Failing fast on configuration, and trusting proxies only when told to (issue 11)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.auth.models import LoginAttempt
from app.extensions import db
from config import ConfigurationError, ProductionConfig, TestingConfig

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("SECRET_KEY", "DATABASE_URL", "APP_ENV", "FLASK_APP")}
    environment.update(env)
    return subprocess.run(args, cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("present, missing", [
    ({}, ["SECRET_KEY", "DATABASE_URL"]),
    ({"DATABASE_URL": "postgresql://app@db.example/cc"}, ["SECRET_KEY"]),
    ({"SECRET_KEY": "s3cret-from-the-vault"}, ["DATABASE_URL"]),
])
def test_production_refuses_to_start_without_its_settings(present, missing):
    result = _run([sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
                  APP_ENV="production", **present)
    assert result.returncode != 0
    message = result.stderr
    assert "APP_ENV=production refuses to start" in message
    for name in missing:
        assert name in message.split("refuses to start", 1)[1].splitlines()[0]
    for name in set(present):
        assert f"set {name}" not in message and f"and {name}" not in message


def test_production_starts_with_them(tmp_path):
    result = _run([sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
                  APP_ENV="production", SECRET_KEY="s3cret-from-the-vault",
                  DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}")
    assert result.returncode == 0, result.stderr
    assert "/healthz" in result.stdout and "/readyz" in result.stdout


def test_gunicorn_exits_non_zero_with_the_message():
    pytest.importorskip("gunicorn")
    result = _run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                   "--bind", "127.0.0.1:0", "--workers", "1", "wsgi:app"],
                  APP_ENV="production", SECRET_KEY="s3cret-from-the-vault")
    assert result.returncode != 0
    assert "refuses to start: set DATABASE_URL" in result.stderr + result.stdout


def test_an_unknown_app_env_is_refused(monkeypatch):
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(ConfigurationError, match="APP_ENV='prod' is unknown"):
        create_app()


def test_create_app_raises_one_clear_error(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.example/cc")
    with pytest.raises(ConfigurationError) as caught:
        create_app(ProductionConfig)
    assert str(caught.value).startswith("APP_ENV=production refuses to start: set SECRET_KEY ")


# --- ProxyFix ------------------------------------------------------------------------------

def _failed_login_address(client, **headers) -> str:
    client.post("/login", data={"email": "nobody@example.org", "password": "wrong password!"},
                headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    db.session.expire_all()
    return db.session.execute(db.select(LoginAttempt.remote_addr)
                              .order_by(LoginAttempt.id.desc())).scalars().first()


def test_forwarded_headers_are_ignored_by_default(app, client):
    assert app.config["PROXY_FIX_X_FOR"] == 0
    assert _failed_login_address(client, **{"X-Forwarded-For": "203.0.113.5"}) == "10.0.0.9"


def test_forwarded_for_is_trusted_for_the_configured_hops(_schema, tmp_path):
    if isinstance(_schema, str):
        uri = _schema
    else:
        path = tmp_path / "proxied.db"
        path.write_bytes(Path(_schema).read_bytes())
        uri = f"sqlite:///{path}"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=uri, PROXY_FIX_X_FOR=1)
    with app.app_context():
        try:
            client = app.test_client()
            # One trusted hop: the address the proxy appended, not what the client forged.
            assert _failed_login_address(
                client, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}) == "203.0.113.5"
            assert _failed_login_address(client) == "10.0.0.9"  # no header: the peer
        finally:
            db.session.remove()
            if isinstance(_schema, str):
                from tests.conftest import _truncate_all

                _truncate_all()
            db.engine.dispose()
