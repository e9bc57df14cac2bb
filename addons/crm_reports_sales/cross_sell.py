"""Products bought together in the orders (not cancelled), by the rules of
addons/crm_reports/cross_selling.py: as a report over the period chosen, and every night
over the last year for the customer page's suggestions (ProductPair)."""
from datetime import date, timedelta
from itertools import groupby

from sqlalchemy import delete, insert, select

from addons.crm_reports import cross_selling
from addons.crm_reports_sales.models import ProductPair
from addons.crm_sales.models import OrderLine, Product, SalesOrder
from core.db import db
from core.i18n import mark
from core.reports import Column, Result

PAIRS_DAYS = 365          # the orders the nightly rules are found in
MIN_BASKETS = 2           # a pair in fewer orders is chance
REPORT_ROWS = 200
BATCH = 5000


def baskets(statement):
    """The product ids of each order of ``statement`` (a select of order line (order
    id, product id) ordered by order id), streamed."""
    rows = db.session.execute(statement.execution_options(yield_per=BATCH))
    for _order, lines in groupby(rows, key=lambda row: row[0]):
        yield [product for _o, product in lines]


def lines_statement():
    return select(OrderLine.order_id, OrderLine.product_id) \
        .join(SalesOrder, SalesOrder.id == OrderLine.order_id) \
        .where(SalesOrder.state != "cancelled", OrderLine.product_id.is_not(None)) \
        .order_by(OrderLine.order_id)


def _names(ids):
    if not ids:
        return {}
    return {pid: f"{name} ({code})" for pid, name, code in db.session.execute(
        select(Product.id, Product.name, Product.code).where(Product.id.in_(ids)))}


def bought_together(filters):
    """The strongest rules over the orders of the period the user may read."""
    statement = filters.within_rules(lines_statement(), SalesOrder) \
        .where(filters.in_period(SalesOrder.order_date))
    found = cross_selling.rules(baskets(statement), min_baskets=MIN_BASKETS)[:REPORT_ROWS]
    names = _names({rule.bought for rule in found} | {rule.also for rule in found})
    rows = [(names.get(rule.bought, rule.bought), names.get(rule.also, rule.also),
             rule.baskets, round(100 * rule.support, 1), round(100 * rule.confidence, 1),
             round(rule.lift, 2)) for rule in found]
    return Result([Column("product", mark("Bought")), Column("also", mark("Also bought")),
                   Column("orders", mark("Orders with both"), "number"),
                   Column("support", mark("Support %"), "percent"),
                   Column("confidence", mark("Confidence %"), "percent"),
                   Column("lift", mark("Lift"), "decimal")], rows)


def refresh_pairs(today=None):
    """The nightly job: the rules of the last year's orders replace the stored ones."""
    since = (today or date.today()) - timedelta(days=PAIRS_DAYS)
    found = cross_selling.rules(baskets(lines_statement().where(SalesOrder.order_date >= since)),
                                min_baskets=MIN_BASKETS)
    db.session.execute(delete(ProductPair))
    rows = [{"product_id": rule.bought, "also_id": rule.also, "baskets": rule.baskets,
             "support": rule.support, "confidence": rule.confidence, "lift": rule.lift}
            for rule in found]
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(ProductPair), rows[start:start + BATCH])
    db.session.commit()
    return len(rows)


def suggestions_for(customer_id, limit=5):
    """(product, rule) to offer the customer: what those who bought what they bought
    also bought, and they have not (from the stored pairs)."""
    owned = set(db.session.scalars(
        select(OrderLine.product_id).join(SalesOrder, SalesOrder.id == OrderLine.order_id)
        .where(SalesOrder.customer_id == customer_id, SalesOrder.state != "cancelled",
               OrderLine.product_id.is_not(None)).distinct()))
    if not owned:
        return []
    pairs = db.session.scalars(
        select(ProductPair).where(ProductPair.product_id.in_(owned),
                                  ProductPair.also_id.not_in(owned))
        .order_by(ProductPair.lift.desc(), ProductPair.confidence.desc(),
                  ProductPair.baskets.desc(), ProductPair.also_id).limit(limit * 5)).all()
    rules = [cross_selling.Rule(p.product_id, p.also_id, p.baskets, p.support, p.confidence,
                                p.lift) for p in pairs]
    chosen = cross_selling.suggestions(owned, rules, limit)
    products = {p.id: p for p in db.session.scalars(
        select(Product).where(Product.id.in_([rule.also for rule in chosen] +
                                             [rule.bought for rule in chosen])))}
    return [(products[rule.also], products[rule.bought], rule) for rule in chosen]
