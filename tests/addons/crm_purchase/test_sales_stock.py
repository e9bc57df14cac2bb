"""Sales' deliveries and returns move stock when Purchase is enabled (through core hooks
Sales calls in its own transaction), and Sales works alone without it."""
import re

from addons.crm_purchase import stock
from core.db import db
from tests.addons.conftest import addon_suite
from tests.addons.crm_purchase.purchase_helpers import (D, app_of, count, default_warehouse,
                                                        flashes, make_product,
                                                        make_warehouse, on_hand, text,
                                                        user)
from tests.addons.crm_sales.order_helpers import (deliver, lines_of, make_customer,
                                                  order_form, return_goods)


def stocked(suite, product, quantity, cost, warehouse=None):
    with app_of(suite):
        stock.post_moves([stock.Move(product, warehouse or default_warehouse(suite),
                                     "receipt", D(quantity), D(cost))])
        db.session.commit()


def order_of(admin, suite, *lines, name="Stock Buyer Ltd"):
    """An order with ``lines`` of (product or None, quantity); its line ids."""
    customer = suite.sql("SELECT id FROM crm_customer WHERE name = :n", n=name)
    customer = customer[0][0] if customer else make_customer(admin, suite, name)
    data = order_form(customer, [(product, quantity, 20, 0, 13) for product, quantity in lines])
    for index, (product, _quantity) in enumerate(lines):
        if product is None:
            data[f"lines-{index}-description"] = "Installation (a service)"
    page = "/admin/sales-order/new/"
    response = admin.post_form(page, data, token_from=page)
    assert response.status_code == 302, flashes(response)
    order = suite.sql("SELECT max(id) FROM sale_order")[0][0]
    return order, [line[0] for line in lines_of(suite, order)]


def test_a_delivery_takes_stock_out_and_a_return_puts_it_back(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    main = default_warehouse(suite)
    other = make_warehouse(suite, "OTHER")
    product = make_product(suite, "SS1")
    stocked(suite, product, 10, "4.00")
    stocked(suite, product, 50, "9.00", warehouse=other)
    order, (line,) = order_of(admin, suite, (product, 6))

    response = deliver(admin, order, {line: 4})
    assert response.status_code == 302, flashes(response)
    assert on_hand(suite, product, main) == (D(6), D(24), D(4))
    assert on_hand(suite, product, other) == (D(50), D(450), D(9))   # not the default
    delivery = suite.sql("SELECT id, number FROM sale_delivery")[0]
    assert suite.sql("SELECT kind, quantity, unit_cost, origin, origin_id, reference "
                     "FROM stock_move WHERE kind = 'delivery'") == [
        ("delivery", D(-4), D(4), "Delivery", delivery[0], delivery[1])]

    # The ledger links the move to its delivery for who may open it.
    listing = admin.get("/admin/stock-move/").get_data(as_text=True)
    assert f'href="/admin/delivery/details/?id={delivery[0]}">{delivery[1]}</a>' in listing
    keeper, _id = user(suite, "keeper", "stock_user")   # no access to deliveries
    listing = keeper.get("/admin/stock-move/").get_data(as_text=True)
    assert delivery[1] in listing and "/admin/delivery/details/" not in listing

    response = return_goods(admin, order, {line: 1})
    assert response.status_code == 302, flashes(response)
    assert on_hand(suite, product, main) == (D(7), D(28), D(4))
    assert suite.run("stock", "check").exit_code == 0


def test_a_return_comes_back_at_its_delivery_cost(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    main = default_warehouse(suite)
    product = make_product(suite, "SS2")
    stocked(suite, product, 10, "10.00")
    order, (line,) = order_of(admin, suite, (product, 5))
    assert deliver(admin, order, {line: 5}).status_code == 302      # out at 10
    stocked(suite, product, 5, "22.00")                              # 10 @ 16 now
    assert on_hand(suite, product, main) == (D(10), D(160), D(16))
    assert return_goods(admin, order, {line: 2}).status_code == 302  # back at 10
    assert on_hand(suite, product, main) == (D(12), D(180), D(15))


def test_deleting_a_delivery_or_a_return_posts_moves_the_other_way(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    main = default_warehouse(suite)
    product = make_product(suite, "SS3")
    stocked(suite, product, 10, "3.00")
    order, (line,) = order_of(admin, suite, (product, 8))
    assert deliver(admin, order, {line: 8}).status_code == 302
    assert return_goods(admin, order, {line: 3}).status_code == 302
    assert on_hand(suite, product, main)[0] == D(5)
    delivered = suite.sql("SELECT id, quantity, unit_cost, value FROM stock_move "
                          "WHERE kind = 'delivery'")

    returned = suite.sql("SELECT id FROM sale_return")[0][0]
    response = admin.post_form("/admin/customer-return/delete/", {"id": str(returned)},
                               token_from="/admin/customer-return/")
    assert response.status_code == 302
    assert on_hand(suite, product, main)[0] == D(2)
    delivery = suite.sql("SELECT id FROM sale_delivery")[0][0]
    response = admin.post_form("/admin/delivery/delete/", {"id": str(delivery)},
                               token_from="/admin/delivery/")
    assert response.status_code == 302
    assert count(suite, "sale_delivery") == 0
    assert on_hand(suite, product, main) == (D(10), D(30), D(3))
    # Nothing was deleted or rewritten: the moves stay, each undone by a new one.
    rows = suite.sql("SELECT kind, quantity, unit_cost, corrects_id, note FROM stock_move "
                     "WHERE kind != 'receipt' ORDER BY id")
    assert [(kind, D(quantity), D(cost)) for kind, quantity, cost, _c, _n in rows] == [
        ("delivery", D(-8), D(3)), ("customer return", D(3), D(3)),
        ("customer return", D(-3), D(3)), ("delivery", D(8), D(3))]
    assert rows[2][3] is not None and rows[3][3] == delivered[0][0]
    assert "deleted" in rows[3][4]
    assert suite.sql("SELECT id, quantity, unit_cost, value FROM stock_move "
                     "WHERE id = :i", i=delivered[0][0]) == delivered
    assert suite.run("stock", "check").exit_code == 0


def test_a_delivery_that_would_leave_too_little_is_refused_whole(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    main = default_warehouse(suite)
    plenty, scarce = make_product(suite, "SS4"), make_product(suite, "SS5", name="Rare part")
    stocked(suite, plenty, 100, "1.00")
    stocked(suite, scarce, 2, "1.00")
    order, (first, second) = order_of(admin, suite, (plenty, 5), (scarce, 3))
    response = deliver(admin, order, {first: 5, second: 3})
    assert response.status_code == 200
    assert "Only 2 of SS5 Rare part in stock: 3 cannot go out." in flashes(response)
    assert count(suite, "sale_delivery") == 0 and count(suite, "sale_delivery_line") == 0
    assert [line[2] for line in lines_of(suite, order)] == [D(0), D(0)]   # nothing delivered
    assert on_hand(suite, plenty, main)[0] == D(100)
    assert count(suite, "stock_move") == 2
    # What is there can go.
    assert deliver(admin, order, {first: 5, second: 2}).status_code == 302
    assert on_hand(suite, scarce, main)[0] == D(0)


def test_lines_without_a_product_move_no_stock(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    product = make_product(suite, "SS6")
    stocked(suite, product, 1, "1.00")
    order, (service, goods) = order_of(admin, suite, (None, 2), (product, 1))
    assert deliver(admin, order, {service: 2, goods: 1}).status_code == 302
    assert suite.sql("SELECT product_id, quantity FROM stock_move WHERE kind = 'delivery'") \
        == [(product, D(-1))]
    order, (service,) = order_of(admin, suite, (None, 1))
    assert deliver(admin, order, {service: 1}).status_code == 302
    assert count(suite, "stock_move") == 2


def test_without_a_default_warehouse_a_delivery_says_so(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    product = make_product(suite, "SS7")
    stocked(suite, product, 1, "1.00")
    suite.sql("UPDATE stock_warehouse SET is_default = false")
    order, (line,) = order_of(admin, suite, (product, 1))
    response = deliver(admin, order, {line: 1})
    assert "No warehouse is the default for deliveries" in flashes(response)
    assert count(suite, "sale_delivery") == 0


def test_sales_delivers_without_purchase_and_moves_no_stock(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_purchase"])
    try:
        admin = suite.admin_client()
        product = make_product(suite, "SS8")
        order, (line,) = order_of(admin, suite, (product, 3))
        result = suite.run("addons", "disable", "crm_purchase")
        assert result.exit_code == 0, result.output
        response = deliver(admin, order, {line: 3})
        assert response.status_code == 302, flashes(response)
        assert return_goods(admin, order, {line: 1}).status_code == 302
        delivery = suite.sql("SELECT id FROM sale_delivery")[0][0]
        assert count(suite, "stock_move") == 0 and count(suite, "stock_level") == 0
        assert "Stock" not in re.sub(r"Stock Buyer", "", text(admin.get("/admin/")))
        response = admin.post_form("/admin/delivery/delete/", {"id": str(delivery)},
                                   token_from="/admin/delivery/")
        assert "delete the return first" in flashes(admin.get(response.headers["Location"]))
        assert count(suite, "stock_move") == 0
    finally:
        suite.close()


def test_services_are_delivered_without_stock(purchase_suite):
    """A service (or a licence) is delivered and returned whatever the stock: only the
    goods of the order move stock."""
    suite = purchase_suite
    admin = suite.admin_client()
    main = default_warehouse(suite)
    goods = make_product(suite, "SV-G")
    service = make_product(suite, "SV-S")
    suite.sql("UPDATE sale_product SET kind = 'service' WHERE id = :p", p=service)
    stocked(suite, goods, 3, "5.00")
    order, (goods_line, service_line) = order_of(admin, suite, (goods, 2), (service, 10))

    response = deliver(admin, order, {goods_line: 2, service_line: 10})
    assert response.status_code == 302, flashes(response)
    assert on_hand(suite, goods, main) == (D(1), D(5), D(5))
    assert suite.sql("SELECT count(*) FROM stock_move WHERE product_id = :p",
                     p=service) == [(0,)]
    assert return_goods(admin, order, {service_line: 4}).status_code == 302
    assert suite.sql("SELECT count(*) FROM stock_level WHERE product_id = :p",
                     p=service) == [(0,)]
    assert suite.run("stock", "check").exit_code == 0
