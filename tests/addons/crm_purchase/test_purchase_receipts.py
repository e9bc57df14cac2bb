"""Receipts through their page: partial receipts and the backorder, the order's state,
stock and average cost, the tolerance setting, refused orders and bad input (nothing
written), who may receive which order, and the lists."""
import threading
import time

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text as sql

from addons.crm_purchase import stock
from tests.addons.crm_purchase.purchase_helpers import (
    D, app_of, count, default_warehouse, direct_order, flashes, make_product, make_supplier,
    make_warehouse, on_hand, order_line_figures, order_state, receipt_lines, receive, text,
    return_to_supplier, user)

LIST = "/admin/receipt/"
LEDGER = ("pur_receipt", "pur_receipt_line", "stock_move")


@pytest.fixture
def shop(purchase_suite):
    """An admin, a supplier, two products and an order sent for 10 of the first at
    10.00 and 5 of the second at 20.00 less 10 % (net 18.00 each)."""
    suite = purchase_suite
    admin = suite.admin_client()
    supplier = make_supplier(suite, "S1", "Shanghai Parts Co")
    bolt = make_product(suite, "B-1", name="Bolt")
    nut = make_product(suite, "N-1", name="Nut")
    order, lines = direct_order(suite, supplier, [(bolt, 10, "10.00"), (nut, 5, "20.00", 10)])
    return suite, admin, supplier, (bolt, nut), order, lines


def written(suite):
    return [count(suite, table) for table in LEDGER]


def check_ledger(suite):
    with app_of(suite):
        assert stock.differences() == []


# -- partial receipts and the backorder ---------------------------------------------------

def test_partial_receipt_leaves_a_backorder_that_a_second_receipt_completes(shop):
    suite, admin, _supplier, (bolt, nut), order, (bolt_line, nut_line) = shop
    warehouse = default_warehouse(suite)

    # The page offers each line with what is left, and the order's warehouse.
    page = text(admin.get(f"/admin/receipt/new/?order={order}"))
    assert f'name="quantity-{bolt_line}" value="10"' in page
    assert f'name="quantity-{nut_line}" value="5"' in page
    assert "18.00" in page and "Shanghai Parts Co" in page

    response = receive(admin, order, {bolt_line: 4, nut_line: 5}, delivery_note="DN-778")
    assert response.status_code == 302, flashes(response)
    receipt = suite.sql("SELECT id, number, delivery_note, warehouse_id, receipt_date "
                        "FROM pur_receipt")[0]
    assert receipt[1].startswith("GR") and receipt[2] == "DN-778" and receipt[3] == warehouse
    assert str(receipt[4]) == "2026-03-05"
    assert order_state(suite, order) == "partly received"
    assert order_line_figures(suite, order) == [(D(10), D(4), D(0)), (D(5), D(5), D(0))]

    # One move per line at the line's net unit price, dated as the receipt, by the user.
    lines = receipt_lines(suite, receipt[0])
    assert [(line[2], line[3]) for line in lines] == [(D(4), D(10)), (D(5), D(18))]
    moves = suite.sql("SELECT id, product_id, kind, quantity, unit_cost, origin, origin_id, "
                      "reference, move_date, user_id FROM stock_move ORDER BY id")
    admin_id = suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    assert {line[5] for line in lines} == {move[0] for move in moves}
    for move in moves:
        assert move[2] == "receipt" and move[5] == "Receipt" and move[6] == receipt[0]
        assert move[7] == receipt[1] and str(move[8]) == "2026-03-05" and move[9] == admin_id
    assert on_hand(suite, bolt, warehouse) == (D(4), D(40), D(10))
    assert on_hand(suite, nut, warehouse) == (D(5), D(90), D(18))

    # The rest stays expected: the page offers 6 of the first line, none of the second.
    page = text(admin.get(f"/admin/receipt/new/?order={order}"))
    assert f'name="quantity-{bolt_line}" value="6"' in page
    assert f'name="quantity-{nut_line}" value="" class="form-control form-control-sm" ' \
        f'aria-label="Quantity 2" readonly' in page

    response = receive(admin, order, {bolt_line: 6}, day="2026-03-12")
    assert response.status_code == 302, flashes(response)
    assert order_state(suite, order) == "received"
    assert order_line_figures(suite, order) == [(D(10), D(10), D(0)), (D(5), D(5), D(0))]
    assert on_hand(suite, bolt, warehouse) == (D(10), D(100), D(10))
    check_ledger(suite)

    # Nothing more is expected: the page refuses, and nothing is written.
    before = written(suite)
    response = receive(admin, order, {bolt_line: 1})
    assert response.status_code == 302
    assert "has been received" in flashes(admin.get(response.headers["Location"]))
    assert written(suite) == before


def test_average_cost_follows_receipts_at_different_prices(shop):
    suite, admin, supplier, (bolt, _nut), _order, _lines = shop
    warehouse = default_warehouse(suite)
    first, [first_line] = direct_order(suite, supplier, [(bolt, 10, "10.00")])
    second, [second_line] = direct_order(suite, supplier, [(bolt, 20, "13.00")])
    assert receive(admin, first, {first_line: 10}).status_code == 302
    assert receive(admin, second, {second_line: 5}).status_code == 302
    assert on_hand(suite, bolt, warehouse) == (D(15), D(165), D(11))
    assert order_state(suite, first) == "received"
    assert order_state(suite, second) == "partly received"


def test_a_receipt_into_another_warehouse(shop):
    suite, admin, _supplier, (bolt, _nut), order, (bolt_line, _nut_line) = shop
    annex = make_warehouse(suite, "AX", "Annex")
    assert receive(admin, order, {bolt_line: 3}, warehouse=annex).status_code == 302
    assert on_hand(suite, bolt, annex) == (D(3), D(30), D(10))
    assert on_hand(suite, bolt, default_warehouse(suite)) == (D(0), D(0), D(0))


# -- the tolerance --------------------------------------------------------------------------

def test_more_than_ordered_only_within_the_tolerance(shop):
    suite, admin, _supplier, (bolt, _nut), order, (bolt_line, nut_line) = shop
    response = receive(admin, order, {bolt_line: 11})
    assert response.status_code == 200
    assert "Line 1. Item 1: only 10 left to receive." in flashes(response)
    assert written(suite) == [0, 0, 0]

    suite.sql("INSERT INTO core_option (addon, key, value) VALUES "
              "('crm_purchase', 'receipt_tolerance_percent', '10')")
    response = receive(admin, order, {bolt_line: 12})
    assert response.status_code == 200
    assert "at most 11 more can be received" in flashes(response)
    assert written(suite) == [0, 0, 0]

    response = receive(admin, order, {bolt_line: 11, nut_line: 5})
    assert response.status_code == 302, flashes(response)
    assert order_state(suite, order) == "received"
    assert order_line_figures(suite, order)[0] == (D(10), D(11), D(0))
    assert on_hand(suite, bolt, default_warehouse(suite)) == (D(11), D(110), D(10))


# -- refused orders and bad input -------------------------------------------------------------

@pytest.mark.parametrize("state, message", [
    ("cancelled", "is cancelled: nothing can be received against it."),
    ("draft", "is not approved yet"),
    ("waiting for approval", "is not approved yet"),
    ("closed", "is closed: nothing more is expected on it."),
])
def test_orders_that_take_no_receipt(shop, state, message):
    suite, admin, supplier, (bolt, _nut), _order, _lines = shop
    order, [line] = direct_order(suite, supplier, [(bolt, 10, "10.00")], state=state)
    response = admin.get(f"/admin/receipt/new/?order={order}")
    assert response.status_code == 302
    assert message in flashes(admin.get(response.headers["Location"]))
    response = receive(admin, order, {line: 5})
    assert response.status_code == 302
    assert message in flashes(admin.get(response.headers["Location"]))
    assert written(suite) == [0, 0, 0]
    assert order_state(suite, order) == state
    # Nor is it offered on the page that starts a receipt.
    number = suite.sql("SELECT number FROM pur_order WHERE id = :o", o=order)[0][0]
    assert number not in text(admin.get("/admin/receipt/new/"))


@pytest.mark.parametrize("quantities, field, message", [
    ({0: "-1"}, None, "Enter a quantity more than 0, or leave the line empty."),
    ({0: "0"}, None, "Enter a quantity more than 0, or leave the line empty."),
    ({0: "abc"}, None, "Not a number."),
    ({0: "1e400"}, None, "That quantity is too large."),
    ({0: "NaN"}, None, "Not a number."),
    ({0: "1.0001"}, None, "At most three decimals."),
    ({0: "3", 1: "six"}, None, "Not a number."),
    ({0: "", 1: ""}, None, "Enter a quantity on at least one line."),
    ({0: "3"}, {"receipt_date": "05/03/2026"}, "Enter a date as YYYY-MM-DD."),
    ({0: "3"}, {"warehouse": "9999"}, "Choose a warehouse."),
    ({0: "3"}, {"warehouse": "x"}, "Choose a warehouse."),
])
def test_bad_input_writes_nothing(shop, quantities, field, message):
    suite, admin, _supplier, (bolt, nut), order, lines = shop
    posted = {lines[index]: value for index, value in quantities.items()}
    posted.update({line: "" for line in lines if line not in posted})
    response = receive(admin, order, posted, **(field or {}))
    assert response.status_code == 200
    assert message in flashes(response)
    assert "Nothing was saved" in flashes(response)
    assert written(suite) == [0, 0, 0]
    assert count(suite, "stock_level") == 0 or on_hand(
        suite, bolt, default_warehouse(suite)) == (D(0), D(0), D(0))
    assert order_state(suite, order) == "sent"
    assert order_line_figures(suite, order) == [(D(10), D(0), D(0)), (D(5), D(0), D(0))]


# -- who may receive which order ---------------------------------------------------------------

def test_a_warehouse_keeper_receives_any_order_for_its_buyer(shop):
    suite, _admin, supplier, (bolt, _nut), _order, _lines = shop
    _buyer, buyer_id = user(suite, "buyer", "purchase_user")
    keeper, keeper_id = user(suite, "keeper", "stock_user")
    order, [line] = direct_order(suite, supplier, [(bolt, 8, "10.00")], owner=buyer_id)
    assert f">{order_number(suite, order)}<" in text(keeper.get("/admin/receipt/new/"))
    response = receive(keeper, order, {line: 8})
    assert response.status_code == 302, flashes(response)
    assert order_state(suite, order) == "received"
    owner, user_id = suite.sql("SELECT r.owner_id, m.user_id FROM pur_receipt r "
                               "JOIN pur_receipt_line l ON l.receipt_id = r.id "
                               "JOIN stock_move m ON m.id = l.move_id")[0]
    # The receipt belongs to whoever looks after the order; the move says who received.
    assert owner == buyer_id and user_id == keeper_id


def test_a_buyer_cannot_receive_another_buyers_order(shop):
    suite, _admin, supplier, (bolt, _nut), _order, _lines = shop
    buyer, _buyer_id = user(suite, "buyer", "purchase_user")
    _other, other_id = user(suite, "other", "purchase_user")
    order, [line] = direct_order(suite, supplier, [(bolt, 8, "10.00")], owner=other_id)
    assert buyer.get(f"/admin/receipt/new/?order={order}").status_code == 404
    assert receive(buyer, order, {line: 8}).status_code == 404
    number = order_number(suite, order)
    assert number not in text(buyer.get("/admin/receipt/new/"))
    assert "No document" in flashes(buyer.get(f"/admin/receipt/new/?number={number}"))
    assert written(suite) == [0, 0, 0]
    assert order_state(suite, order) == "sent"

    # Their own order they may receive.
    _mine, [mine_line] = mine = direct_order(suite, supplier, [(bolt, 2, "10.00")],
                                             owner=_buyer_id)
    assert receive(buyer, mine[0], {mine_line: 2}).status_code == 302


def order_number(suite, order):
    return suite.sql("SELECT number FROM pur_order WHERE id = :o", o=order)[0][0]


# -- the receipt's page, the list, no edit of quantities, no delete ----------------------------

def test_receipt_page_list_filters_and_no_delete(shop):
    suite, admin, supplier, (bolt, _nut), order, (bolt_line, _nut_line) = shop
    other_supplier = make_supplier(suite, "S2", "Guangzhou Metal")
    annex = make_warehouse(suite, "AX", "Annex")
    other, [other_line] = direct_order(suite, other_supplier, [(bolt, 3, "12.50")])
    assert receive(admin, order, {bolt_line: 4}, delivery_note="DN-1").status_code == 302
    assert receive(admin, other, {other_line: 3}, day="2026-04-01",
                   warehouse=annex).status_code == 302
    first, second = suite.sql("SELECT id, number FROM pur_receipt ORDER BY id")
    order_no = order_number(suite, order)

    page = text(admin.get(f"/admin/receipt/details/?id={first[0]}"))
    assert f'href="/admin/purchase-order/details/?id={order}"' in page
    assert "B-1 Bolt" in page and "10.00" in page and "40.00" in page
    assert "Return to supplier" in page and "Receive more of this order" in page
    assert "Delete" not in page

    def listed(query):
        page = text(admin.get(LIST + query))
        return [number for _id, number in (first, second) if number in page]

    assert listed("") == [first[1], second[1]]
    assert listed("?flt0_supplier_contains=guangzhou") == [second[1]]
    assert listed("?flt0_supplier_contains=S1") == [first[1]]
    assert listed(f"?flt0_order_contains={order_no}") == [first[1]]
    assert listed("?flt0_warehouse_contains=annex") == [second[1]]
    assert listed(f"?flt0_number_equals={second[1]}") == [second[1]]
    assert listed("?flt0_date_equals=2026-04-01") == [second[1]]
    exported = text(admin.get(LIST + "export/csv/?flt0_supplier_contains=guangzhou"))
    assert second[1] in exported and "S2 Guangzhou Metal" in exported
    assert order_number(suite, other) in exported and first[1] not in exported

    # Only the supplier's papers may be corrected; quantities never; no delete.
    edit = f"/admin/receipt/edit/?id={first[0]}"
    form = text(admin.get(edit))
    assert 'name="delivery_note"' in form and 'name="quantity' not in form
    response = admin.post_form(edit, {"delivery_note": "DN-1b", "notes": "box dented"},
                               token_from=edit)
    assert response.status_code == 302
    assert suite.sql("SELECT delivery_note FROM pur_receipt WHERE id = :r",
                     r=first[0])[0][0] == "DN-1b"
    response = admin.post_form("/admin/receipt/delete/", {"id": str(first[0])},
                               token_from=LIST)
    assert count(suite, "pur_receipt") == 2 and count(suite, "stock_move") == 2
    assert response.status_code in (302, 403, 404)


def test_receipt_list_queries_do_not_grow_with_rows(shop):
    suite, admin, supplier, (bolt, _nut), order, (bolt_line, _nut_line) = shop
    assert receive(admin, order, {bolt_line: 1}).status_code == 302
    few = len(admin.queries(LIST))
    for index in range(3):
        other_supplier = make_supplier(suite, f"X{index}")
        other, [line] = direct_order(suite, other_supplier, [(bolt, 2, "10.00")])
        assert receive(admin, other, {line: 2}).status_code == 302
    assert len(admin.queries(LIST)) == few


# -- two receipts of one order at once ----------------------------------------------------------

def test_concurrent_receipts_of_one_order_wait_for_each_other(shop):
    """The page locks the order's row before it checks the quantities: a receipt that
    waited for another sees what the other received (PostgreSQL; SQLite writes one at a
    time anyway)."""
    suite, admin, _supplier, (bolt, _nut), order, (bolt_line, _nut_line) = shop
    if not suite.database_url.startswith("postgresql"):
        pytest.skip("row locks are PostgreSQL's")
    engine = create_engine(suite.database_url)
    result = {}
    try:
        with engine.connect() as other:
            held = other.begin()
            other.execute(sql("SELECT id FROM pur_order WHERE id = :o FOR UPDATE"), {"o": order})
            waiting = threading.Thread(target=lambda: result.update(
                response=receive(admin, order, {bolt_line: 6})))
            waiting.start()
            time.sleep(1.5)
            assert waiting.is_alive(), "the receipt did not wait for the order's lock"
            # Meanwhile another receipt took 6 of the 10.
            other.execute(sql("UPDATE pur_order_line SET received = 6 WHERE id = :l"),
                          {"l": bolt_line})
            held.commit()
        waiting.join(60)
    finally:
        engine.dispose()
    response = result["response"]
    assert response.status_code == 200
    assert "only 4 left to receive" in flashes(response)
    assert written(suite) == [0, 0, 0]


def test_a_service_is_received_without_stock(purchase_suite):
    """An order of goods and a service (installation): both lines are received, only
    the goods come into stock; returning the service moves no stock either."""
    suite = purchase_suite
    admin = suite.admin_client()
    supplier = make_supplier(suite, "SVC")
    goods, service = make_product(suite, "RG-1"), make_product(suite, "RS-1")
    suite.sql("UPDATE sale_product SET kind = 'service' WHERE id = :p", p=service)
    order, (goods_line, service_line) = direct_order(suite, supplier,
                                                     [(goods, 4, 10), (service, 1, 500)])
    response = receive(admin, order, {goods_line: 4, service_line: 1})
    assert response.status_code == 302, flashes(response)
    assert order_state(suite, order) == "received"
    assert on_hand(suite, goods, default_warehouse(suite)) == (D(4), D(40), D(10))
    assert suite.sql("SELECT count(*) FROM stock_move WHERE product_id = :p",
                     p=service) == [(0,)]
    receipt = suite.sql("SELECT max(id) FROM pur_receipt")[0][0]
    service_receipt_line = next(row[0] for row in receipt_lines(suite, receipt)
                                if row[1] == service_line)
    response = return_to_supplier(admin, receipt, {service_receipt_line: 1})
    assert response.status_code == 302, flashes(response)
    assert suite.sql("SELECT count(*) FROM stock_move WHERE product_id = :p",
                     p=service) == [(0,)]
    assert suite.run("stock", "check").exit_code == 0
