"""What Sales adds to other pages: the panels of the 360° customer page, the next
steps on a customer's and a deal's header (New opportunity, New quote), and a deal's
Quotes panel.

Each panel reads its model within the record rules (a salesperson sees their own
opportunities, quotes and orders there), in a fixed number of queries, and is left out
for users who may not read that model at all."""
from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from addons.crm_sales import money
from addons.crm_sales.models import Opportunity, Quote, SalesOrder, Stage
from addons.crm_sales.money import amount_text
from addons.crm_sales.orders import amount_due, customer_balance
from core import hooks, permissions
from core.db import db

PANEL_ROWS = 10


def _readable(model_name):
    return permissions.permits(current_user, model_name, "r")


def _list_link(endpoint, customer):
    """The screen's list filtered to this customer (the filter every list derives from
    its customer relation)."""
    return url_for(f"{endpoint}.index_view", flt0_customer_crm_customer_name_equals=customer.name)


def _panel(title, order, link, template, **context):
    return {"title": title, "order": order, "link": link,
            "html": Markup(render_template(template, amount=amount_text, **context))}


@hooks.connect("details.Customer")
def opportunities_panel(customer):
    """The customer's open deals, soonest expected close first, and their total."""
    if not _readable("Opportunity"):
        return None
    open_deals = permissions.apply_rules(
        select(Opportunity).join(Opportunity.stage)
        .where(Opportunity.customer_id == customer.id, Stage.kind == "open"), Opportunity)
    deals = db.session.scalars(
        open_deals.options(contains_eager(Opportunity.stage))
        .order_by(Opportunity.expected_close.is_(None), Opportunity.expected_close,
                  Opportunity.id).limit(PANEL_ROWS)).all()
    every_deal = open_deals.subquery()
    count, total = db.session.execute(
        select(func.count(), func.coalesce(func.sum(every_deal.c.amount), 0))).one() \
        if deals else (0, 0)
    return _panel(_("Opportunities"), 30, _list_link("opportunity", customer),
                  "crm_sales/panel_opportunities.html", customer=customer, deals=deals,
                  count=count, total=money.cents(total))


@hooks.connect("details.Customer")
def quotes_panel(customer):
    if not _readable("Quote"):
        return None
    quotes = db.session.scalars(permissions.apply_rules(
        select(Quote).where(Quote.customer_id == customer.id), Quote)
        .order_by(Quote.quote_date.desc(), Quote.id.desc()).limit(PANEL_ROWS)).all()
    return _panel(_("Quotes"), 40, _list_link("quote", customer), "crm_sales/panel_quotes.html",
                  customer=customer, quotes=quotes)


@hooks.connect("details.Customer")
def orders_panel(customer):
    """The latest orders with what is still due on each (one query)."""
    if not _readable("SalesOrder"):
        return None
    rows = db.session.execute(permissions.apply_rules(
        select(SalesOrder, amount_due().label("due"))
        .where(SalesOrder.customer_id == customer.id), SalesOrder)
        .order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc()).limit(PANEL_ROWS)).all()
    orders = [(order, money.cents(due)) for order, due in rows]
    return _panel(_("Orders"), 50, _list_link("sales_order", customer),
                  "crm_sales/panel_orders.html", customer=customer, orders=orders,
                  can_create=permissions.permits(current_user, "SalesOrder", "c"))


@hooks.connect("details.Customer")
def balance_panel(customer):
    """Orders, returns, payments and the outstanding balance (one query), over the
    records the user may read, as on the Balances page."""
    if not _readable("SalesOrder"):
        return None
    balance = customer_balance(customer.id)
    return _panel(_("Balance"), 55, url_for("balance.index_view", search=customer.name),
                  "crm_sales/panel_balance.html", customer=customer, balance=balance,
                  can_pay=permissions.permits(current_user, "Payment", "c"))


# -- the next step from a customer or a deal -----------------------------------------------

def _may_create(model_name):
    return permissions.permits(current_user, model_name, "c")


@hooks.connect("actions.Customer")
def customer_next_steps(customer):
    buttons = []
    if _may_create("Opportunity"):
        buttons.append({"label": _("New opportunity"), "icon": "fa-lightbulb-o",
                        "url": url_for("opportunity.create_view", customer=customer.id)})
    if _may_create("Quote"):
        buttons.append({"label": _("New quote"), "icon": "fa-file-text-o",
                        "url": url_for("quote.create_view", customer=customer.id)})
    return buttons


@hooks.connect("actions.Opportunity")
def opportunity_next_steps(opportunity):
    """A quote for the deal: its customer, contact and currency carried over."""
    if not _may_create("Quote") or opportunity.stage is None or opportunity.stage.kind != "open":
        return None
    return [{"label": _("New quote"), "icon": "fa-file-text-o", "style": "btn-outline-success",
             "url": url_for("quote.create_view", opportunity=opportunity.id)}]


@hooks.connect("details.Opportunity")
def opportunity_quotes_panel(opportunity):
    if not _readable("Quote"):
        return None
    quotes = db.session.scalars(permissions.apply_rules(
        select(Quote).where(Quote.opportunity_id == opportunity.id), Quote)
        .order_by(Quote.quote_date.desc(), Quote.id.desc()).limit(PANEL_ROWS)).all()
    return _panel(_("Quotes"), 10, None, "crm_sales/panel_quotes.html",
                  customer=opportunity.customer, quotes=quotes)


@hooks.connect("customer.purchases")
def order_purchases():
    """The orders (not cancelled) as purchases for the customer analysis (crm_reports):
    customer, order date, total."""
    return select(SalesOrder.customer_id, SalesOrder.order_date, SalesOrder.total) \
        .where(SalesOrder.state != "cancelled")
