"""The audit trail names the API token a change came through

Revision ID: core_0009
Revises: core_0008
Create Date: 2026-12-07 08:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0009'
down_revision = 'core_0008'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('core_audit', sa.Column('api_token', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('core_audit') as batch_op:
        batch_op.drop_column('api_token')
