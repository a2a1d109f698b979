"""Matching runs and proposals: changes to this feature's tables after the core schema.

- `matching_runs.solver_status`: the engine's verdict for the run ("optimal",
  "time_limit" or "fallback"), next to `optimal` and `bound`.
- `idempotency_records.request_hash`: SHA-256 of the request body, so a key
  reused with a different body is refused rather than replayed.
- `uq_proposals_open_signature`: a partial unique index so that one exchange
  (its signature) is open — proposed, approved or agreed — at most once, even
  when two matching runs write proposals at the same moment.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OPEN_SIGNATURE_WHERE = "status IN ('proposed', 'approved', 'agreed')"


def upgrade():
    # Plain ALTER TABLE ADD COLUMN on both databases: no table rebuild needed.
    op.add_column("matching_runs", sa.Column("solver_status", sa.String(length=20), nullable=True))
    op.add_column("idempotency_records", sa.Column(
        "request_hash", sa.String(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.alter_column("request_hash", server_default=None)
    op.create_index(
        "uq_proposals_open_signature", "proposals", ["signature"], unique=True,
        sqlite_where=sa.text(OPEN_SIGNATURE_WHERE), postgresql_where=sa.text(OPEN_SIGNATURE_WHERE),
    )


def downgrade():
    op.drop_index("uq_proposals_open_signature", table_name="proposals")
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_column("request_hash")
    with op.batch_alter_table("matching_runs", schema=None) as batch_op:
        batch_op.drop_column("solver_status")
