"""PDF templates edited in the screens: the edited text is used for the next PDF, a
template that fails is refused with its line and nothing saved, every save is a version,
restore and back to the file, and the preview is the PDF that is issued."""
import re
from html import unescape

from tests.addons.crm_docs.pdf_helpers import (
    TEMPLATES,
    add_user,
    page_text,
    pdf_text,
    quote_pdf,
    salesperson_with_quote,
    send_quote,
    words,
)

EDIT = f"{TEMPLATES}edit/quote/"
QUOTE_FILE = "crm_sales/quote.html"


def current_text_of(html):
    """The text in the editor of a template's page."""
    return unescape(re.search(r'(?s)<textarea id="source"[^>]*>(.*?)</textarea>',
                              html).group(1))


def current_text(client):
    return current_text_of(page_text(client.get(EDIT)))


def save(client, source, comment="", record=None):
    data = {"source": source, "comment": comment}
    if record is not None:
        data["record"] = str(record)
    return client.post_form(EDIT, data, token_from=EDIT)


def marked(text, marker):
    """The quote template with a marker printed under its title."""
    return text.replace("{% block body %}", "{% block body %}<p>" + marker + "</p>", 1)


def versions(suite):
    return suite.sql("SELECT number, source IS NULL, comment FROM crm_doc_template_version "
                     "WHERE template = :t ORDER BY number", t=QUOTE_FILE)


def test_the_list_names_the_documents_and_who_may_edit(docs_suite):
    admin = docs_suite.admin_client()
    page = words(page_text(admin.get(TEMPLATES)))
    assert "Quote crm_sales/quote.html standard file" in page
    assert "Address labels crm_contacts/labels.html" in page
    assert "Contract" in page and "Envelopes" in page
    mina = add_user(docs_suite, "mina", "docs_template_editor")
    assert mina.get(TEMPLATES).status_code == 200
    sally = add_user(docs_suite, "sally", "sales_user", "docs_user")
    assert sally.get(TEMPLATES).status_code == 403
    assert sally.get(EDIT).status_code == 403
    assert sally.post_form(EDIT, {"source": "x"}).status_code == 403
    assert admin.get(f"{TEMPLATES}edit/nothing/").status_code == 404


def test_an_edited_quote_template_changes_the_next_quote_pdf(docs_suite):
    admin = docs_suite.admin_client()
    ann, quote = salesperson_with_quote(docs_suite)
    original = current_text(admin)
    assert "{% block body %}" in original
    assert "EDITED-IN-THE-SCREENS" not in pdf_text(quote_pdf(ann, quote))

    response = save(admin, marked(original, "EDITED-IN-THE-SCREENS"), "our marker")
    assert response.status_code == 302
    assert "EDITED-IN-THE-SCREENS" in pdf_text(quote_pdf(ann, quote))
    assert versions(docs_suite) == [(1, False, "our marker")]
    page = words(page_text(admin.get(TEMPLATES)))
    assert re.search(r"Quote crm_sales/quote.html edited, version 1 by admin on \d{4}-", page)
    # The editor now opens on the saved text.
    assert "EDITED-IN-THE-SCREENS" in current_text(admin)


def test_a_broken_template_is_refused_with_its_line_and_nothing_saved(docs_suite):
    admin = docs_suite.admin_client()
    salesperson_with_quote(docs_suite)
    original = current_text(admin)

    broken = "{% extends \"pdf/base.html\" %}\n{% block body %}\n{% if %}\n{% endblock %}"
    page = words(page_text(save(admin, broken)))
    assert "Not saved. Line 3: Syntax error" in page
    # The text stays in the editor.
    assert "{% if %}" in current_text_of(page_text(save(admin, broken)))

    unknown = original.replace("{% block body %}", "{% block body %}\n{{ secret.password }}", 1)
    line = unknown.splitlines().index("{{ secret.password }}") + 1
    page = words(page_text(save(admin, unknown)))
    assert f"Not saved. Line {line}: Unknown name secret" in page
    assert "gives the template quote" in page

    failing = original.replace("{% block body %}", "{% block body %}\n\n{{ quote.lines[99].no }}", 1)
    line = failing.splitlines().index("{{ quote.lines[99].no }}") + 1
    page = words(page_text(save(admin, failing)))
    assert "Not saved." in page and "It does not render" in page
    assert f"Line {line}:" in page

    # The sandbox stays: no way out to Python's internals.
    escape = original.replace("{% block body %}",
                              "{% block body %}{{ quote.__class__.__mro__ }}", 1)
    assert "Not saved." in words(page_text(save(admin, escape)))
    assert versions(docs_suite) == []


def test_restore_an_old_version_and_go_back_to_the_file(docs_suite):
    admin = docs_suite.admin_client()
    ann, quote = salesperson_with_quote(docs_suite)
    original = current_text(admin)
    assert save(admin, marked(original, "FIRST-EDIT"), "first").status_code == 302
    assert save(admin, marked(original, "SECOND-EDIT"), "second").status_code == 302
    text = pdf_text(quote_pdf(ann, quote))
    assert "SECOND-EDIT" in text and "FIRST-EDIT" not in text

    first = docs_suite.sql("SELECT id FROM crm_doc_template_version WHERE number = 1")[0][0]
    response = admin.post_form(f"{TEMPLATES}restore/quote/", {"version": str(first)},
                               token_from=EDIT)
    assert response.status_code == 302
    assert "FIRST-EDIT" in pdf_text(quote_pdf(ann, quote))
    assert versions(docs_suite)[-1] == (3, False, "Restored version 1")

    response = admin.post_form(f"{TEMPLATES}restore/quote/", {"version": "file"},
                               token_from=EDIT)
    assert response.status_code == 302
    text = pdf_text(quote_pdf(ann, quote))
    assert "FIRST-EDIT" not in text and "SECOND-EDIT" not in text
    assert versions(docs_suite)[-1] == (4, True, "Back to the standard file")
    assert current_text(admin) == original
    history = words(page_text(admin.get(EDIT)))
    assert "Back to the standard file" in history and "first" in history
    # A template editor may restore; a version of another template is not found.
    mina = add_user(docs_suite, "mina", "docs_template_editor")
    assert mina.post_form(f"{TEMPLATES}restore/contract/", {"version": str(first)},
                          token_from=EDIT).status_code == 404


def test_the_preview_is_the_pdf_that_is_issued(docs_suite):
    admin = docs_suite.admin_client()
    ann, quote = salesperson_with_quote(docs_suite)
    draft = marked(current_text(admin), "PREVIEWED-DRAFT")
    response = admin.post_form(f"{TEMPLATES}preview/quote/",
                               {"source": draft, "record": str(quote)}, token_from=EDIT)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    preview = pdf_text(response.get_data())
    assert "PREVIEWED-DRAFT" in preview
    # Previewing saved nothing.
    assert versions(docs_suite) == []

    assert save(admin, draft, record=quote).status_code == 302
    send_quote(ann, quote)
    sha, version = docs_suite.sql("SELECT sha256, template_version FROM crm_issued_document")[0]
    assert version == 1
    issued = admin.get("/admin/issued-document/download/?id=1").get_data()
    assert pdf_text(issued) == preview

    # A draft that does not render shows why in the frame, not a PDF.
    response = admin.post_form(f"{TEMPLATES}preview/quote/",
                               {"source": "{% if %}", "record": str(quote)}, token_from=EDIT)
    assert response.mimetype == "text/html"
    assert "Line 1: Syntax error" in words(page_text(response))


def test_the_record_picker_lists_only_readable_records(docs_suite):
    ann, quote = salesperson_with_quote(docs_suite, "ann")
    _bob, other = salesperson_with_quote(docs_suite, "bob")
    mina = add_user(docs_suite, "mina", "docs_template_editor", "sales_user")
    html = page_text(mina.get(EDIT))
    assert f'<option value="{quote}"' not in html and f'<option value="{other}"' not in html
    admin = docs_suite.admin_client()
    html = page_text(admin.get(EDIT))
    assert f'<option value="{quote}"' in html and f'<option value="{other}"' in html
    # mina may not preview with a quote she cannot read: the form falls back to none.
    response = mina.post_form(f"{TEMPLATES}preview/quote/",
                              {"source": "x", "record": str(quote)}, token_from=TEMPLATES)
    assert "no record you may read to preview" in words(page_text(response))


def test_every_standard_template_saves_unchanged_and_previews(docs_suite):
    admin = docs_suite.admin_client()
    _ann, quote = salesperson_with_quote(docs_suite)
    customer = docs_suite.sql("SELECT customer_id FROM sale_quote WHERE id = :q", q=quote)[0][0]
    for kind in ("quote", "contract", "labels", "envelopes"):
        page = f"{TEMPLATES}edit/{kind}/"
        text = current_text_of(page_text(admin.get(page)))
        response = admin.post_form(page, {"source": text, "comment": "as it was"},
                                   token_from=page)
        assert response.status_code == 302, words(page_text(response))[:500]
    # Labels are previewed from a customer; a contract, with none yet, offers no preview.
    labels = page_text(admin.get(f"{TEMPLATES}edit/labels/"))
    assert f'<option value="{customer}"' in labels
    response = admin.post_form(f"{TEMPLATES}preview/labels/", {
        "source": current_text_of(labels), "record": str(customer)}, token_from=TEMPLATES)
    assert "Acme of ann" in pdf_text(response.get_data())
    assert "no record you may read to preview this document with" in words(
        page_text(admin.get(f"{TEMPLATES}edit/contract/")))
