"""Documents: library, versions, text for search, PDF templates, issued PDFs

Revision ID: crm_docs_0001
Revises: 
Create Date: 2026-12-05 03:41:37.980499
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'crm_docs_0001'
down_revision = None
branch_labels = ('crm_docs',)
depends_on = ('core_0003',)


def upgrade():
    op.create_table('crm_doc_folder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['crm_doc_folder.id'], name=op.f('fk_crm_doc_folder_parent_id_crm_doc_folder'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_doc_folder')),
    sa.UniqueConstraint('parent_id', 'name', name=op.f('uq_crm_doc_folder_parent_id'))
    )
    with op.batch_alter_table('crm_doc_folder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_doc_folder_parent_id'), ['parent_id'], unique=False)

    op.create_table('crm_doc_tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_doc_tag')),
    sa.UniqueConstraint('name', name=op.f('uq_crm_doc_tag_name'))
    )
    op.create_table('crm_doc_folder_reader',
    sa.Column('folder_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['folder_id'], ['crm_doc_folder.id'], name=op.f('fk_crm_doc_folder_reader_folder_id_crm_doc_folder'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['core_group.id'], name=op.f('fk_crm_doc_folder_reader_group_id_core_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('folder_id', 'group_id', name=op.f('pk_crm_doc_folder_reader'))
    )
    with op.batch_alter_table('crm_doc_folder_reader', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_doc_folder_reader_group_id'), ['group_id'], unique=False)

    op.create_table('crm_doc_folder_writer',
    sa.Column('folder_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['folder_id'], ['crm_doc_folder.id'], name=op.f('fk_crm_doc_folder_writer_folder_id_crm_doc_folder'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['core_group.id'], name=op.f('fk_crm_doc_folder_writer_group_id_core_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('folder_id', 'group_id', name=op.f('pk_crm_doc_folder_writer'))
    )
    with op.batch_alter_table('crm_doc_folder_writer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_doc_folder_writer_group_id'), ['group_id'], unique=False)

    op.create_table('crm_doc_template_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('saved_by_id', sa.Integer(), nullable=True),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['saved_by_id'], ['core_user.id'], name=op.f('fk_crm_doc_template_version_saved_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_doc_template_version')),
    sa.UniqueConstraint('template', 'number', name=op.f('uq_crm_doc_template_version_template'))
    )
    with op.batch_alter_table('crm_doc_template_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_doc_template_version_saved_by_id'), ['saved_by_id'], unique=False)

    op.create_table('crm_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('folder_id', sa.Integer(), nullable=True),
    sa.Column('record_model', sa.String(length=64), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('checked_out_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_out_at', sa.DateTime(), nullable=True),
    sa.Column('text_state', sa.String(length=8), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['checked_out_by_id'], ['core_user.id'], name=op.f('fk_crm_document_checked_out_by_id_core_user')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_crm_document_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['folder_id'], ['crm_doc_folder.id'], name=op.f('fk_crm_document_folder_id_crm_doc_folder')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_crm_document_owner_id_core_user')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_crm_document_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_document'))
    )
    with op.batch_alter_table('crm_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_document_checked_out_by_id'), ['checked_out_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_document_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_document_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index('ix_crm_document_folder_name', ['folder_id', 'name'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_document_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_document_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_crm_document_record', ['record_model', 'record_id'], unique=False)
        batch_op.create_index('ix_crm_document_updated_at', ['updated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_document_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_document_text_state'), ['text_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_document_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('crm_document_tag',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['crm_document.id'], name=op.f('fk_crm_document_tag_document_id_crm_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['crm_doc_tag.id'], name=op.f('fk_crm_document_tag_tag_id_crm_doc_tag'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'tag_id', name=op.f('pk_crm_document_tag'))
    )
    with op.batch_alter_table('crm_document_tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_document_tag_tag_id'), ['tag_id'], unique=False)

    op.create_table('crm_document_text',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('terms', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['crm_document.id'], name=op.f('fk_crm_document_text_document_id_crm_document'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_crm_document_text'))
    )
    op.create_table('crm_document_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['crm_document.id'], name=op.f('fk_crm_document_version_document_id_crm_document'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['core_user.id'], name=op.f('fk_crm_document_version_uploaded_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_document_version')),
    sa.UniqueConstraint('document_id', 'number', name=op.f('uq_crm_document_version_document_id'))
    )
    with op.batch_alter_table('crm_document_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_document_version_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_document_version_uploaded_by_id'), ['uploaded_by_id'], unique=False)

    op.create_table('crm_issued_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_model', sa.String(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('event', sa.String(length=8), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('template', sa.String(length=200), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=True),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['issued_by_id'], ['core_user.id'], name=op.f('fk_crm_issued_document_issued_by_id_core_user')),
    sa.ForeignKeyConstraint(['message_id'], ['core_message.id'], name=op.f('fk_crm_issued_document_message_id_core_message'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_issued_document'))
    )
    with op.batch_alter_table('crm_issued_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_issued_document_issued_by_id'), ['issued_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_issued_document_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_crm_issued_document_record', ['record_model', 'record_id', 'issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_issued_document_sha256'), ['sha256'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.create_index('ix_crm_document_text_terms', 'crm_document_text', ['terms'],
                        postgresql_using='gin')


def downgrade():
    with op.batch_alter_table('crm_issued_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_issued_document_sha256'))
        batch_op.drop_index('ix_crm_issued_document_record')
        batch_op.drop_index(batch_op.f('ix_crm_issued_document_message_id'))
        batch_op.drop_index(batch_op.f('ix_crm_issued_document_issued_by_id'))

    op.drop_table('crm_issued_document')
    with op.batch_alter_table('crm_document_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_document_version_uploaded_by_id'))
        batch_op.drop_index(batch_op.f('ix_crm_document_version_sha256'))

    op.drop_table('crm_document_version')
    op.drop_table('crm_document_text')
    with op.batch_alter_table('crm_document_tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_document_tag_tag_id'))

    op.drop_table('crm_document_tag')
    with op.batch_alter_table('crm_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_document_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_crm_document_text_state'))
        batch_op.drop_index(batch_op.f('ix_crm_document_sha256'))
        batch_op.drop_index('ix_crm_document_updated_at')
        batch_op.drop_index('ix_crm_document_record')
        batch_op.drop_index(batch_op.f('ix_crm_document_owner_id'))
        batch_op.drop_index(batch_op.f('ix_crm_document_name'))
        batch_op.drop_index('ix_crm_document_folder_name')
        batch_op.drop_index(batch_op.f('ix_crm_document_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_crm_document_created_at'))
        batch_op.drop_index(batch_op.f('ix_crm_document_checked_out_by_id'))

    op.drop_table('crm_document')
    with op.batch_alter_table('crm_doc_template_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_doc_template_version_saved_by_id'))

    op.drop_table('crm_doc_template_version')
    with op.batch_alter_table('crm_doc_folder_writer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_doc_folder_writer_group_id'))

    op.drop_table('crm_doc_folder_writer')
    with op.batch_alter_table('crm_doc_folder_reader', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_doc_folder_reader_group_id'))

    op.drop_table('crm_doc_folder_reader')
    op.drop_table('crm_doc_tag')
    with op.batch_alter_table('crm_doc_folder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_doc_folder_parent_id'))

    op.drop_table('crm_doc_folder')
