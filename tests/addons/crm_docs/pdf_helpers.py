"""Helpers the PDF template and issued document tests share."""
import io
import re
from html import unescape

from pypdf import PdfReader

from tests.addons.crm_sales.quote_helpers import (
    QUOTES,
    add_user,
    create_customer,
    create_quote,
    page_text,
)

LINE = {"description": "Consulting", "quantity": "1", "unit_price": "1000", "tax_rate": "6"}
TEMPLATES = "/admin/pdf-template/"
ISSUED = "/admin/issued-document/"


def pdf_text(data):
    assert data[:5] == b"%PDF-", data[:200]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def words(html):
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def salesperson_with_quote(suite, name="ann"):
    client = add_user(suite, name, "sales_user", "contacts_user")
    customer = create_customer(client, suite, f"Acme of {name}",
                               email="buyer@acme.example.com")
    return client, create_quote(client, suite, customer, [LINE])


def send_quote(client, quote, to="buyer@acme.example.com"):
    page = f"{QUOTES}send/?id={quote}"
    response = client.post_form(page, {"to": to, "subject": "Our quotation", "text": "Hello"},
                                token_from=page)
    assert response.status_code == 302, page_text(response)[:2000]
    return response


def quote_pdf(client, quote):
    response = client.get(f"{QUOTES}pdf/?id={quote}")
    assert response.status_code == 200
    return response.get_data()
