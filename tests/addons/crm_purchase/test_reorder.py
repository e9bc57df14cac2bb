"""Reorder rules and the daily suggestions (crm_purchase.reorder): open purchase orders
net whatever their expected date, open sales deliveries net in the default warehouse,
rounding to the multiple, draft orders made from the suggestions (one per supplier and
warehouse) that the next run counts as incoming, and refusals in words."""
import re
from datetime import date, timedelta

from tests.addons.crm_purchase.purchase_helpers import (
    D, SUGGESTIONS, count, default_warehouse, direct_order, flashes, make_product, make_rule,
    make_supplier, make_supplier_price, make_warehouse, open_sales_line, put_stock,
    run_reorder, suggestion_rows, text, user)

RULES = "/admin/reorder-rule/"


def suggestion_ids(suite, state="open"):
    return [row[0] for row in suite.sql(
        "SELECT id FROM stock_reorder_suggestion WHERE state = :s ORDER BY id", s=state)]


def create_orders(client, ids):
    return client.post_form(f"{SUGGESTIONS}action/", {
        "action": "create_orders", "rowid": [str(i) for i in ids]}, token_from=SUGGESTIONS)


def test_open_purchase_order_nets_whatever_its_expected_date(purchase_suite):
    """On hand 2, an approved order of 30 not yet received: projected 32, below the
    minimum 40; 50 - 32 = 18, a multiple of 6. Due in a year, it still counts."""
    warehouse = default_warehouse(purchase_suite)
    supplier = make_supplier(purchase_suite, "S1")
    product = make_product(purchase_suite, "P1", cost="3")
    put_stock(purchase_suite, product, warehouse, 2, "3")
    make_rule(purchase_suite, product, warehouse, 40, 50, multiple=6, supplier=supplier)
    run_reorder(purchase_suite)
    # Without the order: 50 - 2 = 48, eight packs of 6.
    assert [row[6] for row in suggestion_rows(purchase_suite)] == [D(48)]
    order, _lines = direct_order(purchase_suite, supplier, [(product, 30, 3)],
                                 state="approved")
    purchase_suite.sql("UPDATE pur_order SET expected_date = :d WHERE id = :o",
                       d=date.today() + timedelta(days=400), o=order)
    run_reorder(purchase_suite)
    assert suggestion_rows(purchase_suite) == [
        (product, warehouse, supplier, D(2), D(30), D(0), D(18), "open", None)]
    # Part received (10 of 30 in stock): 12 + 20 = 32 still.
    purchase_suite.sql("UPDATE pur_order_line SET received = 10 WHERE order_id = :o", o=order)
    purchase_suite.sql("UPDATE pur_order SET state = 'partly received' WHERE id = :o", o=order)
    put_stock(purchase_suite, product, warehouse, 10, "3")
    run_reorder(purchase_suite)
    assert [row[3:7] for row in suggestion_rows(purchase_suite)] == [
        (D(12), D(20), D(0), D(18))]
    # A cancelled order is no longer expected.
    purchase_suite.sql("UPDATE pur_order SET state = 'cancelled' WHERE id = :o", o=order)
    run_reorder(purchase_suite)
    assert [row[3:7] for row in suggestion_rows(purchase_suite)] == [
        (D(12), D(0), D(0), D(42))]
    admin = purchase_suite.admin_client()
    page = text(admin.get(SUGGESTIONS))
    assert "min 40, max 50, ×6" in page
    assert ("On hand 12 + incoming 0 − outgoing 0 = 12, below the minimum 40: order 42 to "
            "reach 54 (in multiples of 6)") in page


def test_open_sales_deliveries_net_in_the_default_warehouse_only(purchase_suite):
    default = default_warehouse(purchase_suite)
    other = make_warehouse(purchase_suite, "WH2", "North warehouse")
    supplier = make_supplier(purchase_suite, "S1")
    product = make_product(purchase_suite, "P1")
    put_stock(purchase_suite, product, default, 20, "1")
    put_stock(purchase_suite, product, other, 20, "1")
    make_rule(purchase_suite, product, default, 10, 30, supplier=supplier)
    make_rule(purchase_suite, product, other, 10, 30, supplier=supplier)
    open_sales_line(purchase_suite, product, 15, delivered=3)        # 12 to deliver
    open_sales_line(purchase_suite, product, 40, state="done")       # not open: nothing
    run_reorder(purchase_suite)
    # Default: 20 - 12 = 8 < 10: order 22 to reach 30. The other warehouse: 20, enough.
    assert suggestion_rows(purchase_suite) == [
        (product, default, supplier, D(20), D(0), D(12), D(22), "open", None)]
    page = text(purchase_suite.admin_client().get(SUGGESTIONS))
    assert ("On hand 20 + incoming 0 − outgoing 12 = 8, below the minimum 10: order 22 to "
            "reach 30") in page


def test_no_suggestion_at_the_minimum_and_rounding_to_the_multiple(purchase_suite):
    warehouse = default_warehouse(purchase_suite)
    supplier = make_supplier(purchase_suite, "S1")
    enough, short, loose, inactive = (make_product(purchase_suite, code)
                                      for code in ("P1", "P2", "P3", "P4"))
    for product in (enough, short, loose, inactive):
        put_stock(purchase_suite, product, warehouse, 10 if product == enough else 9, "1")
    make_rule(purchase_suite, enough, warehouse, 10, 50, multiple=12, supplier=supplier)
    make_rule(purchase_suite, short, warehouse, 10, 50, multiple=12, supplier=supplier)
    make_rule(purchase_suite, loose, warehouse, 10, 50, multiple=0, supplier=supplier)
    rule = make_rule(purchase_suite, inactive, warehouse, 10, 50, supplier=supplier)
    purchase_suite.sql("UPDATE stock_reorder_rule SET active = false WHERE id = :r", r=rule)
    run_reorder(purchase_suite)
    # 50 - 9 = 41: four packs of 12 make 48; a multiple of 0 orders 41 exactly.
    assert [(row[0], row[6]) for row in suggestion_rows(purchase_suite)] == [
        (short, D(48)), (loose, D(41))]
    # The job again: the open suggestions replaced, not doubled.
    run_reorder(purchase_suite)
    assert count(purchase_suite, "stock_reorder_suggestion") == 2


def test_create_orders_one_per_supplier_and_not_proposed_again(purchase_suite):
    """Two suppliers: two draft orders, priced from the supplier's valid price (the
    break the quantity reaches) else the product's cost, taxed as the product; the
    suggestions marked ordered; the next run counts the drafts as incoming."""
    warehouse = default_warehouse(purchase_suite)
    alpha, beta = make_supplier(purchase_suite, "ALPHA"), make_supplier(purchase_suite, "BETA")
    bolt = make_product(purchase_suite, "BOLT", cost="2", tax_rate="13")
    nut = make_product(purchase_suite, "NUT", cost="1.50", tax_rate="9")
    gear = make_product(purchase_suite, "GEAR", cost="40", tax_rate="13")
    make_supplier_price(purchase_suite, alpha, bolt, "1.80")
    make_supplier_price(purchase_suite, alpha, bolt, "1.60", min_quantity=100)
    make_supplier_price(purchase_suite, alpha, bolt, "1.00",
                        valid_to=date.today() - timedelta(days=1))     # expired
    # NUT: its preferred supplier is BETA (lowest priority number), no rule supplier.
    make_supplier_price(purchase_suite, alpha, nut, "1.20", sequence=20)
    make_supplier_price(purchase_suite, beta, nut, "1.10", sequence=5)
    make_rule(purchase_suite, bolt, warehouse, 50, 120, supplier=alpha)
    make_rule(purchase_suite, nut, warehouse, 10, 30)
    make_rule(purchase_suite, gear, warehouse, 2, 5, supplier=alpha)
    run_reorder(purchase_suite)
    assert [(row[0], row[2], row[6]) for row in suggestion_rows(purchase_suite)] == [
        (bolt, alpha, D(120)), (nut, beta, D(30)), (gear, alpha, D(5))]
    buyer, buyer_id = user(purchase_suite, "buyer", "purchase_user")
    response = create_orders(buyer, suggestion_ids(purchase_suite))
    assert response.status_code == 302
    page = buyer.get(response.headers["Location"])
    orders = purchase_suite.sql(
        "SELECT o.id, o.number, o.supplier_id, o.warehouse_id, o.state, o.owner_id, s.code "
        "FROM pur_order o JOIN pur_supplier s ON s.id = o.supplier_id ORDER BY s.code")
    assert [(row[2], row[3], row[4], row[5]) for row in orders] == [
        (alpha, warehouse, "draft", buyer_id), (beta, warehouse, "draft", buyer_id)]
    message = flashes(page)
    assert "2 draft purchase orders made from 3 suggestions" in message
    for order_id, number, *_rest in orders:
        assert number in message
        assert f'href="/admin/purchase-order/details/?id={order_id}"' in text(page)
    lines = purchase_suite.sql(
        "SELECT p.code, l.quantity, l.unit_price, l.tax_rate, l.order_id FROM pur_order_line l "
        "JOIN sale_product p ON p.id = l.product_id ORDER BY p.code")
    alpha_order, beta_order = orders[0][0], orders[1][0]
    assert [(code, D(q), D(price), D(tax), order) for code, q, price, tax, order in lines] == [
        ("BOLT", D(120), D("1.60"), D(13), alpha_order),
        ("GEAR", D(5), D(40), D(13), alpha_order),
        ("NUT", D(30), D("1.10"), D(9), beta_order)]
    totals = purchase_suite.sql("SELECT total FROM pur_order WHERE id = :o", o=alpha_order)
    assert D(totals[0][0]) == D("442.96")      # (192 + 200) x 1.13, as before_flush sums
    assert sorted((row[7], row[8]) for row in suggestion_rows(purchase_suite)) == sorted(
        [("ordered", alpha_order), ("ordered", beta_order), ("ordered", alpha_order)])
    # The next run: the drafts are incoming; nothing is proposed twice.
    run_reorder(purchase_suite)
    assert suggestion_rows(purchase_suite, "open") == []
    assert len(suggestion_rows(purchase_suite, "ordered")) == 3
    # A second click on the same (now ordered) suggestions makes nothing more.
    response = create_orders(buyer, suggestion_ids(purchase_suite, "ordered"))
    assert "None of the selected suggestions is open any more" in flashes(
        buyer.get(response.headers["Location"]))
    assert count(purchase_suite, "pur_order") == 2


def test_suggestion_without_supplier_is_refused_by_name(purchase_suite):
    warehouse = default_warehouse(purchase_suite)
    supplier = make_supplier(purchase_suite, "S1")
    lonely = make_product(purchase_suite, "LONELY", name="Lonely widget")
    supplied = make_product(purchase_suite, "SUPPLIED")
    make_rule(purchase_suite, lonely, warehouse, 5, 10)
    make_rule(purchase_suite, supplied, warehouse, 5, 10, supplier=supplier)
    run_reorder(purchase_suite)
    manager, _manager_id = user(purchase_suite, "boss", "purchase_manager")
    response = create_orders(manager, suggestion_ids(purchase_suite))
    message = flashes(manager.get(response.headers["Location"]))
    assert "These products have no supplier: LONELY Lonely widget." in message
    assert count(purchase_suite, "pur_order") == 0
    assert [row[7] for row in suggestion_rows(purchase_suite)] == ["open", "open"]


def test_dismiss_and_who_may_compute_or_order(purchase_suite):
    warehouse = default_warehouse(purchase_suite)
    supplier = make_supplier(purchase_suite, "S1")
    product = make_product(purchase_suite, "P1")
    make_rule(purchase_suite, product, warehouse, 5, 10, supplier=supplier)
    keeper, _keeper_id = user(purchase_suite, "keeper", "stock_user")
    buyer, _buyer_id = user(purchase_suite, "buyer", "purchase_user")
    # The warehouse keeper computes; the buyer may not (403), nor see the button.
    assert "Compute now" not in text(buyer.get(SUGGESTIONS))
    assert buyer.post_form(f"{SUGGESTIONS}compute/", {},
                           token_from=SUGGESTIONS).status_code == 403
    list_page = text(keeper.get(SUGGESTIONS))
    assert "Compute now" in list_page
    # The keeper cannot make purchase orders: the action is not offered.
    assert "Create purchase orders" not in list_page
    response = keeper.post_form(f"{SUGGESTIONS}compute/", {}, token_from=SUGGESTIONS)
    assert response.status_code == 302
    assert "1 reorder suggestion computed" in flashes(keeper.get(response.headers["Location"]))
    [suggestion] = suggestion_ids(purchase_suite)
    create_orders(keeper, [suggestion])     # not offered: posted anyway, nothing made
    assert count(purchase_suite, "pur_order") == 0
    assert [row[7] for row in suggestion_rows(purchase_suite)] == ["open"]
    response = keeper.post_form(f"{SUGGESTIONS}action/", {
        "action": "dismiss", "rowid": [str(suggestion)]}, token_from=SUGGESTIONS)
    assert "1 suggestion dismissed" in flashes(keeper.get(response.headers["Location"]))
    assert [row[7] for row in suggestion_rows(purchase_suite)] == ["dismissed"]
    # Filtered by state, the list shows the dismissed one only there.
    # "Product P1" rather than "P1": a page's random tokens may hold "P1".
    assert "Product P1" not in text(keeper.get(f"{SUGGESTIONS}?flt0_state_is=open"))
    assert re.search(r"Product P1", text(keeper.get(f"{SUGGESTIONS}?flt0_state_is=dismissed")))


def test_rule_unique_per_product_and_warehouse(purchase_suite, tmp_path):
    warehouse = default_warehouse(purchase_suite)
    product = make_product(purchase_suite, "P1", name="Widget")
    manager, _manager_id = user(purchase_suite, "boss", "purchase_manager")
    form = {"product": str(product), "warehouse": str(warehouse), "minimum": "10",
            "maximum": "50", "multiple": "6", "supplier": "", "active": "y"}
    new = f"{RULES}new/"
    assert manager.post_form(new, form, token_from=new).status_code == 302
    response = manager.post_form(new, form, token_from=new)
    assert response.status_code == 200
    assert ("P1 Widget already has a reorder rule for Main warehouse: change that rule "
            "instead.") in flashes(response)
    response = manager.post_form(new, dict(form, maximum="5"), token_from=new)
    assert "The maximum cannot be below the minimum." in flashes(response)
    assert count(purchase_suite, "stock_reorder_rule") == 1
    # An import naming a new pair twice is refused whole; once, it is taken.
    other = make_warehouse(purchase_suite, "WH2")
    path = tmp_path / "rules.csv"
    path.write_text("product,warehouse,minimum,maximum,multiple\n"
                    "P1,WH2,1,5,1\nP1,WH2,2,6,1\n", encoding="utf-8")
    result = purchase_suite.run("import", "ReorderRule", str(path))
    assert "already has a reorder rule" in result.output
    assert count(purchase_suite, "stock_reorder_rule") == 1
    path.write_text("product,warehouse,minimum,maximum,multiple\nP1,WH2,1,5,1\n",
                    encoding="utf-8")
    result = purchase_suite.run("import", "ReorderRule", str(path))
    assert purchase_suite.sql("SELECT warehouse_id FROM stock_reorder_rule ORDER BY id") == [
        (warehouse,), (other,)], result.output
    page = text(manager.get(RULES))
    assert "P1 Widget" in page and "WH2" in page
