"""Uploads bounded before they are parsed, read once and kept parsed between the import
steps, deleted when refused, finished or abandoned; no input answers 500. Redirects go
only to paths on the site."""
import io
import os
import time
import zipfile

import pytest
from openpyxl import Workbook

from tests.conftest import make_suite
from tests.core.test_transfer import form_fields, notes, upload

LIMITS = "[import]\nmax_rows = 5\nmax_columns = 4\nmax_cell_characters = 50\nmax_unpacked_mb = 1\n"
IMPORT = "/admin/note/import/"


@pytest.fixture
def office(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes", "fixture_tasks"],
                       demo=True, extra=LIMITS)
    yield suite, suite.sql, tmp_path
    suite.close()


def uploads_left(tmp_path):
    folder = tmp_path / "site" / "instance" / "uploads"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def workbook(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def refusal(page):
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'crm-import-error' in text, text[-2000:]
    return text


def over_the_limits():
    """(file name, content, what the refusal says) of files over LIMITS."""
    bomb = workbook([["title"]] + [["same words again"] * 3] * 40_000)
    assert len(bomb) < 600_000   # 120,000 cells that compress to a few hundred kilobytes
    return [
        ("many.csv", ("title\n" + "row\n" * 6).encode(), "more than 5 rows"),
        ("wide.csv", b"title,a,b,c,d\nx,1,2,3,4\n", "Row 1 has more than 4 columns"),
        ("long.csv", ("title\n" + "x" * 51 + "\n").encode(), "Row 2 has a cell of more than 50"),
        # Past the csv module's own field limit (131,072): a message, not a 500.
        ("huge.csv", ("title\n\"" + "x" * 140_000 + "\"\n").encode(), "Row 2"),
        ("many.xlsx", workbook([["title"]] + [["row"]] * 6), "more than 5 rows"),
        ("bomb.xlsx", bomb, "unpacks to more than 1 MB"),
    ]


def test_uploads_over_the_limits_are_refused_and_not_kept(office):
    suite, sql, tmp = office
    before = notes(sql)
    admin = suite.admin_client()
    for name, content, message in over_the_limits():
        assert message in refusal(upload(admin, name, content)), name
        assert uploads_left(tmp) == [], name
    assert notes(sql) == before


def test_a_damaged_workbook_is_refused_with_a_message(office):
    suite, _sql, tmp = office
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not a workbook")
    assert "not a readable XLSX workbook" in refusal(upload(suite.admin_client(), "d.xlsx",
                                                            buffer.getvalue()))
    assert uploads_left(tmp) == []


def test_an_upload_is_read_once_and_its_parsed_rows_kept_until_imported(office):
    suite, sql, tmp = office
    admin = suite.admin_client()
    page = upload(admin, "notes.xlsx", workbook([["title", "priority"], ["From XLSX", 3]]))
    fields = form_fields(page.get_data(as_text=True))
    assert uploads_left(tmp) == [fields["token"]] and fields["token"].endswith(".rows")
    response = admin.post_form(IMPORT, dict(fields, step="commit"), token_from=IMPORT)
    assert response.status_code == 302
    assert ("From XLSX", 3, False, None) in [tuple(row) for row in notes(sql)] or \
        ("From XLSX", 3, 0, None) in [tuple(row) for row in notes(sql)]
    assert uploads_left(tmp) == []


def test_abandoned_uploads_are_removed_by_the_clean_up_job(office):
    suite, _sql, tmp = office
    admin = suite.admin_client()
    upload(admin, "old.csv", b"title\nold\n")
    upload(admin, "new.csv", b"title\nnew\n")
    kept = uploads_left(tmp)
    assert len(kept) == 2
    old = tmp / "site" / "instance" / "uploads" / kept[0]
    os.utime(old, (time.time() - 25 * 3600,) * 2)
    from core.uploads import clean_abandoned
    with suite.app().app_context():
        assert clean_abandoned() == "1 abandoned uploads removed"
    assert uploads_left(tmp) == [kept[1]]
    result = suite.run("run-job", "core.clean_uploads")
    assert result.exit_code == 0, result.output


# -- redirects -------------------------------------------------------------------------------

def assert_local(response):
    location = response.headers.get("Location", "/")
    assert location.startswith("/") and not location.startswith("//"), location
    assert "evil" not in location and "\\" not in location, location


TARGETS = ["http:/evil.example", "http:///evil.example", "//evil.example", "/\\evil.example",
           "https://evil.example/", "javascript:alert(1)", "/\t/evil.example"]


def test_redirects_stay_on_the_site(office):
    suite, sql, _tmp = office
    admin = suite.admin_client()
    note = sql("SELECT id FROM fixture_note ORDER BY id LIMIT 1")[0][0]
    for target in TARGETS:
        edit = f"/admin/note/edit/?id={note}&url={target}"
        response = admin.post_form(edit, {"title": "Renamed", "priority": "1"},
                                   token_from=edit)
        assert response.status_code == 302
        assert_local(response)
        # A record that is not there, asked for with a return address.
        assert_local(admin.get(f"/admin/note/details/?id=999999&url={target}"))
        # Signing in with a next page that would send the user on elsewhere.
        client = suite.client()
        token = client.csrf_token()
        response = client.post(f"/login?next={target}", data={
            "username": "admin", "password": "correct horse battery", "csrf_token": token})
        assert_local(response)


def test_local_return_addresses_are_still_followed(office):
    suite, sql, _tmp = office
    admin = suite.admin_client()
    note = sql("SELECT id FROM fixture_note ORDER BY id LIMIT 1")[0][0]
    edit = f"/admin/note/edit/?id={note}&url=/admin/note/?page=2"
    response = admin.post_form(edit, {"title": "Renamed", "priority": "1"}, token_from=edit)
    # Save stays on the record, which keeps the way back to the list's second page.
    assert response.headers["Location"] == f"/admin/note/details/?id={note}&url=/admin/note/?page%3D2"
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert 'href="/admin/note/?page=2"' in page
