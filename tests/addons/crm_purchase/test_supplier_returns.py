"""Returns to the supplier through their page: at the receipt's cost whatever the
average is now, at most what the receipt line received and has not returned, never
below zero stock, bad input refused with nothing written, and who may return what."""
import threading
import time

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sql

from addons.crm_purchase import stock
from core.db import db
from tests.addons.crm_purchase.purchase_helpers import (
    D, app_of, count, default_warehouse, direct_order, flashes, make_product, make_supplier,
    money, on_hand, order_line_figures, order_state, receipt_lines, receive,
    return_to_supplier, text, user)

LIST = "/admin/supplier-return/"
LEDGER = ("pur_return", "pur_return_line", "stock_move")


@pytest.fixture
def received(purchase_suite):
    """Two receipts of 10 bolts each, the first at 10.00 and the second at 20.00: 20
    on hand worth 300.00, at an average of 15.00. Gives (suite, admin, bolt, [(order
    id, order line id, receipt id, receipt line id)] of the two)."""
    suite = purchase_suite
    admin = suite.admin_client()
    supplier = make_supplier(suite, "S1", "Shanghai Parts Co")
    bolt = make_product(suite, "B-1", name="Bolt")
    found = []
    for price, day in (("10.00", "2026-03-02"), ("20.00", "2026-03-04")):
        order, [line] = direct_order(suite, supplier, [(bolt, 10, price)])
        response = receive(admin, order, {line: 10}, day=day)
        assert response.status_code == 302, flashes(response)
        receipt = suite.sql("SELECT max(id) FROM pur_receipt")[0][0]
        found.append((order, line, receipt, receipt_lines(suite, receipt)[0][0]))
    assert on_hand(suite, bolt, default_warehouse(suite)) == (D(20), D(300), D(15))
    return suite, admin, bolt, found


def written(suite):
    return [count(suite, table) for table in LEDGER]


def returned_of(suite, receipt_line):
    return D(suite.sql("SELECT returned FROM pur_receipt_line WHERE id = :l",
                       l=receipt_line)[0][0])


# -- at the receipt's cost ----------------------------------------------------------------

def test_a_return_leaves_at_the_receipt_cost_not_the_average(received):
    suite, admin, bolt, [(order, order_line, receipt, receipt_line), _second] = received
    warehouse = default_warehouse(suite)
    moves_before = count(suite, "stock_move")

    page = text(admin.get(f"/admin/supplier-return/new/?receipt={receipt}"))
    assert f'name="quantity-{receipt_line}" value=""' in page and "10.00" in page

    response = return_to_supplier(admin, receipt, {receipt_line: 5}, reason="Rusty")
    assert response.status_code == 302, flashes(response)
    number, amount, reason, return_id = suite.sql(
        "SELECT number, amount, reason, id FROM pur_return")[0]
    assert number.startswith("PR") and money(amount) == money("50.00") and reason == "Rusty"

    [(move_id, kind, quantity, unit_cost, value, corrects, origin, move_date)] = suite.sql(
        "SELECT id, kind, quantity, unit_cost, value, corrects_id, origin, move_date "
        "FROM stock_move WHERE kind = 'supplier return'")
    receipt_move = receipt_lines(suite, receipt)[0][5]
    assert (kind, D(quantity), D(unit_cost), D(value)) == \
        ("supplier return", D(-5), D(10), D(-50))
    assert corrects == receipt_move and origin == "SupplierReturn"
    assert str(move_date) == "2026-03-09"
    assert count(suite, "stock_move") == moves_before + 1
    assert suite.sql("SELECT move_id, unit_cost FROM pur_return_line")[0][0] == move_id

    # 300 - 50 = 250 for 15 left: the average moves to 16.6667.
    assert on_hand(suite, bolt, warehouse) == (D(15), D(250), D("16.6667"))
    with app_of(suite):
        assert stock.differences() == []

    # The receipt line and the order line count what went back; the order stays received.
    assert returned_of(suite, receipt_line) == D(5)
    assert order_line_figures(suite, order) == [(D(10), D(10), D(5))]
    assert order_state(suite, order) == "received"

    # The return's page: lines at the receipt's cost, links to the receipt and order.
    page = text(admin.get(f"/admin/supplier-return/details/?id={return_id}"))
    assert f'href="/admin/receipt/details/?id={receipt}"' in page
    assert f'href="/admin/purchase-order/details/?id={order}"' in page
    assert "B-1 Bolt" in page and "10.00" in page and "50.00" in page
    assert "Delete" not in page
    # And the receipt's page lists it.
    assert number in text(admin.get(f"/admin/receipt/details/?id={receipt}"))


def test_a_return_above_what_was_received_is_refused(received):
    suite, admin, bolt, [(_order, _line, receipt, receipt_line), _second] = received
    assert return_to_supplier(admin, receipt, {receipt_line: 5}).status_code == 302
    before, level = written(suite), on_hand(suite, bolt, default_warehouse(suite))

    response = return_to_supplier(admin, receipt, {receipt_line: 6})
    assert response.status_code == 200
    assert "Line 1. Item 1: only 5 received on this receipt and not yet returned." \
        in flashes(response)
    assert written(suite) == before
    assert on_hand(suite, bolt, default_warehouse(suite)) == level
    assert returned_of(suite, receipt_line) == D(5)

    # The other 5 may go; then nothing is left to return from this receipt.
    assert return_to_supplier(admin, receipt, {receipt_line: 5}).status_code == 302
    response = admin.get(f"/admin/supplier-return/new/?receipt={receipt}")
    assert response.status_code == 302
    assert "has been returned already" in flashes(admin.get(response.headers["Location"]))
    number = suite.sql("SELECT number FROM pur_receipt WHERE id = :r", r=receipt)[0][0]
    assert f">{number}<" not in text(admin.get("/admin/supplier-return/new/"))


def test_a_return_that_would_leave_stock_below_zero_is_refused(received):
    suite, admin, bolt, [(_order, _line, receipt, receipt_line), _second] = received
    warehouse = default_warehouse(suite)
    with app_of(suite):
        stock.post_moves([stock.Move(bolt, warehouse, "delivery", D(-18))])
        db.session.commit()
    before, level = written(suite), on_hand(suite, bolt, warehouse)

    response = return_to_supplier(admin, receipt, {receipt_line: 5})
    assert response.status_code == 200
    assert "Only 2 of B-1 Bolt in stock: 5 cannot go out." in flashes(response)
    assert "Nothing was saved" in flashes(response)
    assert written(suite) == before
    assert on_hand(suite, bolt, warehouse) == level
    assert returned_of(suite, receipt_line) == D(0)


@pytest.mark.parametrize("quantity, message", [
    ("-2", "Enter a quantity more than 0, or leave the line empty."),
    ("0", "Enter a quantity more than 0, or leave the line empty."),
    ("two", "Not a number."),
    ("2,5", "Not a number."),
    ("", "Enter a quantity on at least one line."),
])
def test_bad_quantities_write_nothing(received, quantity, message):
    suite, admin, bolt, [(order, _line, receipt, receipt_line), _second] = received
    before, level = written(suite), on_hand(suite, bolt, default_warehouse(suite))
    response = return_to_supplier(admin, receipt, {receipt_line: quantity})
    assert response.status_code == 200
    assert message in flashes(response)
    assert written(suite) == before
    assert on_hand(suite, bolt, default_warehouse(suite)) == level
    assert order_line_figures(suite, order) == [(D(10), D(10), D(0))]


def test_a_bad_date_writes_nothing(received):
    suite, admin, _bolt, [(_order, _line, receipt, receipt_line), _second] = received
    before = written(suite)
    response = return_to_supplier(admin, receipt, {receipt_line: 1}, day="tomorrow")
    assert "Enter a date as YYYY-MM-DD." in flashes(response)
    assert written(suite) == before


# -- who may return what, and the list ----------------------------------------------------------

def test_returns_follow_the_receipts_record_rules(received):
    suite, _admin, bolt, _found = received
    buyer, buyer_id = user(suite, "buyer", "purchase_user")
    keeper, _keeper_id = user(suite, "keeper", "stock_user")
    supplier = make_supplier(suite, "S9")
    order, [line] = direct_order(suite, supplier, [(bolt, 4, "10.00")], owner=buyer_id)
    assert receive(keeper, order, {line: 4}).status_code == 302
    receipt = suite.sql("SELECT max(id) FROM pur_receipt")[0][0]
    receipt_line = receipt_lines(suite, receipt)[0][0]
    others = suite.sql("SELECT min(id) FROM pur_receipt")[0][0]
    other_line = receipt_lines(suite, others)[0][0]

    # The buyer may not return from a receipt of another's order ...
    before = written(suite)
    assert buyer.get(f"/admin/supplier-return/new/?receipt={others}").status_code == 404
    assert return_to_supplier(buyer, others, {other_line: 1}).status_code == 404
    assert written(suite) == before
    # ... but from their own, and the warehouse keeper from any.
    assert return_to_supplier(buyer, receipt, {receipt_line: 1}).status_code == 302
    assert return_to_supplier(keeper, others, {other_line: 1}).status_code == 302
    owners = suite.sql("SELECT owner_id FROM pur_return ORDER BY id")
    assert owners[0][0] == buyer_id
    listing = text(buyer.get(LIST))
    mine, theirs = suite.sql("SELECT number FROM pur_return ORDER BY id")
    assert mine[0] in listing and theirs[0] not in listing


def test_return_list_filters(received):
    suite, admin, _bolt, [(order, _l1, first, first_line), (_o2, _l2, second, second_line)] = \
        received
    assert return_to_supplier(admin, first, {first_line: 1}).status_code == 302
    assert return_to_supplier(admin, second, {second_line: 2}, day="2026-04-02").status_code == 302
    (one, one_number), (two, two_number) = suite.sql("SELECT id, number FROM pur_return ORDER BY id")
    order_no = suite.sql("SELECT number FROM pur_order WHERE id = :o", o=order)[0][0]
    receipt_no = suite.sql("SELECT number FROM pur_receipt WHERE id = :r", r=second)[0][0]

    def listed(query):
        page = text(admin.get(LIST + query))
        return [number for number in (one_number, two_number) if number in page]

    assert listed("") == [one_number, two_number]
    assert listed("?flt0_supplier_contains=shanghai") == [one_number, two_number]
    assert listed("?flt0_supplier_contains=nobody") == []
    assert listed(f"?flt0_order_contains={order_no}") == [one_number]
    assert listed("?flt0_warehouse_contains=main") == [one_number, two_number]
    assert listed(f"?flt0_number_equals={two_number}") == [two_number]
    assert listed("?flt0_date_equals=2026-04-02") == [two_number]
    assert listed(f"?flt0_receipt_contains={receipt_no}") == [two_number]
    # 1 at 10.00 and 2 at 20.00.
    assert [money(row[0]) for row in suite.sql("SELECT amount FROM pur_return ORDER BY id")] \
        == [money("10.00"), money("40.00")]
    assert count(suite, "pur_return") == 2
    response = admin.post_form("/admin/supplier-return/delete/", {"id": str(one)},
                               token_from=LIST)
    assert response.status_code in (302, 403, 404)
    assert count(suite, "pur_return") == 2


def test_concurrent_returns_of_one_receipt_wait_for_each_other(received):
    """The page locks the receipt's row before it checks the quantities (PostgreSQL)."""
    suite, admin, _bolt, [(_order, _line, receipt, receipt_line), _second] = received
    if not suite.database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's")
    before = written(suite)
    engine = create_engine(suite.database_url)
    result = {}
    try:
        with engine.connect() as other:
            held = other.begin()
            other.execute(sql("SELECT id FROM pur_receipt WHERE id = :r FOR UPDATE"),
                          {"r": receipt})
            waiting = threading.Thread(target=lambda: result.update(
                response=return_to_supplier(admin, receipt, {receipt_line: 6})))
            waiting.start()
            time.sleep(1.5)
            assert waiting.is_alive(), "the return did not wait for the receipt's lock"
            other.execute(sql("UPDATE pur_receipt_line SET returned = 5 WHERE id = :l"),
                          {"l": receipt_line})
            held.commit()
        waiting.join(60)
    finally:
        engine.dispose()
    response = result["response"]
    assert response.status_code == 200
    assert "only 5 received on this receipt and not yet returned" in flashes(response)
    assert written(suite) == before
