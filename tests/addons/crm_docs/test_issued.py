"""Issued documents: a quote sent by email is kept as sent (bytes, SHA-256, template
version, who, to whom, the outbox message), never changed; "Resend" sends those bytes;
a contract activated is kept as signed; only who may read the record gets the PDF; the
suite sends quotes without crm_docs too."""
import hashlib

import pytest

from tests.addons.crm_docs.pdf_helpers import (
    ISSUED,
    add_user,
    page_text,
    pdf_text,
    salesperson_with_quote,
    send_quote,
    words,
)
from tests.addons.crm_sales.quote_helpers import QUOTES, last_id


def issued_rows(suite):
    return suite.sql("SELECT id, record_model, record_id, kind, event, filename, sha256, "
                     "size, template, template_version, recipients, message_id, "
                     "issued_by_id FROM crm_issued_document ORDER BY id")


def attachment(suite, message_id):
    return bytes(suite.sql("SELECT data FROM core_message_attachment WHERE message_id = :m",
                           m=message_id)[0][0])


def test_a_sent_quote_is_kept_as_sent(docs_suite):
    ann, quote = salesperson_with_quote(docs_suite)
    send_quote(ann, quote, to="buyer@acme.example.com, boss@acme.example.com")
    [row] = issued_rows(docs_suite)
    assert (row.record_model, row.record_id, row.kind, row.event) == ("Quote", quote,
                                                                      "quote", "sent")
    assert row.template == "crm_sales/quote.html" and row.template_version is None
    assert row.recipients == "buyer@acme.example.com, boss@acme.example.com"
    assert row.issued_by_id == docs_suite.sql(
        "SELECT id FROM core_user WHERE username = 'ann'")[0][0]
    assert row.filename.endswith(".pdf")
    # The stored bytes are the email's attachment, and hash to the row's SHA-256.
    sent = attachment(docs_suite, row.message_id)
    download = ann.get(f"{ISSUED}download/?id={row.id}")
    assert download.status_code == 200
    stored = download.get_data()
    assert stored == sent and len(stored) == row.size
    assert hashlib.sha256(stored).hexdigest() == row.sha256
    assert "attachment;" in download.headers["Content-Disposition"]

    # The quote's page lists it, with who, to whom, and the short hash.
    page = words(page_text(ann.get(f"{QUOTES}details/?id={quote}")))
    assert "Issued documents" in page
    assert f"Quote {row.filename}" in page
    assert "sent" in page and "buyer@acme.example.com, boss@acme.example.com" in page
    assert row.sha256[:12] in page

    # The core's check finds every stored content intact.
    from core import files
    with docs_suite.app().app_context():
        assert list(files.check()) == []


def test_resend_sends_the_stored_bytes(docs_suite):
    ann, quote = salesperson_with_quote(docs_suite)
    send_quote(ann, quote)
    [first] = issued_rows(docs_suite)
    stored = ann.get(f"{ISSUED}download/?id={first.id}").get_data()
    # Whatever changes afterwards (the company's name on the letterhead), resending
    # sends what was issued.
    docs_suite.sql("UPDATE crm_customer SET name = 'Renamed Ltd'")
    page = f"{ISSUED}resend/?id={first.id}"
    form = page_text(ann.get(page))
    assert 'value="buyer@acme.example.com"' in form
    response = ann.post_form(page, {"to": "other@acme.example.com", "subject": "Again",
                                    "text": "As sent"}, token_from=page)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{QUOTES}details/?id={quote}")
    rows = issued_rows(docs_suite)
    assert len(rows) == 2
    again = rows[1]
    assert again.event == "resent" and again.sha256 == first.sha256
    assert again.recipients == "other@acme.example.com"
    assert again.message_id != first.message_id
    assert attachment(docs_suite, again.message_id) == stored
    assert docs_suite.sql("SELECT related_model, related_id, subject FROM core_message "
                          "WHERE id = :m", m=again.message_id) == [("Quote", quote, "Again")]
    # Bad addresses are refused, and nothing is sent.
    response = ann.post_form(page, {"to": "not an address", "subject": "x"}, token_from=page)
    assert "Not a valid email address" in page_text(response)
    assert len(issued_rows(docs_suite)) == 2


def test_only_who_may_read_the_record_gets_its_pdfs(docs_suite):
    ann, quote = salesperson_with_quote(docs_suite, "ann")
    send_quote(ann, quote)
    [row] = issued_rows(docs_suite)
    bob = add_user(docs_suite, "bob", "sales_user", "contacts_user")
    assert bob.get(f"{ISSUED}download/?id={row.id}").status_code == 404
    assert bob.get(f"{ISSUED}resend/?id={row.id}").status_code == 404
    assert bob.post_form(f"{ISSUED}resend/?id={row.id}", {"to": "x@example.com",
                                                          "subject": "x"}).status_code == 404
    assert bob.get(f"{ISSUED}download/?id=999").status_code == 404
    # The list is for document managers only.
    assert bob.get(ISSUED).status_code == 403
    assert ann.get(ISSUED).status_code == 403
    manager = add_user(docs_suite, "dora", "docs_manager")
    page = words(page_text(manager.get(ISSUED)))
    assert row.filename in page and "ann" in page
    assert manager.get(f"{ISSUED}download/?id={row.id}").status_code == 200
    export = manager.get(f"{ISSUED}export/csv/")
    assert export.status_code == 200 and row.sha256 in export.get_data(as_text=True)
    # A manager who may not read the quote may not send it again.
    assert manager.get(f"{ISSUED}resend/?id={row.id}").status_code == 404
    # Filters: by what happened, by the kind of document.
    page = page_text(manager.get(ISSUED))
    assert 'Issued as' in page and '"signed"' in page and '["contract", "Contract"]' in page
    assert row.filename in page_text(manager.get(f"{ISSUED}?flt0_issued_as_equals=sent"))
    assert row.filename not in page_text(manager.get(f"{ISSUED}?flt0_issued_as_equals=signed"))
    assert row.filename not in page_text(manager.get(f"{ISSUED}?flt0_document_equals=contract"))


def test_issued_documents_are_never_changed(docs_suite):
    ann, quote = salesperson_with_quote(docs_suite)
    send_quote(ann, quote)
    from addons.crm_docs.issued import Immutable
    from addons.crm_docs.models import IssuedDocument
    from core.db import db
    with docs_suite.app().app_context():
        row = db.session.get(IssuedDocument, 1)
        row.recipients = "someone@else.example.com"
        with pytest.raises(Immutable):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(IssuedDocument, 1))
        with pytest.raises(Immutable):
            db.session.flush()
        db.session.rollback()
    assert issued_rows(docs_suite)[0].recipients == "buyer@acme.example.com"


def test_an_activated_contract_is_kept_as_signed(docs_suite):
    admin = docs_suite.admin_client()
    _ann, quote = salesperson_with_quote(docs_suite)
    customer = docs_suite.sql("SELECT customer_id FROM sale_quote WHERE id = :q", q=quote)[0][0]
    new = "/admin/contract/new/"
    response = admin.post_form(new, {
        "title": "Annual maintenance", "customer": str(customer), "start_date": "2026-01-01",
        "end_date": "2026-12-31", "value": "120000", "currency": "CNY", "status": "draft"},
        token_from=new)
    assert response.status_code == 302
    contract = last_id(docs_suite, "sale_contract")
    assert issued_rows(docs_suite) == []
    details = f"/admin/contract/details/?id={contract}"
    response = admin.post_form(f"/admin/contract/transition/activate/?id={contract}", {},
                               token_from=details)
    assert response.status_code == 302
    [row] = issued_rows(docs_suite)
    assert (row.record_model, row.kind, row.event, row.recipients) == \
        ("Contract", "contract", "signed", "")
    data = admin.get(f"{ISSUED}download/?id={row.id}").get_data()
    assert "Annual maintenance" in pdf_text(data)
    assert "Issued documents" in page_text(admin.get(details))


def test_quotes_are_sent_without_crm_docs(sales_suite):
    ann, quote = salesperson_with_quote(sales_suite)
    send_quote(ann, quote)
    assert sales_suite.sql("SELECT state FROM sale_quote WHERE id = :q", q=quote) == [("sent",)]
    assert sales_suite.sql("SELECT count(*) FROM core_message_attachment") == [(1,)]
    assert "Issued documents" not in page_text(ann.get(f"{QUOTES}details/?id={quote}"))
