"""What the bridge needs, added on every enable when missing: the source of the leads
campaigns bring (its name is shown translated, and an administrator may add others)."""
from sqlalchemy import select

from addons.crm_contacts.models import Source
from addons.crm_marketing_sales.models import SOURCE_NAME


def load(session):
    if session.scalar(select(Source.id).where(Source.name == SOURCE_NAME)) is None:
        session.add(Source(name=SOURCE_NAME))
