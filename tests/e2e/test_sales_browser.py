"""Sales screens in a real browser: lines added to a form with Flask-Admin's inline
"Add" button, which the CSP would block without core/static/core/crm.js."""
from tests.addons.conftest import addon_suite
from tests.e2e.conftest import playwright, serve, signed_in


def test_price_list_items_are_added_with_the_add_button(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_sales"])
    suite.sql("INSERT INTO sale_product (code, name, unit, price, cost, tax_rate, active) "
              "VALUES ('P-1', 'Widget', 'pcs', 10, 5, 13, true)")
    try:
        with serve(suite) as site, signed_in(site) as tab:
            tab.goto(f"{site}/admin/price-list/new/")
            tab.fill("#name", "Grade A")
            tab.select_option("#grade", "A", force=True)
            tab.click("#items-button")
            tab.select_option("select[name='items-0-product']", label="P-1 Widget", force=True)
            # The product's own price comes first, to start from; then the list's is typed.
            playwright.expect(tab.locator("input[name='items-0-price']")).to_have_value("10.00")
            tab.fill("input[name='items-0-price']", "8.50")
            tab.click("input[type=submit][value='Save']")
            tab.wait_for_url(f"{site}/admin/price-list/details/**")   # save stays on it
            assert tab.errors == []
        assert suite.sql("SELECT price FROM sale_price_list_item")[0][0] == 8.5
    finally:
        suite.close()
