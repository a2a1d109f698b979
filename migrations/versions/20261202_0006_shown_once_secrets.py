"""Secrets shown once (a new API token, a generated password) are held server-side,
sealed with a pad kept in the viewer's session, instead of in the session cookie.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shown_once_secrets",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_shown_once_secrets_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shown_once_secrets")),
    )
    with op.batch_alter_table("shown_once_secrets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shown_once_secrets_user_id"), ["user_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_shown_once_secrets_expires_at"), ["expires_at"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("shown_once_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shown_once_secrets_expires_at"))
        batch_op.drop_index(batch_op.f("ix_shown_once_secrets_user_id"))
    op.drop_table("shown_once_secrets")
