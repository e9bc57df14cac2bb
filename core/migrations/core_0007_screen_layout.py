"""Screen layouts: a model's record page and form with their sections on tabs
(Settings > Customise > Layout)

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-12-06 21:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0007'
down_revision = 'core_0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_screen_layout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('tabs', sa.Boolean(), nullable=False),
    sa.Column('addon', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_screen_layout')),
    sa.UniqueConstraint('model', name=op.f('uq_core_screen_layout_model'))
    )


def downgrade():
    op.drop_table('core_screen_layout')
