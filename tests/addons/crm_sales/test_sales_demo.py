"""`init --demo` with crm_sales: something on every Sales screen, consistent figures."""
from tests.addons.conftest import addon_suite

SCREENS = ("lead", "pipeline", "opportunity", "quote", "contract", "sales-order", "delivery",
           "customer-return", "payment", "balance", "expense", "product", "product-category",
           "price-list", "stage", "lost-reason", "web-form", "assignment-rule",
           "expense-category", "sales-dashboard")
TABLES = ("sale_product", "sale_price_list", "sale_web_form", "sale_assignment_rule", "sale_lead",
          "sale_opportunity", "sale_quote", "sale_order", "sale_delivery", "sale_return",
          "sale_payment", "sale_contract", "sale_expense")


def test_demo_fills_every_sales_screen(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_sales"], demo=True)
    try:
        for table in TABLES:
            assert suite.sql(f"SELECT count(*) FROM {table}")[0][0] > 0, table
        # Every state a user meets on the screens is there.
        assert {row[0] for row in suite.sql("SELECT DISTINCT state FROM sale_quote")} >= {
            "draft", "sent", "accepted", "rejected"}
        assert {row[0] for row in suite.sql("SELECT DISTINCT status FROM sale_lead")} >= {
            "new", "qualified", "disqualified"}
        assert suite.sql("SELECT count(*) FROM sale_quote WHERE approval = 'pending'")[0][0] == 1
        # Totals were computed from the lines, and numbers given.
        assert suite.sql("SELECT count(*) FROM sale_quote WHERE total <= 0 OR number IS NULL")[0][0] == 0
        assert suite.sql(
            "SELECT count(*) FROM sale_order o WHERE o.total <> "
            "(SELECT sum(total) FROM sale_order_line l WHERE l.order_id = o.id)")[0][0] == 0
        # The demo salespeople sell.
        members = suite.sql("SELECT u.username, g.code FROM core_user u JOIN core_user_group ug "
                            "ON ug.user_id = u.id JOIN core_group g ON g.id = ug.group_id "
                            "WHERE g.code LIKE 'sales%' ORDER BY u.username")
        assert ("li.lei", "sales_manager") in members and ("tom.lee", "sales_user") in members
        client = suite.admin_client()
        for screen in SCREENS:
            response = client.get(f"/admin/{screen}/")
            assert response.status_code == 200, screen
        customer = suite.sql("SELECT customer_id FROM sale_order ORDER BY id LIMIT 1")[0][0]
        assert client.get(f"/admin/customer/details/?id={customer}").status_code == 200
    finally:
        suite.close()
