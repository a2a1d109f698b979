"""Cached reads kept across additions: `data_versions.rewritten` (the last version raised
by a change that was not only new listings) and `data_additions` (the listings each
other change added), so that an answer a new listing does not match is kept
(app.core.read_cache).

Existing counters start as rewritten at their current version: no answer from before
this revision is kept across it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("data_versions") as batch:
        batch.add_column(sa.Column("rewritten", sa.BigInteger(), nullable=False,
                                   server_default="0"))
    op.execute("UPDATE data_versions SET rewritten = version")
    op.create_table(
        "data_additions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("row_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("name", "version", "row_id", name=op.f("pk_data_additions")),
    )


def downgrade():
    op.drop_table("data_additions")
    with op.batch_alter_table("data_versions") as batch:
        batch.drop_column("rewritten")
