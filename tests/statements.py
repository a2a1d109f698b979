"""Recording the SQL statements a piece of code runs (for tests that count reads)."""

from __future__ import annotations

from sqlalchemy import event

from app.extensions import db


def recorded(fn) -> tuple[list[str], object]:
    """The statements `fn()` ran (SQLite's BEGIN IMMEDIATE left out), and its result."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen, result
