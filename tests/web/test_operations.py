"""Health probes, request ids and the JSON request log (issue 11)."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.web.observability import JsonFormatter
from config import TestingConfig
from tests.conftest import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
# Nothing listens on the discard port: connections are refused at once.
UNREACHABLE_DATABASE = "postgresql+psycopg://app@127.0.0.1:9/nowhere?connect_timeout=2"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def unreachable_app():
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=UNREACHABLE_DATABASE)
    with app.app_context():
        yield app
        db.engine.dispose()


def test_healthz_needs_nothing_but_the_process(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ok_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok" and body["checks"]["database"]["ok"] is True
    assert "redis" not in body["checks"]  # not configured


def test_readyz_is_503_when_the_database_is_unreachable(unreachable_app):
    response = unreachable_app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert "unreachable" in body["checks"]["database"]["error"]
    assert response.headers["Retry-After"]


def test_readyz_is_503_when_migrations_are_behind(app, client):
    with db.engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        check = response.get_json()["checks"]["database"]
        assert "flask db upgrade" in check["error"]
        assert check["revision"] == ["0005"] and check["head"] == [head]
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_readyz_checks_redis_when_configured(app, client):
    app.config["REDIS_URL"] = REDIS_URL
    body = client.get("/readyz").get_json()
    assert body["checks"]["redis"]["ok"] is True and body["status"] == "ok"


def test_readyz_is_503_when_redis_is_unreachable(app, client):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"]["ok"] is True and checks["redis"]["ok"] is False


# --- request ids and the request log ---------------------------------------------------------

def test_a_sane_request_id_is_kept_and_echoed(client):
    response = client.get("/login", headers={"X-Request-ID": "lb-7f3a9c:0001"})
    assert response.headers["X-Request-ID"] == "lb-7f3a9c:0001"


@pytest.mark.parametrize("given", ["", "x" * 129, "two words", "bad\u00e9id", "a;b\"c"])
def test_an_insane_request_id_is_replaced(client, given):
    response = client.get("/login", headers={"X-Request-ID": given})
    made = response.headers["X-Request-ID"]
    assert made != given and len(made) == 32 and made.isalnum()


def test_every_request_gets_an_id_also_errors_and_the_api(client):
    ids = {client.get(path).headers["X-Request-ID"]
           for path in ("/login", "/no/such/page", "/api/v1/me", "/static/app.css")}
    assert len(ids) == 4


def test_one_json_log_line_per_request(client, login, users, caplog):
    login(users["member"])
    with caplog.at_level(logging.INFO, logger="app.requests"):
        response = client.get("/account?tab=tokens", headers={"X-Request-ID": "req-42"})
    records = [r for r in caplog.records if r.name == "app.requests"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["method"] == "GET" and line["path"] == "/account"
    assert line["status"] == response.status_code == 200
    assert line["user_id"] == users["member"].id
    assert line["request_id"] == "req-42"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "info" and line["time"].endswith("Z")
    assert "tokens" not in json.dumps(line)  # the query string (it may hold secrets) is not logged


def test_api_requests_log_the_tokens_user(client, users, api_headers, caplog):
    headers = api_headers(users["auditor"])
    with caplog.at_level(logging.INFO, logger="app.requests"):
        client.get("/api/v1/me", headers=headers)
        client.get("/api/v1/me")
    first, second = [r.fields for r in caplog.records if r.name == "app.requests"]
    assert first["user_id"] == users["auditor"].id and first["status"] == 200
    assert second["user_id"] is None and second["status"] == 401
