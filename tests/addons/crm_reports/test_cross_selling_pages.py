"""Products bought together, from the orders, through the bridge Reports and Sales
(enabled by the core with both): the report over a period against a table worked by
hand, the nightly pairs, and what the customer page suggests to offer next.

Four orders: {X, Y} twice, {X, Z} (Cathay's), {Z}; and a cancelled {Y, Z} that counts
nowhere. Only X and Y are together in two orders: X -> Y has confidence 2/3 and Y -> X
1, both a lift of (2/3) / (2/4) = 4/3."""
import pytest

from tests.addons.crm_contacts.helpers import app_of, user
from tests.addons.crm_reports.report_helpers import table
from tests.addons.crm_sales.order_helpers import text

DAY = "2026-03-02"
REPORT = "/admin/report/sales_bought_together/?start=2026-01-01&end=2026-12-31"


def product(suite, code):
    return suite.sql("INSERT INTO sale_product (code, name, unit, price, cost, tax_rate, "
                     "active) VALUES (:c, :n, 'pcs', 10, 0, 0, true) RETURNING id",
                     c=code, n=f"Product {code}")[0][0]


def order(suite, customer_id, products, owner, state="open"):
    number = f"SO{suite.sql('SELECT count(*) FROM sale_order')[0][0] + 1:04d}"
    order_id = suite.sql(
        "INSERT INTO sale_order (number, customer_id, order_date, state, currency, subtotal, "
        "tax, total, owner_id, created_at, updated_at) VALUES (:n, :c, :d, :s, 'CNY', 0, 0, "
        "0, :o, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
        n=number, c=customer_id, d=DAY, s=state, o=owner)[0][0]
    for position, product_id in enumerate(products, start=1):
        suite.sql("INSERT INTO sale_order_line (order_id, product_id, sequence, description, "
                  "quantity, unit_price, discount, tax_rate, subtotal, tax, total, delivered, "
                  "returned) VALUES (:o, :p, :s, '', 1, 10, 0, 0, 10, 0, 10, 0, 0)",
                  o=order_id, p=product_id, s=position)


@pytest.fixture
def orders(reports_suite):
    suite = reports_suite
    assert "crm_reports_sales\tenabled" in suite.run("addons", "list").output
    admin_id = suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    customers = {}
    for name in ("Acme", "Cathay"):
        customers[name] = suite.sql(
            "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
            "email_key, is_supplier, owner_id, created_at, updated_at) VALUES ('company', :n, "
            ":n, 'B', false, 'active', '', '', false, :o, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP) RETURNING id", n=name, o=admin_id)[0][0]
    x, y, z = product(suite, "X"), product(suite, "Y"), product(suite, "Z")
    order(suite, customers["Acme"], [x, y], admin_id)
    order(suite, customers["Acme"], [x, y], admin_id)
    order(suite, customers["Cathay"], [x, z], admin_id)
    order(suite, customers["Acme"], [z], admin_id)
    order(suite, customers["Acme"], [y, z], admin_id, state="cancelled")
    return suite, customers


def test_the_report_against_the_worked_table(orders):
    suite, _customers = orders
    rows, _totals = table(text(suite.admin_client().get(REPORT)))
    assert rows == [["Product Y (Y)", "Product X (X)", "2", "50 %", "100 %", "1.33"],
                    ["Product X (X)", "Product Y (Y)", "2", "50 %", "66.7 %", "1.33"]]
    # A salesperson counts only the orders they may read: none here.
    seller, _id = user(suite, "seller", "sales_user", "reports_user")
    assert "Nothing to count in this period." in text(seller.get(REPORT))


def test_the_customer_page_suggests_what_those_like_them_bought(orders):
    suite, customers = orders
    with app_of(suite):
        from addons.crm_reports_sales import cross_sell
        assert cross_sell.refresh_pairs() == 2
    admin = suite.admin_client()
    page = text(admin.get(f"/admin/customer/details/?id={customers['Cathay']}"))
    assert "Customers like them also bought" in page
    panel = page.split("Customers like them also bought", 1)[1]
    assert "Product Y" in panel and "67 % of the orders with Product X had it too" in panel
    # Acme owns X and Y already: nothing to suggest, no panel.
    page = text(admin.get(f"/admin/customer/details/?id={customers['Acme']}"))
    assert "Customers like them also bought" not in page
    # Without the right to read orders, no panel.
    viewer, _id = user(suite, "viewer", "contacts_manager")
    page = text(viewer.get(f"/admin/customer/details/?id={customers['Cathay']}"))
    assert "Customers like them also bought" not in page
