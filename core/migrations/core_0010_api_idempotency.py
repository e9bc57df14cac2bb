"""Idempotency-Key on the API's POST: the answers kept a day

Revision ID: core_0010
Revises: core_0009
Create Date: 2026-12-07 08:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0010'
down_revision = 'core_0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_api_idempotency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_digest', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=True),
    sa.Column('etag', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['core_api_token.id'], name=op.f('fk_core_api_idempotency_token_id_core_api_token'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_api_idempotency')),
    sa.UniqueConstraint('token_id', 'key', name=op.f('uq_core_api_idempotency_token_id'))
    )
    op.create_index(op.f('ix_core_api_idempotency_created_at'), 'core_api_idempotency',
                    ['created_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_core_api_idempotency_created_at'), table_name='core_api_idempotency')
    op.drop_table('core_api_idempotency')
