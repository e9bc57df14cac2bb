"""Integration users: users that use only the API, never the screens

Revision ID: core_0012
Revises: core_0011
Create Date: 2026-12-07 11:20:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0012'
down_revision = 'core_0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_only', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.drop_column('api_only')
