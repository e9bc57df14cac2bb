"""Salespeople export the customers, contacts and activities they may read (issue 14).

Revision ID: crm_contacts_0003
Revises: crm_contacts_0002
Create Date: 2026-12-04
"""
from alembic import op

from core.migrating import widen_access

revision = "crm_contacts_0003"
down_revision = "crm_contacts_0002"
branch_labels = None
depends_on = None

MODELS = ["Customer", "Contact", "Activity"]


def upgrade():
    widen_access(op, "contacts_user", MODELS, "rwc", "rwcx")


def downgrade():
    widen_access(op, "contacts_user", MODELS, "rwcx", "rwc")
