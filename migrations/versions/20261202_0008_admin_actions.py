"""The audit log of administrative actions (accounts and roles, organisations,
currencies and their values, market settings): append-only, like the ledger — the
database refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) on its rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 21:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ACTIONS = ("user.created", "user.updated", "user.password_reset", "organisation.created",
           "organisation.updated", "currency.created", "currency.updated", "settings.updated")

POSTGRES_UP = [
    """
    CREATE FUNCTION admin_actions_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'admin_actions is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER admin_actions_no_update_delete BEFORE UPDATE OR DELETE ON admin_actions
    FOR EACH ROW EXECUTE FUNCTION admin_actions_refuse_change()
    """,
    """
    CREATE TRIGGER admin_actions_no_truncate BEFORE TRUNCATE ON admin_actions
    FOR EACH STATEMENT EXECUTE FUNCTION admin_actions_refuse_change()
    """,
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS admin_actions_no_truncate ON admin_actions",
    "DROP TRIGGER IF EXISTS admin_actions_no_update_delete ON admin_actions",
    "DROP FUNCTION IF EXISTS admin_actions_refuse_change()",
]
SQLITE_UP = [
    """
    CREATE TRIGGER admin_actions_no_update BEFORE UPDATE ON admin_actions
    BEGIN
        SELECT RAISE(ABORT, 'admin_actions is append-only: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER admin_actions_no_delete BEFORE DELETE ON admin_actions
    BEGIN
        SELECT RAISE(ABORT, 'admin_actions is append-only: DELETE refused');
    END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS admin_actions_no_delete",
    "DROP TRIGGER IF EXISTS admin_actions_no_update",
]


def upgrade():
    op.create_table(
        "admin_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target_type", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("target_label", sa.String(length=200), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.CheckConstraint("action IN (" + ", ".join(repr(a) for a in ACTIONS) + ")",
                           name=op.f("ck_admin_actions_action_valid")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"],
                                name=op.f("fk_admin_actions_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_actions")),
    )
    with op.batch_alter_table("admin_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_actions_created_at"), ["created_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_admin_actions_actor_id"), ["actor_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_admin_actions_action"), ["action"], unique=False)
    statements = POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP
    for statement in statements:
        op.execute(statement)


def downgrade():
    statements = POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN
    for statement in statements:
        op.execute(statement)
    with op.batch_alter_table("admin_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_actions_action"))
        batch_op.drop_index(batch_op.f("ix_admin_actions_actor_id"))
        batch_op.drop_index(batch_op.f("ix_admin_actions_created_at"))
    op.drop_table("admin_actions")
