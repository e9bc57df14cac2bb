"""Files on any record: the Attachments panel on record pages (quotes, the customer's
360° page), with the record's rights and no documents group needed; uploads all or
nothing; merges move the files; disabling crm_docs hides them and keeps them."""
import importlib
import io
import re
from html import unescape

from core import files, hooks
from tests.addons.crm_sales.quote_helpers import (
    add_user,
    create_customer,
    create_product,
    create_quote,
    page_text,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
UPLOAD = "/admin/attachment/upload/?record={}"


def attachments():
    """The module under test, imported once a suite has loaded the addons (the tests'
    own crm_docs package would shadow it at collection time)."""
    return importlib.import_module("addons.crm_docs.attachments")


def sally_with_quote(suite):
    """Sally, a salesperson with no documents group, her customer and her quote."""
    admin = suite.admin_client()
    product = create_product(admin, suite, "P1", "Widget", 10)
    sally = add_user(suite, "sally", "sales_user", "contacts_user")
    customer = create_customer(sally, suite, "Sally's customer")
    quote = create_quote(sally, suite, customer, [{"product": product, "quantity": 1,
                                                    "unit_price": 10}])
    return admin, sally, customer, quote


def upload(client, record, page, *named_files):
    """POST files (name, bytes) to ``record`` ("Quote:1") with the CSRF token of ``page``."""
    data = {"csrf_token": client.csrf_token(page),
            "files": [(io.BytesIO(content), name) for name, content in named_files]}
    return client.post(UPLOAD.format(record), data=data, content_type="multipart/form-data")


def raw_upload(client, record, page, *named_files):
    """As upload, the body written by hand: the test client drops a backslash from a
    file name, which a browser sends escaped (a\\b.txt)."""
    boundary = "crmboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
             f'{client.csrf_token(page)}\r\n'.encode()]
    for name, content in named_files:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                     f'filename="{quoted}"\r\nContent-Type: text/plain\r\n\r\n'.encode()
                     + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.post(UPLOAD.format(record), data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def attached(suite, model, record_id):
    return suite.sql("SELECT id, name, size FROM crm_document WHERE record_model = :m "
                     "AND record_id = :r ORDER BY id", m=model, r=record_id)


def panel(response):
    """The Attachments panel's HTML on a record page, or None."""
    match = re.search(r'(?s)<div id="attachments".*?</div>\s*</div>\s*</section>',
                      page_text(response))
    return match.group(0) if match else None


def stored_count(suite):
    return suite.sql("SELECT count(*) FROM core_blob")[0][0]


def test_salesperson_attaches_to_own_quote_others_get_404(docs_suite):
    suite = docs_suite
    _admin, sally, _customer, quote = sally_with_quote(suite)
    page = f"/admin/quote/details/?id={quote}"
    html = panel(sally.get(page))
    assert html is not None and "No files yet." in html
    assert 'class="crm-dropzone' in html and 'name="files" multiple' in html

    response = upload(sally, f"Quote:{quote}", page, ("报价单 最终.pdf", PDF),
                      ("notes.txt", b"bring samples\n"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/quote/details/?id={quote}#attachments")
    rows = attached(suite, "Quote", quote)
    assert [(name, size) for _id, name, size in rows] == [("报价单 最终.pdf", len(PDF)),
                                                          ("notes.txt", 14)]
    pdf_id, text_id = rows[0][0], rows[1][0]

    html = unescape(panel(sally.get(page)))
    assert "报价单 最终.pdf" in html and "notes.txt" in html and "sally" in html
    assert f"/admin/attachment/{pdf_id}/preview/" in html         # a PDF opens in the page
    assert f"/admin/attachment/{text_id}/preview/" not in html    # text is only downloaded
    assert html.count("data-confirm") == 2                        # remove, asked first

    shown = sally.get(f"/admin/attachment/{pdf_id}/preview/")
    assert shown.status_code == 200 and shown.data == PDF
    assert shown.headers["Content-Disposition"].startswith("inline;")
    assert "filename*=UTF-8''%E6%8A%A5" in shown.headers["Content-Disposition"]
    fetched = sally.get(f"/admin/attachment/{text_id}/download/")
    assert fetched.data == b"bring samples\n"
    assert fetched.headers["Content-Disposition"].startswith("attachment;")
    assert sally.get(f"/admin/attachment/{text_id}/preview/").headers[
        "Content-Disposition"].startswith("attachment;")

    # Another salesperson: the quote, its files and its upload address do not exist.
    mike = add_user(suite, "mike", "sales_user", "contacts_user")
    token = mike.csrf_token("/admin/")
    for path in (f"/admin/attachment/{pdf_id}/preview/", f"/admin/attachment/{pdf_id}/download/"):
        assert mike.get(path).status_code == 404
    assert mike.post(f"/admin/attachment/{pdf_id}/remove/",
                     data={"csrf_token": token}).status_code == 404
    assert upload(mike, f"Quote:{quote}", "/admin/", ("x.txt", b"x")).status_code == 404
    assert len(attached(suite, "Quote", quote)) == 2

    # Sally removes one (POST with the token only).
    assert sally.post(f"/admin/attachment/{text_id}/remove/").status_code == 400
    response = sally.post(f"/admin/attachment/{text_id}/remove/",
                          data={"csrf_token": sally.csrf_token(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith("#attachments")
    assert [row[0] for row in attached(suite, "Quote", quote)] == [pdf_id]
    # Signed out: the sign-in page.
    visitor = suite.client()
    assert visitor.get(f"/admin/attachment/{pdf_id}/download/").headers[
        "Location"].startswith("/login")


def test_reader_only_may_not_upload_or_remove(docs_suite):
    suite = docs_suite
    admin, sally, _customer, quote = sally_with_quote(suite)
    page = f"/admin/quote/details/?id={quote}"
    assert upload(sally, f"Quote:{quote}", page, ("a.txt", b"first\n")).status_code == 302
    (file_id, _name, _size), = attached(suite, "Quote", quote)
    suite.sql("INSERT INTO core_group (code, name) VALUES ('quote_reader', 'Quote reader')")
    suite.sql("INSERT INTO core_access (group_id, model, letters, scope) SELECT id, 'Quote', "
              "'r', 'all' FROM core_group WHERE code = 'quote_reader'")
    reader = add_user(suite, "rita", "quote_reader")
    html = panel(reader.get(page))
    assert "a.txt" in html and "crm-dropzone" not in html and "data-confirm" not in html
    assert reader.get(f"/admin/attachment/{file_id}/download/").data == b"first\n"
    blobs = stored_count(suite)
    assert upload(reader, f"Quote:{quote}", page, ("b.txt", b"second\n")).status_code == 403
    assert reader.post(f"/admin/attachment/{file_id}/remove/",
                       data={"csrf_token": reader.csrf_token(page)}).status_code == 403
    assert [row[0] for row in attached(suite, "Quote", quote)] == [file_id]
    assert stored_count(suite) == blobs


def test_bad_uploads_store_nothing(docs_suite):
    suite = docs_suite
    admin, sally, customer, quote = sally_with_quote(suite)
    page = f"/admin/quote/details/?id={quote}"
    blobs = stored_count(suite)
    folder = suite.settings().files_folder

    def files_on_disk():
        return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []

    on_disk = files_on_disk()
    for named_files, message in (
            ([("empty.txt", b"")], "The file is empty."),
            ([("good.txt", b"fine\n"), ("a\u202etxt.exe", b"x\n")], "right-to-left"),
            ([("good.txt", b"fine\n"), ("../../etc/passwd", b"root\n")], "may not contain"),
            ([("good.txt", b"fine\n"), ("a\\b.txt", b"x\n")], "may not contain"),
            ([("good.txt", b"fine\n"), ("fake.pdf", b"<script>alert(1)</script>")],
             "not PDF"),
    ):
        response = raw_upload(sally, f"Quote:{quote}", page, *named_files)
        assert response.status_code == 302
        shown = unescape(page_text(sally.get(page)))
        flashes = re.findall(r"(?s)<div class=\"alert[^>]*>(.*?)</div>", shown)
        assert any("Nothing was added" in f and message in f for f in flashes), (named_files, flashes)
        assert attached(suite, "Quote", quote) == []
        assert stored_count(suite) == blobs and files_on_disk() == on_disk
    # No file chosen: said so.
    response = sally.post(UPLOAD.format(f"Quote:{quote}"),
                          data={"csrf_token": sally.csrf_token(page),
                                "files": [(io.BytesIO(b""), "")]},
                          content_type="multipart/form-data")
    assert "Choose a file first." in page_text(sally.get(page))
    # Records that do not exist, carry no files, or whose model is not known: 404.
    for reference in (f"Quote:{quote + 100}", "User:1", "Folder:1", "Nothing:1", "Quote:x", ""):
        assert upload(admin, reference, "/admin/", ("a.txt", b"a\n")).status_code == 404
    assert stored_count(suite) == blobs


def test_customer_page_shows_files_and_merge_moves_them(docs_suite):
    suite = docs_suite
    admin = suite.admin_client()
    first = create_customer(admin, suite, "Acme")
    second = create_customer(admin, suite, "ACME Co.")
    page = f"/admin/customer/details/?id={first}"
    assert upload(admin, f"Customer:{first}", page, ("map.png", b"\x89PNG\r\n\x1a\n0000")
                  ).status_code == 302
    assert upload(admin, f"Customer:{second}", page, ("contract.txt", b"signed\n")
                  ).status_code == 302
    html = panel(admin.get(page))
    assert "map.png" in html and "contract.txt" not in html   # the 360° page
    # The addresses behind the panel are no screen: not in the menu nor on the home page.
    assert "/admin/attachment" not in page_text(admin.get("/admin/"))
    response = admin.post_form("/admin/customer/merge/", {"ids": f"{first},{second}",
                                                          "keep": str(first)},
                               token_from=f"/admin/customer/merge/?ids={first},{second}")
    assert response.status_code == 302
    assert [name for _id, name, _size in attached(suite, "Customer", first)] == [
        "map.png", "contract.txt"]
    assert attached(suite, "Customer", second) == []
    html = panel(admin.get(page))
    assert "map.png" in html and "contract.txt" in html


def test_disabling_hides_the_panel_and_keeps_the_files(docs_suite):
    suite = docs_suite
    admin = suite.admin_client()
    customer = create_customer(admin, suite, "Acme")
    page = f"/admin/customer/details/?id={customer}"
    assert upload(admin, f"Customer:{customer}", page, ("a.txt", b"kept\n")).status_code == 302
    (file_id, _name, _size), = attached(suite, "Customer", customer)
    assert suite.run("addons", "disable", "crm_docs").exit_code == 0
    shown = admin.get(page)
    assert shown.status_code == 200 and panel(shown) is None
    assert "Attachments" not in page_text(shown)
    assert admin.get(f"/admin/attachment/{file_id}/download/").status_code == 404
    assert len(attached(suite, "Customer", customer)) == 1 and stored_count(suite) == 1
    assert suite.run("addons", "enable", "crm_docs").exit_code == 0
    assert "a.txt" in panel(admin.get(page))
    assert admin.get(f"/admin/attachment/{file_id}/download/").data == b"kept\n"


def test_panel_costs_at_most_two_queries(docs_suite, monkeypatch):
    """A quote page and a customer page, with files: the panel's queries over the same
    page's without the panel's handler."""
    suite = docs_suite
    admin, sally, customer, quote = sally_with_quote(suite)
    pages = {f"/admin/quote/details/?id={quote}": f"Quote:{quote}",
             f"/admin/customer/details/?id={customer}": f"Customer:{customer}"}
    for page, reference in pages.items():
        for number in range(3):
            assert upload(sally, reference, page, (f"f{number}.txt", b"%d\n" % number)
                          ).status_code == 302
    with_panel = {page: len(sally.queries(page)) for page in pages}
    handlers = [h for h in hooks._handlers["record.panels"]
                if h is not attachments().attachments_panel]
    monkeypatch.setitem(hooks._handlers, "record.panels", handlers)
    for page in pages:
        assert panel(sally.get(page)) is None
        without = len(sally.queries(page))
        assert with_panel[page] - without == 1, (page, with_panel[page], without)
    # All that Documents adds to a record page (the Attachments panel, the issued PDFs'),
    # against the same page with the addon disabled.
    monkeypatch.undo()
    assert suite.run("addons", "disable", "crm_docs").exit_code == 0
    for page in pages:
        sally.get(page)
        without = len(sally.queries(page))
        assert with_panel[page] - without <= 2, (page, with_panel[page], without)


def test_no_panel_on_the_addons_own_pages_nor_the_cores(docs_suite):
    docs_suite.client()
    models = importlib.import_module("addons.crm_docs.models")
    quote = importlib.import_module("addons.crm_sales.models").Quote
    from core.models import User
    assert attachments().attachable(quote)
    assert not any(attachments().attachable(m)
                   for m in (models.Document, models.Folder, models.IssuedDocument, User))


def test_size_text(docs_suite):
    docs_suite.client()
    assert [files.size_text(n) for n in (0, 512, 2048, 15 * 1024, 3 * 2 ** 20 + 2 ** 19)] \
        == ["0 B", "512 B", "2.0 KB", "15 KB", "3.5 MB"]


def test_a_deleted_record_takes_its_files_with_it(docs_suite):
    suite = docs_suite
    admin = suite.admin_client()
    doomed = create_customer(admin, suite, "Gone Ltd")
    kept = create_customer(admin, suite, "Stays Ltd")
    for customer in (doomed, kept):
        page = f"/admin/customer/details/?id={customer}"
        assert upload(admin, f"Customer:{customer}", page, ("note.txt", b"hello\n")
                      ).status_code == 302
    response = admin.post_form("/admin/customer/delete/", {"id": str(doomed)},
                               token_from=f"/admin/customer/details/?id={doomed}")
    assert response.status_code == 302
    assert suite.sql("SELECT count(*) FROM crm_customer WHERE id = :i", i=doomed)[0][0] == 0
    assert attached(suite, "Customer", doomed) == []
    assert len(attached(suite, "Customer", kept)) == 1
    assert suite.sql("SELECT count(*) FROM crm_document_version")[0][0] == 1
