"""The line editor in a real browser: a picked product brings its price from the
customer's price list and its tax rate, the amounts follow the typing, and the figures
shown are the ones the server saves (money.py's rules in crm.js)."""
from addons.crm_sales import money
from tests.addons.conftest import addon_suite
from tests.addons.crm_sales.quote_helpers import create_customer, create_product
from tests.e2e.conftest import playwright, serve, signed_in

expect = playwright.expect

# Ties at half a cent, both roundings of one line, rates with decimals, big numbers.
TRICKY = [("1", "0.005", "0", "0"), ("3", "0.335", "0", "13"), ("1", "10.05", "50", "0"),
          ("0.333", "0.15", "0", "0"), ("2.5", "19.99", "12.5", "13"), ("1", "0.03", "50", "13"),
          ("7", "1.07", "0", "6.5"), ("1", "99.99", "33.33", "9"), ("1", "0.5", "1", "1"),
          ("999999.999", "999999.99", "99.99", "17"), ("3", "33.35", "0", "15")]


def amount(value):
    return f"{money.cents(value):,.2f}"


def pick(tab, input_id, text, choice):
    """Choose ``choice`` in a Flask-Admin look-up (select2) by typing ``text``."""
    tab.locator(f"#s2id_{input_id}").click()
    tab.keyboard.type(text)
    tab.wait_for_selector(f".select2-result-label:has-text('{choice}')", timeout=10000)
    tab.keyboard.press("Enter")


def test_quote_lines_priced_and_totalled_as_the_user_types(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_sales"])
    try:
        admin = suite.admin_client()
        create_customer(admin, suite, "Acme Trading", grade="A")
        widget = create_product(admin, suite, "W-1", "Widget", "100.00", tax_rate="13")
        create_product(admin, suite, "G-1", "Gadget", "0.35", tax_rate="6")
        new_list = "/admin/price-list/new/"
        admin.post_form(new_list, {"name": "Grade A prices", "grade": "A", "active": "y",
                                   "items-0-product": str(widget), "items-0-price": "33.35"},
                        token_from=new_list)
        with serve(suite) as site, signed_in(site) as tab:
            tab.goto(f"{site}/admin/quote/new/")
            # The browser's arithmetic is the server's, ties at half a cent included.
            shown = tab.evaluate("cases => cases.map(c => crmLines.amounts(...c))", TRICKY)
            assert shown == [[amount(v) for v in money.line_amounts(*case)] for case in TRICKY]

            tab.click("#lines-add")
            pick(tab, "lines-0-product", "W-1", "W-1 Widget")
            # No customer yet: the product's price; the customer's list once chosen, with
            # the product's rate, and which list it was.
            expect(tab.locator("#lines-0-unit_price")).to_have_value("100.00")
            assert "price list" not in tab.inner_text("#lines-0")
            pick(tab, "customer", "Acme", "Acme Trading")
            expect(tab.locator("#lines-0-unit_price")).to_have_value("33.35")
            assert tab.input_value("#lines-0-tax_rate") == "13"
            assert tab.input_value("#lines-0-description") == "Widget"
            assert "Price from price list Grade A prices" in tab.inner_text("#lines-0")
            tab.fill("#lines-0-quantity", "3")
            tab.fill("#lines-0-discount", "12.5")
            # A second line: a price of its own typed over the product's.
            tab.click("#lines-add")
            pick(tab, "lines-1-product", "G-1", "G-1 Gadget")
            expect(tab.locator("#lines-1-unit_price")).to_have_value("0.35")
            assert "price list" not in tab.inner_text("#lines-1")
            tab.fill("#lines-1-quantity", "0.333")
            tab.fill("#lines-1-unit_price", "0.15")

            first = money.line_amounts("3", "33.35", "12.5", "13")
            second = money.line_amounts("0.333", "0.15", "0", "6")
            assert tab.inner_text("#lines-0 [data-line-out=subtotal]") == amount(first[0])
            assert tab.inner_text("#lines-0 [data-line-out=tax]") == amount(first[1])
            assert tab.inner_text("#lines-1 [data-line-out=subtotal]") == amount(second[0])
            totals = {name: tab.inner_text(f"[data-lines-total={name}]")
                      for name in ("subtotal", "tax", "total", "currency")}
            assert totals == {"subtotal": amount(first[0] + second[0]),
                              "tax": amount(first[1] + second[1]),
                              "total": amount(first[2] + second[2]), "currency": "(CNY)"}
            # A removed line leaves the totals.
            tab.click("#lines-add")
            tab.fill("#lines-2-unit_price", "1000")
            assert tab.inner_text("[data-lines-total=subtotal]") \
                == amount(first[0] + second[0] + 1000)
            tab.locator("#lines-2 .crm-line-remove").click()
            assert tab.inner_text("[data-lines-total=total]") == totals["total"]

            with tab.expect_navigation():
                tab.locator("input[type=submit][value=Save]").click()
            assert tab.errors == []
            # A price list's lines: a picked product brings its own price to start from.
            tab.goto(f"{site}/admin/price-list/new/")
            tab.click("#items-button")
            tab.select_option("select[name='items-0-product']", label="W-1 Widget", force=True)
            expect(tab.locator("input[name='items-0-price']")).to_have_value("100.00")
        saved = suite.sql("SELECT subtotal, tax, total FROM sale_quote")
        assert [amount(value) for value in saved[0]] == [
            totals["subtotal"], totals["tax"], totals["total"]]
    finally:
        suite.close()
