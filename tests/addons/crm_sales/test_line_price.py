"""The line editor's look-up: ./line-price/ on the quote and order screens answers what
a picked product costs the chosen customer (price list first), within the user's rules."""
from tests.addons.crm_sales.quote_helpers import (add_user, create_customer, create_product,
                                                  create_quote, line_fields, user_id)

QUOTE_PRICE = "/admin/quote/line-price/"
ORDER_PRICE = "/admin/sales-order/line-price/"


def price_list(client, name, product, price, **fields):
    new = "/admin/price-list/new/"
    data = {"name": name, "active": "y", "items-0-product": str(product),
            "items-0-price": price, **fields}
    response = client.post_form(new, data, token_from=new)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def test_price_follows_the_customers_price_list_on_the_documents_date(sales_suite):
    admin = sales_suite.admin_client()
    acme = create_customer(admin, sales_suite, "Acme", grade="A")
    plain = create_customer(admin, sales_suite, "Plain Ltd")
    widget = create_product(admin, sales_suite, "W-1", "Widget", "100.00", tax_rate="6.50")
    price_list(admin, "Grade A 2026", widget, "90.05", grade="A", valid_from="2026-01-01",
               valid_to="2026-12-31")

    answer = admin.get(f"{QUOTE_PRICE}?product={widget}&customer={acme}&on=2026-06-01")
    assert answer.status_code == 200 and answer.is_json
    assert answer.get_json() == {
        "product": widget, "price": "90.05", "tax_rate": "6.5", "description": "Widget",
        "unit": "pcs", "currency": "CNY", "price_list": "Grade A 2026",
        "note": "Price from price list Grade A 2026"}
    # Outside the list's dates, for a customer without a list, or with no customer yet:
    # the product's own price, and no note.
    for query in (f"customer={acme}&on=2027-01-01", f"customer={plain}&on=2026-06-01",
                  "on=2026-06-01"):
        found = admin.get(f"{ORDER_PRICE}?product={widget}&{query}").get_json()
        assert (found["price"], found["price_list"], found["note"]) == ("100.00", None, ""), \
            query
    # A date not (yet) typed in full: today's prices.
    assert admin.get(f"{QUOTE_PRICE}?product={widget}&on=2026-0").status_code == 200

    # What the editor shows is what the server saves: a line left blank takes that price.
    response = admin.post_form("/admin/quote/new/", {
        "customer": str(acme), "currency": "CNY", "quote_date": "2026-06-01",
        **line_fields([{"product": widget, "quantity": "1", "discount": "0"}])},
        token_from="/admin/quote/new/")
    assert response.status_code == 302
    price, rate = sales_suite.sql("SELECT unit_price, tax_rate FROM sale_quote_line")[0]
    assert (f"{price:.2f}", f"{rate:.2f}") == ("90.05", "6.50")


def test_unknown_product_or_customer_is_not_found(sales_suite):
    admin = sales_suite.admin_client()
    acme = create_customer(admin, sales_suite, "Acme")
    widget = create_product(admin, sales_suite, "W-1", "Widget", "10")
    for query in ("product=999", "product=abc", "", f"product={widget}&customer=999",
                  f"product={widget}&customer=x"):
        assert admin.get(f"{QUOTE_PRICE}?{query}").status_code == 404, query
    assert admin.get(f"{QUOTE_PRICE}?product={widget}&customer={acme}").status_code == 200


def test_a_salesperson_prices_only_for_customers_of_their_own(sales_suite):
    admin = sales_suite.admin_client()
    widget = create_product(admin, sales_suite, "W-1", "Widget", "10")
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    bob = add_user(sales_suite, "bob", "sales_user", "contacts_user")
    anns = create_customer(ann, sales_suite, "Ann's customer")
    bobs = create_customer(bob, sales_suite, "Bob's customer")
    assert sales_suite.sql("SELECT owner_id FROM crm_customer WHERE id = :c", c=bobs)[0][0] \
        == user_id(sales_suite, "bob")

    assert ann.get(f"{QUOTE_PRICE}?product={widget}&customer={anns}").status_code == 200
    assert ann.get(f"{ORDER_PRICE}?product={widget}&customer={anns}").status_code == 200
    assert ann.get(f"{QUOTE_PRICE}?product={widget}&customer={bobs}").status_code == 404
    assert ann.get(f"{ORDER_PRICE}?product={widget}&customer={bobs}").status_code == 404
    # Without read access to the screen: no answer at all.
    nobody = add_user(sales_suite, "nobody", "contacts_user")
    assert nobody.get(f"{QUOTE_PRICE}?product={widget}").status_code == 403


def test_the_quote_form_is_a_line_editor(sales_suite):
    """The form carries what crm.js needs: the look-up's address, the document's fields,
    the places for the amounts."""
    admin = sales_suite.admin_client()
    customer = create_customer(admin, sales_suite, "Acme")
    quote = create_quote(admin, sales_suite, customer, [
        {"description": "Work", "quantity": "1", "unit_price": "10", "tax_rate": "0"}])
    for page, date_field in ((f"/admin/quote/edit/?id={quote}", "quote_date"),
                             ("/admin/sales-order/new/", "order_date")):
        html = admin.get(page).get_data(as_text=True)
        assert "data-line-editor" in html and 'data-line-price="unit_price"' in html
        assert f'data-date-input="#{date_field}"' in html
        assert 'line-price/"' in html and 'data-lines-total="total"' in html
