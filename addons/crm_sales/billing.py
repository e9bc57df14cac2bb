"""Billing other addons' fees on sales orders: the handler of the core hook
``billing.charge``.

Another addon (Service's billable fees) asks, without importing Sales:

    hooks.call("billing.charge", customer_id=7, user=current_user, lines=[
        {"description": "T2026-000012 On-site repair", "quantity": 1, "unit_price": 800,
         "source": ("ServiceRecord", 12)}])

and gets the order's number back. The lines go on the customer's newest open order that
this hook opened (while its lines may still change), or on a new one, through what the
order form uses: line defaults filled, totals computed by the before_flush of models.py.
The user's rights on orders decide: refused (core.hooks.Refused) when they may not
create or change one. Each source record is billed once: the unique key of OrderCharge
refuses a second charge, even from two requests at the same moment."""
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from addons.crm_contacts.models import Customer
from addons.crm_sales import money
from addons.crm_sales.lines import LARGEST_AMOUNT, fill_line_defaults
from addons.crm_sales.models import OrderLine, SalesOrder
from addons.crm_sales.orders import lines_locked
from core import company, hooks, permissions
from core.db import db
from core.models import utcnow


class OrderCharge(db.Model):
    """An order line the billing hook added for another addon's record: which record
    it bills (once), and the order it went on (further charges join that order)."""

    __tablename__ = "sale_order_charge"
    __table_args__ = (db.UniqueConstraint("source_model", "source_id"),)
    id = db.Column(db.Integer, primary_key=True)
    order_id = db.Column(db.ForeignKey("sale_order.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    order = db.relationship(SalesOrder)
    order_line_id = db.Column(db.ForeignKey("sale_order_line.id", ondelete="CASCADE"),
                              nullable=False, unique=True)
    order_line = db.relationship(OrderLine)
    source_model = db.Column(db.String(64), nullable=False)
    source_id = db.Column(db.Integer, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


@hooks.connect("billing.charge")
def charge(customer_id, lines, user):
    """Put ``lines`` on an open order of the customer for ``user``; returns the
    order's number. Raises hooks.Refused with the reason; the caller rolls back."""
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise hooks.Refused(_("Choose records of a customer to bill."))
    if not lines:
        raise hooks.Refused(_("There is nothing to bill."))
    _refuse_billed_twice(lines)
    order = billing_order(customer, user)
    added = [_line(order, line) for line in lines]
    fill_line_defaults(db.session, order.lines, customer, order.order_date)
    total = sum((money.line_amounts(line.quantity, line.unit_price, line.discount,
                                    line.tax_rate)[2] for line in order.lines), Decimal(0))
    if total > LARGEST_AMOUNT:
        raise hooks.Refused(_("The order's total would be too large."))
    for line, source in zip(added, lines):
        db.session.add(OrderCharge(order=order, order_line=line,
                                   source_model=source["source"][0],
                                   source_id=int(source["source"][1])))
    try:
        db.session.flush()
    except IntegrityError:   # another request billed one of them a moment ago
        raise hooks.Refused(_("Some of these records have been billed already.")) from None
    return order.number


def billing_order(customer, user):
    """The customer's newest open order this hook opened, when ``user`` may read and
    change it and its lines may still change; else a new order, when ``user`` may
    create one (belonging to the customer's owner where the user may give it to them)."""
    newest = db.session.scalar(permissions.apply_rules(
        select(SalesOrder).join(OrderCharge, OrderCharge.order_id == SalesOrder.id)
        .where(SalesOrder.customer_id == customer.id, SalesOrder.state == "open")
        .order_by(SalesOrder.id.desc()).limit(1), SalesOrder, user).with_for_update(
            of=SalesOrder))
    if newest is not None and lines_locked(newest) is None \
            and permissions.permits(user, "SalesOrder", "w"):
        return newest
    if not permissions.permits(user, "SalesOrder", "c"):
        raise hooks.Refused(_("You may not create sales orders: ask a sales manager to "
                              "bill these fees."))
    owner = permissions.assignable(user, SalesOrder, customer.owner) or user
    order = SalesOrder(customer=customer, owner=owner, order_date=date.today(),
                       currency=company.currency())
    db.session.add(order)
    return order


def _line(order, line):
    added = OrderLine(description=str(line["description"])[:500],
                      quantity=money.to_decimal(line.get("quantity", 1)),
                      unit_price=money.cents(line["unit_price"]),
                      tax_rate=money.to_decimal(line.get("tax_rate", 0)), discount=0)
    order.lines.append(added)
    return added


def _refuse_billed_twice(lines):
    sources = {(line["source"][0], int(line["source"][1])) for line in lines}
    models = {model for model, _id in sources}
    billed = db.session.execute(select(OrderCharge.source_model, OrderCharge.source_id).where(
        OrderCharge.source_model.in_(models),
        OrderCharge.source_id.in_([record_id for _model, record_id in sources]))).all()
    if any(tuple(row) in sources for row in billed):
        raise hooks.Refused(_("Some of these records have been billed already."))
