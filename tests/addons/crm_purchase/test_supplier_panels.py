"""The supplier's 360° panels: open purchase orders, recent receipts, open bills and the
payables balance, on the customer page of a company the business buys from and on the
supplier's own page; within the record rules, absent without purchase rights, in a
fixed number of queries.

Receipts are written as records (the receipt screen is another part's)."""
import re

import pytest

from tests.addons.crm_purchase.purchase_helpers import (
    D, app_of, default_warehouse, direct_order, flashes, make_bill, make_product,
    make_supplier, pay_supplier, set_received, text, user)

TITLES = ("Open purchase orders", "Recent receipts", "Open supplier bills", "Payables")


def customer_of(suite, supplier):
    return suite.sql("SELECT customer_id FROM pur_supplier WHERE id = :s", s=supplier)[0][0]


def page_of(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return text(response)


def panel(page, title):
    """The HTML of the panel whose title starts with ``title`` ('' when absent)."""
    match = re.search(r'<section class="card h-100 crm-panel">\s*<div class="card-header[^"]*">'
                      rf"\s*<span>{re.escape(title)}[^<]*</span>(.*?)</section>", page, re.S)
    return match.group(1) if match else ""


def add_receipt(suite, order_id, line_id, quantity, owner, note):
    """A receipt of one order line, as its screen would leave it (without stock moves:
    these panels read receipts only)."""
    from addons.crm_purchase.models import Receipt, ReceiptLine
    from core.db import db
    with app_of(suite):
        receipt = Receipt(order_id=order_id, warehouse_id=default_warehouse(suite),
                          owner_id=owner, delivery_note=note,
                          lines=[ReceiptLine(order_line_id=line_id, quantity=D(quantity))])
        db.session.add(receipt)
        db.session.commit()
        number = receipt.number
    set_received(suite, line_id, quantity)
    return number


@pytest.fixture
def world(purchase_suite):
    """Acme Parts, a supplier: Ann's order (partly received, billed 4 of 10, 100 paid)
    and Bob's order (sent); an order received in full (not open)."""
    suite = purchase_suite
    admin = suite.admin_client()
    ann, ann_id = user(suite, "ann", "purchase_user")
    bob, bob_id = user(suite, "bob", "purchase_user")
    acme = make_supplier(suite, "ACME", "Acme Parts")
    product = make_product(suite, "P1")
    ann_order, (ann_line,) = direct_order(suite, acme, [(product, 10, "100")], owner=ann_id,
                                          state="partly received")
    add_receipt(suite, ann_order, ann_line, 4, ann_id, "DN-ANN")
    response = make_bill(ann, ann_order, {ann_line: 4}, supplier_invoice="INV-ANN")
    assert response.status_code == 302, flashes(response)                 # 452.00
    bill = suite.sql("SELECT id FROM pur_bill")[0][0]
    assert pay_supplier(admin, acme, "100", bill=bill).status_code == 302
    bob_order, (bob_line,) = direct_order(suite, acme, [(product, 2, "50")], owner=bob_id)
    direct_order(suite, acme, [(product, 1, "1")], owner=ann_id, state="received")
    numbers = dict(suite.sql("SELECT id, number FROM pur_order"))
    return suite, admin, ann, bob, acme, numbers[ann_order], numbers[bob_order]


def test_a_purchase_manager_sees_every_panel(world):
    suite, admin, _ann, _bob, acme, ann_number, bob_number = world
    manager, _id = user(suite, "max", "purchase_manager")
    page = page_of(manager, f"/admin/customer/details/?id={customer_of(suite, acme)}")
    orders = panel(page, "Open purchase orders")
    assert ann_number in orders and bob_number in orders
    assert "Open purchase orders (2)" in page                # the received one is done
    assert "flt0_supplier_pur_supplier_code_equals=ACME" in page
    receipts = panel(page, "Recent receipts")
    assert "DN-ANN" in receipts and ann_number in receipts and "/admin/receipt/details/" in receipts
    assert "/admin/receipt/?flt0_supplier_contains=ACME" in page
    bills = panel(page, "Open supplier bills")
    assert "INV-ANN" in bills and re.search(r'crm-open">352.00<', bills)
    assert "/admin/supplier-bill/details/" in bills and "New bill" in bills
    balance = panel(page, "Payables")
    assert re.search(r'crm-billed">452.00<', balance) and re.search(r'crm-paid">100.00<', balance)
    assert re.search(r'crm-balance">352.00<', balance) and "Register payment" in balance

    # The same panels on the supplier's own page.
    own = page_of(manager, f"/admin/supplier/details/?id={acme}")
    for title in TITLES:
        assert panel(own, title), title
    assert re.search(r'crm-balance">352.00<', panel(own, "Payables"))


def test_a_buyer_sees_their_own_records(world):
    suite, _admin, ann, bob, acme, ann_number, bob_number = world
    customer = customer_of(suite, acme)
    page = page_of(ann, f"/admin/customer/details/?id={customer}")
    assert ann_number in panel(page, "Open purchase orders")
    assert bob_number not in page
    assert "INV-ANN" in panel(page, "Open supplier bills")
    assert "Register payment" not in page                     # a buyer may not pay

    bob_page = page_of(bob, f"/admin/customer/details/?id={customer}")
    assert bob_number in panel(bob_page, "Open purchase orders") and ann_number not in bob_page
    assert "No receipts yet." in panel(bob_page, "Recent receipts")
    assert "INV-ANN" not in bob_page and "No bills or payments." in panel(bob_page, "Payables")


def test_no_purchase_panel_without_purchase_rights(world):
    suite, _admin, _ann, _bob, acme, _ann_number, _bob_number = world
    viewer, _id = user(suite, "cleo", "contacts_manager")
    page = page_of(viewer, f"/admin/customer/details/?id={customer_of(suite, acme)}")
    for title in TITLES:
        assert panel(page, title) == "", title

    keeper, _id = user(suite, "kim", "stock_user", "contacts_manager")
    page = page_of(keeper, f"/admin/customer/details/?id={customer_of(suite, acme)}")
    assert panel(page, "Open purchase orders") and panel(page, "Recent receipts")
    assert panel(page, "Open supplier bills") == "" and panel(page, "Payables") == ""


def test_a_customer_that_is_no_supplier_has_no_purchase_panel(world):
    suite, admin, *_rest = world
    customer = suite.sql(
        "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
        "email_key, is_supplier, created_at, updated_at) VALUES ('company', 'Buyer', 'buyer', "
        "'B', false, 'active', '', '', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) "
        "RETURNING id")[0][0]
    page = page_of(admin, f"/admin/customer/details/?id={customer}")
    for title in TITLES:
        assert panel(page, title) == "", title


def test_panel_queries_do_not_grow(world):
    suite, admin, ann, _bob, acme, _ann_number, _bob_number = world
    path = f"/admin/customer/details/?id={customer_of(suite, acme)}"
    few = len(admin.queries(path))
    ann_id = suite.sql("SELECT id FROM core_user WHERE username = 'ann'")[0][0]
    product = suite.sql("SELECT id FROM sale_product")[0][0]
    for number in range(4):
        order, (line,) = direct_order(suite, acme, [(product, 3, "10")], owner=ann_id)
        add_receipt(suite, order, line, 3, ann_id, f"DN-{number}")
        assert make_bill(ann, order, {line: 3}).status_code == 302
    page = page_of(admin, path)
    assert "Open purchase orders (6)" in page and "Open supplier bills (5)" in page
    assert len(admin.queries(path)) == few
