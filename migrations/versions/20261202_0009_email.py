"""Email: the outbox (one row per event and recipient, sent by jobs with retries), each
user's delivery choice per category, and the nonce of a user's live password-reset link.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CATEGORIES = "category IN ('actions', 'reminders', 'outcomes', 'news', 'alerts', 'account')"


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reset_nonce", sa.String(length=64), nullable=True))

    op.create_table(
        "email_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("summary_text", sa.Text(), nullable=False),
        sa.Column("summary_html", sa.Text(), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(CATEGORIES, name=op.f("ck_email_messages_category_valid")),
        sa.CheckConstraint(
            "status IN ('pending', 'held', 'sending', 'sent', 'digested', 'skipped', 'failed')",
            name=op.f("ck_email_messages_status_valid")),
        sa.ForeignKeyConstraint(["digest_id"], ["email_messages.id"],
                                name=op.f("fk_email_messages_digest_id_email_messages")),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"],
                                name=op.f("fk_email_messages_proposal_id_proposals")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_email_messages_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
        sa.UniqueConstraint("event_key", "user_id", name=op.f("uq_email_messages_event_key")),
    )
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.create_index("ix_email_messages_due", ["status", "next_attempt_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_email_messages_user_id"), ["user_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_email_messages_digest_id"), ["digest_id"],
                              unique=False)

    op.create_table(
        "email_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(CATEGORIES, name=op.f("ck_email_preferences_category_valid")),
        sa.CheckConstraint("delivery IN ('immediate', 'daily', 'weekly', 'off')",
                           name=op.f("ck_email_preferences_delivery_valid")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_email_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_preferences")),
        sa.UniqueConstraint("user_id", "category", name=op.f("uq_email_preferences_user_id")),
    )


def downgrade():
    op.drop_table("email_preferences")
    with op.batch_alter_table("email_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_messages_digest_id"))
        batch_op.drop_index(batch_op.f("ix_email_messages_user_id"))
        batch_op.drop_index("ix_email_messages_due")
    op.drop_table("email_messages")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("reset_nonce")
