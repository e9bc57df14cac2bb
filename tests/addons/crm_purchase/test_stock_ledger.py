"""The stock ledger and its screens: the moving average against a table worked out by
hand, a backdated correction that rewrites nothing, the adjustment page's refusals,
the read-only lists and the warehouses' one default."""
import re
from datetime import date, timedelta

import pytest

from addons.crm_purchase import stock
from addons.crm_purchase.models import StockMove
from core.db import db
from tests.addons.crm_purchase.purchase_helpers import (D, app_of, count, default_warehouse,
                                                        flashes, make_product,
                                                        make_warehouse, on_hand, user)
from tests.addons.crm_sales.order_helpers import (deliver, lines_of, make_customer,
                                                  make_order, return_goods)

ADJUST = "/admin/stock-move/new/"


def receive(suite, product, warehouse, quantity, cost, move_date=None):
    """A receipt straight into the ledger (the receipt screens are tested elsewhere)."""
    with app_of(suite):
        stock.post_moves([stock.Move(product, warehouse, "receipt", D(quantity), D(cost),
                                     move_date=move_date)])
        db.session.commit()


def adjust(client, product, warehouse, quantity, unit_cost="", note="Counted again",
           move_date=None):
    return client.post_form(ADJUST, {
        "product": str(product), "warehouse": str(warehouse), "quantity": str(quantity),
        "unit_cost": unit_cost, "move_date": (move_date or date.today()).isoformat(),
        "note": note}, token_from=ADJUST)


def moves(suite, product):
    return suite.sql("SELECT id, kind, quantity, unit_cost, value, move_date, posted_at, "
                     "corrects_id FROM stock_move WHERE product_id = :p ORDER BY id",
                     p=product)


def test_moving_average_follows_a_hand_worked_table(purchase_suite):
    """Quantity, value and average after each step (costs to four decimals):

    step                                       qty   value      average
    1 receipt 10 @ 10.00                        10   100.0000   10.0000
    2 receipt 5 @ 13.00                         15   165.0000   11.0000  (165 / 15)
    3 delivery 6 (order A) at the average 11    9    99.0000    11.0000
    4 receipt 3 @ 15.00                         12   144.0000   12.0000  (144 / 12)
    5 delivery 2 (order B) at the average 12    10   120.0000   12.0000
    6 customer return 1 of order A, at what
      order A's delivery took it out at: 11     11   131.0000   11.9091  (131 / 11)
    7 adjustment -1 (broken) at the average     10   119.0909   11.9091  (131 - 11.9091)
    8 adjustment +2 found, at 12.50             12   144.0909   12.0076  (144.0909 / 12)
    """
    suite = purchase_suite
    admin = suite.admin_client()
    product = make_product(suite, "AVG1", price="50")
    warehouse = default_warehouse(suite)
    customer = make_customer(admin, suite, "Average Trading")
    order_a = make_order(admin, suite, customer, [(product, 10, 50, 0, 13)])
    order_b = make_order(admin, suite, customer, [(product, 10, 50, 0, 13)])
    line_a, line_b = lines_of(suite, order_a)[0][0], lines_of(suite, order_b)[0][0]

    receive(suite, product, warehouse, 10, "10.00")
    assert on_hand(suite, product, warehouse) == (D(10), D(100), D(10))
    receive(suite, product, warehouse, 5, "13.00")
    assert on_hand(suite, product, warehouse) == (D(15), D(165), D(11))
    assert deliver(admin, order_a, {line_a: 6}).status_code == 302
    assert on_hand(suite, product, warehouse) == (D(9), D(99), D(11))
    receive(suite, product, warehouse, 3, "15.00")
    assert on_hand(suite, product, warehouse) == (D(12), D(144), D(12))
    assert deliver(admin, order_b, {line_b: 2}).status_code == 302
    assert on_hand(suite, product, warehouse) == (D(10), D(120), D(12))
    assert return_goods(admin, order_a, {line_a: 1}).status_code == 302
    assert on_hand(suite, product, warehouse) == (D(11), D(131), D("11.9091"))
    response = adjust(admin, product, warehouse, "-1", note="Broken on the shelf")
    assert response.status_code == 302, flashes(response)
    assert on_hand(suite, product, warehouse) == (D(10), D("119.0909"), D("11.9091"))
    assert adjust(admin, product, warehouse, "2", "12.50", "Found behind a pallet") \
        .status_code == 302
    assert on_hand(suite, product, warehouse) == (D(12), D("144.0909"), D("12.0076"))

    rows = moves(suite, product)
    assert [(r[1], D(r[2]), D(r[3]), D(r[4])) for r in rows] == [
        ("receipt", D(10), D(10), D(100)), ("receipt", D(5), D(13), D(65)),
        ("delivery", D(-6), D(11), D(-66)), ("receipt", D(3), D(15), D(45)),
        ("delivery", D(-2), D(12), D(-24)), ("customer return", D(1), D(11), D(11)),
        ("adjustment", D(-1), D("11.9091"), D("-11.9091")),
        ("adjustment", D(2), D("12.5"), D(25))]
    assert rows[5][7] == rows[2][0]          # the return names the delivery move it undoes
    assert suite.run("stock", "check").exit_code == 0


def test_a_backdated_correction_is_a_new_move_and_rewrites_nothing(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    product = make_product(suite, "BACK1")
    warehouse = default_warehouse(suite)
    today = date.today()
    receive(suite, product, warehouse, 10, "10.00", move_date=today - timedelta(days=20))
    receive(suite, product, warehouse, 10, "14.00", move_date=today - timedelta(days=10))
    with app_of(suite):
        stock.post_moves([stock.Move(product, warehouse, "delivery", D(-5),
                                     move_date=today - timedelta(days=5))])
        db.session.commit()
    before = moves(suite, product)
    assert on_hand(suite, product, warehouse) == (D(15), D(180), D(12))

    # The first receipt was 2 short: corrected on its own date, 20 days ago.
    page = admin.get(ADJUST).get_data(as_text=True)
    assert "never rewrites, revalues or reposts" in page
    past = today - timedelta(days=20)
    response = adjust(admin, product, warehouse, "-2", note="Receipt of the 1st was 2 short",
                      move_date=past)
    assert response.status_code == 302, flashes(response)
    after = moves(suite, product)
    assert after[:3] == before                          # same ids, values, costs, dates
    new = after[3]
    assert (new[1], D(new[2]), D(new[3]), D(new[4])) == \
        ("adjustment", D(-2), D(12), D(-24))             # at today's average
    assert str(new[5])[:10] == past.isoformat()
    assert str(new[6])[:10] >= str(before[-1][6])[:10]  # posted now, after the others
    assert on_hand(suite, product, warehouse) == (D(13), D(156), D(12))
    assert suite.run("stock", "check").exit_code == 0


def test_the_adjustment_page_refuses_zero_negative_stock_and_no_reason(purchase_suite):
    suite = purchase_suite
    keeper, _id = user(suite, "keeper", "stock_user")
    product = make_product(suite, "ADJ1")
    warehouse = default_warehouse(suite)
    receive(suite, product, warehouse, 2, "5.00")
    written = count(suite, "stock_move")

    response = adjust(keeper, product, warehouse, "0")
    assert response.status_code == 200
    assert "other than zero" in flashes(response)
    response = adjust(keeper, product, warehouse, "-3", note="Lost")
    assert response.status_code == 200
    assert "Only 2 of ADJ1 Product ADJ1 in stock: 3 cannot go out." in flashes(response)
    response = adjust(keeper, product, warehouse, "1", note="  ")
    assert response.status_code == 200 and "Say why" in flashes(response)
    response = adjust(keeper, product, warehouse, "1",
                      move_date=date.today() + timedelta(days=1))
    assert "future" in flashes(response)
    assert count(suite, "stock_move") == written
    assert on_hand(suite, product, warehouse) == (D(2), D(10), D(5))

    # Allowed to go below zero: the same adjustment is posted.
    suite.sql("INSERT INTO core_option (addon, key, value) VALUES "
              "('crm_purchase', 'allow_negative_stock', 'true')")
    assert adjust(keeper, product, warehouse, "-3", note="Lost").status_code == 302
    assert on_hand(suite, product, warehouse)[0] == D(-1)
    assert suite.sql("SELECT user_id, note FROM stock_move WHERE kind = 'adjustment'") == \
        [(_id, "Lost")]


def test_adjust_from_an_on_hand_row_offers_the_average_cost(purchase_suite):
    suite = purchase_suite
    keeper, _id = user(suite, "keeper2", "stock_user")
    product = make_product(suite, "ADJ2")
    warehouse = default_warehouse(suite)
    receive(suite, product, warehouse, 4, "2.50")
    listing = keeper.get("/admin/stock-level/").get_data(as_text=True)
    link = re.search(r'href="([^"]*/stock-move/new/[^"]*)"', listing).group(1)
    page = keeper.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert 'value="2.5000"' in page and "ADJ2" in page


def test_moves_and_levels_are_read_only(purchase_suite):
    suite = purchase_suite
    manager, _id = user(suite, "boss", "purchase_manager")
    buyer, _id = user(suite, "buyer", "purchase_user")
    product = make_product(suite, "RO1")
    warehouse = default_warehouse(suite)
    receive(suite, product, warehouse, 3, "4.00")
    move_id = suite.sql("SELECT max(id) FROM stock_move")[0][0]
    level_id = suite.sql("SELECT max(id) FROM stock_level")[0][0]
    for client in (manager, suite.admin_client()):
        listing = client.get("/admin/stock-move/").get_data(as_text=True)
        assert "RO1" in listing and "/stock-move/edit/" not in listing
        assert "/stock-move/delete/" not in listing
        assert client.get(f"/admin/stock-move/edit/?id={move_id}").status_code in (302, 403)
        client.post_form("/admin/stock-move/delete/", {"id": str(move_id)},
                         token_from="/admin/stock-move/")
        page = client.get(f"/admin/stock-move/details/?id={move_id}").get_data(as_text=True)
        assert "/stock-move/edit/" not in page
        levels = client.get("/admin/stock-level/").get_data(as_text=True)
        assert "RO1" in levels and "/stock-level/new/" not in levels
        assert "/stock-level/edit/" not in levels
        client.post_form("/admin/stock-level/delete/", {"id": str(level_id)},
                         token_from="/admin/stock-level/")
    assert count(suite, "stock_move") == 1 and count(suite, "stock_level") == 1
    # A buyer reads the ledger but posts no adjustment.
    assert buyer.get("/admin/stock-move/").status_code == 200
    assert buyer.get(ADJUST).status_code == 403
    assert manager.get(ADJUST).status_code == 200


def test_code_cannot_change_or_delete_a_written_move(purchase_suite):
    suite = purchase_suite
    product = make_product(suite, "AO1")
    receive(suite, product, default_warehouse(suite), 3, "4.00")
    with app_of(suite):
        move = db.session.scalar(db.select(StockMove).where(StockMove.product_id == product))
        move.note = "rewritten"
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(StockMove, move.id))
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()
    assert [row[2] for row in moves(suite, product)] == [D(3)]


def test_on_hand_list_filters_and_links_to_the_moves(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    north = make_warehouse(suite, "NORTH", "North depot")
    category = suite.sql("INSERT INTO sale_product_category (name) VALUES ('Cables') "
                         "RETURNING id")[0][0]
    cable = make_product(suite, "CAB1", name="USB cable")
    suite.sql("UPDATE sale_product SET category_id = :c WHERE id = :p", c=category, p=cable)
    lamp = make_product(suite, "LMP1", name="Desk lamp")
    receive(suite, cable, north, 7, "1.25")
    receive(suite, lamp, default_warehouse(suite), 2, "30.00")
    page = admin.get("/admin/stock-level/").get_data(as_text=True)
    assert "CAB1 USB cable" in page and "LMP1 Desk lamp" in page
    assert "8.75" in page and "60.00" in page          # values in cents
    for query in ("search=USB", "flt0_warehouse_stock_warehouse_name_equals=North+depot",
                  "flt0_category_is=Cables"):
        page = admin.get(f"/admin/stock-level/?{query}").get_data(as_text=True)
        assert "CAB1" in page and "LMP1" not in page, query
    link = re.search(r'<a href="([^"]*stock-move/\?[^"]*)"[^>]*>CAB1', page).group(1)
    moves_page = admin.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "CAB1" in moves_page and "LMP1" not in moves_page
    export = admin.get("/admin/stock-level/export/csv/").get_data(as_text=True)
    assert "CAB1" in export and "LMP1" in export


def test_a_list_page_runs_a_constant_number_of_queries(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    warehouse = default_warehouse(suite)
    products = [make_product(suite, f"Q{n}") for n in range(3)]
    for product in products:
        receive(suite, product, warehouse, 1, "1")
    few = {path: len(admin.queries(path)) for path in ("/admin/stock-level/",
                                                        "/admin/stock-move/")}
    for n in range(3, 15):
        receive(suite, make_product(suite, f"Q{n}"), warehouse, 1, "1")
    for path, queries in few.items():
        assert len(admin.queries(path)) == queries, path


def test_one_default_warehouse_and_no_deleting_one_with_moves(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    main = default_warehouse(suite)
    response = admin.post_form("/admin/warehouse/new/", {
        "code": "SOUTH", "name": "South", "address": "1 Harbour Road", "is_default": "y",
        "active": "y"}, token_from="/admin/warehouse/new/")
    assert response.status_code == 302, flashes(response)
    south = suite.sql("SELECT id FROM stock_warehouse WHERE code = 'SOUTH'")[0][0]
    assert suite.sql("SELECT id FROM stock_warehouse WHERE is_default = true") == [(south,)]
    # Unticking the only default is refused: one must stay.
    response = admin.post_form(f"/admin/warehouse/edit/?id={south}", {
        "code": "SOUTH", "name": "South", "address": "", "active": "y"},
        token_from=f"/admin/warehouse/edit/?id={south}")
    assert "must stay the default" in flashes(response)
    assert suite.sql("SELECT id FROM stock_warehouse WHERE is_default = true") == [(south,)]

    product = make_product(suite, "WH1")
    receive(suite, product, main, 1, "1")
    response = admin.post_form("/admin/warehouse/delete/", {"id": str(main)},
                               token_from="/admin/warehouse/")
    assert "has stock moves" in flashes(admin.get("/admin/warehouse/"))
    assert count(suite, "stock_warehouse") == 2
    empty = make_warehouse(suite, "EMPTY")
    admin.post_form("/admin/warehouse/delete/", {"id": str(empty)},
                    token_from="/admin/warehouse/")
    assert count(suite, "stock_warehouse") == 2
