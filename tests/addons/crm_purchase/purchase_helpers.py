"""Helpers the purchase and stock tests share: users, products, suppliers and warehouses
made directly in the database (the screens under test make the documents)."""
from decimal import Decimal

from tests.addons.crm_contacts.helpers import app_of, user
from tests.addons.crm_sales.order_helpers import count, flashes, last_id, money, text

__all__ = ["app_of", "user", "make_product", "make_supplier", "default_warehouse",
           "make_warehouse", "on_hand", "count", "flashes", "last_id", "money", "text",
           "D", "direct_order", "receive", "return_to_supplier", "receipt_lines",
           "order_state", "order_line_figures"]


def D(value):
    return Decimal(str(value))


def make_product(suite, code, price="100", cost="0", tax_rate="13", name=None):
    return suite.sql(
        "INSERT INTO sale_product (code, name, unit, price, cost, tax_rate, active) "
        "VALUES (:c, :n, 'pcs', :p, :k, :t, true) RETURNING id",
        c=code, n=name or f"Product {code}", p=price, k=cost, t=tax_rate)[0][0]


def make_supplier(suite, code, name=None, payment_days=30, lead_time_days=7):
    """A customer flagged as supplier, with its supplier record; returns the supplier's
    id (pur_supplier.id)."""
    customer_id = suite.sql(
        "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
        "email_key, is_supplier, created_at, updated_at) VALUES ('company', :n, :n, 'B', "
        "false, 'active', '', '', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
        n=name or f"Supplier {code}")[0][0]
    return suite.sql(
        "INSERT INTO pur_supplier (customer_id, code, payment_days, lead_time_days, currency, "
        "active) VALUES (:c, :code, :p, :l, 'CNY', true) RETURNING id",
        c=customer_id, code=code, p=payment_days, l=lead_time_days)[0][0]


def default_warehouse(suite):
    """The warehouse made on install (the default for deliveries)."""
    return suite.sql("SELECT id FROM stock_warehouse WHERE is_default = true")[0][0]


def make_warehouse(suite, code, name=None):
    return suite.sql("INSERT INTO stock_warehouse (code, name, is_default, active) VALUES "
                     "(:c, :n, false, true) RETURNING id", c=code, n=name or code)[0][0]


def on_hand(suite, product_id, warehouse_id):
    """(quantity, value, average cost) of a product in a warehouse, as Decimals."""
    rows = suite.sql("SELECT quantity, value, average_cost FROM stock_level WHERE "
                     "product_id = :p AND warehouse_id = :w", p=product_id, w=warehouse_id)
    return tuple(D(v) for v in rows[0]) if rows else (D(0), D(0), D(0))


# -- receipts and returns (test_purchase_receipts.py, test_supplier_returns.py) -------------

def direct_order(suite, supplier, lines, state="sent", owner=None, warehouse=None):
    """A purchase order written directly (not through its screens) in ``state``;
    ``lines``: (product id, quantity, unit price[, discount %]) tuples, 13 % tax. The
    owner is ``owner`` (a user id), else the admin. Returns (order id, [line ids])."""
    from addons.crm_purchase.models import PurchaseOrder, PurchaseOrderLine
    from core.db import db
    owner = owner or suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    with app_of(suite):
        order = PurchaseOrder(supplier_id=supplier, state=state, owner_id=owner,
                              warehouse_id=warehouse or default_warehouse(suite),
                              currency="CNY")
        for position, (product, quantity, price, *discount) in enumerate(lines, start=1):
            order.lines.append(PurchaseOrderLine(
                product_id=product, quantity=D(quantity), unit_price=D(price),
                discount=D(discount[0] if discount else 0), tax_rate=D(13),
                description=f"Item {position}", sequence=position * 10))
        db.session.add(order)
        db.session.commit()
        return order.id, [line.id for line in order.lines]


def receive(client, order_id, quantities, day="2026-03-05", warehouse=None, **fields):
    """POST the receipt page of an order; ``quantities``: {order line id: quantity},
    the lines left out posted empty. ``warehouse``: its id (default: the order's, as
    the page offers it)."""
    page = f"/admin/receipt/new/?order={order_id}"
    data = {"receipt_date": day, "delivery_note": "", "notes": "", **fields}
    if warehouse is not None:
        data["warehouse"] = str(warehouse)
    data.update({f"quantity-{line}": str(quantity) for line, quantity in quantities.items()})
    return client.post_form(page, data, token_from="/admin/receipt/")


def return_to_supplier(client, receipt_id, quantities, day="2026-03-09", **fields):
    """POST the return page of a receipt; ``quantities``: {receipt line id: quantity}."""
    page = f"/admin/supplier-return/new/?receipt={receipt_id}"
    data = {"return_date": day, "reason": "", **fields}
    data.update({f"quantity-{line}": str(quantity) for line, quantity in quantities.items()})
    return client.post_form(page, data, token_from="/admin/supplier-return/")


def receipt_lines(suite, receipt_id):
    """[(id, order line id, quantity, unit cost, returned, move id)] of a receipt."""
    return [(row[0], row[1], D(row[2]), D(row[3]), D(row[4]), row[5]) for row in suite.sql(
        "SELECT id, order_line_id, quantity, unit_cost, returned, move_id FROM "
        "pur_receipt_line WHERE receipt_id = :r ORDER BY id", r=receipt_id)]


def order_state(suite, order_id):
    return suite.sql("SELECT state FROM pur_order WHERE id = :o", o=order_id)[0][0]


def order_line_figures(suite, order_id):
    """[(quantity, received, returned)] of an order's lines, in order."""
    return [tuple(D(v) for v in row) for row in suite.sql(
        "SELECT quantity, received, returned FROM pur_order_line WHERE order_id = :o "
        "ORDER BY sequence, id", o=order_id)]


# -- stock-takes (test_stock_takes.py, test_stock_take_import.py) --------------------------

TAKES = "/admin/stock-take/"


def put_stock(suite, product_id, warehouse_id, quantity, unit_cost, kind="receipt"):
    """Post one move through the stock ledger (as a receipt or delivery would)."""
    from addons.crm_purchase import stock
    from core.db import db
    with app_of(suite):
        stock.post_moves([stock.Move(product_id, warehouse_id, kind, D(quantity),
                                     None if unit_cost is None else D(unit_cost))])
        db.session.commit()


def make_take(client, suite, warehouse_id, scope="warehouse", take_date="2026-03-31",
              **choice):
    """Make a stock-take through its page; returns its id."""
    page = f"{TAKES}new/"
    data = {"warehouse": str(warehouse_id), "take_date": take_date, "scope": scope,
            "codes": "", "category": "", "search": "", "notes": "", **choice}
    response = client.post_form(page, data, token_from=page)
    assert response.status_code == 302, flashes(response)
    return last_id(suite, "stock_take")


def take_lines(suite, take_id):
    """{product code: (expected, counted or None, unit cost)} of a take's lines."""
    return {row[0]: (D(row[1]), None if row[2] is None else D(row[2]), D(row[3]))
            for row in suite.sql(
                "SELECT p.code, l.expected, l.counted, l.unit_cost FROM stock_take_line l "
                "JOIN sale_product p ON p.id = l.product_id WHERE l.take_id = :t", t=take_id)}


def take_row(suite, take_id):
    """(state, variance value, posted_at) of a take."""
    state, value, posted_at = suite.sql(
        "SELECT state, variance_value, posted_at FROM stock_take WHERE id = :t", t=take_id)[0]
    return state, money(value), posted_at


def type_counts(client, suite, take_id, counts):
    """POST the counts form of a take's page: {product code: text typed}; lines left out
    are posted empty (not counted)."""
    ids = dict(suite.sql("SELECT p.code, l.id FROM stock_take_line l JOIN sale_product p "
                         "ON p.id = l.product_id WHERE l.take_id = :t", t=take_id))
    data = {f"counted-{line_id}": str(counts.get(code, "")) for code, line_id in ids.items()}
    return client.post_form(f"{TAKES}counts/?id={take_id}", data,
                            token_from=f"{TAKES}details/?id={take_id}")


# -- reorder rules and suggestions (test_reorder.py, test_low_stock_digest.py) -------------

REORDER_JOB = "crm_purchase.reorder"
SUGGESTIONS = "/admin/reorder-suggestion/"


def make_rule(suite, product_id, warehouse_id, minimum, maximum, multiple=1, supplier=None):
    return suite.sql(
        "INSERT INTO stock_reorder_rule (product_id, warehouse_id, minimum, maximum, multiple, "
        "supplier_id, active) VALUES (:p, :w, :mi, :ma, :mu, :s, true) RETURNING id",
        p=product_id, w=warehouse_id, mi=minimum, ma=maximum, mu=multiple, s=supplier)[0][0]


def make_supplier_price(suite, supplier, product_id, price, sequence=10, valid_from=None,
                        valid_to=None, min_quantity=1):
    return suite.sql(
        "INSERT INTO pur_supplier_price (supplier_id, product_id, price, min_quantity, "
        "valid_from, valid_to, sequence) VALUES (:s, :p, :pr, :mq, :vf, :vt, :sq) RETURNING id",
        s=supplier, p=product_id, pr=price, mq=min_quantity, vf=valid_from, vt=valid_to,
        sq=sequence)[0][0]


def run_reorder(suite):
    """The daily reorder job, as the scheduler (or cron) runs it."""
    result = suite.run("run-job", REORDER_JOB)
    assert f"{REORDER_JOB}: ok" in result.output, result.output
    return result.output


def suggestion_rows(suite, state=None):
    """[(product id, warehouse id, supplier id, on hand, incoming, outgoing, quantity,
    state, order id)], by product and warehouse."""
    rows = suite.sql(
        "SELECT product_id, warehouse_id, supplier_id, on_hand, incoming, outgoing, quantity, "
        "state, order_id FROM stock_reorder_suggestion ORDER BY product_id, warehouse_id, id")
    return [(r[0], r[1], r[2], D(r[3]), D(r[4]), D(r[5]), D(r[6]), r[7], r[8]) for r in rows
            if state is None or r[7] == state]


def open_sales_line(suite, product_id, quantity, delivered=0, state="open"):
    """A sales order of one line written directly, ``delivered`` of it delivered."""
    from addons.crm_sales.models import OrderLine, SalesOrder
    from core.db import db
    customer = suite.sql(
        "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
        "email_key, is_supplier, created_at, updated_at) VALUES ('company', 'Buyer Co', "
        "'buyer co', 'B', false, 'active', '', '', false, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP) RETURNING id")[0][0]
    with app_of(suite):
        order = SalesOrder(customer_id=customer, currency="CNY", lines=[OrderLine(
            product_id=product_id, quantity=D(quantity), unit_price=D(1), tax_rate=D(0),
            description="", sequence=10)])
        db.session.add(order)
        db.session.commit()
        order_id = order.id
    suite.sql("UPDATE sale_order_line SET delivered = :d WHERE order_id = :o", d=delivered,
              o=order_id)
    suite.sql("UPDATE sale_order SET state = :s WHERE id = :o", s=state, o=order_id)
    return order_id


# -- bills and payments made (test_payables.py, test_aged_payables.py, ...) -----------------

BILLS = "/admin/supplier-bill/"
PAYMENTS = "/admin/supplier-payment/"


def set_received(suite, line_id, received, returned=0):
    """What a receipt (and a return) would leave on an order line, written directly."""
    suite.sql("UPDATE pur_order_line SET received = :r, returned = :t WHERE id = :l",
              r=received, t=returned, l=line_id)


def make_bill(client, order_id, quantities, basis=None, **fields):
    """POST the new bill page of an order; ``quantities``: {order line id: quantity},
    the lines left out posted empty. ``basis``: "ordered" (default: received)."""
    from datetime import date
    page = f"{BILLS}new/?order={order_id}"
    data = {"bill_date": date.today().isoformat(), "due_date": "", "supplier_invoice": "", "notes": "", **fields}
    if basis:
        data["basis"] = basis
    data.update({f"quantity-{line}": str(quantity) for line, quantity in quantities.items()})
    return client.post_form(page, data, token_from=BILLS)


def bill_row(suite, bill_id):
    """(state, total, paid, due date as text) of a bill."""
    state, total, paid, due = suite.sql(
        "SELECT state, total, paid, due_date FROM pur_bill WHERE id = :b", b=bill_id)[0]
    return state, money(total), money(paid), str(due)


def pay_supplier(client, supplier, amount, bill=None, day="2026-03-10", **fields):
    """POST the new payment form (a payment made to a supplier)."""
    page = f"{PAYMENTS}new/"
    data = {"supplier": str(supplier), "bill": str(bill or ""), "payment_date": day,
            "amount": str(amount), "method": "bank transfer", "reference": "", "notes": "",
            "owner": "", **fields}
    return client.post_form(page, data, token_from=PAYMENTS)
