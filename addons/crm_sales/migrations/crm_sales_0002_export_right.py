"""Salespeople export the sales records they may read (issue 14).

Revision ID: crm_sales_0002
Revises: crm_sales_0001
Create Date: 2026-12-04
"""
from alembic import op

from core.migrating import widen_access

revision = "crm_sales_0002"
down_revision = "crm_sales_0001"
branch_labels = None
depends_on = None

MODELS = ["Lead", "Opportunity", "Quote", "Contract", "SalesOrder", "Delivery",
          "CustomerReturn", "Payment", "Expense"]


def upgrade():
    widen_access(op, "sales_user", MODELS, "rwc", "rwcx")


def downgrade():
    widen_access(op, "sales_user", MODELS, "rwcx", "rwc")
