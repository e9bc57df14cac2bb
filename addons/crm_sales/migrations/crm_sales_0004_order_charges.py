"""Fees of other addons billed on sales orders (the hook billing.charge): which record
each order line bills.

Revision ID: crm_sales_0004
Revises: crm_sales_0003
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "crm_sales_0004"
down_revision = "crm_sales_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sale_order_charge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('source_model', sa.String(length=64), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_sale_order_charge_order_id_sale_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['sale_order_line.id'], name=op.f('fk_sale_order_charge_order_line_id_sale_order_line'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_order_charge')),
    sa.UniqueConstraint('order_line_id', name=op.f('uq_sale_order_charge_order_line_id')),
    sa.UniqueConstraint('source_model', 'source_id', name=op.f('uq_sale_order_charge_source_model'))
    )
    with op.batch_alter_table('sale_order_charge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sale_order_charge_order_id'), ['order_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sale_order_charge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_order_charge_order_id'))
    op.drop_table('sale_order_charge')
