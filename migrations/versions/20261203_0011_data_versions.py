"""Change counters for cached reads: one row per watched set of tables ("market":
listings, organisations, currencies), raised by every transaction that changes them
(app.core.read_cache), so answers cached under an older counter are never served again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    versions = op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    op.bulk_insert(versions, [{"name": "market", "version": 1}])


def downgrade():
    op.drop_table("data_versions")
