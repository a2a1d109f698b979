"""Ledger of trust: constraints, indexes and the append-only triggers.

The ledger table itself comes from 0001. This revision adds:
* unique previous_hash (no forks) and unique reverses_sequence (reversed once),
  check constraints on the entry's shape, and indexes for the filters;
* triggers: PostgreSQL refuses UPDATE, DELETE (row) and TRUNCATE (statement);
  SQLite refuses UPDATE and DELETE; on both, an INSERT must extend the head
  of the chain (next sequence, previous_hash = the head's hash).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

KIND_SHAPE = (
    "(kind = 'trade' AND quantity > 0 AND value >= 0 AND reverses_sequence IS NULL)"
    " OR (kind = 'reversal' AND quantity < 0 AND value <= 0"
    " AND reverses_sequence IS NOT NULL AND reverses_sequence < sequence"
    " AND reason <> '')"
)

POSTGRES_UP = [
    """
    CREATE FUNCTION ledger_entries_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE FUNCTION ledger_entries_check_append() RETURNS trigger
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        head_sequence integer;
        head_hash varchar(64);
    BEGIN
        SELECT sequence, hash INTO head_sequence, head_hash
            FROM ledger_entries ORDER BY sequence DESC LIMIT 1;
        IF head_sequence IS NULL THEN
            head_sequence := 0;
            head_hash := repeat('0', 64);
        END IF;
        IF NEW.sequence <> head_sequence + 1 OR NEW.previous_hash <> head_hash THEN
            RAISE EXCEPTION 'ledger_entries: entry % does not extend the head (sequence %)',
                NEW.sequence, head_sequence USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_refuse_change()
    """,
    """
    CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_refuse_change()
    """,
    """
    CREATE TRIGGER ledger_entries_append_only BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_check_append()
    """,
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_entries_no_update_delete ON ledger_entries",
    "DROP FUNCTION IF EXISTS ledger_entries_check_append()",
    "DROP FUNCTION IF EXISTS ledger_entries_refuse_change()",
]

SQLITE_UP = [
    """
    CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
    BEGIN
        SELECT RAISE(ABORT, 'ledger_entries is append-only: UPDATE refused');
    END
    """,
    """
    CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
    BEGIN
        SELECT RAISE(ABORT, 'ledger_entries is append-only: DELETE refused');
    END
    """,
    f"""
    CREATE TRIGGER ledger_entries_append_only BEFORE INSERT ON ledger_entries
    WHEN NEW.sequence <> COALESCE((SELECT MAX(sequence) FROM ledger_entries), 0) + 1
      OR NEW.previous_hash <> COALESCE(
          (SELECT hash FROM ledger_entries ORDER BY sequence DESC LIMIT 1), '{GENESIS}')
    BEGIN
        SELECT RAISE(ABORT, 'ledger_entries: an entry must extend the head of the chain');
    END
    """,
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS ledger_entries_append_only",
    "DROP TRIGGER IF EXISTS ledger_entries_no_delete",
    "DROP TRIGGER IF EXISTS ledger_entries_no_update",
]


def _run(statements):
    for statement in statements:
        op.execute(sa.text(statement))


def upgrade():
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_ledger_entries_previous_hash"), ["previous_hash"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_ledger_entries_reverses_sequence"), ["reverses_sequence"])
        batch_op.create_check_constraint(
            batch_op.f("ck_ledger_entries_sequence_positive"), "sequence >= 1")
        batch_op.create_check_constraint(
            batch_op.f("ck_ledger_entries_kind_valid"), "kind IN ('trade', 'reversal')")
        batch_op.create_check_constraint(batch_op.f("ck_ledger_entries_kind_shape"), KIND_SHAPE)
        batch_op.create_index(batch_op.f("ix_ledger_entries_giver_id"), ["giver_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_receiver_id"), ["receiver_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_recorded_at"), ["recorded_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _run(POSTGRES_UP)
    else:
        _run(SQLITE_UP)


def downgrade():
    # Triggers first: SQLite's batch mode rebuilds the table, which needs them gone.
    if op.get_bind().dialect.name == "postgresql":
        _run(POSTGRES_DOWN)
    else:
        _run(SQLITE_DOWN)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_recorded_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_receiver_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_giver_id"))
        batch_op.drop_constraint(batch_op.f("ck_ledger_entries_kind_shape"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_ledger_entries_kind_valid"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_ledger_entries_sequence_positive"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("uq_ledger_entries_reverses_sequence"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_ledger_entries_previous_hash"), type_="unique")
