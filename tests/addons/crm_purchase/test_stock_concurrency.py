"""Twenty deliveries at the same moment, through Sales' delivery page, of a product with
ten on hand: the stock level's row lock lets exactly ten through and refuses the rest,
so stock never goes below zero (PostgreSQL: SQLite writes one at a time anyway)."""
import re
import threading

import pytest

from addons.crm_purchase import stock
from core.db import db
from tests.addons.crm_purchase.purchase_helpers import (D, app_of, count, default_warehouse,
                                                        make_product, on_hand)
from tests.addons.crm_sales.order_helpers import lines_of, make_customer, make_order
from tests.conftest import ADMIN_PASSWORD, PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (make test-pg)")
BUYERS = 20


def test_twenty_deliveries_at_once_take_exactly_the_ten_on_hand(purchase_suite):
    suite = purchase_suite
    admin = suite.admin_client()
    warehouse = default_warehouse(suite)
    product = make_product(suite, "RUSH1")
    with app_of(suite):
        stock.post_moves([stock.Move(product, warehouse, "receipt", D(10), D("7.00"))])
        db.session.commit()
    customer = make_customer(admin, suite, "Rush Hour Retail")
    orders = [make_order(admin, suite, customer, [(product, 1, 20, 0, 13)])
              for _n in range(BUYERS)]
    lines = {order: lines_of(suite, order)[0][0] for order in orders}

    # One signed-in browser per order, each with its page's token, sent at one moment.
    dispatcher = suite.dispatcher()
    clients = []
    for order in orders:
        client = suite.client(dispatcher)
        client.login("admin", ADMIN_PASSWORD)
        page = f"/admin/delivery/new/?order={order}"
        clients.append((client, page, client.csrf_token(page), order))
    start = threading.Barrier(BUYERS)
    answers = {}

    def deliver(client, page, token, order):
        start.wait()
        response = client.post(page, data={"delivery_date": "2026-03-05", "csrf_token": token,
                                           f"quantity-{lines[order]}": "1"})
        answers[order] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=deliver, args=args) for args in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert len(answers) == BUYERS
    saved = [order for order, (status, _page) in answers.items() if status == 302]
    refused = [page for status, page in answers.values() if status == 200]
    assert len(saved) == 10 and len(refused) == 10
    assert all(re.search(r"Only 0 of RUSH1 Product RUSH1 in stock: 1 cannot go out",
                         page) for page in refused)
    assert count(suite, "sale_delivery") == 10
    assert suite.sql("SELECT sum(delivered) FROM sale_order_line")[0][0] == 10
    assert on_hand(suite, product, warehouse) == (D(0), D(0), D(7))
    assert suite.sql("SELECT count(*), sum(quantity) FROM stock_move WHERE kind = "
                     "'delivery'") == [(10, D(-10))]
    result = suite.run("stock", "check")
    assert result.exit_code == 0, result.output
