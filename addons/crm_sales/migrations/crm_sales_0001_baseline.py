"""Sales' tables as of the release before migrations (baseline).

Revision ID: crm_sales_0001
Revises:
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from core.migrating import Adopting

revision = "crm_sales_0001"
down_revision = None
branch_labels = ("crm_sales",)
depends_on = ('core_0001', 'crm_contacts_0001')


def upgrade():
    # Made before migrations, an installation has some of this already: only what is
    # missing is created.
    schema = Adopting(op)
    schema.create_table('sale_expense_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('expense', 'income', name='sale_expense_category_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_expense_category')),
    sa.UniqueConstraint('name', name=op.f('uq_sale_expense_category_name'))
    )
    schema.create_table('sale_lost_reason',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_lost_reason')),
    sa.UniqueConstraint('name', name=op.f('uq_sale_lost_reason_name'))
    )
    schema.create_table('sale_product_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_product_category')),
    sa.UniqueConstraint('name', name=op.f('uq_sale_product_category_name'))
    )
    schema.create_table('sale_product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('cost', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['sale_product_category.id'], name=op.f('fk_sale_product_category_id_sale_product_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_product')),
    sa.UniqueConstraint('code', name=op.f('uq_sale_product_code'))
    )
    schema.create_index(op.f('ix_sale_product_active'), 'sale_product', ['active'], unique=False)
    schema.create_index(op.f('ix_sale_product_category_id'), 'sale_product', ['category_id'], unique=False)
    schema.create_index(op.f('ix_sale_product_name'), 'sale_product', ['name'], unique=False)
    schema.create_table('sale_stage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('open', 'won', 'lost', name='sale_stage_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['core_group.id'], name=op.f('fk_sale_stage_group_id_core_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_stage')),
    sa.UniqueConstraint('name', name=op.f('uq_sale_stage_name'))
    )
    schema.create_index(op.f('ix_sale_stage_group_id'), 'sale_stage', ['group_id'], unique=False)
    schema.create_index(op.f('ix_sale_stage_kind'), 'sale_stage', ['kind'], unique=False)
    schema.create_index(op.f('ix_sale_stage_sequence'), 'sale_stage', ['sequence'], unique=False)
    schema.create_table('sale_assignment_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['crm_region.id'], name=op.f('fk_sale_assignment_rule_region_id_crm_region')),
    sa.ForeignKeyConstraint(['source_id'], ['crm_source.id'], name=op.f('fk_sale_assignment_rule_source_id_crm_source')),
    sa.ForeignKeyConstraint(['team_id'], ['core_team.id'], name=op.f('fk_sale_assignment_rule_team_id_core_team')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_sale_assignment_rule_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_assignment_rule'))
    )
    schema.create_index(op.f('ix_sale_assignment_rule_region_id'), 'sale_assignment_rule', ['region_id'], unique=False)
    schema.create_index(op.f('ix_sale_assignment_rule_sequence'), 'sale_assignment_rule', ['sequence'], unique=False)
    schema.create_index(op.f('ix_sale_assignment_rule_source_id'), 'sale_assignment_rule', ['source_id'], unique=False)
    schema.create_index(op.f('ix_sale_assignment_rule_team_id'), 'sale_assignment_rule', ['team_id'], unique=False)
    schema.create_index(op.f('ix_sale_assignment_rule_user_id'), 'sale_assignment_rule', ['user_id'], unique=False)
    schema.create_table('sale_price_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('grade', sa.Enum('A', 'B', 'C', 'D', name='sale_price_list_grade', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_sale_price_list_customer_id_crm_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_price_list'))
    )
    schema.create_index(op.f('ix_sale_price_list_customer_id'), 'sale_price_list', ['customer_id'], unique=False)
    schema.create_index(op.f('ix_sale_price_list_grade'), 'sale_price_list', ['grade'], unique=False)
    schema.create_index(op.f('ix_sale_price_list_valid_from'), 'sale_price_list', ['valid_from'], unique=False)
    schema.create_index(op.f('ix_sale_price_list_valid_to'), 'sale_price_list', ['valid_to'], unique=False)
    schema.create_table('sale_web_form',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('thanks_url', sa.String(length=500), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['crm_source.id'], name=op.f('fk_sale_web_form_source_id_crm_source')),
    sa.ForeignKeyConstraint(['team_id'], ['core_team.id'], name=op.f('fk_sale_web_form_team_id_core_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_web_form')),
    sa.UniqueConstraint('token', name=op.f('uq_sale_web_form_token'))
    )
    schema.create_index(op.f('ix_sale_web_form_source_id'), 'sale_web_form', ['source_id'], unique=False)
    schema.create_index(op.f('ix_sale_web_form_team_id'), 'sale_web_form', ['team_id'], unique=False)
    schema.create_table('sale_lead',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('province', sa.String(length=50), nullable=True),
    sa.Column('city', sa.String(length=50), nullable=True),
    sa.Column('status', sa.Enum('new', 'qualified', 'disqualified', 'converted', name='sale_lead_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('estimated_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('web_form_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('converted_at', sa.DateTime(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_sale_lead_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_sale_lead_customer_id_crm_customer')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_sale_lead_owner_id_core_user')),
    sa.ForeignKeyConstraint(['region_id'], ['crm_region.id'], name=op.f('fk_sale_lead_region_id_crm_region')),
    sa.ForeignKeyConstraint(['source_id'], ['crm_source.id'], name=op.f('fk_sale_lead_source_id_crm_source')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_sale_lead_updated_by_id_core_user')),
    sa.ForeignKeyConstraint(['web_form_id'], ['sale_web_form.id'], name=op.f('fk_sale_lead_web_form_id_sale_web_form')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_lead'))
    )
    schema.create_index(op.f('ix_sale_lead_company'), 'sale_lead', ['company'], unique=False)
    schema.create_index(op.f('ix_sale_lead_created_at'), 'sale_lead', ['created_at'], unique=False)
    schema.create_index(op.f('ix_sale_lead_created_by_id'), 'sale_lead', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_lead_customer_id'), 'sale_lead', ['customer_id'], unique=False)
    schema.create_index(op.f('ix_sale_lead_email'), 'sale_lead', ['email'], unique=False)
    schema.create_index(op.f('ix_sale_lead_name'), 'sale_lead', ['name'], unique=False)
    schema.create_index(op.f('ix_sale_lead_owner_id'), 'sale_lead', ['owner_id'], unique=False)
    schema.create_index('ix_sale_lead_owner_recent', 'sale_lead', ['owner_id', 'id'], unique=False)
    schema.create_index(op.f('ix_sale_lead_phone'), 'sale_lead', ['phone'], unique=False)
    schema.create_index(op.f('ix_sale_lead_region_id'), 'sale_lead', ['region_id'], unique=False)
    schema.create_index(op.f('ix_sale_lead_source_id'), 'sale_lead', ['source_id'], unique=False)
    schema.create_index(op.f('ix_sale_lead_status'), 'sale_lead', ['status'], unique=False)
    schema.create_index(op.f('ix_sale_lead_updated_by_id'), 'sale_lead', ['updated_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_lead_web_form_id'), 'sale_lead', ['web_form_id'], unique=False)
    schema.create_table('sale_price_list_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['price_list_id'], ['sale_price_list.id'], name=op.f('fk_sale_price_list_item_price_list_id_sale_price_list'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['sale_product.id'], name=op.f('fk_sale_price_list_item_product_id_sale_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_price_list_item')),
    sa.UniqueConstraint('price_list_id', 'product_id', name=op.f('uq_sale_price_list_item_price_list_id'))
    )
    schema.create_index(op.f('ix_sale_price_list_item_price_list_id'), 'sale_price_list_item', ['price_list_id'], unique=False)
    schema.create_index(op.f('ix_sale_price_list_item_product_id'), 'sale_price_list_item', ['product_id'], unique=False)
    schema.create_table('sale_opportunity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('expected_close', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('lost_reason_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contact.id'], name=op.f('fk_sale_opportunity_contact_id_crm_contact')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_sale_opportunity_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_sale_opportunity_customer_id_crm_customer')),
    sa.ForeignKeyConstraint(['lead_id'], ['sale_lead.id'], name=op.f('fk_sale_opportunity_lead_id_sale_lead')),
    sa.ForeignKeyConstraint(['lost_reason_id'], ['sale_lost_reason.id'], name=op.f('fk_sale_opportunity_lost_reason_id_sale_lost_reason')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_sale_opportunity_owner_id_core_user')),
    sa.ForeignKeyConstraint(['stage_id'], ['sale_stage.id'], name=op.f('fk_sale_opportunity_stage_id_sale_stage')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_sale_opportunity_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_opportunity'))
    )
    schema.create_index(op.f('ix_sale_opportunity_closed_on'), 'sale_opportunity', ['closed_on'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_contact_id'), 'sale_opportunity', ['contact_id'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_created_at'), 'sale_opportunity', ['created_at'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_created_by_id'), 'sale_opportunity', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_customer_id'), 'sale_opportunity', ['customer_id'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_expected_close'), 'sale_opportunity', ['expected_close'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_lead_id'), 'sale_opportunity', ['lead_id'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_lost_reason_id'), 'sale_opportunity', ['lost_reason_id'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_name'), 'sale_opportunity', ['name'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_owner_id'), 'sale_opportunity', ['owner_id'], unique=False)
    schema.create_index('ix_sale_opportunity_owner_recent', 'sale_opportunity', ['owner_id', 'id'], unique=False)
    schema.create_index('ix_sale_opportunity_stage_close', 'sale_opportunity', ['stage_id', 'expected_close'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_stage_id'), 'sale_opportunity', ['stage_id'], unique=False)
    schema.create_index(op.f('ix_sale_opportunity_updated_by_id'), 'sale_opportunity', ['updated_by_id'], unique=False)
    schema.create_table('sale_expense',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expense_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('expense', 'income', name='sale_expense_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('state', sa.Enum('draft', 'submitted', 'approved', 'refused', name='sale_expense_state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('attachment_name', sa.String(length=255), nullable=True),
    sa.Column('attachment_token', sa.String(length=80), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['core_user.id'], name=op.f('fk_sale_expense_approved_by_id_core_user')),
    sa.ForeignKeyConstraint(['category_id'], ['sale_expense_category.id'], name=op.f('fk_sale_expense_category_id_sale_expense_category')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_sale_expense_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_sale_expense_customer_id_crm_customer')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['sale_opportunity.id'], name=op.f('fk_sale_expense_opportunity_id_sale_opportunity')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_sale_expense_owner_id_core_user')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_sale_expense_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_expense'))
    )
    schema.create_index(op.f('ix_sale_expense_approved_by_id'), 'sale_expense', ['approved_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_expense_category_id'), 'sale_expense', ['category_id'], unique=False)
    schema.create_index(op.f('ix_sale_expense_created_at'), 'sale_expense', ['created_at'], unique=False)
    schema.create_index(op.f('ix_sale_expense_created_by_id'), 'sale_expense', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_expense_customer_id'), 'sale_expense', ['customer_id'], unique=False)
    schema.create_index(op.f('ix_sale_expense_expense_date'), 'sale_expense', ['expense_date'], unique=False)
    schema.create_index(op.f('ix_sale_expense_kind'), 'sale_expense', ['kind'], unique=False)
    schema.create_index(op.f('ix_sale_expense_opportunity_id'), 'sale_expense', ['opportunity_id'], unique=False)
    schema.create_index('ix_sale_expense_owner_date', 'sale_expense', ['owner_id', 'expense_date'], unique=False)
    schema.create_index(op.f('ix_sale_expense_owner_id'), 'sale_expense', ['owner_id'], unique=False)
    schema.create_index(op.f('ix_sale_expense_state'), 'sale_expense', ['state'], unique=False)
    schema.create_index(op.f('ix_sale_expense_updated_by_id'), 'sale_expense', ['updated_by_id'], unique=False)
    schema.create_table('sale_opportunity_competitor',
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('competitor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['competitor_id'], ['crm_competitor.id'], name=op.f('fk_sale_opportunity_competitor_competitor_id_crm_competitor'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['sale_opportunity.id'], name=op.f('fk_sale_opportunity_competitor_opportunity_id_sale_opportunity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('opportunity_id', 'competitor_id', name=op.f('pk_sale_opportunity_competitor'))
    )
    schema.create_index(op.f('ix_sale_opportunity_competitor_competitor_id'), 'sale_opportunity_competitor', ['competitor_id'], unique=False)
    schema.create_table('sale_quote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('draft', 'sent', 'accepted', 'rejected', 'expired', 'revised', name='sale_quote_state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('quote_date', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('approval', sa.Enum('not needed', 'pending', 'approved', 'refused', name='sale_quote_approval', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['core_user.id'], name=op.f('fk_sale_quote_approved_by_id_core_user')),
    sa.ForeignKeyConstraint(['contact_id'], ['crm_contact.id'], name=op.f('fk_sale_quote_contact_id_crm_contact')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_sale_quote_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_sale_quote_customer_id_crm_customer')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['sale_opportunity.id'], name=op.f('fk_sale_quote_opportunity_id_sale_opportunity')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_sale_quote_owner_id_core_user')),
    sa.ForeignKeyConstraint(['previous_id'], ['sale_quote.id'], name=op.f('fk_sale_quote_previous_id_sale_quote')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_sale_quote_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_quote')),
    sa.UniqueConstraint('number', 'version', name=op.f('uq_sale_quote_number'))
    )
    schema.create_index(op.f('ix_sale_quote_approval'), 'sale_quote', ['approval'], unique=False)
    schema.create_index(op.f('ix_sale_quote_approved_by_id'), 'sale_quote', ['approved_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_quote_contact_id'), 'sale_quote', ['contact_id'], unique=False)
    schema.create_index(op.f('ix_sale_quote_created_at'), 'sale_quote', ['created_at'], unique=False)
    schema.create_index(op.f('ix_sale_quote_created_by_id'), 'sale_quote', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_quote_customer_id'), 'sale_quote', ['customer_id'], unique=False)
    schema.create_index(op.f('ix_sale_quote_number'), 'sale_quote', ['number'], unique=False)
    schema.create_index(op.f('ix_sale_quote_opportunity_id'), 'sale_quote', ['opportunity_id'], unique=False)
    schema.create_index(op.f('ix_sale_quote_owner_id'), 'sale_quote', ['owner_id'], unique=False)
    schema.create_index('ix_sale_quote_owner_recent', 'sale_quote', ['owner_id', 'id'], unique=False)
    schema.create_index(op.f('ix_sale_quote_previous_id'), 'sale_quote', ['previous_id'], unique=False)
    schema.create_index(op.f('ix_sale_quote_state'), 'sale_quote', ['state'], unique=False)
    schema.create_index('ix_sale_quote_state_valid', 'sale_quote', ['state', 'valid_until'], unique=False)
    schema.create_index(op.f('ix_sale_quote_updated_by_id'), 'sale_quote', ['updated_by_id'], unique=False)
    schema.create_table('sale_stage_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('from_stage_id', sa.Integer(), nullable=True),
    sa.Column('to_stage_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['from_stage_id'], ['sale_stage.id'], name=op.f('fk_sale_stage_change_from_stage_id_sale_stage')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['sale_opportunity.id'], name=op.f('fk_sale_stage_change_opportunity_id_sale_opportunity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_stage_id'], ['sale_stage.id'], name=op.f('fk_sale_stage_change_to_stage_id_sale_stage')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_sale_stage_change_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_stage_change'))
    )
    schema.create_index(op.f('ix_sale_stage_change_at'), 'sale_stage_change', ['at'], unique=False)
    schema.create_index(op.f('ix_sale_stage_change_from_stage_id'), 'sale_stage_change', ['from_stage_id'], unique=False)
    schema.create_index('ix_sale_stage_change_opportunity_at', 'sale_stage_change', ['opportunity_id', 'at'], unique=False)
    schema.create_index(op.f('ix_sale_stage_change_to_stage_id'), 'sale_stage_change', ['to_stage_id'], unique=False)
    schema.create_index(op.f('ix_sale_stage_change_user_id'), 'sale_stage_change', ['user_id'], unique=False)
    schema.create_table('sale_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=True),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('open', 'done', 'cancelled', name='sale_order_state', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_sale_order_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_sale_order_customer_id_crm_customer')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_sale_order_owner_id_core_user')),
    sa.ForeignKeyConstraint(['quote_id'], ['sale_quote.id'], name=op.f('fk_sale_order_quote_id_sale_quote')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_sale_order_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_order')),
    sa.UniqueConstraint('number', name=op.f('uq_sale_order_number'))
    )
    schema.create_index(op.f('ix_sale_order_created_at'), 'sale_order', ['created_at'], unique=False)
    schema.create_index(op.f('ix_sale_order_created_by_id'), 'sale_order', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_order_customer_id'), 'sale_order', ['customer_id'], unique=False)
    schema.create_index(op.f('ix_sale_order_order_date'), 'sale_order', ['order_date'], unique=False)
    schema.create_index(op.f('ix_sale_order_owner_id'), 'sale_order', ['owner_id'], unique=False)
    schema.create_index('ix_sale_order_owner_recent', 'sale_order', ['owner_id', 'id'], unique=False)
    schema.create_index(op.f('ix_sale_order_quote_id'), 'sale_order', ['quote_id'], unique=False)
    schema.create_index(op.f('ix_sale_order_state'), 'sale_order', ['state'], unique=False)
    schema.create_index(op.f('ix_sale_order_updated_by_id'), 'sale_order', ['updated_by_id'], unique=False)
    schema.create_table('sale_quote_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('discount', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['sale_product.id'], name=op.f('fk_sale_quote_line_product_id_sale_product')),
    sa.ForeignKeyConstraint(['quote_id'], ['sale_quote.id'], name=op.f('fk_sale_quote_line_quote_id_sale_quote'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_quote_line'))
    )
    schema.create_index(op.f('ix_sale_quote_line_product_id'), 'sale_quote_line', ['product_id'], unique=False)
    schema.create_index(op.f('ix_sale_quote_line_quote_id'), 'sale_quote_line', ['quote_id'], unique=False)
    schema.create_table('sale_contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payment_terms', sa.String(length=200), nullable=True),
    sa.Column('status', sa.Enum('draft', 'active', 'expired', 'terminated', 'renewed', name='sale_contract_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('auto_renew', sa.Boolean(), nullable=False),
    sa.Column('renewal_of_id', sa.Integer(), nullable=True),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_sale_contract_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_sale_contract_customer_id_crm_customer')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_sale_contract_order_id_sale_order')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_sale_contract_owner_id_core_user')),
    sa.ForeignKeyConstraint(['quote_id'], ['sale_quote.id'], name=op.f('fk_sale_contract_quote_id_sale_quote')),
    sa.ForeignKeyConstraint(['renewal_of_id'], ['sale_contract.id'], name=op.f('fk_sale_contract_renewal_of_id_sale_contract')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_sale_contract_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_contract')),
    sa.UniqueConstraint('number', name=op.f('uq_sale_contract_number'))
    )
    schema.create_index(op.f('ix_sale_contract_created_at'), 'sale_contract', ['created_at'], unique=False)
    schema.create_index(op.f('ix_sale_contract_created_by_id'), 'sale_contract', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_contract_customer_id'), 'sale_contract', ['customer_id'], unique=False)
    schema.create_index(op.f('ix_sale_contract_order_id'), 'sale_contract', ['order_id'], unique=False)
    schema.create_index(op.f('ix_sale_contract_owner_id'), 'sale_contract', ['owner_id'], unique=False)
    schema.create_index(op.f('ix_sale_contract_quote_id'), 'sale_contract', ['quote_id'], unique=False)
    schema.create_index(op.f('ix_sale_contract_renewal_of_id'), 'sale_contract', ['renewal_of_id'], unique=False)
    schema.create_index(op.f('ix_sale_contract_status'), 'sale_contract', ['status'], unique=False)
    schema.create_index('ix_sale_contract_status_end', 'sale_contract', ['status', 'end_date'], unique=False)
    schema.create_index(op.f('ix_sale_contract_updated_by_id'), 'sale_contract', ['updated_by_id'], unique=False)
    schema.create_table('sale_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=False),
    sa.Column('carrier', sa.String(length=100), nullable=True),
    sa.Column('tracking', sa.String(length=100), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_sale_delivery_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_sale_delivery_order_id_sale_order')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_sale_delivery_owner_id_core_user')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_sale_delivery_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_delivery')),
    sa.UniqueConstraint('number', name=op.f('uq_sale_delivery_number'))
    )
    schema.create_index(op.f('ix_sale_delivery_created_at'), 'sale_delivery', ['created_at'], unique=False)
    schema.create_index(op.f('ix_sale_delivery_created_by_id'), 'sale_delivery', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_delivery_delivery_date'), 'sale_delivery', ['delivery_date'], unique=False)
    schema.create_index(op.f('ix_sale_delivery_order_id'), 'sale_delivery', ['order_id'], unique=False)
    schema.create_index(op.f('ix_sale_delivery_owner_id'), 'sale_delivery', ['owner_id'], unique=False)
    schema.create_index(op.f('ix_sale_delivery_updated_by_id'), 'sale_delivery', ['updated_by_id'], unique=False)
    schema.create_table('sale_order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('delivered', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('returned', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('discount', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_sale_order_line_order_id_sale_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['sale_product.id'], name=op.f('fk_sale_order_line_product_id_sale_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_order_line'))
    )
    schema.create_index(op.f('ix_sale_order_line_order_id'), 'sale_order_line', ['order_id'], unique=False)
    schema.create_index(op.f('ix_sale_order_line_product_id'), 'sale_order_line', ['product_id'], unique=False)
    schema.create_table('sale_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('payment_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('method', sa.Enum('bank transfer', 'cash', 'cheque', 'card', 'alipay', 'wechat pay', 'other', name='sale_payment_method', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_sale_payment_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['crm_customer.id'], name=op.f('fk_sale_payment_customer_id_crm_customer')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_sale_payment_order_id_sale_order')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_sale_payment_owner_id_core_user')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_sale_payment_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_payment')),
    sa.UniqueConstraint('number', name=op.f('uq_sale_payment_number'))
    )
    schema.create_index(op.f('ix_sale_payment_created_at'), 'sale_payment', ['created_at'], unique=False)
    schema.create_index(op.f('ix_sale_payment_created_by_id'), 'sale_payment', ['created_by_id'], unique=False)
    schema.create_index('ix_sale_payment_customer_date', 'sale_payment', ['customer_id', 'payment_date'], unique=False)
    schema.create_index(op.f('ix_sale_payment_customer_id'), 'sale_payment', ['customer_id'], unique=False)
    schema.create_index(op.f('ix_sale_payment_order_id'), 'sale_payment', ['order_id'], unique=False)
    schema.create_index(op.f('ix_sale_payment_owner_id'), 'sale_payment', ['owner_id'], unique=False)
    schema.create_index(op.f('ix_sale_payment_updated_by_id'), 'sale_payment', ['updated_by_id'], unique=False)
    schema.create_table('sale_return',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('return_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_sale_return_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_sale_return_order_id_sale_order')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_sale_return_owner_id_core_user')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_sale_return_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_return')),
    sa.UniqueConstraint('number', name=op.f('uq_sale_return_number'))
    )
    schema.create_index(op.f('ix_sale_return_created_at'), 'sale_return', ['created_at'], unique=False)
    schema.create_index(op.f('ix_sale_return_created_by_id'), 'sale_return', ['created_by_id'], unique=False)
    schema.create_index(op.f('ix_sale_return_order_id'), 'sale_return', ['order_id'], unique=False)
    schema.create_index(op.f('ix_sale_return_owner_id'), 'sale_return', ['owner_id'], unique=False)
    schema.create_index(op.f('ix_sale_return_return_date'), 'sale_return', ['return_date'], unique=False)
    schema.create_index(op.f('ix_sale_return_updated_by_id'), 'sale_return', ['updated_by_id'], unique=False)
    schema.create_table('sale_delivery_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['sale_delivery.id'], name=op.f('fk_sale_delivery_line_delivery_id_sale_delivery'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['sale_order_line.id'], name=op.f('fk_sale_delivery_line_order_line_id_sale_order_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_delivery_line'))
    )
    schema.create_index(op.f('ix_sale_delivery_line_delivery_id'), 'sale_delivery_line', ['delivery_id'], unique=False)
    schema.create_index(op.f('ix_sale_delivery_line_order_line_id'), 'sale_delivery_line', ['order_line_id'], unique=False)
    schema.create_table('sale_return_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_line_id'], ['sale_order_line.id'], name=op.f('fk_sale_return_line_order_line_id_sale_order_line')),
    sa.ForeignKeyConstraint(['return_id'], ['sale_return.id'], name=op.f('fk_sale_return_line_return_id_sale_return'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_return_line'))
    )
    schema.create_index(op.f('ix_sale_return_line_order_line_id'), 'sale_return_line', ['order_line_id'], unique=False)
    schema.create_index(op.f('ix_sale_return_line_return_id'), 'sale_return_line', ['return_id'], unique=False)


def downgrade():
    raise NotImplementedError("a baseline is not undone: restore a backup instead")
