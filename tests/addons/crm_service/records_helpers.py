"""What the complaint, service record and billing tests share: records made in the
database through the models (as mail or a form would leave them), and page reading."""
from datetime import date
from decimal import Decimal

from tests.addons.crm_contacts.helpers import PASSWORD, add_user, user_id
# Page reading as the sales order tests do it.
from tests.addons.crm_sales.order_helpers import flashes, money, text

__all__ = ["PASSWORD", "add_user", "user_id", "orm", "make_customer", "make_ticket",
           "make_team", "make_record", "text", "flashes", "money", "one"]


class orm:
    """``with orm(suite) as session:`` the models in an app context of the suite's own,
    committed at the end."""

    def __init__(self, suite):
        self.suite = suite

    def __enter__(self):
        from core.db import db
        if getattr(self.suite, "orm_dispatcher", None) is None:   # an app built once
            self.suite.orm_dispatcher = self.suite.dispatcher()
        self.context = self.suite.orm_dispatcher.app.app_context()
        self.context.push()
        return db.session

    def __exit__(self, kind, value, trace):
        from core.db import db
        try:
            if kind is None:
                db.session.commit()
            else:
                db.session.rollback()
        finally:
            db.session.remove()
            self.context.pop()


def make_customer(suite, name, owner=None):
    from addons.crm_contacts.models import Customer
    with orm(suite) as session:
        customer = Customer(name=name, kind="company", stage="active",
                            owner_id=user_id(suite, owner) if owner else None)
        session.add(customer)
        session.flush()
        return customer.id


def make_ticket(suite, subject="Broken scanner", **fields):
    from addons.crm_service.models import Ticket
    for key in ("owner", "action_owner"):
        if isinstance(fields.get(key), str):
            fields[f"{key}_id"] = user_id(suite, fields.pop(key))
    with orm(suite) as session:
        ticket = Ticket(subject=subject, channel="phone", **fields)
        session.add(ticket)
        session.flush()
        return ticket.id


def make_team(suite, name, leader, members=()):
    from core.models import Team, User
    with orm(suite) as session:
        team = Team(name=name, leader=session.get(User, user_id(suite, leader)),
                    members=[session.get(User, user_id(suite, m)) for m in members])
        session.add(team)
        session.flush()
        return team.id


def make_record(suite, ticket_id, fee, work_date=None, minutes=30, billable=True,
                owner="admin", description="On-site repair"):
    from addons.crm_service.models import ServiceRecord
    with orm(suite) as session:
        record = ServiceRecord(ticket_id=ticket_id, fee=Decimal(str(fee)), minutes=minutes,
                               billable=billable, work_date=work_date or date.today(),
                               description=description, owner_id=user_id(suite, owner))
        session.add(record)
        session.flush()
        return record.id


def one(suite, statement, **params):
    return suite.sql(statement, **params)[0]
