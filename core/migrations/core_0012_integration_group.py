"""The built-in group of integration users (API only, never the screens)

Revision ID: core_0012
Revises: core_0011
Create Date: 2026-12-07 11:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0012'
down_revision = 'core_0011'
branch_labels = None
depends_on = None

GROUP = sa.table('core_group', sa.column('code', sa.String), sa.column('name', sa.String))


def upgrade():
    connection = op.get_bind()
    if connection.execute(sa.select(GROUP.c.code).where(GROUP.c.code == 'integration')).first() \
            is None:
        op.bulk_insert(GROUP, [{'code': 'integration', 'name': 'Integration (API only)'}])


def downgrade():
    # (a group an administrator may have put users in: kept)
    pass
