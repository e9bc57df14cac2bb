"""The contact and owner indexes of issue 7, which installations made before it lack.

A salesperson's filtered list ("my grade A customers in Shanghai") and quick search
(part of a contact's name, or two Chinese characters) are answered from these.

Revision ID: crm_contacts_0002
Revises: crm_contacts_0001
Create Date: 2026-12-04
"""
from alembic import op

from core.migrating import Adopting

revision = "crm_contacts_0002"
down_revision = "crm_contacts_0001"
branch_labels = None
depends_on = None

CUSTOMER_OWNER_NAME_COVERS = ["id", "name_key", "code", "phone_key", "email_key"]


def upgrade():
    schema = Adopting(op)
    schema.create_index("ix_crm_customer_owner_grade_city", "crm_customer",
                        ["owner_id", "grade", "city"], unique=False)
    schema.create_index("ix_crm_contact_owner_name", "crm_contact", ["owner_id", "name"],
                        unique=False, postgresql_include=["id", "phone", "mobile", "email"])
    if schema.dialect == "postgresql":
        # Before issue 7 the index by owner and name covered only the id: the quick
        # search then read every customer row it found.
        if schema.index_exists("crm_customer", "ix_crm_customer_owner_name") and "name_key" not in (
                op.get_bind().exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = "
                    "'ix_crm_customer_owner_name' AND schemaname = current_schema()").scalar() or ""):
            op.drop_index("ix_crm_customer_owner_name", "crm_customer")
            schema.inspector.clear_cache()
        schema.create_index("ix_crm_contact_name_trgm", "crm_contact", ["name"], unique=False,
                            postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"})
    schema.create_index("ix_crm_customer_owner_name", "crm_customer", ["owner_id", "name"],
                        unique=False, postgresql_include=CUSTOMER_OWNER_NAME_COVERS)


def downgrade():
    op.drop_index("ix_crm_customer_owner_name", "crm_customer")
    op.create_index("ix_crm_customer_owner_name", "crm_customer", ["owner_id", "name"],
                    unique=False, postgresql_include=["id"])
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_crm_contact_name_trgm", "crm_contact")
    op.drop_index("ix_crm_contact_owner_name", "crm_contact")
    op.drop_index("ix_crm_customer_owner_grade_city", "crm_customer")
