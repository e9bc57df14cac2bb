"""The generated admin screens of an addon that declares no view class."""
import csv
import io
import json

from openpyxl import load_workbook

from core.admin import ModelView


def screen(suite_client_dispatcher, endpoint):
    admin = suite_client_dispatcher.app.extensions["admin"][0]
    return next(v for v in admin._views if getattr(v, "endpoint", None) == endpoint)


def add_notes(client, count, prefix="Note"):
    for number in range(count):
        response = client.post_form("/admin/note/new/", {
            "title": f"{prefix} {number:03d}", "priority": str(number % 5)},
            token_from="/admin/note/new/")
        assert response.status_code == 302


def test_defaults_come_from_the_model(notes_suite):
    dispatcher = notes_suite.dispatcher()
    notes_suite.admin_client(dispatcher).get("/admin/")
    view = screen(dispatcher, "note")
    assert isinstance(view, ModelView)
    assert view.column_list == ["title", "priority", "done", "due", "notebook"]  # no Text body
    assert view.column_searchable_list == ["title"]
    assert {"priority", "done", "due", "title", "notebook.name"} <= set(view.column_filters)
    assert "notebook" in view.form_ajax_refs


def test_list_search_sort_filter_and_paging(notes_suite):
    client = notes_suite.admin_client()
    add_notes(client, 25)
    page = client.get("/admin/note/?search=Note+01").get_data(as_text=True)
    assert "Note 010" in page and "Note 019" in page and "Note 020" not in page
    assert "Call the supplier" not in page

    page = client.get("/admin/note/?flt0_priority_greater_than=3").get_data(as_text=True)
    assert "Note 004" in page and "Note 003" not in page

    first = client.get("/admin/note/").get_data(as_text=True)
    second = client.get("/admin/note/?page=1").get_data(as_text=True)
    assert first.count('name="rowid"') == 20 and second.count('name="rowid"') == 7

    ascending = client.get("/admin/note/?sort=0").get_data(as_text=True)   # by title
    assert ascending.index("Call the supplier") < ascending.index("Note 000")


def test_list_query_count_does_not_grow_with_rows(notes_suite):
    dispatcher = notes_suite.dispatcher()
    client = notes_suite.admin_client(dispatcher)
    add_notes(client, 3)

    few = len(client.queries("/admin/note/"))
    add_notes(client, 30, prefix="More")
    assert len(client.queries("/admin/note/?page_size=50")) == few


def test_create_with_validation_error_saves_nothing(notes_suite):
    client = notes_suite.admin_client()
    response = client.post_form("/admin/note/new/", {"title": "", "priority": "x"},
                                token_from="/admin/note/new/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This field is required." in page
    assert "Not a valid integer value." in page
    assert client.get("/admin/note/").get_data(as_text=True).count('name="rowid"') == 2


def test_detail_edit_and_delete(notes_suite):
    client = notes_suite.admin_client()
    page = client.get("/admin/note/details/?id=1").get_data(as_text=True)
    assert "Call the supplier" in page

    response = client.post_form("/admin/note/edit/?id=1", {
        "title": "Call the supplier <b>again</b>", "priority": "3"},
        token_from="/admin/note/edit/?id=1")
    assert response.status_code == 302
    page = client.get("/admin/note/details/?id=1").get_data(as_text=True)
    assert "Call the supplier &lt;b&gt;again&lt;/b&gt;" in page  # user text is escaped

    response = client.post_form("/admin/note/delete/", {"id": "1", "url": "/admin/note/"},
                                token_from="/admin/note/")
    assert response.status_code == 302
    assert client.get("/admin/note/details/?id=1").status_code == 404  # gone
    assert "Call the supplier" not in client.get("/admin/note/").get_data(as_text=True)


def test_delete_without_csrf_token_is_refused(notes_suite):
    client = notes_suite.admin_client()
    response = client.post("/admin/note/delete/", data={"id": "1"})
    assert response.status_code == 400
    assert "Call the supplier" in client.get("/admin/note/").get_data(as_text=True)


def test_bulk_delete_action(notes_suite):
    client = notes_suite.admin_client()
    response = client.post_form("/admin/note/action/", {"action": "delete", "rowid": ["1", "2"]},
                                token_from="/admin/note/")
    assert response.status_code == 302
    assert client.get("/admin/note/").get_data(as_text=True).count('name="rowid"') == 0


def test_export_csv_and_xlsx_follow_the_current_filter(notes_suite):
    client = notes_suite.admin_client()
    add_notes(client, 3)
    client.post_form("/admin/note/new/", {"title": "=HYPERLINK(\"http://evil\")"},
                     token_from="/admin/note/new/")
    response = client.get("/admin/note/export/csv/?search=Note")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    # The list's labels, then what else the import sets: the file imports back.
    assert rows[0] == ["Title", "Priority", "Done", "Due", "Notebook", "Body"]
    assert sorted(r[0] for r in rows[1:]) == ["Note 000", "Note 001", "Note 002"]

    response = client.get("/admin/note/export/xlsx/")
    sheet = load_workbook(io.BytesIO(response.data)).active
    titles = [row[0] for row in sheet.iter_rows()]
    assert titles[0].value == "Title" and len(titles) == 1 + 6
    formula = next(c for c in titles if c.value == "=HYPERLINK(\"http://evil\")")
    assert formula.data_type == "s"   # text, not a live formula


def test_ajax_lookup_of_related_records(notes_suite):
    client = notes_suite.admin_client()
    response = client.get("/admin/note/ajax/lookup/?name=notebook&query=Demo")
    assert response.status_code == 200
    assert [label for _id, label in json.loads(response.data)] == ["Demo notebook"]


def test_menu_merges_into_categories(notes_suite):
    page = notes_suite.admin_client().get("/admin/").get_data(as_text=True)
    menu = page[page.index("navbar-nav"):page.index("crm-user")]
    assert menu.index("Notes") < menu.index('href="/admin/note/"') < menu.index(
        'href="/admin/notebook/"')
    assert 'href="/admin/addons/"' in menu


def test_saved_filters_are_per_user_and_per_screen(notes_suite):
    client = notes_suite.admin_client()
    add_notes(client, 6)
    response = client.post_form("/admin/note/saved-filters/", {
        "name": "Urgent", "query": "flt0_priority_greater_than=3&search=Note&evil=1"},
        token_from="/admin/note/")
    assert response.headers["Location"] == \
        "/admin/note/?flt0_priority_greater_than=3&search=Note"    # unknown args dropped
    page = client.get("/admin/note/").get_data(as_text=True)
    assert 'href="/admin/note/?flt0_priority_greater_than=3&amp;search=Note">Urgent</a>' in page
    assert ">Urgent</a>" not in client.get("/admin/notebook/").get_data(as_text=True)

    notes_suite.run("create-user", "--username", "olga", "--password", "a long secret 9")
    notes_suite.run("create-admin", "--username", "olga", "--password", "a long secret 9")
    olga = notes_suite.client()
    olga.login("olga", "a long secret 9")
    assert ">Urgent</a>" not in olga.get("/admin/note/").get_data(as_text=True)
    import re
    saved_id = re.search(r'/admin/note/saved-filters/(\d+)/delete', page).group(1)
    olga.post_form(f"/admin/note/saved-filters/{saved_id}/delete", {})   # not hers
    assert ">Urgent</a>" in client.get("/admin/note/").get_data(as_text=True)
    client.post_form(f"/admin/note/saved-filters/{saved_id}/delete", {})
    assert ">Urgent</a>" not in client.get("/admin/note/").get_data(as_text=True)
