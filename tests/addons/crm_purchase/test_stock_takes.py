"""Stock-takes: the sheet of a warehouse or of chosen products, counts typed on the page,
approval by a purchasing manager, and the differences posted as adjustments in one
transaction (or none of them). The import of counts from XLSX: test_stock_take_import.py."""
import subprocess

from addons.crm_purchase import stock
from core.db import db
from tests.addons.crm_purchase.purchase_helpers import (
    D, TAKES, app_of, count, default_warehouse, flashes, make_product, make_take,
    make_warehouse, money, on_hand, put_stock, take_lines, take_row, text, type_counts, user)


def stocked(suite):
    """Four products in the default warehouse (one of them Chinese), one elsewhere, one
    retired with nothing left; returns (warehouse id, {code: product id})."""
    warehouse = default_warehouse(suite)
    other = make_warehouse(suite, "WH2", "Second warehouse")
    products = {code: make_product(suite, code, cost="1", name=name) for code, name in (
        ("A1", "螺丝钉 M4"), ("A2", "Washer"), ("A3", "Bolt"), ("A4", "Nut"), ("B1", "Elsewhere"),
        ("Z9", "Retired"))}
    put_stock(suite, products["A1"], warehouse, 10, "2.50")
    put_stock(suite, products["A2"], warehouse, 8, "1.25")
    put_stock(suite, products["A3"], warehouse, 5, "4")
    put_stock(suite, products["A4"], warehouse, 3, "0.5")
    put_stock(suite, products["B1"], other, 7, "9")
    put_stock(suite, products["Z9"], warehouse, 2, "3")
    put_stock(suite, products["Z9"], warehouse, -2, None, kind="delivery")
    suite.sql("UPDATE sale_product SET active = false WHERE code = 'Z9'")
    return warehouse, products


def adjustments(suite, take_id):
    """[(product code, quantity, value, posted_at)] of the adjustments a take posted."""
    return [(row[0], D(row[1]), money(row[2]), row[3]) for row in suite.sql(
        "SELECT p.code, m.quantity, m.value, m.posted_at FROM stock_move m JOIN sale_product p "
        "ON p.id = m.product_id WHERE m.kind = 'adjustment' AND m.origin = 'StockTake' "
        "AND m.origin_id = :t ORDER BY p.code", t=take_id)]


def approve(client, take_id):
    return client.post_form(f"{TAKES}approve/?id={take_id}", {"comment": ""},
                            token_from=f"{TAKES}details/?id={take_id}")


def transition(client, take_id, name):
    return client.post_form(f"{TAKES}transition/{name}/?id={take_id}", {},
                            token_from=f"{TAKES}details/?id={take_id}")


def test_whole_warehouse_counted_approved_and_posted(purchase_suite):
    suite = purchase_suite
    warehouse, products = stocked(suite)
    keeper, _keeper_id = user(suite, "keeper", "stock_user")
    boss, _boss_id = user(suite, "boss", "purchase_manager")
    take = make_take(keeper, suite, warehouse)

    # Every product held here (not the other warehouse's, not the retired empty one),
    # expected = on hand, unit cost = the average cost, nothing counted.
    assert take_lines(suite, take) == {
        "A1": (D(10), None, D("2.5")), "A2": (D(8), None, D("1.25")),
        "A3": (D(5), None, D(4)), "A4": (D(3), None, D("0.5"))}
    assert take_row(suite, take)[0] == "counting"

    # Typed counts: a mistake names the line, and nothing is saved.
    response = type_counts(keeper, suite, take, {"A1": "10", "A2": "abc"})
    assert "'abc' is not a number" in flashes(response)
    assert all(counted is None for _e, counted, _c in take_lines(suite, take).values())

    response = type_counts(keeper, suite, take, {"A1": "10", "A2": "6", "A3": "8"})
    assert response.status_code == 302
    assert take_row(suite, take)[1] == money("-2.50") + money(12)   # -2 x 1.25 + 3 x 4

    # Submitting with a line not counted is refused, saying how many.
    response = transition(keeper, take, "submit")
    assert "1 line has no counted quantity yet" in flashes(keeper.get(response.location))
    assert take_row(suite, take)[0] == "counting"

    type_counts(keeper, suite, take, {"A1": "10", "A2": "6", "A3": "8", "A4": "0"})
    assert take_row(suite, take)[1] == money("8.00")   # -2.50 + 12 - 1.50
    page = text(keeper.get(f"{TAKES}details/?id={take}"))
    assert "8.00" in page and "+3" in page and "螺丝钉 M4" in page

    transition(keeper, take, "submit")
    assert take_row(suite, take)[0] == "waiting for approval"
    # Locked: the page takes no counts, and the approval engine refuses any other path.
    response = type_counts(keeper, suite, take, {"A1": "1", "A2": "6", "A3": "8", "A4": "0"})
    assert "Counts change only while counting" in flashes(keeper.get(response.location))
    with app_of(suite):
        from addons.crm_purchase.models import StockTakeLine
        line = db.session.query(StockTakeLine).filter_by(take_id=take).first()
        line.counted = D(99)
        try:
            db.session.commit()
        except Exception as refused:
            assert "Waiting for approval" in str(refused)
            db.session.rollback()
        else:
            raise AssertionError("a locked line was changed")
    assert take_lines(suite, take)["A1"][1] == D(10)

    # The keeper cannot approve their own count; the manager approves on the page.
    assert "/approve/?id=" not in text(keeper.get(f"{TAKES}details/?id={take}"))
    assert "/approve/?id=" in text(boss.get(f"{TAKES}details/?id={take}"))
    assert approve(boss, take).status_code == 302
    assert take_row(suite, take)[0] == "approved"

    moves_before = count(suite, "stock_move")
    response = transition(keeper, take, "post")
    assert response.status_code == 302, flashes(response)
    state, value, posted_at = take_row(suite, take)
    assert state == "posted" and posted_at is not None and value == money(8)
    posted = adjustments(suite, take)
    # One move per line that differs (A1 was counted as expected), all posted together.
    assert [(code, quantity, value) for code, quantity, value, _at in posted] == [
        ("A2", D(-2), money("-2.50")), ("A3", D(3), money(12)), ("A4", D(-3), money("-1.50"))]
    assert len({at for *_rest, at in posted}) == 1
    number = suite.sql("SELECT number FROM stock_take WHERE id = :t", t=take)[0][0]
    # Referenced to the take, dated the count's day (SQLite gives text, PostgreSQL a date).
    assert {(reference, str(day)[:10]) for reference, day in suite.sql(
        "SELECT reference, move_date FROM stock_move WHERE kind = 'adjustment'")} == {
        (number, "2026-03-31")}
    assert count(suite, "stock_move") == moves_before + 3
    for code, quantity in (("A1", 10), ("A2", 6), ("A3", 8), ("A4", 0)):
        assert on_hand(suite, products[code], warehouse)[0] == D(quantity)
    assert on_hand(suite, products["A3"], warehouse)[2] == D(4)
    with app_of(suite):
        assert stock.differences() == []
    # Posted once: the button is gone and a second post is refused.
    assert "/transition/post/" not in text(keeper.get(f"{TAKES}details/?id={take}"))
    transition(keeper, take, "post")
    assert len(adjustments(suite, take)) == 3


def test_refused_count_goes_back_to_counting(purchase_suite):
    suite = purchase_suite
    warehouse, _products = stocked(suite)
    keeper, _id = user(suite, "keeper", "stock_user")
    boss, _boss_id = user(suite, "boss", "purchase_manager")
    take = make_take(keeper, suite, warehouse, scope="chosen", codes="A1")
    type_counts(keeper, suite, take, {"A1": "9"})
    transition(keeper, take, "submit")
    response = boss.post_form(f"{TAKES}refuse/?id={take}", {"comment": "Count again"},
                              token_from=f"{TAKES}details/?id={take}")
    assert response.status_code == 302
    assert take_row(suite, take)[0] == "counting"
    type_counts(keeper, suite, take, {"A1": "10"})
    assert take_lines(suite, take)["A1"][1] == D(10)


def test_posting_is_all_or_nothing_and_relative_to_the_sheet(purchase_suite):
    suite = purchase_suite
    warehouse, products = stocked(suite)
    keeper, _id = user(suite, "keeper", "stock_user")
    boss, _boss_id = user(suite, "boss", "purchase_manager")
    take = make_take(keeper, suite, warehouse, scope="chosen", codes="A1 A2")
    type_counts(keeper, suite, take, {"A1": "4", "A2": "9"})   # -6 and +1
    transition(keeper, take, "submit")
    approve(boss, take)
    # Since the sheet was made, 8 of A1 went out: 2 left, and -6 cannot go out.
    put_stock(suite, products["A1"], warehouse, -8, None, kind="delivery")
    moves_before = count(suite, "stock_move")
    response = transition(keeper, take, "post")
    message = flashes(keeper.get(response.location))
    assert "Nothing was posted" in message and "螺丝钉 M4" in message, message
    assert take_row(suite, take)[0] == "approved" and take_row(suite, take)[2] is None
    assert count(suite, "stock_move") == moves_before          # not even A2's +1
    assert on_hand(suite, products["A2"], warehouse)[0] == D(8)

    # Goods came back in: the difference counted - expected is posted as it was found.
    put_stock(suite, products["A1"], warehouse, 20, "2.50")   # 22 on hand
    transition(keeper, take, "post")
    assert take_row(suite, take)[0] == "posted"
    assert on_hand(suite, products["A1"], warehouse)[0] == D(16)   # 22 - 6
    assert on_hand(suite, products["A2"], warehouse)[0] == D(9)
    with app_of(suite):
        assert stock.differences() == []


def test_cycle_count_of_chosen_products(purchase_suite):
    suite = purchase_suite
    warehouse, products = stocked(suite)
    category = suite.sql("INSERT INTO sale_product_category (name) VALUES ('Fasteners') "
                         "RETURNING id")[0][0]
    suite.sql("UPDATE sale_product SET category_id = :c WHERE code IN ('A3', 'A4', 'B1')",
              c=category)
    keeper, _id = user(suite, "keeper", "stock_user")
    page = f"{TAKES}new/"
    assert "Fasteners" in text(keeper.get(page))

    # A code that names no product: said, and nothing made.
    before = count(suite, "stock_take")
    response = keeper.post_form(page, {"warehouse": str(warehouse), "take_date": "2026-04-01",
                                       "scope": "chosen", "codes": "A1, NOPE"}, token_from=page)
    assert "No product with these codes: NOPE" in flashes(response)
    response = keeper.post_form(page, {"warehouse": str(warehouse), "take_date": "2026-04-01",
                                       "scope": "chosen"}, token_from=page)
    assert "Choose the products" in flashes(response)
    assert count(suite, "stock_take") == before

    # Codes listed, and the category narrowed by a search: A1, then A4 ("Nut"); B1 is
    # in the category but has no stock here: counted at 0 expected, valued at its cost.
    take = make_take(keeper, suite, warehouse, scope="chosen", codes="A1",
                     category=str(category), search="u")
    lines = take_lines(suite, take)
    assert sorted(lines) == ["A1", "A4"]
    take = make_take(keeper, suite, warehouse, scope="chosen", codes="B1\nA2")
    assert take_lines(suite, take) == {"A2": (D(8), None, D("1.25")),
                                       "B1": (D(0), None, D(1))}
    type_counts(keeper, suite, take, {"A2": "8", "B1": "2"})   # B1 found on the shelf
    assert take_row(suite, take)[1] == money(2)


def test_count_sheet_pdf_prints_chinese_names(purchase_suite):
    suite = purchase_suite
    warehouse, _products = stocked(suite)
    keeper, _id = user(suite, "keeper", "stock_user")
    take = make_take(keeper, suite, warehouse)
    response = keeper.get(f"{TAKES}pdf/?id={take}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    printed = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.data,
                             capture_output=True, check=True).stdout.decode("utf-8")
    assert "螺丝钉 M4" in printed and "Count sheet" in printed
    assert "A4" in printed and "Counted" in printed
    number = suite.sql("SELECT number FROM stock_take WHERE id = :t", t=take)[0][0]
    assert number in printed
    assert number in response.headers["Content-Disposition"]


def test_who_may_see_and_count(purchase_suite):
    suite = purchase_suite
    warehouse, _products = stocked(suite)
    keeper, _id = user(suite, "keeper", "stock_user")
    buyer, _buyer_id = user(suite, "buyer", "purchase_user")
    take = make_take(keeper, suite, warehouse)
    assert buyer.get(TAKES).status_code == 403
    assert buyer.get(f"{TAKES}pdf/?id={take}").status_code == 403
    line = suite.sql("SELECT id FROM stock_take_line WHERE take_id = :t", t=take)[0][0]
    response = buyer.post_form(f"{TAKES}counts/?id={take}", {f"counted-{line}": "1"})
    assert response.status_code == 403
    assert take_lines(suite, take)["A1"][1] is None


def test_notes_edited_while_counting_only(purchase_suite):
    suite = purchase_suite
    warehouse, _products = stocked(suite)
    keeper, _id = user(suite, "keeper", "stock_user")
    take = make_take(keeper, suite, warehouse, scope="chosen", codes="A4")
    page = f"{TAKES}edit/?id={take}"
    response = keeper.post_form(page, {"take_date": "2026-03-30", "notes": "Aisle 3"},
                                token_from=page)
    assert response.status_code == 302, flashes(response)
    assert suite.sql("SELECT notes FROM stock_take WHERE id = :t", t=take)[0][0] == "Aisle 3"
    type_counts(keeper, suite, take, {"A4": "3"})
    transition(keeper, take, "submit")
    response = keeper.get(page)
    assert response.status_code == 302
    assert "can no longer be changed" in flashes(keeper.get(response.location))


def test_record_page_queries_do_not_grow_with_lines(purchase_suite):
    suite = purchase_suite
    warehouse = default_warehouse(suite)
    for number in range(12):
        put_stock(suite, make_product(suite, f"P{number:02d}"), warehouse, number + 1, "2")
    keeper, _id = user(suite, "keeper", "stock_user")
    small = make_take(keeper, suite, warehouse, scope="chosen", codes="P00 P01")
    large = make_take(keeper, suite, warehouse)
    assert len(take_lines(suite, large)) == 12
    assert len(keeper.queries(f"{TAKES}details/?id={small}")) == len(
        keeper.queries(f"{TAKES}details/?id={large}"))


def test_cancelled_while_waiting_withdraws_the_approval(purchase_suite):
    suite = purchase_suite
    warehouse, _products = stocked(suite)
    keeper, _id = user(suite, "keeper", "stock_user")
    boss, _boss_id = user(suite, "boss", "purchase_manager")
    take = make_take(keeper, suite, warehouse, scope="chosen", codes="A4")
    type_counts(keeper, suite, take, {"A4": "2"})
    transition(keeper, take, "submit")
    assert "/approve/?id=" in text(boss.get(f"{TAKES}details/?id={take}"))
    transition(keeper, take, "cancel")
    assert take_row(suite, take)[0] == "cancelled"
    assert suite.sql("SELECT state FROM core_approval_request WHERE model = 'StockTake' "
                     "AND record_id = :t", t=take) == [("cancelled",)]
    assert "/approve/?id=" not in text(boss.get(f"{TAKES}details/?id={take}"))
    assert approve(boss, take).status_code == 302
    assert take_row(suite, take)[0] == "cancelled"
