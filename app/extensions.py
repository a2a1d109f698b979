"""Flask extensions, created once and bound to the app in `create_app`."""

from __future__ import annotations

import os

from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Deterministic constraint names keep Alembic migrations stable across backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()  # configured by app.notifications.mail.init_app


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record) -> None:
    """Make SQLite behave like a server database for our purposes.

    Foreign keys are off by default in SQLite. Transactions start with
    BEGIN IMMEDIATE so concurrent writers queue on the busy timeout instead of
    failing with "database is locked" when a reader upgrades to a writer.
    """
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# PostgreSQL's default random_page_cost (4) models spinning disks: on SSDs and a market
# that fits in memory it makes the planner scan all 50,000 listings rather than use the
# full-text GIN index for a search matching a few thousand (measured: 40-50 ms against
# 13-27 ms). 1.1 is the usual value for SSD or cached data; an operator may set
# PG_RANDOM_PAGE_COST (empty: leave the server's setting alone).
PG_RANDOM_PAGE_COST = os.environ.get("PG_RANDOM_PAGE_COST", "1.1")


@event.listens_for(Engine, "connect")
def _postgres_connect(dbapi_connection, connection_record) -> None:
    if not type(dbapi_connection).__module__.startswith("psycopg") or not PG_RANDOM_PAGE_COST:
        return
    cost = float(PG_RANDOM_PAGE_COST)  # a typo fails loudly here, not as SQL
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET random_page_cost = {cost:g}")
    dbapi_connection.commit()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
