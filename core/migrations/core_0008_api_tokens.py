"""API tokens: keys to the REST API that users make on their account page

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-12-07 05:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0008'
down_revision = 'core_0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('writes', sa.Boolean(), nullable=False),
    sa.Column('models', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_api_token_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_api_token')),
    sa.UniqueConstraint('prefix', name=op.f('uq_core_api_token_prefix'))
    )
    op.create_index(op.f('ix_core_api_token_user_id'), 'core_api_token', ['user_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_core_api_token_user_id'), table_name='core_api_token')
    op.drop_table('core_api_token')
