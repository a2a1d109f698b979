"""Core schema: accounts, market, proposals and ledger tables.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 16:05:38.797605

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('currencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('value_per_unit', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('value_per_unit > 0', name=op.f('ck_currencies_value_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_currencies')),
    sa.UniqueConstraint('code', name=op.f('uq_currencies_code'))
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempts_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempts_email'), ['email'], unique=False)

    op.create_table('market_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('max_cycle', sa.Integer(), nullable=False),
    sa.Column('max_chain', sa.Integer(), nullable=False),
    sa.Column('fairness_threshold', sa.Numeric(precision=4, scale=3), nullable=False),
    sa.Column('objective', sa.String(length=20), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('time_limit_seconds', sa.Integer(), nullable=False),
    sa.Column('acceptance_days', sa.Integer(), nullable=False),
    sa.Column('delivery_days', sa.Integer(), nullable=False),
    sa.CheckConstraint('fairness_threshold >= 0 AND fairness_threshold <= 1', name=op.f('ck_market_settings_fairness_range')),
    sa.CheckConstraint('max_chain BETWEEN 0 AND 10', name=op.f('ck_market_settings_max_chain_range')),
    sa.CheckConstraint('max_cycle BETWEEN 2 AND 6', name=op.f('ck_market_settings_max_cycle_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_settings'))
    )
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('sector', sa.String(length=40), nullable=False),
    sa.Column('areas', sa.JSON(), nullable=False),
    sa.Column('contact_name', sa.String(length=120), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('internal_notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('name', name=op.f('uq_organisations_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_organisations_slug'))
    )
    op.create_table('organisation_exclusions',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('excluded_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['excluded_id'], ['organisations.id'], name=op.f('fk_organisation_exclusions_excluded_id_organisations')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_exclusions_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('organisation_id', 'excluded_id', name=op.f('pk_organisation_exclusions'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('session_epoch', sa.Integer(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role <> 'member' OR organisation_id IS NOT NULL", name=op.f('ck_users_member_has_organisation')),
    sa.CheckConstraint("role IN ('member', 'coordinator', 'auditor', 'admin')", name=op.f('ck_users_role_valid')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_users_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_records')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_idempotency_records_user_id'))
    )
    op.create_table('listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('currency_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=80), nullable=True),
    sa.Column('title', sa.String(length=140), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('min_quantity', sa.Integer(), nullable=True),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('areas', sa.JSON(), nullable=False),
    sa.Column('remote', sa.Boolean(), nullable=False),
    sa.Column('available_from', sa.Date(), nullable=True),
    sa.Column('available_until', sa.Date(), nullable=True),
    sa.Column('is_gift', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('offer', 'need')", name=op.f('ck_listings_kind_valid')),
    sa.CheckConstraint("status IN ('open', 'fulfilled', 'withdrawn', 'expired')", name=op.f('ck_listings_status_valid')),
    sa.CheckConstraint('available_until IS NULL OR available_from IS NULL OR available_until >= available_from', name=op.f('ck_listings_window_ordered')),
    sa.CheckConstraint('min_quantity IS NULL OR (min_quantity >= 1 AND min_quantity <= quantity)', name=op.f('ck_listings_min_quantity_range')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_listings_quantity_positive')),
    sa.CheckConstraint('remaining >= 0 AND remaining <= quantity', name=op.f('ck_listings_remaining_range')),
    sa.CheckConstraint('reserved >= 0 AND reserved <= remaining', name=op.f('ck_listings_reserved_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_listings_created_by_id_users')),
    sa.ForeignKeyConstraint(['currency_id'], ['currencies.id'], name=op.f('fk_listings_currency_id_currencies')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_listings_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listings'))
    )
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listings_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listings_status'), ['status'], unique=False)

    op.create_table('matching_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('started_by_name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('market_input', sa.JSON(), nullable=True),
    sa.Column('stats', sa.JSON(), nullable=True),
    sa.Column('optimal', sa.Boolean(), nullable=True),
    sa.Column('objective', sa.Float(), nullable=True),
    sa.Column('bound', sa.Float(), nullable=True),
    sa.Column('progress', sa.String(length=200), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_matching_runs_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matching_runs'))
    )
    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('signature', sa.String(length=2000), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('fairness', sa.Float(), nullable=True),
    sa.Column('expected_completion', sa.Float(), nullable=True),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('accept_by', sa.DateTime(), nullable=True),
    sa.Column('deliver_by', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('cycle', 'chain')", name=op.f('ck_proposals_kind_valid')),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'agreed', 'completed', 'rejected', 'declined', 'cancelled', 'expired', 'superseded')", name=op.f('ck_proposals_status_valid')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_proposals_approved_by_id_users')),
    sa.ForeignKeyConstraint(['run_id'], ['matching_runs.id'], name=op.f('fk_proposals_run_id_matching_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_signature'), ['signature'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_status'), ['status'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_notifications_proposal_id_proposals')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)

    op.create_table('proposal_legs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('giver_id', sa.Integer(), nullable=False),
    sa.Column('receiver_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('currency_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_value', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_proposal_legs_quantity_positive')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_proposal_legs_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['currency_id'], ['currencies.id'], name=op.f('fk_proposal_legs_currency_id_currencies')),
    sa.ForeignKeyConstraint(['giver_id'], ['organisations.id'], name=op.f('fk_proposal_legs_giver_id_organisations')),
    sa.ForeignKeyConstraint(['need_id'], ['listings.id'], name=op.f('fk_proposal_legs_need_id_listings')),
    sa.ForeignKeyConstraint(['offer_id'], ['listings.id'], name=op.f('fk_proposal_legs_offer_id_listings')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_legs_proposal_id_proposals')),
    sa.ForeignKeyConstraint(['receiver_id'], ['organisations.id'], name=op.f('fk_proposal_legs_receiver_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_legs')),
    sa.UniqueConstraint('proposal_id', 'position', name=op.f('uq_proposal_legs_proposal_id'))
    )
    with op.batch_alter_table('proposal_legs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_legs_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_legs_offer_id'), ['offer_id'], unique=False)

    op.create_table('proposal_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('value_given', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('value_received', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('response', sa.String(length=10), nullable=False),
    sa.Column('responded_by_id', sa.Integer(), nullable=True),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_proposal_participants_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_participants_proposal_id_proposals')),
    sa.ForeignKeyConstraint(['responded_by_id'], ['users.id'], name=op.f('fk_proposal_participants_responded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_participants')),
    sa.UniqueConstraint('proposal_id', 'organisation_id', name=op.f('uq_proposal_participants_proposal_id'))
    )
    with op.batch_alter_table('proposal_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_participants_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('proposal_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=120), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_proposal_transitions_actor_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_proposal_transitions_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_transitions_proposal_id_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_transitions'))
    )
    with op.batch_alter_table('proposal_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_transitions_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('leg_id', sa.Integer(), nullable=True),
    sa.Column('giver_id', sa.Integer(), nullable=False),
    sa.Column('receiver_id', sa.Integer(), nullable=False),
    sa.Column('currency_code', sa.String(length=32), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_value', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_by_name', sa.String(length=120), nullable=False),
    sa.Column('reverses_sequence', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('previous_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_ledger_entries_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['giver_id'], ['organisations.id'], name=op.f('fk_ledger_entries_giver_id_organisations')),
    sa.ForeignKeyConstraint(['leg_id'], ['proposal_legs.id'], name=op.f('fk_ledger_entries_leg_id_proposal_legs')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_ledger_entries_proposal_id_proposals')),
    sa.ForeignKeyConstraint(['receiver_id'], ['organisations.id'], name=op.f('fk_ledger_entries_receiver_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('hash', name=op.f('uq_ledger_entries_hash')),
    sa.UniqueConstraint('sequence', name=op.f('uq_ledger_entries_sequence'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_proposal_id'), ['proposal_id'], unique=False)




def downgrade():

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_proposal_id'))

    op.drop_table('ledger_entries')
    with op.batch_alter_table('proposal_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_transitions_proposal_id'))

    op.drop_table('proposal_transitions')
    with op.batch_alter_table('proposal_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_participants_organisation_id'))

    op.drop_table('proposal_participants')
    with op.batch_alter_table('proposal_legs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_legs_offer_id'))
        batch_op.drop_index(batch_op.f('ix_proposal_legs_need_id'))

    op.drop_table('proposal_legs')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_user_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_status'))
        batch_op.drop_index(batch_op.f('ix_proposals_signature'))
        batch_op.drop_index(batch_op.f('ix_proposals_run_id'))

    op.drop_table('proposals')
    op.drop_table('matching_runs')
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listings_status'))
        batch_op.drop_index(batch_op.f('ix_listings_organisation_id'))

    op.drop_table('listings')
    op.drop_table('idempotency_records')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_organisation_id'))

    op.drop_table('users')
    op.drop_table('organisation_exclusions')
    op.drop_table('organisations')
    op.drop_table('market_settings')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempts_email'))
        batch_op.drop_index(batch_op.f('ix_login_attempts_created_at'))

    op.drop_table('login_attempts')
    op.drop_table('currencies')

