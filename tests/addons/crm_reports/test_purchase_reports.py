"""Purchase's reports and its standard dashboard, with Reports enabled beside Purchase:
stock value by warehouse, stock below its minimum, what is owed by age and purchases by
month, against a table worked by hand."""
from datetime import date, timedelta

import pytest

from tests.addons.conftest import addon_suite
from tests.addons.crm_purchase.purchase_helpers import (
    default_warehouse, direct_order, make_bill, make_product, make_supplier, make_warehouse,
    set_received)
from tests.addons.crm_reports.report_helpers import table
from tests.addons.crm_sales.order_helpers import flashes, text

YEAR = date.today().year


@pytest.fixture
def stocked(tmp_path, database_url):
    """Main: P1 10 units (100.00) and P2 5 (50.50); W2: P1 2 (20.00), P3 none. Rules:
    P1 in Main 20-50, P2 in Main 5-10 (not below), P3 in W2 1-3."""
    suite = addon_suite(tmp_path, database_url, ["crm_purchase", "crm_reports"])
    main, second = default_warehouse(suite), make_warehouse(suite, "W2", "Second")
    p1, p2, p3 = (make_product(suite, code) for code in ("P1", "P2", "P3"))
    for product, warehouse, quantity, value in ((p1, main, 10, "100"), (p2, main, 5, "50.50"),
                                                (p1, second, 2, "20"), (p3, second, 0, "0")):
        suite.sql("INSERT INTO stock_level (product_id, warehouse_id, quantity, value, "
                  "average_cost) VALUES (:p, :w, :q, :v, 0)", p=product, w=warehouse,
                  q=quantity, v=value)
    for product, warehouse, low, high in ((p1, main, 20, 50), (p2, main, 5, 10),
                                          (p3, second, 1, 3)):
        suite.sql("INSERT INTO stock_reorder_rule (product_id, warehouse_id, minimum, maximum, "
                  "multiple, active) VALUES (:p, :w, :l, :h, 1, true)", p=product, w=warehouse,
                  l=low, h=high)
    yield suite, p1
    suite.close()


def test_stock_value_and_stock_below_its_minimum(stocked):
    suite, _p1 = stocked
    admin = suite.admin_client()
    rows, totals = table(text(admin.get("/admin/report/purchase_stock_value/")))
    assert rows == [["Main warehouse", "2", "15.00", "150.50"], ["Second", "1", "2.00", "20.00"]]
    assert totals == ["Total", "3", "17.00", "170.50"]
    rows, _totals = table(text(admin.get("/admin/report/purchase_low_stock/")))
    assert rows == [["Product P1 (P1)", "Main warehouse", "10.00", "20.00", "40.00"],
                    ["Product P3 (P3)", "Second", "0.00", "1.00", "3.00"]]


def test_purchases_by_month_and_what_is_owed(stocked):
    suite, p1 = stocked
    admin = suite.admin_client()
    supplier = make_supplier(suite, "ACME", "Acme Parts")
    order, (line,) = direct_order(suite, supplier, [(p1, 10, "10")])      # 113.00 with VAT
    direct_order(suite, supplier, [(p1, 1, "99")], state="draft")          # not counted
    suite.sql("UPDATE pur_order SET order_date = :d", d=f"{YEAR}-03-05")
    rows, totals = table(text(admin.get(
        f"/admin/report/purchase_by_month/?start={YEAR}-01-01&end={YEAR}-12-31")))
    assert rows == [[f"Mar {YEAR}", "1", "113.00"]] and totals == ["Total", "1", "113.00"]
    set_received(suite, line, 10)
    due = (date.today() - timedelta(days=40)).isoformat()
    response = make_bill(admin, order, {line: 10}, bill_date=due, due_date=due)
    assert response.status_code == 302, flashes(response)
    rows, _totals = table(text(admin.get("/admin/report/purchase_payables/")))
    assert rows == [["31-60 days", "113.00"]]
    page = text(admin.get("/admin/dashboard/standard/purchase/"))
    for title in ("Stock value by warehouse", "Owed to suppliers by age", "Purchases by month",
                  "Stock below its minimum"):
        assert title in page
