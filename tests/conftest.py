"""Shared fixtures: a fresh database per test, factories, logged-in clients.

The schema is built once per session by running the migrations (so database
triggers exist in tests exactly as in production). SQLite (default): built
into a template file that is copied for each test. PostgreSQL
(TEST_DATABASE_URL): built once, and every table is truncated after each test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
from datetime import date

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.auth.models import Role, User
from app.auth.passwords import hash_password
from app.auth.tokens import issue_token
from app.extensions import db
from app.market.models import Currency, Listing, ListingKind, ListingStatus, Organisation
from config import TestingConfig

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
DEFAULT_PASSWORD = "correct horse battery staple"
_DEFAULT_HASH = hash_password(DEFAULT_PASSWORD)


def is_postgres() -> bool:
    return bool(TEST_DATABASE_URL) and TEST_DATABASE_URL.startswith("postgres")


def free_port() -> int:
    """A local port nothing listens on (now): for a server a test starts, or one that
    must refuse connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def _schema(tmp_path_factory):
    """Build the schema once; yields the template file (SQLite) or the URL (PostgreSQL)."""
    if is_postgres():
        url = _database_url_for(TEST_DATABASE_URL)
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            upgrade()
            db.engine.dispose()
        yield url
        return
    template = tmp_path_factory.mktemp("schema") / "template.db"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{template}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield template


def _database_url_for(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        # Replica mode skips triggers, including the ledger's refusal of TRUNCATE.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app(_schema, tmp_path):
    if is_postgres():
        application = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=_schema)
    else:
        path = tmp_path / "test.db"
        shutil.copyfile(_schema, path)
        application = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with application.app_context():
        yield application
        db.session.remove()
        if is_postgres():
            _truncate_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_counter = itertools.count(1)


@pytest.fixture
def make_org(app):
    def make(name: str | None = None, **fields) -> Organisation:
        n = next(_counter)
        name = name or f"Organisation {n}"
        org = Organisation(
            name=name,
            slug=fields.pop("slug", None) or name.lower().replace(" ", "-") + f"-{n}",
            sector=fields.pop("sector", "other"),
            areas=fields.pop("areas", ["north"]),
            **fields,
        )
        db.session.add(org)
        db.session.commit()
        return org

    return make


@pytest.fixture
def make_currency(app):
    def make(code: str = "staff", **fields) -> Currency:
        existing = db.session.execute(
            db.select(Currency).where(Currency.code == code)).scalar_one_or_none()
        if existing is not None:
            return existing
        currency = Currency(
            code=code,
            name=fields.pop("name", code.title()),
            unit=fields.pop("unit", "unit"),
            value_per_unit=fields.pop("value_per_unit", 100),
            **fields,
        )
        db.session.add(currency)
        db.session.commit()
        return currency

    return make


@pytest.fixture
def make_user(app, make_org):
    def make(role: str = Role.MEMBER, org: Organisation | None = None, **fields) -> User:
        n = next(_counter)
        if role == Role.MEMBER and org is None:
            org = make_org()
        user = User(
            email=fields.pop("email", f"user{n}@example.org"),
            name=fields.pop("name", f"{role.title()} {n}"),
            role=role,
            organisation=org if role == Role.MEMBER else fields.pop("organisation", None),
            password_hash=fields.pop("password_hash", _DEFAULT_HASH),
            **fields,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_listing(app, make_org, make_currency):
    def make(org: Organisation | None = None, kind: str = ListingKind.OFFER,
             currency: Currency | str = "staff", quantity: int = 10, **fields) -> Listing:
        if isinstance(currency, str):
            currency = make_currency(currency)
        listing = Listing(
            organisation=org or make_org(),
            kind=kind,
            currency=currency,
            category=fields.pop("category", "registered nurse"),
            title=fields.pop("title", f"{kind.title()} {next(_counter)}"),
            quantity=quantity,
            remaining=fields.pop("remaining", quantity),
            areas=fields.pop("areas", ["north"]),
            tags=fields.pop("tags", []),
            status=fields.pop("status", ListingStatus.OPEN),
            available_from=fields.pop("available_from", date(2026, 1, 1)),
            **fields,
        )
        db.session.add(listing)
        db.session.commit()
        return listing

    return make


@pytest.fixture
def login(client):
    """Log `user` into the test client without going through the login form."""

    def do(user: User, test_client=None):
        target = test_client or client
        with target.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return target

    return do


@pytest.fixture
def api_headers(app):
    """Bearer headers for `user` (a fresh token each call)."""

    def make(user: User, **extra) -> dict:
        _, raw = issue_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {raw}", **extra}

    return make


@pytest.fixture
def users(make_user, make_org):
    """One user of every role; two organisations with a member each."""
    own_org = make_org("Own Org")
    other_org = make_org("Other Org")
    return {
        "member": make_user(Role.MEMBER, own_org),
        "other_member": make_user(Role.MEMBER, other_org),
        "coordinator": make_user(Role.COORDINATOR),
        "auditor": make_user(Role.AUDITOR),
        "admin": make_user(Role.ADMIN),
        "own_org": own_org,
        "other_org": other_org,
    }
