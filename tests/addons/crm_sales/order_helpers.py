"""Helpers the order, payment, expense and panel tests share: customers, products,
orders and their documents made through the screens, as a user would."""
import html
import re
from decimal import Decimal

from tests.addons.crm_contacts.helpers import PASSWORD, add_user, create_customer, user_id

__all__ = ["PASSWORD", "add_user", "user_id", "make_customer", "make_product", "make_order",
           "order_form", "deliver", "return_goods", "pay", "lines_of", "order_row", "count",
           "last_id", "text", "flashes", "money"]


def text(response):
    return response.get_data(as_text=True)


def flashes(response):
    """The alert messages and field errors on a page, as one string."""
    page = text(response)
    found = re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S)
    found += re.findall(r'class="(?:invalid-feedback|help-block)[^"]*"[^>]*>(.*?)</div>', page, re.S)
    found += re.findall(r'class="form-text text-danger[^"]*"[^>]*>(.*?)</ul>', page, re.S)
    return " | ".join(html.unescape(re.sub(r"<[^>]+>|\s+", " ", item)).strip()
                      for item in found)


def money(value):
    return Decimal(str(value)).quantize(Decimal("0.01"))


def count(suite, table):
    return suite.sql(f"SELECT count(*) FROM {table}")[0][0]


def last_id(suite, table):
    return suite.sql(f"SELECT max(id) FROM {table}")[0][0]


def make_customer(client, suite, name, owner=None):
    response = create_customer(client, confirm=True, name=name, owner=owner or "")
    assert response.status_code == 302, flashes(response)
    return suite.sql("SELECT id FROM crm_customer WHERE name = :n", n=name)[0][0]


def make_product(admin, suite, code, price, tax_rate="13", name=None):
    page = "/admin/product/new/"
    response = admin.post_form(page, {"code": code, "name": name or f"Product {code}",
                                      "unit": "pcs", "price": str(price), "cost": "0",
                                      "tax_rate": str(tax_rate), "active": "y"}, token_from=page)
    assert response.status_code == 302, flashes(response)
    return suite.sql("SELECT id FROM sale_product WHERE code = :c", c=code)[0][0]


def order_form(customer, lines, order_date="2026-03-02", owner="", **extra):
    """The order form's fields; ``lines``: (product, quantity, unit price, discount,
    tax rate) tuples, posted as the inline form posts them (lines-0-quantity ...)."""
    data = {"customer": str(customer), "order_date": order_date, "currency": "CNY",
            "notes": "", "owner": str(owner or ""), **extra}
    for index, (product, quantity, price, discount, tax) in enumerate(lines):
        data.update({f"lines-{index}-product": str(product or ""),
                     f"lines-{index}-description": "",
                     f"lines-{index}-quantity": str(quantity),
                     f"lines-{index}-unit_price": str(price),
                     f"lines-{index}-discount": str(discount),
                     f"lines-{index}-tax_rate": str(tax)})
    return data


def make_order(client, suite, customer, lines, **fields):
    page = "/admin/sales-order/new/"
    response = client.post_form(page, order_form(customer, lines, **fields), token_from=page)
    assert response.status_code == 302, flashes(response)
    return last_id(suite, "sale_order")


def lines_of(suite, order_id):
    """[(id, quantity, delivered, returned, total)] of an order's lines, in order."""
    return [(row[0], Decimal(str(row[1])), Decimal(str(row[2])), Decimal(str(row[3])),
             money(row[4])) for row in suite.sql(
        "SELECT id, quantity, delivered, returned, total FROM sale_order_line "
        "WHERE order_id = :o ORDER BY sequence, id", o=order_id)]


def order_row(suite, order_id):
    return suite.sql("SELECT number, state, total FROM sale_order WHERE id = :o",
                     o=order_id)[0]


def _document(client, endpoint, order_id, quantities, day, **fields):
    page = f"/admin/{endpoint}/new/?order={order_id}"
    date_field = "delivery_date" if endpoint == "delivery" else "return_date"
    data = {date_field: day, **fields}
    data.update({f"quantity-{line}": str(quantity) for line, quantity in quantities.items()})
    # The token from the list: the page itself may only redirect (a cancelled order).
    return client.post_form(page, data, token_from=f"/admin/{endpoint}/")


def deliver(client, order_id, quantities, day="2026-03-05", **fields):
    """POST the delivery page of an order; ``quantities``: {order line id: quantity}
    (lines left out: 0, since the page offers every line with what remains)."""
    return _document(client, "delivery", order_id, quantities, day, **fields)


def return_goods(client, order_id, quantities, day="2026-03-09", **fields):
    return _document(client, "customer-return", order_id, quantities, day, **fields)


def pay(client, customer, amount, order=None, day="2026-03-10", confirm=False, **fields):
    page = "/admin/payment/new/"
    data = {"customer": str(customer), "order": str(order or ""), "payment_date": day,
            "amount": str(amount), "method": "bank transfer", "reference": "", "notes": "",
            "owner": "", **fields}
    if confirm:
        data["crm_confirmed"] = "1"
    return client.post_form(page, data, token_from=page)
