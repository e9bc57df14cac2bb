"""Supplier bills made from a purchase order (received quantities by default, ordered
ones on request), payments made against them (partial ones add up, never more than is
open), and who may pay.

Orders are written directly and their receipts set on the order lines: the order and
receipt screens are another part's."""
from datetime import date, timedelta

import pytest

from tests.addons.crm_purchase.purchase_helpers import (
    BILLS, PAYMENTS, D, bill_row, count, direct_order, flashes, last_id, make_bill,
    make_product, make_supplier, money, pay_supplier, set_received, text, user)


@pytest.fixture
def world(purchase_suite):
    """An order of 10 x P1 at 100 and 5 x P2 at 20 (13 % tax) from Acme Parts, whose
    terms are 45 days; 4 of P1 received so far."""
    suite = purchase_suite
    admin = suite.admin_client()
    supplier = make_supplier(suite, "ACME", "Acme Parts", payment_days=45)
    p1, p2 = make_product(suite, "P1"), make_product(suite, "P2")
    order, (line1, line2) = direct_order(suite, supplier, [(p1, 10, "100"), (p2, 5, "20")])
    set_received(suite, line1, 4)
    return suite, admin, supplier, order, line1, line2


def billed(suite, line_id):
    return D(suite.sql("SELECT billed FROM pur_order_line WHERE id = :l", l=line_id)[0][0])


def test_a_bill_takes_what_was_received_by_default(world):
    suite, admin, supplier, order, line1, line2 = world
    page = text(admin.get(f"{BILLS}new/?order={order}"))
    assert f'name="quantity-{line1}" value="4"' in page
    assert f'name="quantity-{line2}" value="0"' in page

    response = make_bill(admin, order, {line1: 4, line2: 0}, supplier_invoice="INV-77")
    assert response.status_code == 302, flashes(response)
    bill = last_id(suite, "pur_bill")
    lines = suite.sql("SELECT order_line_id, quantity, unit_price, tax_rate, total FROM "
                      "pur_bill_line WHERE bill_id = :b", b=bill)
    assert [(row[0], D(row[1]), money(row[4])) for row in lines] == [(line1, D(4), money(452))]
    state, total, paid, due = bill_row(suite, bill)
    assert (state, total, paid) == ("open", money(452), money(0))
    assert due == (date.today() + timedelta(days=45)).isoformat()   # the supplier's terms
    number, invoice, supplier_id, basis = suite.sql(
        "SELECT number, supplier_invoice, supplier_id, basis FROM pur_bill WHERE id = :b",
        b=bill)[0]
    assert number == f"BL{date.today().year}-00001" and invoice == "INV-77"
    assert supplier_id == supplier and basis == "received quantities"
    assert billed(suite, line1) == 4 and billed(suite, line2) == 0

    # Nothing left to bill until more comes in; then only the rest.
    assert f'name="quantity-{line1}" value="0"' in text(admin.get(f"{BILLS}new/?order={order}"))
    set_received(suite, line1, 10, returned=1)
    page = text(admin.get(f"{BILLS}new/?order={order}"))
    assert f'name="quantity-{line1}" value="5"' in page      # 10 - 1 returned - 4 billed

    detail = text(admin.get(f"{BILLS}details/?id={bill}"))
    assert "452.00" in detail and "INV-77" in detail and "Register payment" in detail


def test_more_than_received_is_refused_and_nothing_written(world):
    suite, admin, _supplier, order, line1, line2 = world
    response = make_bill(admin, order, {line1: 5})
    assert response.status_code == 200
    assert "Line 1. Item 1: only 4 received and not yet billed." in flashes(response)
    assert "Nothing was saved" in flashes(response)
    for quantities, message in (({line1: -1}, "The quantity cannot be negative."),
                                ({line1: 0, line2: 0}, "Enter a quantity on at least one line."),
                                ({line1: "abc"}, "Not a number."),
                                ({line2: 1}, "Line 2. Item 2: only 0 received")):
        response = make_bill(admin, order, quantities)
        assert response.status_code == 200 and message in flashes(response), quantities
    response = make_bill(admin, order, {line1: 1}, due_date="2000-01-01")
    assert "The due date cannot be before the bill date." in flashes(response)
    assert count(suite, "pur_bill") == 0 and count(suite, "pur_bill_line") == 0
    assert billed(suite, line1) == 0


def test_ordered_basis_bills_up_to_what_was_ordered(world):
    suite, admin, _supplier, order, line1, line2 = world
    page = text(admin.get(f"{BILLS}new/?order={order}&basis=ordered"))
    assert f'name="quantity-{line1}" value="10"' in page and \
        f'name="quantity-{line2}" value="5"' in page
    response = make_bill(admin, order, {line1: 11, line2: 5}, basis="ordered")
    assert "Line 1. Item 1: only 10 ordered and not yet billed." in flashes(response)
    assert count(suite, "pur_bill") == 0
    response = make_bill(admin, order, {line1: 6, line2: 5}, basis="ordered",
                         due_date="2099-12-31")
    assert response.status_code == 302, flashes(response)
    bill = last_id(suite, "pur_bill")
    assert bill_row(suite, bill) == ("open", money(6 * 113 + 5 * 22.6), money(0), "2099-12-31")
    assert billed(suite, line1) == 6 and billed(suite, line2) == 5
    # Billed ahead of the goods: nothing is left on the received basis.
    assert f'name="quantity-{line1}" value="0"' in text(admin.get(f"{BILLS}new/?order={order}"))


def test_an_order_not_approved_cannot_be_billed(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    supplier = make_supplier(suite, "S2")
    order, (line,) = direct_order(suite, supplier, [(make_product(suite, "X"), 1, "5")],
                                  state="draft")
    response = make_bill(admin, order, {line: 1}, basis="ordered")
    assert response.status_code == 302 and count(suite, "pur_bill") == 0
    assert "can be billed once approved" in flashes(admin.get(response.headers["Location"]))


def test_partial_payments_then_paid_and_overpayment_refused(world):
    suite, admin, supplier, order, line1, _line2 = world
    assert make_bill(admin, order, {line1: 4}).status_code == 302
    bill = last_id(suite, "pur_bill")                                  # 452.00

    form = text(admin.get(f"{PAYMENTS}new/?bill={bill}"))
    assert 'value="452.00"' in form

    response = pay_supplier(admin, supplier, "200", bill=bill)
    assert response.status_code == 302, flashes(response)
    assert bill_row(suite, bill)[:3] == ("partly paid", money(452), money(200))
    number = suite.sql("SELECT number FROM pur_payment")[0][0]
    assert number == f"PM{date.today().year}-00001"

    response = pay_supplier(admin, supplier, "252.01", bill=bill)
    assert response.status_code == 200
    assert "more than the 252.00 still open on bill" in flashes(response)
    for amount, message in (("0", "The amount must be more than 0."),
                            ("-5", "The amount must be more than 0."),
                            ("1.234", "At most two decimals.")):
        response = pay_supplier(admin, supplier, amount, bill=bill)
        assert response.status_code == 200 and message in flashes(response)
    assert count(suite, "pur_payment") == 1
    assert bill_row(suite, bill)[:3] == ("partly paid", money(452), money(200))

    assert pay_supplier(admin, supplier, "252", bill=bill).status_code == 302
    assert bill_row(suite, bill)[:3] == ("paid", money(452), money(452))
    response = pay_supplier(admin, supplier, "1", bill=bill)
    assert "more than the 0.00 still open" in flashes(response)
    assert count(suite, "pur_payment") == 2

    # Deleting a payment settles the bill again.
    first = suite.sql("SELECT min(id) FROM pur_payment")[0][0]
    response = admin.post_form(f"{PAYMENTS}delete/", {"id": str(first)}, token_from=PAYMENTS)
    assert response.status_code == 302, flashes(response)
    assert bill_row(suite, bill)[:3] == ("partly paid", money(452), money(252))
    last = suite.sql("SELECT max(id) FROM pur_payment")[0][0]
    admin.post_form(f"{PAYMENTS}delete/", {"id": str(last)}, token_from=PAYMENTS)
    assert bill_row(suite, bill)[:3] == ("open", money(452), money(0))


def test_a_payment_must_fit_its_bill(world):
    suite, admin, supplier, order, line1, _line2 = world
    other = make_supplier(suite, "OTHER")
    assert make_bill(admin, order, {line1: 1}).status_code == 302
    bill = last_id(suite, "pur_bill")
    response = pay_supplier(admin, other, "10", bill=bill)
    assert "belongs to another supplier" in flashes(response)
    # On account: no bill to settle.
    assert pay_supplier(admin, other, "10").status_code == 302
    assert count(suite, "pur_payment") == 1
    # Editing a payment onto the bill checks the bill too.
    payment = last_id(suite, "pur_payment")
    page = f"{PAYMENTS}edit/?id={payment}"
    response = admin.post_form(page, {"supplier": str(supplier), "bill": str(bill),
                                      "payment_date": "2026-03-10", "amount": "200",
                                      "method": "cash", "reference": "", "notes": "",
                                      "owner": ""}, token_from=page)
    assert "more than the 113.00 still open" in flashes(response)
    response = admin.post_form(page, {"supplier": str(supplier), "bill": str(bill),
                                      "payment_date": "2026-03-10", "amount": "113",
                                      "method": "cash", "reference": "", "notes": "",
                                      "owner": ""}, token_from=page)
    assert response.status_code == 302, flashes(response)
    assert bill_row(suite, bill)[:3] == ("paid", money(113), money(113))


def test_cancelling_a_bill_frees_its_quantities(world):
    suite, admin, supplier, order, line1, _line2 = world
    assert make_bill(admin, order, {line1: 3}).status_code == 302
    bill = last_id(suite, "pur_bill")
    assert pay_supplier(admin, supplier, "10", bill=bill).status_code == 302
    response = admin.post_form(f"{BILLS}transition/cancel/?id={bill}", {},
                               token_from=f"{BILLS}details/?id={bill}")
    assert "“Cancel bill” cannot be done from there" in flashes(
        admin.get(response.headers["Location"]))
    suite.sql("DELETE FROM pur_payment")
    suite.sql("UPDATE pur_bill SET paid = 0, state = 'open'")
    response = admin.post_form(f"{BILLS}transition/cancel/?id={bill}", {},
                               token_from=f"{BILLS}details/?id={bill}")
    assert response.status_code == 302
    assert bill_row(suite, bill)[0] == "cancelled" and billed(suite, line1) == 0


def test_only_a_purchase_manager_may_pay(world):
    suite, admin, supplier, order, line1, _line2 = world
    buyer, buyer_id = user(suite, "ann", "purchase_user")
    manager, _manager_id = user(suite, "max", "purchase_manager")
    suite.sql("UPDATE pur_order SET owner_id = :u", u=buyer_id)
    response = make_bill(buyer, order, {line1: 4})
    assert response.status_code == 302, flashes(response)
    bill = last_id(suite, "pur_bill")
    assert suite.sql("SELECT owner_id FROM pur_bill")[0][0] == buyer_id
    assert "Register payment" not in text(buyer.get(f"{BILLS}details/?id={bill}"))
    assert buyer.get(f"{PAYMENTS}new/").status_code == 403
    response = buyer.post(f"{PAYMENTS}new/", data={
        "csrf_token": buyer.csrf_token(BILLS), "supplier": str(supplier), "bill": str(bill),
        "payment_date": "2026-03-10", "amount": "10", "method": "cash"})
    assert response.status_code == 403 and count(suite, "pur_payment") == 0
    assert buyer.get(PAYMENTS).status_code == 200          # reading is allowed

    assert pay_supplier(manager, supplier, "100", bill=bill).status_code == 302
    # The payment belongs to whoever looks after the bill.
    assert suite.sql("SELECT owner_id FROM pur_payment")[0][0] == buyer_id
    assert bill_row(suite, bill)[0] == "partly paid"


def test_the_header_may_change_and_a_bill_without_payments_may_go(world):
    suite, admin, supplier, order, line1, _line2 = world
    assert make_bill(admin, order, {line1: 4}).status_code == 302
    bill = last_id(suite, "pur_bill")
    assert "452.00" in text(admin.get(BILLS))
    listed = text(admin.get(f"{BILLS}?flt1_payment_is=overdue"))
    assert suite.sql("SELECT number FROM pur_bill")[0][0] not in listed   # due in 45 days
    page = f"{BILLS}edit/?id={bill}"
    assert admin.get(page).status_code == 200
    fields = {"supplier_invoice": "INV-9", "bill_date": "2026-03-01", "notes": "",
              "owner": ""}
    response = admin.post_form(page, {**fields, "due_date": "2026-02-01"}, token_from=page)
    assert "The due date cannot be before the bill date." in flashes(response)
    response = admin.post_form(page, {**fields, "due_date": "2026-04-15"}, token_from=page)
    assert response.status_code == 302, flashes(response)
    assert bill_row(suite, bill) == ("open", money(452), money(0), "2026-04-15")

    assert pay_supplier(admin, supplier, "1", bill=bill).status_code == 302
    admin.post_form(f"{BILLS}delete/", {"id": str(bill)}, token_from=BILLS)
    assert count(suite, "pur_bill") == 1 and billed(suite, line1) == 4
    suite.sql("DELETE FROM pur_payment")
    response = admin.post_form(f"{BILLS}delete/", {"id": str(bill)}, token_from=BILLS)
    assert response.status_code == 302
    assert count(suite, "pur_bill") == 0 and billed(suite, line1) == 0
