"""The records Purchase needs to be used at all, added on every enable when missing:
one warehouse, the default for deliveries."""
from sqlalchemy import select

from addons.crm_purchase.models import Warehouse
from core.i18n import mark

MAIN = mark("Main warehouse")


def load(session):
    if session.scalar(select(Warehouse.id).limit(1)) is None:
        session.add(Warehouse(code="WH", name=MAIN, is_default=True))
