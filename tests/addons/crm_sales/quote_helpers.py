"""Helpers the quote and contract tests share: customers, contacts, products, quotes
and contracts made through the screens, as a user would."""
import re
from html import unescape
from datetime import date, timedelta

from tests.addons.crm_contacts.helpers import add_user, user_id  # noqa: F401 (re-exported)

QUOTES = "/admin/quote/"
NEW_QUOTE = "/admin/quote/new/"
CONTRACTS = "/admin/contract/"
NEW_CONTRACT = "/admin/contract/new/"


def page_text(response):
    return response.get_data(as_text=True)


def last_id(suite, table):
    return suite.sql(f"SELECT MAX(id) FROM {table}")[0][0]


def create_customer(client, suite, name, **fields):
    data = {"kind": "company", "stage": "active", "name": name, "crm_confirmed": "1", **fields}
    response = client.post_form("/admin/customer/new/", data, token_from="/admin/customer/new/")
    assert response.status_code == 302, page_text(response)[:3000]
    return last_id(suite, "crm_customer")


def create_contact(client, suite, customer, name, **fields):
    data = {"customer": str(customer), "name": name, **fields}
    response = client.post_form("/admin/contact/new/", data, token_from="/admin/contact/new/")
    assert response.status_code == 302, page_text(response)[:3000]
    return last_id(suite, "crm_contact")


def create_product(client, suite, code, name, price, tax_rate="13", unit="pcs"):
    data = {"code": code, "name": name, "unit": unit, "price": str(price), "cost": "0",
            "tax_rate": str(tax_rate), "active": "y"}
    response = client.post_form("/admin/product/new/", data, token_from="/admin/product/new/")
    assert response.status_code == 302, page_text(response)[:3000]
    return last_id(suite, "sale_product")


def line_fields(lines):
    """The inline form's fields: lines-0-product, lines-0-quantity..."""
    data = {}
    for index, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{index}-{key}"] = "" if value is None else str(value)
    return data


def post_quote(client, customer, lines, path=NEW_QUOTE, **fields):
    """POST the quote form (create, or edit with path=edit URL); returns the response."""
    data = {"customer": str(customer), "currency": "CNY",
            "quote_date": date.today().isoformat(),
            "valid_until": (date.today() + timedelta(days=30)).isoformat(),
            **fields, **line_fields(lines)}
    return client.post_form(path, data, token_from=NEW_QUOTE)


def create_quote(client, suite, customer, lines, **fields):
    response = post_quote(client, customer, lines, **fields)
    assert response.status_code == 302, form_errors(response) or page_text(response)[:3000]
    return last_id(suite, "sale_quote")


def form_errors(response):
    """The messages shown under the form's fields: Flask-Admin's lists of errors, and
    the invalid-feedback lines of the suite's own forms."""
    html = page_text(response)
    messages = []
    for block in re.findall(r'(?s)<ul class="form-text text-danger[^"]*">(.*?)</ul>', html):
        messages += re.findall(r"(?s)<li>\s*(.*?)\s*</li>", block)
    messages += re.findall(r'(?s)<div class="invalid-feedback">\s*([^<]+?)\s*</div>', html)
    return [unescape(message) for message in messages]


def quote_row(suite, quote):
    return suite.sql("SELECT number, version, state, approval, subtotal, tax, total, sent_at, "
                     "previous_id, owner_id FROM sale_quote WHERE id = :id", id=quote)[0]


def act(client, quote, action, page=None, **data):
    """POST one of the quote's buttons (revise, mark-sent, the workflow's
    transition/accept, approve with a comment...)."""
    return client.post_form(f"{QUOTES}{action}/?id={quote}", data,
                            token_from=page or f"{QUOTES}details/?id={quote}")


def flashes(client, response):
    """The text of the page a redirect leads to (where the flashed message shows)."""
    assert response.status_code == 302, page_text(response)[:2000]
    return page_text(client.get(response.headers["Location"]))


def set_option(suite, key, value):
    """A Sales setting, as Settings > Addon settings would store it."""
    suite.sql("DELETE FROM core_option WHERE addon = 'crm_sales' AND key = :k", k=key)
    suite.sql("INSERT INTO core_option (addon, key, value) VALUES ('crm_sales', :k, :v)",
              k=key, v=str(value))


def team(suite, name, leader, members):
    """A team (record rules with scope "team" follow it)."""
    suite.sql("INSERT INTO core_team (name, leader_id) VALUES (:n, :l)", n=name, l=leader)
    team_id = last_id(suite, "core_team")
    for member in members:
        suite.sql("INSERT INTO core_team_member (team_id, user_id) VALUES (:t, :u)",
                  t=team_id, u=member)
    return team_id
