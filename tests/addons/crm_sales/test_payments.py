"""Payments and balances through the screens: partial payments and the amount due,
returns credited, payments on account, cancelled orders left out, the checks of the
payment form, the overpayment warning, and the Balances page within the record rules."""
import re

import pytest

from tests.addons.crm_sales.order_helpers import (
    add_user, count, deliver, flashes, lines_of, make_customer, make_order, make_product, pay,
    return_goods, text, user_id)

BALANCES = "/admin/balance/"


def due_on_page(client, order):
    page = text(client.get(f"/admin/sales-order/details/?id={order}"))
    return re.search(r'class="crm-amount-due">([^<]+)<', page).group(1)


def balance_rows(client, query=""):
    """{customer name: [orders, returns, paid, outstanding, oldest unpaid]} from the page."""
    page = text(client.get(BALANCES + query))
    body = page.split('<table class="table table-sm table-hover crm-balances">')[1].split("<tfoot>")[0]
    rows = {}
    for row in re.findall(r"<tr data-customer=.*?</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>|\s+", " ", cell).strip()
                 for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        name = re.search(r'class="crm-customer-name">(?:<a [^>]*>)?([^<]+)<', row).group(1)
        rows[name] = cells[1:]
    return rows


@pytest.fixture
def shop(sales_suite):
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme Trading")
    product = make_product(admin, sales_suite, "P-100", "100.00", name="Widget")
    return sales_suite, admin, customer, product


def test_partial_payments_returns_and_balance(shop):
    suite, admin, customer, product = shop
    order = make_order(admin, suite, customer, [(product, 10, "100", "0", "13")],
                       order_date="2026-02-01")
    assert due_on_page(admin, order) == "1,130.00"

    # "Register payment" opens the form with the customer, the order and the amount due.
    form = text(admin.get(f"/admin/payment/new/?order={order}"))
    assert 'value="1130.00"' in form and "Acme Trading" in form

    assert pay(admin, customer, "500", order=order).status_code == 302
    assert due_on_page(admin, order) == "630.00"
    assert "630.00" in text(admin.get("/admin/sales-order/"))

    # A return credits 113.00 a unit, with tax.
    line = lines_of(suite, order)[0][0]
    assert deliver(admin, order, {line: 2}).status_code == 302
    assert return_goods(admin, order, {line: 1}).status_code == 302
    assert due_on_page(admin, order) == "517.00"

    # A second order, paid in full; a payment on account; a cancelled order.
    second = make_order(admin, suite, customer, [(product, 1, "100", "0", "13")],
                        order_date="2026-01-15")
    assert pay(admin, customer, "113", order=second).status_code == 302
    assert due_on_page(admin, second) == "0.00"
    numbers = dict(suite.sql("SELECT id, number FROM sale_order"))
    unpaid = text(admin.get("/admin/sales-order/?flt0_due_remains=yes"))
    assert numbers[order] in unpaid and numbers[second] not in unpaid
    assert numbers[second] in text(admin.get("/admin/sales-order/?flt0_due_remains=no"))
    assert pay(admin, customer, "17").status_code == 302    # on account
    cancelled = make_order(admin, suite, customer, [(product, 5, "100", "0", "13")])
    admin.post_form(f"/admin/sales-order/transition/cancel/?id={cancelled}", {},
                    token_from=f"/admin/sales-order/details/?id={cancelled}")

    # 1130 + 113 (cancelled 565 left out) - 113 returned - (500 + 113 + 17) paid.
    rows = balance_rows(admin)
    assert rows["Acme Trading"] == ["1,243.00", "113.00", "630.00", "500.00", "2026-02-01"]
    page = text(admin.get(f"/admin/customer/details/?id={customer}"))
    assert re.search(r'class="crm-outstanding">500.00<', page)


def test_payment_form_checks(shop):
    suite, admin, customer, product = shop
    other = make_customer(admin, suite, "Other Ltd")
    order = make_order(admin, suite, customer, [(product, 1, "100", "0", "13")])

    response = pay(admin, other, "50", order=order)
    assert response.status_code == 200
    assert "belongs to another customer" in flashes(response)
    for amount in ("0", "-5"):
        response = pay(admin, customer, amount, order=order)
        assert "The amount must be more than 0." in flashes(response)
    assert count(suite, "sale_payment") == 0

    # More than is due: a warning first, saved when confirmed.
    response = pay(admin, customer, "200", order=order)
    assert response.status_code == 200
    assert "more than the 113.00 due" in text(response) and 'name="crm_confirmed"' in text(response)
    assert count(suite, "sale_payment") == 0
    assert pay(admin, customer, "200", order=order, confirm=True).status_code == 302
    assert count(suite, "sale_payment") == 1
    assert due_on_page(admin, order) == "-87.00"
    # Editing that payment does not count it against itself.
    payment = suite.sql("SELECT id FROM sale_payment")[0][0]
    edit = f"/admin/payment/edit/?id={payment}"
    response = admin.post_form(edit, {"customer": str(customer), "order": str(order),
                                      "payment_date": "2026-03-10", "amount": "113",
                                      "method": "cash", "reference": "R1", "notes": "",
                                      "owner": ""}, token_from=edit)
    assert response.status_code == 302, flashes(response)
    assert due_on_page(admin, order) == "0.00"


def test_balances_within_record_rules(shop):
    suite, admin, customer, product = shop
    ann = add_user(suite, "ann", "sales_user", "contacts_user")
    bob = add_user(suite, "bob", "sales_user", "contacts_user")
    manager = add_user(suite, "max", "sales_manager", "contacts_user")
    ann_id = user_id(suite, "ann")
    shared = make_customer(admin, suite, "Shared Co", owner=ann_id)
    bob_customer = make_customer(bob, suite, "Bob Customer")

    ann_order = make_order(ann, suite, shared, [(product, 2, "100", "0", "13")])   # 226.00
    assert pay(ann, shared, "26", order=ann_order).status_code == 302
    # The admin sells to the same customer, and Bob to his own.
    make_order(admin, suite, shared, [(product, 10, "100", "0", "13")])            # 1130.00
    pay(admin, shared, "1000")
    make_order(bob, suite, bob_customer, [(product, 1, "100", "0", "13")])

    mine = balance_rows(ann)
    # Ann: her order and her payment only, not the admin's nor Bob's.
    assert mine == {"Shared Co": ["226.00", "0.00", "26.00", "200.00", "2026-03-02"]}
    assert "1,130.00" not in text(ann.get(BALANCES))

    everything = balance_rows(admin)
    assert everything["Shared Co"][:4] == ["1,356.00", "0.00", "1,026.00", "330.00"]
    assert everything["Bob Customer"][3] == "113.00"
    # Largest outstanding first; "only outstanding" leaves out the settled.
    assert list(everything) == ["Shared Co", "Bob Customer"]
    pay(admin, bob_customer, "113")
    assert list(balance_rows(admin, "?outstanding=1")) == ["Shared Co"]
    assert list(balance_rows(admin, "?search=Bob")) == ["Bob Customer"]

    # Export: letter x (a salesperson has it too, for their own records); a manager
    # without a team sees only their own records.
    lines = text(ann.get(BALANCES + "export/csv/")).strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Shared Co,")
    response = admin.get(BALANCES + "export/csv/?outstanding=1")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = text(response).strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("Customer,") and len(lines) == 2
    assert lines[1].startswith("Shared Co,1356.00,0.00,1026.00,330.00")
    assert balance_rows(manager) == {}

    # The customer's own page: each user's figures.
    assert re.search(r'class="crm-outstanding">200.00<',
                     text(ann.get(f"/admin/customer/details/?id={shared}")))


def test_balance_page_queries_are_constant(shop):
    suite, admin, customer, product = shop
    make_order(admin, suite, customer, [(product, 1, "100", "0", "13")])
    few = len(admin.queries(BALANCES))
    for name in ("B1", "B2", "B3", "B4"):
        other = make_customer(admin, suite, name)
        make_order(admin, suite, other, [(product, 1, "100", "0", "13")])
        pay(admin, other, "10")
    assert len(admin.queries(BALANCES)) == few
