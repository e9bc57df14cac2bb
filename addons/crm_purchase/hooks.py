"""What Purchase adds to other pages: the supplier's 360° panels (open purchase orders,
recent receipts, open bills and the payables balance), on the customer page of a
company the business buys from (``details.Customer``) and on the supplier's own page
(``details.Supplier``).

Each panel reads its model within the record rules (a buyer sees their own orders,
receipts and bills there), in a fixed number of queries, and is left out for users
who may not read that model at all."""
from datetime import date

from flask import g, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from addons.crm_purchase import payables
from addons.crm_purchase.models import PurchaseOrder, Receipt, Supplier, SupplierBill
from addons.crm_sales.money import amount_text
from core import hooks, permissions
from core.db import db

PANEL_ROWS = 10
DONE_ORDER_STATES = ("received", "closed", "cancelled")
PANEL_MODELS = ("PurchaseOrder", "Receipt", "SupplierBill")


def _readable(model_name):
    return permissions.permits(current_user, model_name, "r")


def supplier_of(customer):
    """The customer's supplier record, if the user may read suppliers; looked up once
    per request for all the panels."""
    found = g.setdefault("crm_purchase_supplier_of", {})
    if customer.id not in found:
        found[customer.id] = None
        if any(_readable(name) for name in PANEL_MODELS):
            found[customer.id] = db.session.scalars(permissions.apply_rules(
                select(Supplier).where(Supplier.customer_id == customer.id),
                Supplier)).one_or_none()
    return found[customer.id]


def _counted(statement, shown):
    """How many rows ``statement`` has: asked only when the panel is full."""
    if shown < PANEL_ROWS:
        return shown
    return db.session.scalar(select(func.count()).select_from(statement.subquery()))


def _panel(title, order, link, template, **context):
    return {"title": title, "order": order, "link": link,
            "html": Markup(render_template(template, amount=amount_text, **context))}


def _title(text, count):
    return f"{text} ({count})" if count else text


# -- the panels of one supplier ----------------------------------------------------------------

def orders_panel(supplier):
    """The supplier's purchase orders still under way (not received, closed or
    cancelled), soonest expected first."""
    if supplier is None or not _readable("PurchaseOrder"):
        return None
    statement = permissions.apply_rules(
        select(PurchaseOrder).where(PurchaseOrder.supplier_id == supplier.id,
                                    PurchaseOrder.state.not_in(DONE_ORDER_STATES)),
        PurchaseOrder)
    orders = db.session.scalars(statement.order_by(
        PurchaseOrder.expected_date.is_(None), PurchaseOrder.expected_date,
        PurchaseOrder.id.desc()).limit(PANEL_ROWS)).all()
    count = _counted(statement, len(orders))
    return _panel(_title(_("Open purchase orders"), count), 70,
                  url_for("purchase_order.index_view",
                          flt0_supplier_pur_supplier_code_equals=supplier.code),
                  "crm_purchase/supplier_panel_orders.html", orders=orders, count=count)


def receipts_panel(supplier):
    """The latest goods received from the supplier."""
    if supplier is None or not _readable("Receipt"):
        return None
    receipts = db.session.scalars(permissions.apply_rules(
        select(Receipt).join(Receipt.order).where(PurchaseOrder.supplier_id == supplier.id),
        Receipt).options(contains_eager(Receipt.order))
        .order_by(Receipt.receipt_date.desc(), Receipt.id.desc()).limit(PANEL_ROWS)).all()
    # The receipt list filters by a supplier's name or code (receipts.ContainsFilter).
    return _panel(_("Recent receipts"), 71,
                  url_for("receipt.index_view", flt0_supplier_contains=supplier.code),
                  "crm_purchase/supplier_panel_receipts.html",
                  receipts=receipts, order_links=_readable("PurchaseOrder"))


def bills_panel(supplier):
    """The supplier's bills not fully paid, the earliest due first."""
    if supplier is None or not _readable("SupplierBill"):
        return None
    statement = permissions.apply_rules(
        select(SupplierBill).where(SupplierBill.supplier_id == supplier.id,
                                   SupplierBill.state.in_(payables.UNPAID_STATES)),
        SupplierBill)
    bills = db.session.scalars(statement.order_by(
        payables.due_day(), SupplierBill.id).limit(PANEL_ROWS)).all()
    count = _counted(statement, len(bills))
    return _panel(_title(_("Open supplier bills"), count), 72,
                  payables.bills_url(supplier.code), "crm_purchase/supplier_panel_bills.html",
                  bills=bills, count=count, open_amount=payables.open_amount,
                  today=date.today(),
                  new_url=url_for("supplier_bill.create_view", supplier=supplier.id)
                  if permissions.permits(current_user, "SupplierBill", "c") else None)


def balance_panel(supplier):
    """Billed, paid and the balance owed to the supplier (one query), over the bills
    and payments the user may read, as on the Aged payables page."""
    if supplier is None or not _readable("SupplierBill"):
        return None
    return _panel(_("Payables"), 73,
                  url_for("aged_payables.index_view", search=supplier.code),
                  "crm_purchase/supplier_panel_balance.html", supplier=supplier,
                  balance=payables.supplier_payables(supplier.id),
                  pay_url=url_for("supplier_payment.create_view", supplier=supplier.id)
                  if permissions.permits(current_user, "SupplierPayment", "c") else None)


# -- where they show ------------------------------------------------------------------------------

@hooks.connect("details.Customer")
def customer_orders(customer):
    return orders_panel(supplier_of(customer))


@hooks.connect("details.Customer")
def customer_receipts(customer):
    return receipts_panel(supplier_of(customer))


@hooks.connect("details.Customer")
def customer_bills(customer):
    return bills_panel(supplier_of(customer))


@hooks.connect("details.Customer")
def customer_payables(customer):
    return balance_panel(supplier_of(customer))


@hooks.connect("details.Supplier")
def supplier_orders(supplier):
    return orders_panel(supplier)


@hooks.connect("details.Supplier")
def supplier_receipts(supplier):
    return receipts_panel(supplier)


@hooks.connect("details.Supplier")
def supplier_bills(supplier):
    return bills_panel(supplier)


@hooks.connect("details.Supplier")
def supplier_payables(supplier):
    return balance_panel(supplier)
