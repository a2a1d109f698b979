"""Accounts and API tokens: changes to this feature's tables after the core schema.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:10:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    # The log-in rate limit counts recent failures per remote address as well as per email.
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_remote_addr"), ["remote_addr"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_remote_addr"))
