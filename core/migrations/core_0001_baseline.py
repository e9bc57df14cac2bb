"""The core's tables as of the release before migrations (baseline).

Revision ID: core_0001
Revises:
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from core.migrating import Adopting

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None


def upgrade():
    # Made before migrations, an installation has some of this already: only what is
    # missing is created.
    schema = Adopting(op)
    schema.create_table('core_addon',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('installed_version', sa.String(length=32), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_core_addon'))
    )
    schema.create_table('core_announcement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_announcement'))
    )
    schema.create_index(op.f('ix_core_announcement_ends_on'), 'core_announcement', ['ends_on'], unique=False)
    schema.create_index(op.f('ix_core_announcement_starts_on'), 'core_announcement', ['starts_on'], unique=False)
    schema.create_table('core_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_group')),
    sa.UniqueConstraint('code', name=op.f('uq_core_group_code'))
    )
    schema.create_table('core_job',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.Column('last_status', sa.String(length=8), nullable=True),
    sa.Column('last_message', sa.Text(), nullable=False),
    sa.Column('last_duration_ms', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_job'))
    )
    schema.create_table('core_login_failure',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_login_failure'))
    )
    schema.create_index('ix_core_login_failure_address', 'core_login_failure', ['address', 'at'], unique=False)
    schema.create_index(op.f('ix_core_login_failure_at'), 'core_login_failure', ['at'], unique=False)
    schema.create_index('ix_core_login_failure_pair', 'core_login_failure', ['username', 'address', 'at'], unique=False)
    schema.create_table('core_option',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('addon', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_option')),
    sa.UniqueConstraint('addon', 'key', name=op.f('uq_core_option_addon'))
    )
    schema.create_table('core_sequence',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_core_sequence'))
    )
    schema.create_table('core_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=128), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('notify_by_email', sa.Boolean(), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_user')),
    sa.UniqueConstraint('session_token', name=op.f('uq_core_user_session_token')),
    sa.UniqueConstraint('username', name=op.f('uq_core_user_username'))
    )
    schema.create_table('core_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('letters', sa.String(length=8), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['core_group.id'], name=op.f('fk_core_access_group_id_core_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_access')),
    sa.UniqueConstraint('group_id', 'model', name=op.f('uq_core_access_group_id'))
    )
    schema.create_index(op.f('ix_core_access_group_id'), 'core_access', ['group_id'], unique=False)
    schema.create_table('core_announcement_group',
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['core_announcement.id'], name=op.f('fk_core_announcement_group_announcement_id_core_announcement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['core_group.id'], name=op.f('fk_core_announcement_group_group_id_core_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('announcement_id', 'group_id', name=op.f('pk_core_announcement_group'))
    )
    schema.create_index(op.f('ix_core_announcement_group_group_id'), 'core_announcement_group', ['group_id'], unique=False)
    schema.create_table('core_announcement_read',
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['core_announcement.id'], name=op.f('fk_core_announcement_read_announcement_id_core_announcement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_announcement_read_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('announcement_id', 'user_id', name=op.f('pk_core_announcement_read'))
    )
    schema.create_index(op.f('ix_core_announcement_read_user_id'), 'core_announcement_read', ['user_id'], unique=False)
    schema.create_table('core_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_audit_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_audit'))
    )
    schema.create_index(op.f('ix_core_audit_at'), 'core_audit', ['at'], unique=False)
    schema.create_index('ix_core_audit_model_record', 'core_audit', ['model', 'record_id'], unique=False)
    schema.create_index(op.f('ix_core_audit_user_id'), 'core_audit', ['user_id'], unique=False)
    schema.create_table('core_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('related_model', sa.String(length=64), nullable=True),
    sa.Column('related_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('delivery_log', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_core_message_created_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_message'))
    )
    schema.create_index(op.f('ix_core_message_created_at'), 'core_message', ['created_at'], unique=False)
    schema.create_index(op.f('ix_core_message_created_by_id'), 'core_message', ['created_by_id'], unique=False)
    schema.create_index('ix_core_message_due', 'core_message', ['status', 'next_attempt_at'], unique=False)
    schema.create_index('ix_core_message_related', 'core_message', ['related_model', 'related_id'], unique=False)
    schema.create_table('core_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_note_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_note'))
    )
    schema.create_index('ix_core_note_model_record', 'core_note', ['model', 'record_id', 'id'], unique=False)
    schema.create_index(op.f('ix_core_note_user_id'), 'core_note', ['user_id'], unique=False)
    schema.create_table('core_notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=512), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('key', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_notification_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_notification')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_core_notification_user_id'))
    )
    schema.create_index('ix_core_notification_unread', 'core_notification', ['user_id', 'read_at', 'due_at'], unique=False)
    schema.create_table('core_saved_filter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('query', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_saved_filter_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_saved_filter')),
    sa.UniqueConstraint('user_id', 'endpoint', 'name', name=op.f('uq_core_saved_filter_user_id'))
    )
    schema.create_index(op.f('ix_core_saved_filter_user_id'), 'core_saved_filter', ['user_id'], unique=False)
    schema.create_table('core_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_session_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_session'))
    )
    schema.create_index(op.f('ix_core_session_created_at'), 'core_session', ['created_at'], unique=False)
    schema.create_index(op.f('ix_core_session_user_id'), 'core_session', ['user_id'], unique=False)
    schema.create_table('core_team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['leader_id'], ['core_user.id'], name=op.f('fk_core_team_leader_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_team')),
    sa.UniqueConstraint('name', name=op.f('uq_core_team_name'))
    )
    schema.create_index(op.f('ix_core_team_leader_id'), 'core_team', ['leader_id'], unique=False)
    schema.create_table('core_user_group',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['core_group.id'], name=op.f('fk_core_user_group_group_id_core_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_user_group_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'group_id', name=op.f('pk_core_user_group'))
    )
    schema.create_index(op.f('ix_core_user_group_group_id'), 'core_user_group', ['group_id'], unique=False)
    schema.create_table('core_message_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['core_message.id'], name=op.f('fk_core_message_attachment_message_id_core_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_message_attachment'))
    )
    schema.create_index(op.f('ix_core_message_attachment_message_id'), 'core_message_attachment', ['message_id'], unique=False)
    schema.create_table('core_team_member',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['core_team.id'], name=op.f('fk_core_team_member_team_id_core_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_team_member_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_core_team_member'))
    )
    schema.create_index(op.f('ix_core_team_member_user_id'), 'core_team_member', ['user_id'], unique=False)


def downgrade():
    raise NotImplementedError("a baseline is not undone: restore a backup instead")
