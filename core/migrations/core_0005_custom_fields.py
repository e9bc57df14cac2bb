"""Custom fields: the declarations of the fields a site adds (Settings > Customise)
(the Customiser group that may add them is made by `init` and `upgrade`)

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-06 04:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0005'
down_revision = 'core_0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_custom_field',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('label_en', sa.String(length=100), nullable=False),
    sa.Column('label_zh', sa.String(length=100), nullable=False),
    sa.Column('help_en', sa.String(length=255), nullable=False),
    sa.Column('help_zh', sa.String(length=255), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('is_unique', sa.Boolean(), nullable=False),
    sa.Column('indexed', sa.Boolean(), nullable=False),
    sa.Column('in_list', sa.Boolean(), nullable=False),
    sa.Column('default', sa.String(length=255), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=True),
    sa.Column('section', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('addon', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_custom_field')),
    sa.UniqueConstraint('model', 'name', name=op.f('uq_core_custom_field_model'))
    )


def downgrade():
    op.drop_table('core_custom_field')
