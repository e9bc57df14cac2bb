"""The library's screens (addons/crm_docs/library.py): folders with group access, the
upload page (several files, all stored or none), the document page with versions and
check-out, downloads and previews."""
import io
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.addons.crm_contacts.helpers import add_user

UPLOAD = "/admin/document/new/"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def group_id(suite, code):
    return suite.sql("SELECT id FROM core_group WHERE code = :c", c=code)[0][0]


def add_folder(client, name, parent=None, readers=(), writers=()):
    data = {"name": name, "readers": [str(g) for g in readers],
            "writers": [str(g) for g in writers], "description": ""}
    if parent:
        data["parent"] = str(parent)
    response = client.post_form("/admin/doc-folder/new/", data, token_from="/admin/doc-folder/new/")
    assert response.status_code == 302, page_errors(response)
    return int(re.search(r"id=(\d+)", response.headers["Location"]).group(1))


def upload(client, folder, *named_files, **fields):
    """POST the upload page with ``named_files`` as (name, bytes)."""
    data = {"csrf_token": client.csrf_token(UPLOAD), "folder": str(folder),
            "files": [(io.BytesIO(content), name) for name, content in named_files], **fields}
    return client.post(UPLOAD, data=data)


def page_errors(response):
    text = response.get_data(as_text=True)
    return " ".join(re.sub(r"\s+", " ", found).strip() for found in re.findall(
        r'class="(?:invalid-feedback[^"]*|alert alert-[a-z]+[^"]*)">(.*?)</(?:div|ul)>', text, re.S))


def doc_id(suite, name):
    return suite.sql("SELECT id FROM crm_document WHERE name = :n", n=name)[0][0]


def count(suite, table):
    return suite.sql(f"SELECT count(*) FROM {table}")[0][0]


def stored_files(suite):
    folder = Path(suite.settings().files_folder)
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def flashes(client, path):
    return page_errors(client.get(path))


# -- access by folder group ------------------------------------------------------------

def test_folder_readers_decide_who_sees_a_document(docs_suite):
    admin = docs_suite.admin_client()
    managers = group_id(docs_suite, "docs_manager")
    public = add_folder(admin, "Public")
    secret = add_folder(admin, "Board", readers=[managers])
    inside = add_folder(admin, "Minutes", parent=secret)   # no groups: the parent's
    assert upload(admin, public, ("price list.pdf", PDF)).status_code == 302
    assert upload(admin, secret, ("salaries.pdf", PDF)).status_code == 302
    assert upload(admin, inside, ("minutes.pdf", PDF)).status_code == 302
    sally = add_user(docs_suite, "sally", "docs_user")
    mike = add_user(docs_suite, "mike", "docs_manager")

    listed = sally.get("/admin/document/").get_data(as_text=True)
    assert "price list.pdf" in listed
    assert "salaries.pdf" not in listed and "minutes.pdf" not in listed
    for name in ("salaries.pdf", "minutes.pdf"):
        hidden = doc_id(docs_suite, name)
        for path in (f"/admin/document/details/?id={hidden}",
                     f"/admin/document/download/?id={hidden}",
                     f"/admin/document/download/?id={hidden}&version=1",
                     f"/admin/document/preview/?id={hidden}",
                     f"/admin/document/edit/?id={hidden}"):
            assert sally.get(path).status_code == 404, path
        assert mike.get(f"/admin/document/download/?id={hidden}&version=1").status_code == 200
    # Nor the folders themselves, in the tree or by address; nor by the folder filter.
    tree = sally.get("/admin/doc-folder/").get_data(as_text=True)
    assert "Public" in tree and "Board" not in tree and "Minutes" not in tree
    assert sally.get(f"/admin/doc-folder/details/?id={secret}").status_code == 404
    filtered = sally.get(f"/admin/document/?flt0_folder_in={secret}").get_data(as_text=True)
    assert "salaries.pdf" not in filtered and "minutes.pdf" not in filtered
    # A version number that does not exist is no way in either.
    shown = doc_id(docs_suite, "price list.pdf")
    assert sally.get(f"/admin/document/download/?id={shown}&version=7").status_code == 404
    assert sally.get(f"/admin/document/download/?id={shown}&version=1").status_code == 200


def test_folder_writers_decide_who_adds_and_changes(docs_suite):
    admin = docs_suite.admin_client()
    managers = group_id(docs_suite, "docs_manager")
    shared = add_folder(admin, "Shared")
    published = add_folder(admin, "Published", writers=[managers])
    assert upload(admin, published, ("catalogue.pdf", PDF)).status_code == 302
    document = doc_id(docs_suite, "catalogue.pdf")
    sally = add_user(docs_suite, "sally", "docs_user")
    mike = add_user(docs_suite, "mike", "docs_manager")

    form = sally.get(UPLOAD).get_data(as_text=True)
    assert "Shared" in form and "Published" not in form
    refused = upload(sally, published, ("mine.pdf", PDF))
    assert refused.status_code == 200
    assert "Choose a folder you may add documents to." in page_errors(refused)
    assert count(docs_suite, "crm_document") == 1
    assert upload(sally, shared, ("mine.pdf", PDF)).status_code == 302

    page = sally.get(f"/admin/document/details/?id={document}").get_data(as_text=True)
    assert "Upload a new version" not in page and "Check out" not in page
    assert "crm-edit" not in page
    sally.post(f"/admin/document/new-version/?id={document}", data={
        "csrf_token": sally.csrf_token(f"/admin/document/details/?id={document}"),
        "file": (io.BytesIO(PDF + b"v2"), "catalogue.pdf")})
    assert count(docs_suite, "crm_document_version") == 2   # one each, nothing added
    edited = sally.post_form(f"/admin/document/edit/?id={document}",
                             {"name": "renamed.pdf", "folder": str(shared)})
    assert edited.status_code == 302
    assert docs_suite.sql("SELECT name FROM crm_document WHERE id = :i", i=document) == [
        ("catalogue.pdf",)]
    # Moving a document to a folder one may not write is not offered either.
    mine = doc_id(docs_suite, "mine.pdf")
    moved = sally.post_form(f"/admin/document/edit/?id={mine}",
                            {"name": "mine.pdf", "folder": str(published)},
                            token_from=f"/admin/document/edit/?id={mine}")
    assert moved.status_code == 200
    assert docs_suite.sql("SELECT folder_id FROM crm_document WHERE id = :i", i=mine) == [
        (shared,)]

    page = mike.get(f"/admin/document/details/?id={document}").get_data(as_text=True)
    assert "Upload a new version" in page and "crm-edit" in page
    changed = mike.post_form(f"/admin/document/edit/?id={document}",
                             {"name": "Catalogue 2027.pdf", "folder": str(published),
                              "description": "For the fair"},
                             token_from=f"/admin/document/edit/?id={document}")
    assert changed.status_code == 302, page_errors(changed)
    assert docs_suite.sql("SELECT name, description FROM crm_document WHERE id = :i",
                          i=document) == [("Catalogue 2027.pdf", "For the fair")]


def test_only_managers_delete_and_folders_make_no_cycles(docs_suite):
    admin = docs_suite.admin_client()
    top = add_folder(admin, "Sales")
    child = add_folder(admin, "Quotes", parent=top)
    grandchild = add_folder(admin, "2026", parent=child)
    looped = admin.post_form(f"/admin/doc-folder/edit/?id={top}",
                             {"name": "Sales", "parent": str(grandchild)},
                             token_from=f"/admin/doc-folder/edit/?id={top}")
    assert looped.status_code == 200
    assert "cannot be inside itself" in page_errors(looped)
    assert docs_suite.sql("SELECT parent_id FROM crm_doc_folder WHERE id = :i", i=top) == [
        (None,)]
    twin = admin.post_form("/admin/doc-folder/new/", {"name": "Quotes", "parent": str(top)},
                           token_from="/admin/doc-folder/new/")
    assert "already has a subfolder with that name" in page_errors(twin)
    # The tree: each folder after its parent, indented.
    tree = admin.get("/admin/doc-folder/").get_data(as_text=True)
    assert tree.index(">Sales<") < tree.index(">Quotes<") < tree.index(">2026<")

    assert upload(admin, child, ("q.pdf", PDF)).status_code == 302
    document = doc_id(docs_suite, "q.pdf")
    sally = add_user(docs_suite, "sally", "docs_user")
    refused = sally.post_form("/admin/document/delete/", {"id": str(document)},
                              token_from="/admin/document/")
    assert refused.status_code == 403
    kept = admin.post_form("/admin/doc-folder/delete/", {"id": str(child)},
                           token_from="/admin/doc-folder/")
    assert kept.status_code == 302
    assert count(docs_suite, "crm_doc_folder") == 3
    mike = add_user(docs_suite, "mike", "docs_manager")
    gone = mike.post_form("/admin/document/delete/", {"id": str(document)},
                          token_from="/admin/document/")
    assert gone.status_code == 302
    for table in ("crm_document", "crm_document_version", "crm_document_tag",
                  "crm_document_text"):
        assert count(docs_suite, table) == 0, table


# -- uploads ---------------------------------------------------------------------------------

def test_several_files_at_once_with_tags_and_unicode_names(docs_suite):
    admin = docs_suite.admin_client()
    folder = add_folder(admin, "合同")
    response = upload(admin, folder, ("报价单 2026.pdf", PDF), ("photo.png", PNG),
                      ("notes.txt", "第一行\n".encode()), new_tags="产品, Fair",
                      description="From the fair")
    assert response.status_code == 302
    assert f"/admin/doc-folder/details/?id={folder}" in response.headers["Location"]
    rows = docs_suite.sql("SELECT name, kind, version, description FROM crm_document "
                          "ORDER BY name")
    assert rows == [("notes.txt", "text", 1, "From the fair"),
                    ("photo.png", "png", 1, "From the fair"),
                    ("报价单 2026.pdf", "pdf", 1, "From the fair")]
    assert count(docs_suite, "crm_document_version") == 3
    assert sorted(r[0] for r in docs_suite.sql("SELECT name FROM crm_doc_tag")) == ["Fair", "产品"]
    assert count(docs_suite, "crm_document_tag") == 6
    listed = admin.get("/admin/document/?search=报价单").get_data(as_text=True)
    assert "报价单 2026.pdf" in listed and "合同" in listed
    folder_page = admin.get(f"/admin/doc-folder/details/?id={folder}").get_data(as_text=True)
    assert "photo.png" in folder_page and "Upload here" in folder_page
    # One file alone opens its page.
    single = upload(admin, folder, ("one.pdf", PDF))
    assert "/admin/document/details/" in single.headers["Location"]


def test_one_refused_file_stores_nothing(docs_suite):
    admin = docs_suite.admin_client()
    folder = add_folder(admin, "Contracts")
    response = upload(admin, folder, ("good.pdf", PDF), ("photo.png", PNG),
                      ("fake.pdf", b"MZ\x90\x00 this is a program"))
    assert response.status_code == 200
    message = page_errors(response)
    assert "fake.pdf" in message and "Nothing was stored." in message
    assert count(docs_suite, "crm_document") == 0
    assert count(docs_suite, "crm_document_version") == 0
    assert count(docs_suite, "core_blob") == 0
    assert stored_files(docs_suite) == []


@pytest.mark.parametrize("name, content, expected", [
    ("a/b.pdf", PDF, "may not contain / or"),
    ("invoice\u202efdp.exe", b"MZ", "control or right-to-left"),
    ("empty.txt", b"", "The file is empty."),
    ("report.pdf", b"hello, this is no PDF", "is not PDF"),
])
def test_bad_files_are_refused_with_a_message(docs_suite, name, content, expected):
    admin = docs_suite.admin_client()
    folder = add_folder(admin, "Inbox")
    response = upload(admin, folder, ("fine.txt", b"fine"), (name, content))
    assert response.status_code == 200
    assert expected in page_errors(response)
    assert count(docs_suite, "crm_document") == 0
    assert stored_files(docs_suite) == []


# -- versions and check-out ----------------------------------------------------------------

def new_version(client, document, content, name="plan.txt", comment=""):
    page = f"/admin/document/details/?id={document}"
    return client.post(f"/admin/document/new-version/?id={document}", data={
        "csrf_token": client.csrf_token(page), "comment": comment,
        "file": (io.BytesIO(content), name)})


def test_versions_download_and_make_current(docs_suite):
    admin = docs_suite.admin_client()
    folder = add_folder(admin, "Plans")
    upload(admin, folder, ("plan.txt", b"first"))
    document = doc_id(docs_suite, "plan.txt")
    assert new_version(admin, document, b"second", comment="Prices of 2027").status_code == 302
    page = admin.get(f"/admin/document/details/?id={document}").get_data(as_text=True)
    assert "Prices of 2027" in page and "Make current" in page
    assert admin.get(f"/admin/document/download/?id={document}&version=1").data == b"first"
    assert admin.get(f"/admin/document/download/?id={document}").data == b"second"

    made = admin.post_form(f"/admin/document/make-current/?id={document}", {"version": "1"},
                           token_from=f"/admin/document/details/?id={document}")
    assert made.status_code == 302
    assert docs_suite.sql("SELECT version FROM crm_document WHERE id = :i", i=document) == [(3,)]
    assert admin.get(f"/admin/document/download/?id={document}").data == b"first"
    assert [r[0] for r in docs_suite.sql(
        "SELECT number FROM crm_document_version WHERE document_id = :i ORDER BY number",
        i=document)] == [1, 2, 3]
    # The current one is not made current again.
    admin.post_form(f"/admin/document/make-current/?id={document}", {"version": "3"},
                    token_from=f"/admin/document/details/?id={document}")
    assert docs_suite.sql("SELECT version FROM crm_document WHERE id = :i", i=document) == [(3,)]
    # A refused new version leaves the document as it was.
    assert new_version(admin, document, b"<html><script>", name="plan.pdf").status_code == 302
    assert count(docs_suite, "crm_document_version") == 3


def test_check_out_blocks_another_users_upload(docs_suite):
    admin = docs_suite.admin_client()
    folder = add_folder(admin, "Drafts")
    upload(admin, folder, ("plan.txt", b"first"))
    document = doc_id(docs_suite, "plan.txt")
    sally = add_user(docs_suite, "sally", "docs_user")
    tom = add_user(docs_suite, "tom", "docs_user")
    page = f"/admin/document/details/?id={document}"

    assert sally.post_form(f"/admin/document/check-out/?id={document}", {},
                           token_from=page).status_code == 302
    assert "Check in" in sally.get(page).get_data(as_text=True)
    seen = tom.get(page).get_data(as_text=True)
    assert "sally checked this document out" in seen and "Upload a new version" not in seen
    assert "crm-edit" not in seen
    assert new_version(tom, document, b"tom's").status_code == 302
    assert "sally has checked this document out" in flashes(tom, page)
    assert count(docs_suite, "crm_document_version") == 1
    assert tom.get(f"/admin/document/edit/?id={document}").status_code == 302
    # Only the holder checks it in (or a manager); then tom may upload.
    tom.post_form(f"/admin/document/check-in/?id={document}", {}, token_from=page)
    assert docs_suite.sql("SELECT checked_out_by_id FROM crm_document")[0][0] is not None
    assert new_version(sally, document, b"sally's").status_code == 302
    sally.post_form(f"/admin/document/check-in/?id={document}", {}, token_from=page)
    assert new_version(tom, document, b"tom's").status_code == 302
    assert count(docs_suite, "crm_document_version") == 3
    listed = tom.get("/admin/document/").get_data(as_text=True)
    assert "checked out by" not in listed


# -- downloads -------------------------------------------------------------------------------

def test_download_headers(docs_suite):
    admin = docs_suite.admin_client()
    folder = add_folder(admin, "Mixed")
    upload(admin, folder, ("报价单.pdf", PDF), ("logo.png", PNG),
           ("page.html", b"<html><script>alert(1)</script></html>"),
           ("icon.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"))

    def get(name, endpoint="download"):
        return admin.get(f"/admin/document/{endpoint}/?id={doc_id(docs_suite, name)}")

    pdf = get("报价单.pdf")
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    assert f"filename*=UTF-8''{quote('报价单.pdf')}" in pdf.headers["Content-Disposition"]
    assert pdf.data == PDF
    for name in ("page.html", "icon.svg"):
        response = get(name)
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.mimetype == "application/octet-stream"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert get(name, "preview").status_code == 404   # never shown in the page
    shown = get("报价单.pdf", "preview")
    assert shown.headers["Content-Disposition"].startswith("inline;")
    assert shown.mimetype == "application/pdf"
    assert "frame-ancestors 'self'" in shown.headers["Content-Security-Policy"]
    image = get("logo.png", "preview")
    assert image.headers["Content-Disposition"].startswith("inline;")
    assert image.mimetype == "image/png"
    page = admin.get(f"/admin/document/details/?id={doc_id(docs_suite, '报价单.pdf')}")
    assert "<iframe" in page.get_data(as_text=True)
    page = admin.get(f"/admin/document/details/?id={doc_id(docs_suite, 'page.html')}")
    assert "<iframe" not in page.get_data(as_text=True) and "Download" in page.get_data(
        as_text=True)


def test_list_filters_by_folder_with_subfolders_type_and_tag(docs_suite):
    admin = docs_suite.admin_client()
    top = add_folder(admin, "Sales")
    below = add_folder(admin, "Quotes", parent=top)
    other = add_folder(admin, "HR")
    upload(admin, top, ("terms.pdf", PDF), new_tags="Legal")
    upload(admin, below, ("logo.png", PNG))
    upload(admin, other, ("holidays.txt", b"days"))

    def listed(query):
        page = admin.get(f"/admin/document/?{query}").get_data(as_text=True)
        return {name for name in ("terms.pdf", "logo.png", "holidays.txt") if name in page}

    assert listed(f"flt0_folder_in={top}") == {"terms.pdf", "logo.png"}
    assert listed(f"flt0_folder_in={below}") == {"logo.png"}
    assert listed("flt0_type_is=image") == {"logo.png"}
    assert listed("flt0_type_is=text") == {"holidays.txt"}
    tag = docs_suite.sql("SELECT id FROM crm_doc_tag WHERE name = 'Legal'")[0][0]
    tag_page = admin.get(f"/admin/doc-tag/details/?id={tag}").get_data(as_text=True)
    link = re.search(r'href="(/admin/document/\?[^"]+)"', tag_page).group(1).replace("&amp;", "&")
    assert listed(link.partition("?")[2]) == {"terms.pdf"}
    # A folder's page lists what is in it, and its subfolders.
    page = admin.get(f"/admin/doc-folder/details/?id={top}").get_data(as_text=True)
    assert "terms.pdf" in page and "Sales / Quotes" in page and "logo.png" not in page
    exported = admin.get(f"/admin/document/export/csv/?flt0_folder_in={top}")
    assert exported.status_code == 200
    text = exported.get_data(as_text=True)
    assert "terms.pdf" in text and "logo.png" in text and "holidays.txt" not in text


def test_a_file_named_as_a_document_of_the_folder_becomes_its_new_version(docs_suite):
    admin = docs_suite.admin_client()
    folder = add_folder(admin, "Sheets")
    other = add_folder(admin, "Archive")
    assert upload(admin, folder, ("产品目录.txt", "第一版".encode())).status_code == 302
    response = upload(admin, folder, ("产品目录.txt", "第二版".encode()), ("new.txt", b"new"))
    assert response.status_code == 302
    assert "1 of them was a new version" in flashes(admin, response.headers["Location"])
    assert upload(admin, other, ("产品目录.txt", b"elsewhere")).status_code == 302
    rows = docs_suite.sql("SELECT d.folder_id, d.version, count(v.id) FROM crm_document d "
                          "JOIN crm_document_version v ON v.document_id = d.id "
                          "WHERE d.name = :n GROUP BY d.id, d.folder_id, d.version "
                          "ORDER BY d.folder_id", n="产品目录.txt")
    assert rows == [(folder, 2, 2), (other, 1, 1)]
    document = doc_id(docs_suite, "new.txt")
    assert admin.get(f"/admin/document/download/?id={document}").data == b"new"
