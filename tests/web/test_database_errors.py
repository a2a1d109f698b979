"""A database that cannot be reached is 503 with Retry-After; a lock or a lost race is
still 409 "busy" (issue 11: a lost connection during a GET used to answer 409)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from app import create_app
from app.extensions import db
from app.web.errors import database_busy
from config import TestingConfig
from tests.conftest import is_postgres

UNREACHABLE_DATABASE = "postgresql+psycopg://app@127.0.0.1:9/nowhere?connect_timeout=2"
BEARER = {"Authorization": "Bearer cc_not-checked-because-the-database-is-down"}


@pytest.fixture
def unreachable_client():
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=UNREACHABLE_DATABASE)
    with app.app_context():
        yield app.test_client()
        db.engine.dispose()


def test_an_api_get_without_a_database_is_503_with_retry_after(unreachable_client):
    response = unreachable_client.get("/api/v1/organisations", headers=BEARER)
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "service_unavailable" and body["status"] == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_page_without_a_database_is_a_503_page(unreachable_client):
    with unreachable_client.session_transaction() as session:
        session["_user_id"] = "1:0"  # loading the logged-in user needs the database
    response = unreachable_client.get("/account")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


def test_sqlite_locked_is_busy_not_unavailable(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    holder = engine.connect()
    holder.begin()  # BEGIN IMMEDIATE (app.extensions): holds the write lock
    other = engine.connect()
    try:
        with pytest.raises(OperationalError) as caught:
            other.connection.dbapi_connection.execute("PRAGMA busy_timeout = 0")
            other.exec_driver_sql("SELECT 1")  # its BEGIN IMMEDIATE finds the lock taken
        assert "locked" in str(caught.value)
        assert database_busy(caught.value) is True
    finally:
        other.close()
        holder.close()
        engine.dispose()


@pytest.mark.skipif(not is_postgres(), reason="a real dropped connection needs PostgreSQL")
def test_a_connection_lost_during_an_api_get_is_503(app, client, users, api_headers):
    headers = api_headers(users["member"])
    killer = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")

    def terminate_own_backend(conn, cursor, statement, *args):
        if "FROM organisations" in statement:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with killer.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    event.listen(db.engine, "before_cursor_execute", terminate_own_backend)
    try:
        response = client.get("/api/v1/organisations", headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", terminate_own_backend)
        killer.dispose()
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    # The pool threw the dead connection away: the next request works.
    assert client.get("/api/v1/organisations", headers=headers).status_code == 200


@pytest.mark.skipif(not is_postgres(), reason="lock_timeout is PostgreSQL's")
def test_a_lock_timeout_during_an_api_get_is_still_409(app, client, users, api_headers):
    headers = api_headers(users["member"])
    holder = create_engine(db.engine.url).connect()
    transaction = holder.begin()
    holder.execute(text("LOCK TABLE organisations IN ACCESS EXCLUSIVE MODE"))

    def short_lock_timeout(conn, cursor, statement, *args):
        # Any statement that reads the table: the token's read joins it too (its user's
        # organisation), so it is the first to wait when the token is not kept yet.
        if "organisations" in statement:
            cursor.execute("SET LOCAL lock_timeout = '200ms'")

    event.listen(db.engine, "before_cursor_execute", short_lock_timeout)
    try:
        response = client.get("/api/v1/organisations", headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", short_lock_timeout)
        transaction.rollback()
        holder.close()
    assert response.status_code == 409, response.get_json()
    assert "busy" in response.get_json()["message"]


def test_the_openapi_document_lists_503_on_every_operation(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = [op for item in spec["paths"].values() for op in item.values()]
    assert operations and all("503" in op["responses"] for op in operations)
