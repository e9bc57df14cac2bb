"""Field rules: a field moved to another section of the record page, hidden from
everyone, or read-only or hidden for some groups (Settings > Customise > Layout)

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-06 07:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0006'
down_revision = 'core_0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_field_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('section', sa.String(length=100), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('access', sa.Text(), nullable=False),
    sa.Column('addon', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_field_rule')),
    sa.UniqueConstraint('model', 'field', name=op.f('uq_core_field_rule_model'))
    )


def downgrade():
    op.drop_table('core_field_rule')
