"""Demo records of Purchase and stock for `python run.py init --demo`, on top of the
Sales demo's catalogue and the Customers demo's suppliers: a buyer (赵丽), a purchase
manager (王强) and a warehouse keeper (陈刚); a second warehouse; supplier terms and
prices; opening stock; purchase orders in every state, with receipts (one partial, so a
backorder), a return to the supplier, bills (one overdue, one partly paid) and payments;
a stock-take being counted; reorder rules with today's suggestions. Something on every
screen.

Documents past their first state are written as they would stand after their workflow,
dated back over the last months; every stock change goes through stock.post_moves, so
`python run.py stock check` holds on the demo data."""
import secrets
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from addons.crm_contacts.models import Customer
from addons.crm_purchase import stock
from addons.crm_purchase.models import (PurchaseOrder, PurchaseOrderLine, Receipt, ReceiptLine,
                                        ReorderRule, StockLevel, StockTake, StockTakeLine, Supplier,
                                        SupplierBill, SupplierBillLine, SupplierPayment,
                                        SupplierPrice, SupplierReturn, SupplierReturnLine,
                                        Warehouse)
from addons.crm_sales.models import Product
from core import approvals
from core.demo import demo_users

PEOPLE = (("wang.qiang", "王强", "purchase_manager"), ("zhao.li", "赵丽", "purchase_user"),
          ("chen.gang", "陈刚", "stock_user"))
STOCKED = ("SRV-R740", "SCAN-BC", "PRN-LBL", "PAD-10", "CBL-5M")
OPENING = {"SRV-R740": 6, "SCAN-BC": 40, "PRN-LBL": 12, "PAD-10": 25, "CBL-5M": 300}
RULES = {"SRV-R740": (4, 10, 1), "SCAN-BC": (30, 80, 10), "PRN-LBL": (40, 60, 5),
         "PAD-10": (60, 100, 10), "CBL-5M": (200, 600, 100)}
CENT = Decimal("0.01")


def load(session):
    manager, buyer, keeper = demo_users(session, PEOPLE)
    products = {p.code: p for p in session.scalars(select(Product).where(
        Product.code.in_(STOCKED)))}
    suppliers = _suppliers(session, products, buyer)
    if len(products) < len(STOCKED) or len(suppliers) < 2:
        return          # the Sales or Customers demo is missing: nothing to buy
    main = session.scalar(select(Warehouse).where(Warehouse.is_default.is_(True)))
    second = Warehouse(code="SH", name="上海仓 Shanghai warehouse", address="上海市浦东新区张江路 88 号")
    session.add(second)
    session.flush()
    today = date.today()
    _opening_stock(products, main, second, keeper, today - timedelta(days=120))
    _orders(session, products, suppliers, main, manager, buyer, keeper, today)
    _stock_take(session, products, second, keeper, today)
    _rules(session, products, main)
    session.flush()
    from addons.crm_purchase import reorder
    reorder.compute_suggestions(today)


def _suppliers(session, products, buyer):
    """The Customers demo's suppliers get their terms and prices (the first is preferred)."""
    companies = session.scalars(select(Customer).where(Customer.is_supplier.is_(True))
                                .order_by(Customer.id).limit(3)).all()
    suppliers = []
    for index, company in enumerate(companies):
        supplier = Supplier(customer=company, code=f"S{index + 1:03d}", payment_days=(30, 60, 45)[index],
                            payment_terms=("月结 30 天 Net 30", "月结 60 天 Net 60", "货到 45 天 45 days")[index],
                            lead_time_days=(7, 14, 10)[index], purchaser=buyer)
        for code, product in products.items():
            supplier.prices.append(SupplierPrice(
                product=product, price=(product.cost * Decimal(("1", "0.97", "1.02")[index])).quantize(CENT),
                min_quantity=1, sequence=10 * (index + 1),
                valid_from=date.today() - timedelta(days=365)))
        # A volume price: 20 scanners or more cost less.
        supplier.prices.append(SupplierPrice(product=products["SCAN-BC"], price=Decimal("395.00"),
                                             min_quantity=20, sequence=10 * (index + 1)))
        session.add(supplier)
        suppliers.append(supplier)
    session.flush()
    return suppliers


def _opening_stock(products, main, second, keeper, on):
    moves = [stock.Move(p.id, main.id, "adjustment", Decimal(OPENING[code]), p.cost, move_date=on,
                        note="期初库存 Opening stock") for code, p in products.items()]
    moves += [stock.Move(products["PAD-10"].id, second.id, "adjustment", Decimal(8),
                         products["PAD-10"].cost, move_date=on, note="期初库存 Opening stock"),
              stock.Move(products["CBL-5M"].id, second.id, "adjustment", Decimal(120),
                         products["CBL-5M"].cost, move_date=on, note="期初库存 Opening stock")]
    stock.post_moves(moves, user=keeper)


def _order(session, supplier, warehouse, owner, state, on, items):
    order = PurchaseOrder(supplier=supplier, warehouse=warehouse, owner=owner, state=state,
                          order_date=on, expected_date=on + timedelta(days=supplier.lead_time_days))
    for sequence, (product, quantity) in enumerate(items, start=1):
        price = next((p.price for p in supplier.prices if p.product_id == product.id), product.cost)
        order.lines.append(PurchaseOrderLine(sequence=sequence, product=product,
                                             description=product.name, quantity=quantity,
                                             unit_price=price, tax_rate=product.tax_rate))
    session.add(order)
    session.flush()
    return order


def _receive(session, order, share, on, keeper):
    receipt = Receipt(order=order, warehouse=order.warehouse, receipt_date=on, owner=order.owner,
                      delivery_note=f"DN-{secrets.randbelow(10**6):06d}")
    for line in order.lines:
        quantity = (line.quantity * Decimal(share)).quantize(Decimal("1"))
        if quantity > 0:
            cost = (line.subtotal / line.quantity).quantize(Decimal("0.0001"))
            receipt.lines.append(ReceiptLine(order_line=line, quantity=quantity, unit_cost=cost))
            line.received += quantity
    session.add(receipt)
    session.flush()
    moves = stock.post_moves([stock.Move(line.order_line.product_id, receipt.warehouse_id,
                                         "receipt", line.quantity, line.unit_cost, move_date=on,
                                         origin=receipt) for line in receipt.lines], user=keeper)
    for line, move in zip(receipt.lines, moves):
        line.move_id = move.id
    return receipt


def _bill(session, order, on, paid_share, owner):
    bill = SupplierBill(supplier=order.supplier, order=order, bill_date=on, owner=owner,
                        due_date=on + timedelta(days=order.supplier.payment_days),
                        supplier_invoice=f"INV{secrets.randbelow(10**8):08d}")
    for line in order.lines:
        if line.received > line.billed:
            bill.lines.append(SupplierBillLine(
                sequence=line.sequence, order_line=line, product=line.product,
                description=line.description, quantity=line.received - line.billed,
                unit_price=line.unit_price, tax_rate=line.tax_rate))
            line.billed = line.received
    session.add(bill)
    session.flush()
    if paid_share:
        amount = (bill.total * Decimal(paid_share)).quantize(CENT)
        session.add(SupplierPayment(supplier=bill.supplier, bill=bill, amount=amount, owner=owner,
                                    payment_date=on + timedelta(days=20),
                                    reference=f"TRF{secrets.randbelow(10**6):06d}"))
        bill.paid = amount
        bill.state = "paid" if amount >= bill.total else "partly paid"
    return bill


def _orders(session, products, suppliers, main, manager, buyer, keeper, today):
    first, second = suppliers[0], suppliers[1]
    days = lambda n: today - timedelta(days=n)  # noqa: E731
    # Received long ago and billed: the bill is overdue (aged payables, over 90 days).
    old = _order(session, first, main, buyer, "closed", days(150),
                 [(products["SCAN-BC"], 30), (products["CBL-5M"], 500)])
    _receive(session, old, 1, days(140), keeper)
    _bill(session, old, days(138), 0, buyer)
    # Received, billed, half paid.
    done = _order(session, second, main, buyer, "received", days(60),
                  [(products["PAD-10"], 20), (products["PRN-LBL"], 10)])
    receipt = _receive(session, done, 1, days(50), keeper)
    _bill(session, done, days(49), "0.5", manager)
    # Two of the tablets went back: damaged in transport.
    tablets = next(line for line in receipt.lines if line.order_line.product.code == "PAD-10")
    back = SupplierReturn(receipt=receipt, return_date=days(45), owner=buyer,
                          reason="运输损坏 Damaged in transport")
    back.lines.append(SupplierReturnLine(receipt_line=tablets, quantity=Decimal(2),
                                         unit_cost=tablets.unit_cost))
    back.amount = (Decimal(2) * tablets.unit_cost).quantize(CENT)
    tablets.returned += 2
    tablets.order_line.returned += 2
    session.add(back)
    session.flush()
    move, = stock.post_moves([stock.Move(tablets.order_line.product_id, receipt.warehouse_id,
                                         "supplier return", Decimal(-2), tablets.unit_cost,
                                         move_date=days(45), origin=back,
                                         corrects_id=tablets.move_id)], user=keeper)
    back.lines[0].move_id = move.id
    # Partly received: the rest is a backorder.
    partly = _order(session, first, main, buyer, "partly received", days(20),
                    [(products["SRV-R740"], 4), (products["SCAN-BC"], 20)])
    _receive(session, partly, Decimal("0.5"), days(12), keeper)
    _bill(session, partly, days(11), 0, buyer)
    # Sent and waiting for the goods; approved; waiting for approval; a draft; cancelled.
    sent = _order(session, second, main, buyer, "sent", days(5),
                  [(products["PRN-LBL"], 10)])
    sent.sent_at = sent.created_at
    _order(session, first, main, manager, "approved", days(2), [(products["CBL-5M"], 300)])
    # Above the policy's amount: waiting for a manager (the request as "Confirm" opens it).
    waiting = _order(session, first, main, buyer, "waiting for approval", days(1),
                     [(products["SRV-R740"], 3)])
    policy = approvals.policy_for(waiting)
    if policy is not None:
        approvals.open_request(waiting, policy, buyer)
    _order(session, second, main, buyer, "draft", today, [(products["PAD-10"], 10)])
    _order(session, second, main, buyer, "cancelled", days(30), [(products["SCAN-BC"], 5)])


def _stock_take(session, products, warehouse, keeper, today):
    take = StockTake(warehouse=warehouse, take_date=today, owner=keeper,
                     notes="月度循环盘点 Monthly cycle count")
    for code in ("PAD-10", "CBL-5M"):
        level = session.scalar(select(StockLevel).where(
            StockLevel.product_id == products[code].id, StockLevel.warehouse_id == warehouse.id))
        take.lines.append(StockTakeLine(product=products[code], expected=level.quantity,
                                        unit_cost=level.average_cost,
                                        counted=level.quantity - 1 if code == "CBL-5M" else None))
    session.add(take)


def _rules(session, products, warehouse):
    for code, (minimum, maximum, multiple) in RULES.items():
        session.add(ReorderRule(product=products[code], warehouse=warehouse, minimum=minimum,
                                maximum=maximum, multiple=multiple))
