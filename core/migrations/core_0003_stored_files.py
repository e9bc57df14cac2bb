"""Stored files: contents named by their SHA-256, on disk or in the database

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-05 03:41:14.652258
"""
import sqlalchemy as sa
from alembic import op

revision = 'core_0003'
down_revision = 'core_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('core_blob',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_core_blob'))
    )
    with op.batch_alter_table('core_blob', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_blob_created_at'), ['created_at'], unique=False)

    op.create_table('core_blob_chunk',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['sha256'], ['core_blob.sha256'], name=op.f('fk_core_blob_chunk_sha256_core_blob'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sha256', 'seq', name=op.f('pk_core_blob_chunk'))
    )


def downgrade():
    op.drop_table('core_blob_chunk')
    with op.batch_alter_table('core_blob', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_blob_created_at'))

    op.drop_table('core_blob')
