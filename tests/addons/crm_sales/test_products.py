"""Products and price lists: the screens, their form errors, and price_for."""
from datetime import date
from decimal import Decimal

from addons.crm_contacts.models import Customer
from addons.crm_sales.models import PriceList, PriceListItem, Product
from addons.crm_sales.products import price_for
from tests.addons.crm_sales.lead_helpers import add_user, app_session

PRODUCTS = "/admin/product/"
PRICE_LISTS = "/admin/price-list/"
NEW_PRICE_LIST = PRICE_LISTS + "new/"


def test_price_for_customer_list_beats_grade_list_beats_product_price(sales_suite):
    on = date(2026, 6, 15)
    with app_session(sales_suite) as session:
        widget = Product(code="W-1", name="Widget", price=Decimal("100.00"))
        gadget = Product(code="G-1", name="Gadget", price=Decimal("50.00"))
        acme = Customer(name="Acme", grade="A")
        globex = Customer(name="Globex", grade="A")
        plain = Customer(name="No grade")
        session.add_all([widget, gadget, acme, globex, plain])
        session.flush()

        def price_list(name, items, **fields):
            session.add(PriceList(name=name, items=[PriceListItem(product=product, price=price)
                                                    for product, price in items], **fields))

        price_list("Grade A", [(widget, Decimal("90.00")), (gadget, Decimal("45.00"))],
                   grade="A")
        price_list("Acme 2026", [(widget, Decimal("80.00"))], customer=acme,
                   valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31))
        price_list("Acme summer deal", [(widget, Decimal("70.00"))], customer=acme,
                   valid_from=date(2026, 6, 1), valid_to=date(2026, 6, 30))
        price_list("Acme expired", [(gadget, Decimal("1.00"))], customer=acme,
                   valid_to=date(2026, 5, 31))
        price_list("Globex inactive", [(widget, Decimal("2.00"))], customer=globex,
                   active=False)
        price_list("Grade A not yet", [(gadget, Decimal("3.00"))], grade="A",
                   valid_from=date(2026, 7, 1))
        session.flush()

        cases = [
            # product, customer, day, price: why
            (widget, acme, on, "70.00"),                 # the customer's newest list wins
            (widget, acme, date(2026, 7, 1), "80.00"),   # the deal is over: the year's list
            (widget, acme, date(2027, 1, 1), "90.00"),   # no customer list: the grade's
            (gadget, acme, on, "45.00"),                 # expired customer list ignored
            (widget, globex, on, "90.00"),               # inactive customer list ignored
            (gadget, globex, date(2026, 7, 2), "3.00"),  # open-ended grade list started
            (widget, plain, on, "100.00"),               # no grade, no list: the product
            (widget, None, on, "100.00"),                # no customer yet
        ]
        for product, customer, day, expected in cases:
            assert price_for(session, product, customer, day) == Decimal(expected), \
                (product.code, customer and customer.name, day)
        # Today by default: the open-ended grade list applies.
        assert price_for(session, widget, globex) == Decimal("90.00")
        session.rollback()


def test_price_list_form_errors_save_nothing(sales_suite):
    client = sales_suite.admin_client()
    client.post_form("/admin/customer/new/", {"kind": "company", "stage": "prospect",
                                              "name": "Acme"}, token_from="/admin/customer/new/")
    base = {"name": "Spring", "active": "y"}
    for fields, message in (
            ({}, "Choose a customer grade or a customer."),
            ({"grade": "A", "customer": "1"}, "not both"),
            ({"grade": "A", "valid_from": "2026-05-01", "valid_to": "2026-04-30"},
             "The end of validity is before its start."),
            ({"grade": "A", "valid_to": "31/04/2026"}, "Enter a date as YYYY-MM-DD.")):
        response = client.post_form(NEW_PRICE_LIST, dict(base, **fields),
                                    token_from=NEW_PRICE_LIST)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and message in page, fields
    assert sales_suite.sql("SELECT count(*) FROM sale_price_list") == [(0,)]


def test_price_list_with_inline_items_and_product_list(sales_suite):
    client = sales_suite.admin_client()
    new_product = PRODUCTS + "new/"
    for code, name, price in (("P-001", "Printer", "1999.00"), ("T-001", "Toner", "299.50")):
        response = client.post_form(new_product, {"code": code, "name": name, "unit": "pcs",
                                                  "price": price, "cost": "0", "tax_rate": "13",
                                                  "active": "y"}, token_from=new_product)
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    # Bad input on the product form: a form error, nothing saved.
    response = client.post_form(new_product, {"code": "X", "name": "X", "unit": "pcs",
                                              "price": "-1", "cost": "0", "tax_rate": "130"},
                                token_from=new_product)
    page = response.get_data(as_text=True)
    assert "Cannot be negative." in page and "Between 0 and 100." in page
    listing = client.get(PRODUCTS + "?search=toner").get_data(as_text=True)
    assert "T-001" in listing and "P-001" not in listing

    data = {"name": "Grade B", "grade": "B", "active": "y", "valid_from": "2026-01-01",
            "items-0-product": "1", "items-0-price": "1799.00",
            "items-1-product": "2", "items-1-price": "279.00"}
    response = client.post_form(NEW_PRICE_LIST, data, token_from=NEW_PRICE_LIST)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert sales_suite.sql("SELECT product_id, price FROM sale_price_list_item ORDER BY id") \
        == [(1, Decimal("1799.00")), (2, Decimal("279.00"))]
    # The same product twice in one list: a message, nothing saved.
    twice = dict(data, name="Twice", **{"items-1-product": "1"})
    response = client.post_form(NEW_PRICE_LIST, twice, token_from=NEW_PRICE_LIST)
    assert "is listed twice" in response.get_data(as_text=True)
    assert sales_suite.sql("SELECT count(*) FROM sale_price_list") == [(1,)]
    page = client.get("/admin/price-list/details/?id=1").get_data(as_text=True)
    assert "P-001 Printer: 1799.00" in page
    # A product in use is not deleted (it would break the lists and documents).
    response = client.post_form(PRODUCTS + "delete/", {"id": "1"}, token_from=PRODUCTS)
    assert response.status_code == 302
    assert "untick Active instead" in client.get(PRODUCTS).get_data(as_text=True)
    assert sales_suite.sql("SELECT count(*) FROM sale_product") == [(2,)]


def test_salesperson_reads_the_catalogue_but_cannot_change_it(sales_suite):
    client = sales_suite.admin_client()
    client.post_form(PRODUCTS + "new/", {"code": "P-1", "name": "Pump", "unit": "pcs",
                                         "price": "10", "cost": "0", "tax_rate": "13",
                                         "active": "y"}, token_from=PRODUCTS + "new/")
    ann = add_user(sales_suite, "ann", "sales_user")
    assert "Pump" in ann.get(PRODUCTS).get_data(as_text=True)
    assert ann.get(PRODUCTS + "new/").status_code == 403
    assert ann.get(NEW_PRICE_LIST).status_code == 403
    assert ann.get(PRICE_LISTS).status_code == 200
