"""Market: organisations, currencies, listings: changes to this feature's tables after the core schema.

Areas and tags move from JSON lists to delimited text (`,east,north,`) so that
"listings in area X" is one portable SQL predicate (`LIKE '%,x,%'`) on SQLite
and PostgreSQL. Existing values are converted both ways.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:10:00

"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (table, column) pairs that hold lists of codes.
CODE_COLUMNS = (("organisations", "areas"), ("listings", "areas"), ("listings", "tags"))


def _convert(table: str, column: str, transform) -> None:
    bind = op.get_bind()
    t = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.Text))
    rows = bind.execute(sa.select(t.c.id, t.c[column])).all()
    for row_id, value in rows:
        bind.execute(t.update().where(t.c.id == row_id).values({column: transform(value)}))


def _json_to_delimited(value) -> str:
    codes = json.loads(value) if value else []
    codes = [str(code).strip().replace(",", "-") for code in codes if str(code).strip()]
    return "," + ",".join(codes) + "," if codes else ""


def _delimited_to_json(value) -> str:
    return json.dumps([code for code in (value or "").split(",") if code])


def _sqlite_native_alter() -> bool:
    # SQLite >= 3.35 drops and renames columns in place. Batch mode's table
    # rebuild (copy, drop, rename) is avoided on purpose: dropping a table that
    # other rows reference (users -> organisations, legs -> listings) fails the
    # foreign-key check inside the migration's transaction.
    import sqlite3

    return sqlite3.sqlite_version_info >= (3, 35, 0)


def _change_type(table: str, column: str, *, old_type, new_type, cast: str, transform,
                 server_default: str | None) -> None:
    """Change `column`'s type to `new_type` and rewrite every value with `transform`."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and _sqlite_native_alter():
        temporary = f"{column}_new"
        # SQLite adds a NOT NULL column only with a default; '' and '[]' are both "no codes".
        op.add_column(table, sa.Column(temporary, new_type, nullable=False,
                                       server_default="[]" if server_default is None else server_default))
        t = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.Text),
                     sa.column(temporary, sa.Text))
        for row_id, value in bind.execute(sa.select(t.c.id, t.c[column])).all():
            bind.execute(t.update().where(t.c.id == row_id)
                         .values({temporary: transform(value)}))
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        op.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{temporary}" TO "{column}"')
        return
    # Values are rewritten while the column is text: before a change to JSON, after one from it.
    if cast == "json":
        _convert(table, column, transform)
    with op.batch_alter_table(table, schema=None) as batch_op:
        # The old default may not cast to the new type, so it goes first.
        batch_op.alter_column(column, existing_type=old_type, server_default=None)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(column, existing_type=old_type, type_=new_type,
                              existing_nullable=False, server_default=server_default,
                              postgresql_using=f'"{column}"::{cast}')
    if cast == "text":
        _convert(table, column, transform)


def upgrade():
    for table, column in CODE_COLUMNS:
        _change_type(table, column, old_type=sa.JSON(), new_type=sa.Text(), cast="text",
                     transform=_json_to_delimited, server_default="")


def downgrade():
    for table, column in reversed(CODE_COLUMNS):
        _change_type(table, column, old_type=sa.Text(), new_type=sa.JSON(), cast="json",
                     transform=_delimited_to_json, server_default=None)
