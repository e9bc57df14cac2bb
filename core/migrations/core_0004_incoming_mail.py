"""Incoming mail: the log of received messages, and threading headers on outgoing ones

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-06 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0004'
down_revision = 'core_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_mail_received',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('from_address', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('automatic', sa.String(length=64), nullable=True),
    sa.Column('model', sa.String(length=64), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_mail_received')),
    sa.UniqueConstraint('message_id', name=op.f('uq_core_mail_received_message_id'))
    )
    with op.batch_alter_table('core_mail_received', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_mail_received_from_address'), ['from_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_mail_received_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_mail_received_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_mail_received_source'), ['source'], unique=False)
        batch_op.create_index('ix_core_mail_received_record', ['model', 'record_id'], unique=False)

    with op.batch_alter_table('core_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headers', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('core_message', schema=None) as batch_op:
        batch_op.drop_column('headers')

    with op.batch_alter_table('core_mail_received', schema=None) as batch_op:
        batch_op.drop_index('ix_core_mail_received_record')
        batch_op.drop_index(batch_op.f('ix_core_mail_received_source'))
        batch_op.drop_index(batch_op.f('ix_core_mail_received_received_at'))
        batch_op.drop_index(batch_op.f('ix_core_mail_received_outcome'))
        batch_op.drop_index(batch_op.f('ix_core_mail_received_from_address'))

    op.drop_table('core_mail_received')
