"""Customers' tables as of the release before migrations (baseline), less the indexes of issue 7 (crm_contacts_0002).

Revision ID: crm_contacts_0001
Revises:
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from core.migrating import Adopting

revision = "crm_contacts_0001"
down_revision = None
branch_labels = ("crm_contacts",)
depends_on = ('core_0001',)


def upgrade():
    # Made before migrations, an installation has some of this already: only what is
    # missing is created.
    schema = Adopting(op)
    schema.create_table('crm_competitor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('website', sa.String(length=200), nullable=True),
    sa.Column('strengths', sa.Text(), nullable=True),
    sa.Column('weaknesses', sa.Text(), nullable=True),
    sa.Column('products', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_competitor')),
    sa.UniqueConstraint('name', name=op.f('uq_crm_competitor_name'))
    )
    schema.create_table('crm_industry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_industry')),
    sa.UniqueConstraint('name', name=op.f('uq_crm_industry_name'))
    )
    schema.create_table('crm_region',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['crm_region.id'], name=op.f('fk_crm_region_parent_id_crm_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_region'))
    )
    schema.create_index(op.f('ix_crm_region_name'), 'crm_region', ['name'], unique=False)
    schema.create_index(op.f('ix_crm_region_parent_id'), 'crm_region', ['parent_id'], unique=False)
    schema.create_table('crm_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_source')),
    sa.UniqueConstraint('name', name=op.f('uq_crm_source_name'))
    )
    schema.create_table('crm_tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_tag')),
    sa.UniqueConstraint('name', name=op.f('uq_crm_tag_name'))
    )
    schema.create_table('crm_customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=True),
    sa.Column('kind', sa.Enum('company', 'individual', name='crm_customer_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('grade', sa.Enum('A', 'B', 'C', 'D', name='crm_customer_grade', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('is_key', sa.Boolean(), nullable=False),
    sa.Column('stage', sa.Enum('prospect', 'active', 'dormant', 'lost', name='crm_customer_stage', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('industry_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('credit_limit', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phone_key', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('website', sa.String(length=200), nullable=True),
    sa.Column('province', sa.String(length=50), nullable=True),
    sa.Column('city', sa.String(length=50), nullable=True),
    sa.Column('district', sa.String(length=50), nullable=True),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('postcode', sa.String(length=20), nullable=True),
    sa.Column('country', sa.String(length=50), nullable=True),
    sa.Column('is_supplier', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_crm_customer_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['industry_id'], ['crm_industry.id'], name=op.f('fk_crm_customer_industry_id_crm_industry')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_crm_customer_owner_id_core_user')),
    sa.ForeignKeyConstraint(['region_id'], ['crm_region.id'], name=op.f('fk_crm_customer_region_id_crm_region')),
    sa.ForeignKeyConstraint(['source_id'], ['crm_source.id'], name=op.f('fk_crm_customer_source_id_crm_source')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_crm_customer_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_customer')),
    sa.UniqueConstraint('code', name=op.f('uq_crm_customer_code'))
    )
    schema.create_index(op.f('ix_crm_customer_city'), 'crm_customer', ['city'], unique=False)
    schema.create_index(op.f('ix_crm_customer_created_at'), 'crm_customer', ['created_at'], unique=False)
    schema.create_index(op.f('ix_crm_customer_created_by_id'), 'crm_customer', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_crm_customer_email_key'), 'crm_customer', ['email_key'], unique=False)
    schema.create_index(op.f('ix_crm_customer_grade'), 'crm_customer', ['grade'], unique=False)
    schema.create_index(op.f('ix_crm_customer_industry_id'), 'crm_customer', ['industry_id'], unique=False)
    schema.create_index(op.f('ix_crm_customer_is_key'), 'crm_customer', ['is_key'], unique=False)
    schema.create_index(op.f('ix_crm_customer_is_supplier'), 'crm_customer', ['is_supplier'], unique=False)
    schema.create_index(op.f('ix_crm_customer_kind'), 'crm_customer', ['kind'], unique=False)
    schema.create_index(op.f('ix_crm_customer_name'), 'crm_customer', ['name'], unique=False)
    schema.create_index(op.f('ix_crm_customer_name_key'), 'crm_customer', ['name_key'], unique=False)
    schema.create_index(op.f('ix_crm_customer_owner_id'), 'crm_customer', ['owner_id'], unique=False)
    schema.create_index('ix_crm_customer_owner_recent', 'crm_customer', ['owner_id', 'id'], unique=False, postgresql_include=['name_key', 'code', 'phone_key', 'email_key'])
    schema.create_index(op.f('ix_crm_customer_phone_key'), 'crm_customer', ['phone_key'], unique=False)
    schema.create_index(op.f('ix_crm_customer_province'), 'crm_customer', ['province'], unique=False)
    schema.create_index(op.f('ix_crm_customer_region_id'), 'crm_customer', ['region_id'], unique=False)
    schema.create_index(op.f('ix_crm_customer_source_id'), 'crm_customer', ['source_id'], unique=False)
    schema.create_index(op.f('ix_crm_customer_stage'), 'crm_customer', ['stage'], unique=False)
    schema.create_index(op.f('ix_crm_customer_updated_by_id'), 'crm_customer', ['updated_by_id'], unique=False)
    schema.create_table('crm_competitor_customer',
    sa.Column('competitor_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['competitor_id'], ['crm_competitor.id'], name=op.f('fk_crm_competitor_customer_competitor_id_crm_competitor'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_crm_competitor_customer_customer_id_crm_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('competitor_id', 'customer_id', name=op.f('pk_crm_competitor_customer'))
    )
    schema.create_index(op.f('ix_crm_competitor_customer_customer_id'), 'crm_competitor_customer', ['customer_id'], unique=False)
    schema.create_table('crm_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('mobile', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_crm_contact_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_crm_contact_customer_id_crm_customer')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_crm_contact_owner_id_core_user')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_crm_contact_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_contact'))
    )
    schema.create_index(op.f('ix_crm_contact_birthday'), 'crm_contact', ['birthday'], unique=False)
    schema.create_index(op.f('ix_crm_contact_created_at'), 'crm_contact', ['created_at'], unique=False)
    schema.create_index(op.f('ix_crm_contact_created_by_id'), 'crm_contact', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_crm_contact_customer_id'), 'crm_contact', ['customer_id'], unique=False)
    schema.create_index(op.f('ix_crm_contact_email'), 'crm_contact', ['email'], unique=False)
    schema.create_index(op.f('ix_crm_contact_mobile'), 'crm_contact', ['mobile'], unique=False)
    schema.create_index(op.f('ix_crm_contact_name'), 'crm_contact', ['name'], unique=False)
    schema.create_index(op.f('ix_crm_contact_owner_id'), 'crm_contact', ['owner_id'], unique=False)
    schema.create_index(op.f('ix_crm_contact_phone'), 'crm_contact', ['phone'], unique=False)
    schema.create_index(op.f('ix_crm_contact_updated_by_id'), 'crm_contact', ['updated_by_id'], unique=False)
    schema.create_table('crm_customer_tag',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_crm_customer_tag_customer_id_crm_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['crm_tag.id'], name=op.f('fk_crm_customer_tag_tag_id_crm_tag'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'tag_id', name=op.f('pk_crm_customer_tag'))
    )
    schema.create_index(op.f('ix_crm_customer_tag_tag_id'), 'crm_customer_tag', ['tag_id'], unique=False)
    schema.create_table('crm_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('call', 'visit', 'meeting', 'email', 'task', 'plan', name='crm_activity_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('start_at', sa.DateTime(), nullable=False),
    sa.Column('end_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.Enum('planned', 'done', 'cancelled', name='crm_activity_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('next_follow_up', sa.Date(), nullable=True),
    sa.Column('record_model', sa.String(length=64), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contact.id'], name=op.f('fk_crm_activity_contact_id_crm_contact')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_crm_activity_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_crm_activity_customer_id_crm_customer')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_crm_activity_owner_id_core_user')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_crm_activity_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_activity'))
    )
    schema.create_index(op.f('ix_crm_activity_contact_id'), 'crm_activity', ['contact_id'], unique=False)
    schema.create_index(op.f('ix_crm_activity_created_at'), 'crm_activity', ['created_at'], unique=False)
    schema.create_index(op.f('ix_crm_activity_created_by_id'), 'crm_activity', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_crm_activity_customer_id'), 'crm_activity', ['customer_id'], unique=False)
    schema.create_index('ix_crm_activity_customer_start', 'crm_activity', ['customer_id', 'start_at'], unique=False)
    schema.create_index(op.f('ix_crm_activity_kind'), 'crm_activity', ['kind'], unique=False)
    schema.create_index(op.f('ix_crm_activity_next_follow_up'), 'crm_activity', ['next_follow_up'], unique=False)
    schema.create_index(op.f('ix_crm_activity_owner_id'), 'crm_activity', ['owner_id'], unique=False)
    schema.create_index('ix_crm_activity_owner_start', 'crm_activity', ['owner_id', 'start_at'], unique=False)
    schema.create_index('ix_crm_activity_record', 'crm_activity', ['record_model', 'record_id', 'start_at'], unique=False)
    schema.create_index(op.f('ix_crm_activity_start_at'), 'crm_activity', ['start_at'], unique=False)
    schema.create_index(op.f('ix_crm_activity_status'), 'crm_activity', ['status'], unique=False)
    schema.create_index(op.f('ix_crm_activity_updated_by_id'), 'crm_activity', ['updated_by_id'], unique=False)
    schema.create_table('crm_activity_participant',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['crm_activity.id'], name=op.f('fk_crm_activity_participant_activity_id_crm_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_crm_activity_participant_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('activity_id', 'user_id', name=op.f('pk_crm_activity_participant'))
    )
    schema.create_index(op.f('ix_crm_activity_participant_user_id'), 'crm_activity_participant', ['user_id'], unique=False)
    if schema.dialect == "postgresql":
        # Quick search by any part of a name or number: trigram indexes (pg_trgm is a
        # trusted extension, which the database owner may create).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema.create_index('ix_crm_customer_name_trgm', 'crm_customer', ['name_key'], unique=False, postgresql_using='gin', postgresql_ops={'name_key': 'gin_trgm_ops'})
        schema.create_index('ix_crm_customer_phone_trgm', 'crm_customer', ['phone_key'], unique=False, postgresql_using='gin', postgresql_ops={'phone_key': 'gin_trgm_ops'})


def downgrade():
    raise NotImplementedError("a baseline is not undone: restore a backup instead")
