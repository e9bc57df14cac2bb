"""Import and export of any model: all rows or none, every bad cell named by row and
column, CSV and XLSX, and files that an export writes an import reads back."""
import io
import json

import pytest
from openpyxl import Workbook

from tests.conftest import make_suite

HEADER = "title,priority,done,due,notebook,body\n"


@pytest.fixture
def office(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes", "fixture_tasks"],
                       demo=True)
    yield suite, suite.sql, tmp_path
    suite.close()


def notes(sql):
    return sql("SELECT title, priority, done, due FROM fixture_note ORDER BY title")


def test_good_csv_writes_every_row(office):
    suite, sql, tmp = office
    path = tmp / "notes.csv"
    path.write_text(HEADER + "Visit 王总,2,yes,2026-12-01,Demo notebook,带样品\n"
                    "Phone back,,no,,,\n", encoding="utf-8-sig")
    result = suite.run("import", "note", str(path), "--dry-run")
    assert result.exit_code == 0 and "2 rows are valid; nothing written" in result.output
    assert len(notes(sql)) == 2          # the two demo notes only
    result = suite.run("import", "Note", str(path))
    assert result.exit_code == 0 and "2 Note records imported" in result.output
    rows = {row[0]: row for row in notes(sql)}
    assert rows["Visit 王总"][1] == 2 and rows["Visit 王总"][2] in (1, True)
    assert str(rows["Visit 王总"][3]) == "2026-12-01"
    assert sql("SELECT n.name FROM fixture_note t JOIN fixture_notebook n "
               "ON n.id = t.notebook_id WHERE t.title = 'Visit 王总'")[0][0] == "Demo notebook"


def test_bad_rows_are_all_reported_and_nothing_is_written(office):
    suite, sql, tmp = office
    path = tmp / "bad.csv"
    path.write_text(HEADER + "Fine row,1,no,,,\n"
                    ",x,maybe,2026-13-45,Nowhere,\n"
                    + "T" * 201 + ",1.5,,,,\n", encoding="utf-8")
    result = suite.run("import", "note", str(path))
    assert result.exit_code == 1
    output = result.output
    for expected in ("row 3, column title: is required",
                     "row 3, column priority: x is not a whole number",
                     "row 3, column done: maybe is not yes or no",
                     "row 3, column due: 2026-13-45 is not a date like 2026-11-23",
                     "row 3, column notebook: Nowhere was not found",
                     "row 4, column title: is longer than 200 characters",
                     "row 4, column priority: 1.5 is not a whole number",
                     "7 problems in 3 rows; nothing written"):
        assert expected in output, expected
    assert "row 2" not in output
    assert len(notes(sql)) == 2


def test_unknown_or_missing_columns_are_refused(office):
    suite, sql, tmp = office
    path = tmp / "odd.csv"
    path.write_text("title,colour\nA,red\n", encoding="utf-8")
    result = suite.run("import", "note", str(path))
    assert result.exit_code == 1
    assert "These columns cannot be imported: colour. Columns that can: title, body, priority, done, due, notebook" \
        in result.output
    path.write_text("priority\n1\n", encoding="utf-8")
    assert "Required column missing: title" in suite.run("import", "note", str(path)).output


def test_unique_values_in_the_file_and_in_the_database(office):
    suite, sql, tmp = office
    sql("INSERT INTO fixture_project (name, created_at, updated_at) "
        "VALUES ('Existing', '2026-01-01', '2026-01-01')")
    path = tmp / "projects.csv"
    path.write_text("name\nNew one\nExisting\nTwice\nTwice\n", encoding="utf-8")
    result = suite.run("import", "project", str(path))
    assert "row 3, column name: Existing already exists" in result.output
    assert "row 5, column name: Twice appears twice in the file (also row 4)" in result.output
    assert sql("SELECT count(*) FROM fixture_project")[0][0] == 1


def test_xlsx_with_typed_cells(office):
    suite, sql, tmp = office
    import datetime
    book = Workbook()
    sheet = book.active
    sheet.append(["title", "priority", "done", "due"])
    sheet.append(["From Excel", 3, True, datetime.datetime(2026, 12, 24)])
    path = tmp / "notes.xlsx"
    book.save(path)
    result = suite.run("import", "note", str(path))
    assert result.exit_code == 0, result.output
    assert ("From Excel", 3) == tuple(sql(
        "SELECT title, priority FROM fixture_note WHERE title = 'From Excel'")[0])


def test_gb18030_csv_from_chinese_excel(office):
    suite, sql, tmp = office
    path = tmp / "gbk.csv"
    path.write_bytes("title,priority\n拜访客户,1\n".encode("gb18030"))
    assert suite.run("import", "note", str(path)).exit_code == 0
    assert sql("SELECT count(*) FROM fixture_note WHERE title = '拜访客户'")[0][0] == 1


def test_export_reads_back_in(office, tmp_path_factory, database_url):
    suite, sql, tmp = office
    for fmt in ("csv", "xlsx"):
        path = tmp / f"out.{fmt}"
        result = suite.run("export", "note", str(path))
        assert result.exit_code == 0 and f"2 Note records written to {path}" in result.output
    assert (tmp / "out.csv").read_text(encoding="utf-8-sig").splitlines()[0] == \
        "title,body,priority,done,due,notebook"
    # The export is an import file: load it again (the notebook is matched by name).
    result = suite.run("import", "note", str(tmp / "out.xlsx"))
    assert result.exit_code == 0, result.output
    assert len(notes(sql)) == 4


def test_relations_to_users_by_username(office):
    suite, sql, tmp = office
    path = tmp / "tasks.csv"
    path.write_text("title,owner\nFor the admin,admin\nFor a ghost,ghost\n", encoding="utf-8")
    result = suite.run("import", "task", str(path))
    assert "row 3, column owner: ghost was not found" in result.output
    path.write_text("title,owner\nFor the admin,admin\n", encoding="utf-8")
    assert suite.run("import", "task", str(path)).exit_code == 0
    assert sql("SELECT owner_id FROM fixture_task")[0][0] == 1


def test_unknown_model_names_the_known_ones(office):
    suite, sql, tmp = office
    path = tmp / "x.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    result = suite.run("import", "customer", str(path))
    assert result.exit_code == 1 and "no model customer in the enabled addons" in result.output
    assert "note" in result.output and "task" in result.output


def upload(client, name, content, path="/admin/note/import/"):
    token = client.csrf_token(path)
    return client.post(path, data={"csrf_token": token, "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def form_fields(page):
    import re
    fields = {"token": re.search(r'name="token" value="([^"]+)"', page).group(1)}
    for name, options in re.findall(r'<select name="(map:\d+)"(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        if chosen:
            fields[name] = chosen.group(1)
    return fields


def test_import_screen_maps_checks_and_writes(office):
    suite, sql, tmp = office
    admin = suite.admin_client()
    content = "标题,priority,notes\n拜访王总,2,ignored\n,x,\n".encode("utf-8")
    page = upload(admin, "visits.csv", content).get_data(as_text=True)
    fields = form_fields(page)
    assert fields["map:1"] == "priority" and "map:0" not in fields   # 标题 is no field name
    fields["map:0"] = "title"          # the user maps 标题 to title
    fields["map:2"] = ""
    page = admin.post_form("/admin/note/import/", dict(fields, step="check"),
                           token_from="/admin/note/import/").get_data(as_text=True)
    assert "2 problems: put them right and check again" in page
    assert "<td>3</td><td>标题</td><td>is required</td>" in page   # the file's column
    assert "Import 2 rows" not in page
    response = admin.post_form("/admin/note/import/", dict(fields, step="commit"),
                               token_from="/admin/note/import/")
    assert response.status_code == 200 and len(notes(sql)) == 2     # refused whole

    good = upload(admin, "visits.csv", "标题,priority\n拜访王总,2\n".encode()).get_data(as_text=True)
    fields = dict(form_fields(good), **{"map:0": "title"})
    page = admin.post_form("/admin/note/import/", dict(fields, step="check"),
                           token_from="/admin/note/import/").get_data(as_text=True)
    assert "The row is valid." in page and "Import 1 row<" in page
    response = admin.post_form("/admin/note/import/", dict(fields, step="commit"),
                               token_from="/admin/note/import/")
    assert response.status_code == 302
    assert sql("SELECT priority FROM fixture_note WHERE title = '拜访王总'") == [(2,)]


def test_import_screen_refuses_bad_uploads(office):
    suite, sql, tmp = office
    admin = suite.admin_client()
    page = upload(admin, "evil.exe", b"MZ...").get_data(as_text=True)
    assert "Choose a file ending in .csv, .xlsx." in page
    page = upload(admin, "fake.xlsx", b"not a zip at all").get_data(as_text=True)
    assert "content is not XLSX" in page
    page = admin.post_form("/admin/note/import/", {"token": "../../secret_key", "step": "check"},
                           token_from="/admin/note/import/").get_data(as_text=True)
    assert "The uploaded file is gone" in page


def test_import_needs_create_rights(office):
    suite, sql, tmp = office
    suite.run("create-user", "--username", "vic", "--password", "viewer pass 1",
              "--groups", "tasks_viewer")
    viewer = suite.client()
    viewer.login("vic", "viewer pass 1")
    assert viewer.get("/admin/task/import/").status_code == 403
    assert "/admin/task/import/" not in viewer.get("/admin/task/").get_data(as_text=True)
    assert "/admin/note/import/" in suite.admin_client().get("/admin/note/").get_data(as_text=True)


# -- the bulk write: what a save does, for every row, all or nothing ---------------------

def audit_changes(sql, model):
    """{record id: changes} of the create rows of ``model`` in the audit trail."""
    rows = sql("SELECT record_id, changes FROM core_audit WHERE model = :m AND action = 'create'",
               m=model)
    return {record_id: json.loads(changes) for record_id, changes in rows}


def fixture_model(app, name):
    state = app.extensions["crm"]
    return next(addon.models[name] for addon in state.registry.addons.values()
                if name in addon.models)


def test_imported_records_are_stamped_and_audited_as_on_the_screen(office):
    suite, sql, tmp = office
    admin = suite.admin_client()
    admin.post_form("/admin/task/new/", {"title": "Plan"}, token_from="/admin/task/new/")
    by_screen = sql("SELECT id FROM fixture_task")[0][0]
    page = upload(admin, "tasks.csv", "title,done\nPlan,no\nShip,yes\n".encode(),
                  path="/admin/task/import/").get_data(as_text=True)
    fields = form_fields(page)
    response = admin.post_form("/admin/task/import/", dict(fields, step="commit"),
                               token_from="/admin/task/import/")
    assert response.status_code == 302
    tasks = {title: rest for title, *rest in sql(
        "SELECT title, id, owner_id, created_by_id, updated_by_id, created_at, updated_at "
        "FROM fixture_task WHERE id != :i", i=by_screen)}
    assert set(tasks) == {"Plan", "Ship"}
    for task_id, owner, created_by, updated_by, created_at, updated_at in tasks.values():
        assert (owner, created_by, updated_by) == (1, 1, 1)
        assert created_at is not None and updated_at is not None
    changes = audit_changes(sql, "Task")
    assert set(changes) == {by_screen, tasks["Plan"][0], tasks["Ship"][0]}   # one each
    # The same values saved on the screen and by the import: the same audit row.
    assert changes[tasks["Plan"][0]] == changes[by_screen]
    assert changes[tasks["Ship"][0]] == {"title": [None, "Ship"], "done": [None, True],
                                         "owner_id": [None, 1]}
    assert sql("SELECT DISTINCT user_id FROM core_audit WHERE model = 'Task'") == [(1,)]


def test_a_failed_write_leaves_nothing_even_if_the_caller_commits(office, monkeypatch):
    from core import transfer
    from core.db import db
    from core.models import AuditEntry

    suite, sql, tmp = office
    app = suite.app()
    real_insert = transfer.insert_many

    def audit_fails(connection, table, rows):
        if table is AuditEntry.__table__:
            raise RuntimeError("the disk is full")
        real_insert(connection, table, rows)

    with app.app_context():
        Task, Project = fixture_model(app, "Task"), fixture_model(app, "Project")
        # The rows are in, then their audit rows fail.
        checked = transfer.check(Task, ["title"], [["One"], ["Two"]])
        monkeypatch.setattr(transfer, "insert_many", audit_fails)
        with pytest.raises(RuntimeError):
            transfer.write(checked)
        db.session.commit()
        monkeypatch.setattr(transfer, "insert_many", real_insert)
        # The database refuses a row (two projects of one name, past the check).
        checked = transfer.Checked(records=[Project(name="Same"), Project(name="Same")])
        with pytest.raises(Exception):
            transfer.write(checked)
        db.session.commit()
        db.session.remove()
    assert sql("SELECT count(*) FROM fixture_task")[0][0] == 0
    assert sql("SELECT count(*) FROM fixture_project")[0][0] == 0
    assert sql("SELECT count(*) FROM core_audit WHERE model IN ('Task', 'Project')")[0][0] == 0


def test_records_that_listeners_add_for_imported_ones_are_written_too(office):
    """A before_flush listener may add records pointing at the imported ones (a first
    task for each new project), or give an imported record a new related one (a project
    for each task without): both are written, linked and audited."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    suite, sql, tmp = office
    app = suite.app()
    Task, Project = fixture_model(app, "Task"), fixture_model(app, "Project")

    def add_related(session, _context, _instances):
        for record in list(session.new):
            if isinstance(record, Project) and record.name.startswith("P"):
                session.add(Task(title=f"Kick-off {record.name}", project=record))
            elif isinstance(record, Task) and record.project is None:
                record.project = Project(name=f"For {record.title}")

    event.listen(Session, "before_flush", add_related)
    try:
        (tmp / "projects.csv").write_text("name\nP1\nP2\n", encoding="utf-8")
        assert suite.run("import", "project", str(tmp / "projects.csv")).exit_code == 0
        (tmp / "tasks.csv").write_text("title\nLoose\n", encoding="utf-8")
        assert suite.run("import", "task", str(tmp / "tasks.csv")).exit_code == 0
    finally:
        event.remove(Session, "before_flush", add_related)
    assert sql("SELECT t.title, p.name FROM fixture_task t JOIN fixture_project p "
               "ON p.id = t.project_id ORDER BY t.title") == [
        ("Kick-off P1", "P1"), ("Kick-off P2", "P2"), ("Loose", "For Loose")]
    assert len(audit_changes(sql, "Project")) == 3 and len(audit_changes(sql, "Task")) == 3
