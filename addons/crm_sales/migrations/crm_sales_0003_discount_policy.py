"""The quote discount that needs approval moves from a setting to an approval policy.

An administrator's value of the setting "approval_discount" becomes the condition of
the policy "quote_discount" when that policy exists already, and the setting's row goes.
The core adds the manifest's policies after the migrations (Registry.refresh): until
then the row is kept, and data/defaults.py moves it over once the policy is there.

Revision ID: crm_sales_0003
Revises: crm_sales_0002
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "crm_sales_0003"
down_revision = "crm_sales_0002"
branch_labels = None
depends_on = ("core_0002",)   # the approval policies' tables


def upgrade():
    bind = op.get_bind()
    value = bind.execute(sa.text(
        "SELECT value FROM core_option WHERE addon = 'crm_sales' "
        "AND key = 'approval_discount'")).scalar()
    if value is None:
        return
    policy = bind.execute(sa.text(
        "SELECT id FROM core_approval_policy WHERE addon = 'crm_sales' "
        "AND key = 'quote_discount'")).scalar()
    if policy is None:
        return   # not added yet: data/defaults.py does it
    if value.strip():
        bind.execute(sa.text(
            "UPDATE core_approval_condition SET value = :value WHERE policy_id = :policy "
            "AND field = 'largest_discount'"), {"value": value.strip(), "policy": policy})
    bind.execute(sa.text(
        "DELETE FROM core_option WHERE addon = 'crm_sales' AND key = 'approval_discount'"))


def downgrade():
    # The policy stays (an administrator may have edited it); the setting's default
    # applies again.
    pass
