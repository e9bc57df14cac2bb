"""Orders through the screens: the line checks, partial deliveries, customer returns,
the locked lines, cancel and done, and the list's constant number of queries."""
from decimal import Decimal

import pytest

from addons.crm_sales.orders import credit_of, delivery_state, parse_quantity
from tests.addons.crm_sales.order_helpers import (
    add_user, count, deliver, flashes, lines_of, make_customer, make_order, make_product, money,
    order_form, order_row, pay, return_goods, text, user_id)

NEW = "/admin/sales-order/new/"


@pytest.fixture
def shop(sales_suite):
    """An admin client, a customer and a product at 100.00 with 13 % tax."""
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme Trading")
    product = make_product(admin, sales_suite, "P-100", "100.00", name="Widget")
    return sales_suite, admin, customer, product


# -- units ------------------------------------------------------------------------------

class Line:
    def __init__(self, quantity, total):
        self.quantity, self.total = Decimal(quantity), Decimal(total)


@pytest.mark.parametrize("quantity, total, returned, credit", [
    ("10", "1130.00", "2", "226.00"),       # 113.00 each
    ("3", "11.29", "1", "3.76"),            # 3.7633.. rounded half-up
    ("3", "11.29", "3", "11.29"),           # all of it: exactly the line's total
    ("4", "0.10", "1", "0.03"),             # 0.025 rounds up
    ("2.5", "10.00", "0.5", "2.00"),
])
def test_credit_of_a_returned_quantity(quantity, total, returned, credit):
    assert credit_of(Line(quantity, total), Decimal(returned)) == Decimal(credit)


def test_parse_quantity_and_delivery_state():
    assert parse_quantity(" 4 ") == (Decimal(4), None)
    assert parse_quantity("") == (None, None)
    assert parse_quantity("abc")[1] and parse_quantity("1.0001")[1] and parse_quantity("NaN")[1]
    assert delivery_state(0, 2) == "not delivered"
    assert delivery_state(Decimal(4), 1) == "partly delivered"
    assert delivery_state(Decimal(10), 0) == "fully delivered"


# -- the order form -----------------------------------------------------------------------

def test_direct_order_totals_and_line_defaults(shop):
    suite, admin, customer, product = shop
    order = make_order(admin, suite, customer, [(product, 10, "", "", "")])
    # Blank price and tax: the product's; blank description: its name.
    assert suite.sql("SELECT description, unit_price, tax_rate FROM sale_order_line "
                     "WHERE order_id = :o", o=order)[0][0] == "Widget"
    number, state, total = order_row(suite, order)
    assert number.startswith("SO") and state == "open" and money(total) == money("1130.00")
    page = text(admin.get(f"/admin/sales-order/details/?id={order}"))
    assert "1,130.00" in page and "Deliver" in page and "Register payment" in page


@pytest.mark.parametrize("line, message", [
    ((1, "-1", "100", "0", "13"), "The quantity must be more than 0."),
    ((1, "0", "100", "0", "13"), "The quantity must be more than 0."),
    ((1, "2", "100", "101", "13"), "A discount is between 0 and 100 %."),
    ((1, "2", "100", "-5", "13"), "A discount is between 0 and 100 %."),
    ((1, "2", "-1", "0", "13"), "A price cannot be negative."),
    ((1, "2", "100", "0", "150"), "A tax rate is between 0 and 100 %."),
])
def test_bad_lines_are_refused_and_nothing_saved(shop, line, message):
    suite, admin, customer, product = shop
    good = (product, "1", "100", "0", "13")
    response = admin.post_form(NEW, order_form(customer, [good, (product, *line[1:])]),
                               token_from=NEW)
    assert response.status_code == 200
    assert message in flashes(response)
    assert count(suite, "sale_order") == 0 and count(suite, "sale_order_line") == 0


# -- partial deliveries ---------------------------------------------------------------------

def test_partial_deliveries(shop):
    suite, admin, customer, product = shop
    order = make_order(admin, suite, customer, [(product, 10, "100", "0", "13")])
    [(line, *_rest)] = lines_of(suite, order)

    # The page lists the line with what remains, for the user to fill in.
    page = text(admin.get(f"/admin/delivery/new/?order={order}"))
    assert f'name="quantity-{line}" value="10"' in page

    response = deliver(admin, order, {line: 4}, carrier="SF Express", tracking="SF123")
    assert response.status_code == 302
    assert lines_of(suite, order)[0][2] == Decimal(4)
    listing = text(admin.get("/admin/sales-order/"))
    assert "partly delivered" in listing

    # 7 more of the 6 left: refused, the line named, nothing saved.
    deliveries = count(suite, "sale_delivery")
    response = deliver(admin, order, {line: 7})
    assert response.status_code == 200
    assert "Line 1. Widget: only 6 left to deliver." in flashes(response)
    assert count(suite, "sale_delivery") == deliveries
    assert count(suite, "sale_delivery_line") == 1
    assert lines_of(suite, order)[0][2] == Decimal(4)

    response = deliver(admin, order, {line: 6})
    assert response.status_code == 302
    assert lines_of(suite, order)[0][2] == Decimal(10)
    assert "fully delivered" in text(admin.get("/admin/sales-order/"))
    number = order_row(suite, order)[0]
    assert number in text(admin.get("/admin/sales-order/?flt0_delivery_is=fully"))
    assert number not in text(admin.get("/admin/sales-order/?flt0_delivery_is=partly"))

    # Nothing is left: no Deliver button; the delivery page refuses even 1 more.
    assert "Deliver</a>" not in text(admin.get(f"/admin/sales-order/details/?id={order}"))
    assert "only 0 left" in flashes(deliver(admin, order, {line: 1}))

    # Deleting a delivery gives its quantity back to the line.
    first = suite.sql("SELECT min(id) FROM sale_delivery")[0][0]
    response = admin.post_form("/admin/delivery/delete/", {"id": str(first)},
                               token_from=f"/admin/delivery/details/?id={first}")
    assert response.status_code == 302
    assert lines_of(suite, order)[0][2] == Decimal(6)


def test_delivery_page_checks_quantities_and_dates(shop):
    suite, admin, customer, product = shop
    order = make_order(admin, suite, customer, [(product, 5, "100", "0", "13"),
                                                (product, 2, "50", "0", "13")])
    first, second = [line[0] for line in lines_of(suite, order)]
    for quantities, day, message in [
        ({first: "-1"}, "2026-03-05", "The quantity cannot be negative."),
        ({first: "x"}, "2026-03-05", "Not a number."),
        ({}, "2026-03-05", "Enter a quantity on at least one line."),
        ({first: 1, second: 3}, "2026-03-05", "Line 2. Widget: only 2 left to deliver."),
        ({first: 1}, "05/03/2026", "Enter a date as YYYY-MM-DD."),
    ]:
        response = deliver(admin, order, quantities, day=day)
        assert response.status_code == 200 and message in flashes(response), quantities
    assert count(suite, "sale_delivery") == 0
    assert [line[2] for line in lines_of(suite, order)] == [0, 0]
    # An order that does not exist, or no order: 404, and the picker.
    assert admin.get("/admin/delivery/new/?order=999").status_code == 404
    picker = text(admin.get("/admin/delivery/new/"))
    assert f"?order={order}" in picker


def test_lines_locked_once_delivered(shop):
    suite, admin, customer, product = shop
    order = make_order(admin, suite, customer, [(product, 10, "100", "0", "13")])
    [(line, *_rest)] = lines_of(suite, order)
    edit = f"/admin/sales-order/edit/?id={order}"
    # Before any delivery the lines can change.
    data = order_form(customer, [(product, 8, "100", "0", "13")])
    data["lines-0-id"] = str(line)
    assert admin.post_form(edit, data, token_from=edit).status_code == 302
    assert lines_of(suite, order)[0][1] == Decimal(8)

    assert deliver(admin, order, {line: 3}).status_code == 302
    page = admin.get(edit)
    assert "lines can no longer be changed" in flashes(page)
    assert 'name="lines-0-quantity"' not in text(page)
    data["lines-0-quantity"] = "20"
    response = admin.post_form(edit, data, token_from=edit)
    assert "lines can no longer be changed" in flashes(response)
    assert lines_of(suite, order)[0][1] == Decimal(8)
    # The header still may (posted without lines).
    header = {k: v for k, v in data.items() if not k.startswith("lines-")}
    header["notes"] = "Call before delivery"
    assert admin.post_form(edit, header, token_from=edit).status_code == 302
    assert suite.sql("SELECT notes FROM sale_order WHERE id = :o", o=order)[0][0] \
        == "Call before delivery"
    assert lines_of(suite, order)[0][1] == Decimal(8)


# -- returns ------------------------------------------------------------------------------

def test_returns_credit_and_limits(shop):
    suite, admin, customer, product = shop
    order = make_order(admin, suite, customer, [(product, 10, "100", "0", "13")])
    [(line, *_rest)] = lines_of(suite, order)
    # Nothing delivered: nothing to return.
    assert "only 0 delivered and not yet returned" in flashes(return_goods(admin, order, {line: 1}))
    assert deliver(admin, order, {line: 4}).status_code == 302

    response = return_goods(admin, order, {line: 5}, reason="Broken")
    assert response.status_code == 200
    assert "Line 1. Widget: only 4 delivered and not yet returned." in flashes(response)
    assert count(suite, "sale_return") == 0

    assert return_goods(admin, order, {line: 2}, reason="Broken").status_code == 302
    assert money(suite.sql("SELECT amount FROM sale_return")[0][0]) == money("226.00")
    assert lines_of(suite, order)[0][3] == Decimal(2)
    assert "only 2 delivered" in flashes(return_goods(admin, order, {line: 3}))

    page = text(admin.get(f"/admin/sales-order/details/?id={order}"))
    assert "904.00" in page      # 1130.00 - 226.00 due

    # A delivery whose goods came back cannot be deleted; the return can, and gives
    # the quantity back.
    delivery = suite.sql("SELECT id FROM sale_delivery")[0][0]
    response = admin.post_form("/admin/delivery/delete/", {"id": str(delivery)},
                               token_from=f"/admin/delivery/details/?id={delivery}")
    assert "delete the return first" in flashes(admin.get(response.headers["Location"]))
    assert count(suite, "sale_delivery") == 1
    assert lines_of(suite, order)[0][2] == Decimal(4)
    returned = suite.sql("SELECT id FROM sale_return")[0][0]
    response = admin.post_form("/admin/customer-return/delete/", {"id": str(returned)},
                               token_from=f"/admin/customer-return/details/?id={returned}")
    assert response.status_code == 302
    assert lines_of(suite, order)[0][3] == Decimal(0)


# -- cancel and done ----------------------------------------------------------------------

def test_cancel_only_without_deliveries_or_payments(shop):
    suite, admin, customer, product = shop
    details = "/admin/sales-order/details/?id={}".format
    delivered = make_order(admin, suite, customer, [(product, 2, "100", "0", "13")])
    deliver(admin, delivered, {lines_of(suite, delivered)[0][0]: 1})
    paid = make_order(admin, suite, customer, [(product, 2, "100", "0", "13")])
    assert pay(admin, customer, "10", order=paid).status_code == 302
    free = make_order(admin, suite, customer, [(product, 2, "100", "0", "13")])

    for order in (delivered, paid):
        assert "Cancel</button>" not in text(admin.get(details(order)))
        response = admin.post_form(f"/admin/sales-order/transition/cancel/?id={order}", {},
                                   token_from=details(order))
        assert response.status_code == 302
        assert order_row(suite, order)[1] == "open"
    assert "Cancel</button>" in text(admin.get(details(free)))
    admin.post_form(f"/admin/sales-order/transition/cancel/?id={free}", {}, token_from=details(free))
    assert order_row(suite, free)[1] == "cancelled"
    # A cancelled order takes no delivery and no payment.
    assert deliver(admin, free, {lines_of(suite, free)[0][0]: 1}).status_code == 302
    assert count(suite, "sale_delivery") == 1
    assert "is cancelled" in flashes(pay(admin, customer, "5", order=free))

    admin.post_form(f"/admin/sales-order/transition/done/?id={delivered}", {},
                    token_from=details(delivered))
    assert order_row(suite, delivered)[1] == "done"


def test_order_documents_follow_record_rules(shop):
    suite, admin, customer, product = shop
    ann = add_user(suite, "ann", "sales_user", "contacts_user")
    bob = add_user(suite, "bob", "sales_user", "contacts_user")
    mine = make_customer(ann, suite, "Ann's Customer")
    order = make_order(ann, suite, mine, [(product, 3, "100", "0", "13")])
    line = lines_of(suite, order)[0][0]
    # Bob cannot see Ann's order: not on the delivery page, not by its number.
    assert bob.get(f"/admin/delivery/new/?order={order}").status_code == 404
    assert deliver(bob, order, {line: 1}).status_code == 404
    number = order_row(suite, order)[0]
    assert "No order" in flashes(bob.get(f"/admin/delivery/new/?number={number}"))
    assert bob.get(f"/admin/sales-order/details/?id={order}").status_code == 404
    # Ann delivers; the admin's delivery for her order belongs to her by default.
    assert deliver(ann, order, {line: 1}).status_code == 302
    assert deliver(admin, order, {line: 1}).status_code == 302
    owners = {row[0] for row in suite.sql("SELECT owner_id FROM sale_delivery")}
    assert owners == {user_id(suite, "ann")}


# -- the list: a constant number of queries -------------------------------------------------

def test_order_list_queries_do_not_grow_with_rows(shop):
    suite, admin, customer, product = shop
    order = make_order(admin, suite, customer, [(product, 2, "100", "0", "13")])
    line = lines_of(suite, order)[0][0]
    deliver(admin, order, {line: 1})
    pay(admin, customer, "50", order=order)
    return_goods(admin, order, {line: 1})
    copy_orders(suite, order, 4)
    few = len(admin.queries("/admin/sales-order/?page_size=50"))
    copy_orders(suite, order, 25)
    many = admin.queries("/admin/sales-order/?page_size=50")
    assert count(suite, "sale_order") == 30
    assert len(many) == few, "\n".join(many)


def copy_orders(suite, order, times):
    """More orders like ``order`` (with a line each), written straight to the database."""
    for _n in range(times):
        number = f"SO-T{count(suite, 'sale_order') + 1:05d}"
        suite.sql("INSERT INTO sale_order (number, customer_id, order_date, state, currency, "
                  "subtotal, tax, total, owner_id, created_at, updated_at) "
                  "SELECT :n, customer_id, order_date, state, currency, subtotal, tax, total, "
                  "owner_id, created_at, updated_at FROM sale_order WHERE id = :o",
                  n=number, o=order)
        suite.sql("INSERT INTO sale_order_line (order_id, sequence, description, quantity, "
                  "unit_price, discount, tax_rate, subtotal, tax, total, product_id, "
                  "delivered, returned) SELECT (SELECT max(id) FROM sale_order), sequence, "
                  "description, quantity, unit_price, discount, tax_rate, subtotal, tax, total, "
                  "product_id, 0, 0 FROM sale_order_line WHERE order_id = :o", o=order)
