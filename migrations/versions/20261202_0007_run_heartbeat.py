"""Matching runs run in a job queue: the worker running a run writes a heartbeat into
its row (and names itself), so a run whose worker died is seen and failed within a
minute instead of blocking new runs for its time limit plus ten minutes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("matching_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("worker", sa.String(length=200), nullable=False,
                                      server_default=""))


def downgrade():
    with op.batch_alter_table("matching_runs", schema=None) as batch_op:
        batch_op.drop_column("worker")
        batch_op.drop_column("heartbeat_at")
