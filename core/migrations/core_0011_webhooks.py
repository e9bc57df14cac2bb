"""Webhooks: the subscriptions, and their deliveries

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-12-07 10:14:04.306412
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0011'
down_revision = 'core_0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_webhook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('on_created', sa.Boolean(), nullable=False),
    sa.Column('on_updated', sa.Boolean(), nullable=False),
    sa.Column('on_deleted', sa.Boolean(), nullable=False),
    sa.Column('on_state_changed', sa.Boolean(), nullable=False),
    sa.Column('allow_private', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('paused_reason', sa.String(length=500), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('signing_token', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_webhook'))
    )
    with op.batch_alter_table('core_webhook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_webhook_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_webhook_model'), ['model'], unique=False)

    op.create_table('core_webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('response_code', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('delivery_log', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['webhook_id'], ['core_webhook.id'], name=op.f('fk_core_webhook_delivery_webhook_id_core_webhook'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_webhook_delivery'))
    )
    with op.batch_alter_table('core_webhook_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_webhook_delivery_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_core_webhook_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_webhook_delivery_webhook_id'), ['webhook_id'], unique=False)



def downgrade():
    with op.batch_alter_table('core_webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_webhook_delivery_webhook_id'))
        batch_op.drop_index('ix_core_webhook_delivery_due')
        batch_op.drop_index(batch_op.f('ix_core_webhook_delivery_created_at'))

    op.drop_table('core_webhook_delivery')
    with op.batch_alter_table('core_webhook', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_webhook_model'))
        batch_op.drop_index(batch_op.f('ix_core_webhook_active'))

    op.drop_table('core_webhook')
