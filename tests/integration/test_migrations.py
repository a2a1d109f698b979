"""`flask db upgrade` on an empty database must give exactly the models' schema."""

from __future__ import annotations

import uuid
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db
from app.market.search_schema import include_object
from config import TestingConfig
from tests.conftest import TEST_DATABASE_URL, _database_url_for, is_postgres


@pytest.fixture
def empty_database_url(tmp_path):
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    base = _database_url_for(TEST_DATABASE_URL)
    name = f"migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _diff(url: str) -> list:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True,
                            "include_object": include_object})
            with warnings.catch_warnings():
                # SQLite's reflection skips expression indexes (lower(category)), which
                # are database-specific objects left out of the comparison anyway.
                warnings.filterwarnings("ignore", message="Skipped unsupported reflection "
                                        "of expression-based index ix_listings_category_lower")
                diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return diff


def test_upgrade_from_empty_matches_models(empty_database_url):
    assert _diff(empty_database_url) == []


def test_downgrade_to_base_removes_every_table(empty_database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        engine = db.engine
        downgrade(revision="base")
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        engine.dispose()
