"""Purchase and stock reports for crm_reports (declared in the manifest, core/reports.py):
stock value by warehouse, the stock below its reorder minimum, what is owed to suppliers
by age, and purchases by month. GROUP BY queries within the user's record rules."""
from decimal import Decimal

from sqlalchemy import func, select

from addons.crm_purchase.models import PurchaseOrder, ReorderRule, StockLevel, Warehouse
from addons.crm_purchase.payables import payables_statement
from addons.crm_sales import money
from addons.crm_sales.models import Product
from addons.crm_sales.reports import by_month
from core.db import db
from core.i18n import label, mark
from core.reports import Column, Result

QUANTITY = "decimal"


def stock_value(filters):
    """What each warehouse holds now: products in stock, units, value at average cost."""
    statement = filters.within_rules(
        select(Warehouse.name, func.count(StockLevel.id), func.sum(StockLevel.quantity),
               func.sum(StockLevel.value))
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .where(StockLevel.quantity > 0), StockLevel) \
        .group_by(Warehouse.id, Warehouse.name).order_by(func.sum(StockLevel.value).desc())
    rows = [(name, count, Decimal(quantity or 0), money.cents(money.to_decimal(value or 0)))
            for name, count, quantity, value in db.session.execute(statement)]
    return Result([Column("warehouse", mark("Warehouse")),
                   Column("products", mark("Products in stock"), "number", total=True),
                   Column("quantity", mark("Units"), QUANTITY, total=True),
                   Column("value", mark("Stock value"), "money", total=True)],
                  rows, chart=(0, [3]), horizontal=True)


def low_stock(filters):
    """The active reorder rules whose product is below its minimum now, the largest
    shortfall first."""
    on_hand = func.coalesce(StockLevel.quantity, 0)
    statement = filters.within_rules(
        select(Product.name, Product.code, Warehouse.name, on_hand, ReorderRule.minimum,
               ReorderRule.maximum)
        .join(Product, Product.id == ReorderRule.product_id)
        .join(Warehouse, Warehouse.id == ReorderRule.warehouse_id)
        .outerjoin(StockLevel, (StockLevel.product_id == ReorderRule.product_id)
                   & (StockLevel.warehouse_id == ReorderRule.warehouse_id))
        .where(ReorderRule.active.is_(True), on_hand < ReorderRule.minimum), ReorderRule) \
        .order_by((ReorderRule.minimum - on_hand).desc(), Product.code)
    rows = [(f"{name} ({code})", warehouse, Decimal(quantity), Decimal(minimum),
             max(Decimal(maximum) - Decimal(quantity), Decimal(0)))
            for name, code, warehouse, quantity, minimum, maximum
            in db.session.execute(statement.limit(1000))]
    return Result([Column("product", mark("Product")), Column("warehouse", mark("Warehouse")),
                   Column("on_hand", mark("On hand"), QUANTITY),
                   Column("minimum", mark("Minimum"), QUANTITY),
                   Column("to_order", mark("Up to the maximum"), QUANTITY)], rows)


AGES = (("current", mark("0-30 days")), ("days_31_60", mark("31-60 days")),
        ("days_61_90", mark("61-90 days")), ("over_90", mark("Over 90 days")))


def payables(filters):
    """What is owed to suppliers at the period's end, by days past due (the aged
    payables' totals)."""
    found = payables_statement(filters.user, as_of=filters.end, only_open=True).subquery()
    totals = db.session.execute(select(*(func.coalesce(func.sum(found.c[key]), 0)
                                         for key, _label in AGES))).one()
    rows = [(label(text), money.cents(money.to_decimal(amount)))
            for (_key, text), amount in zip(AGES, totals) if amount]
    return Result([Column("age", mark("Days past due")),
                   Column("amount", mark("Open"), "money", total=True)], rows, chart=(0, [1]))


def purchases_by_month(filters):
    """Purchase orders (neither drafts nor cancelled) by order month."""
    return by_month(filters, PurchaseOrder, PurchaseOrder.order_date, PurchaseOrder.total,
                    PurchaseOrder.state.not_in(("draft", "cancelled")))
