"""Moving the records of a departing user to a colleague, with a preview, in one step,
audited; from the Reassign page, from a list's selection, and from the command line."""
import json

import pytest

from tests.conftest import make_suite

PASSWORD = "reassign password"


@pytest.fixture
def office(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes", "fixture_tasks"])
    for name in ("leaver", "heir"):
        suite.run("create-user", "--username", name, "--password", PASSWORD,
                  "--groups", "tasks_user")
    sql = suite.sql
    ids = {name: sql("SELECT id FROM core_user WHERE username = :n", n=name)[0][0]
           for name in ("leaver", "heir", "admin")}
    for number in range(3):
        sql("INSERT INTO fixture_task (title, done, owner_id, created_at, updated_at) "
            "VALUES (:t, false, :o, '2026-01-01', '2026-01-01')", t=f"t{number}", o=ids["leaver"])
    sql("INSERT INTO fixture_project (name, owner_id, created_at, updated_at) "
        "VALUES ('p', :o, '2026-01-01', '2026-01-01')", o=ids["leaver"])
    sql("INSERT INTO fixture_task (title, done, owner_id, created_at, updated_at) "
        "VALUES ('mine', false, :o, '2026-01-01', '2026-01-01')", o=ids["admin"])
    yield suite, suite.admin_client(), sql, ids
    suite.close()


def owners(sql):
    return sorted(sql("SELECT title, owner_id FROM fixture_task ORDER BY title"))


def test_preview_then_move_everything(office):
    suite, admin, sql, ids = office
    page = admin.get(f"/admin/reassign/?from_user={ids['leaver']}&to_user={ids['heir']}"
                     "&models=Task&models=Project").get_data(as_text=True)
    # Task declares no __label__: it is named by its screen's menu entry.
    assert "<td>Tasks</td><td class=\"text-right\">3</td>" in page
    assert "<td>Projects</td><td class=\"text-right\">1</td>" in page
    assert owners(sql)[0][1] == ids["admin"] and sql(
        "SELECT count(*) FROM fixture_task WHERE owner_id = :o", o=ids["leaver"])[0][0] == 3

    response = admin.post_form("/admin/reassign/", {
        "from_user": ids["leaver"], "to_user": ids["heir"], "models": ["Task", "Project"]},
        token_from="/admin/reassign/")
    assert response.status_code == 302
    assert sql("SELECT count(*) FROM fixture_task WHERE owner_id = :o", o=ids["heir"])[0][0] == 3
    assert sql("SELECT owner_id FROM fixture_project")[0][0] == ids["heir"]
    assert sql("SELECT owner_id FROM fixture_task WHERE title = 'mine'")[0][0] == ids["admin"]
    audit = sql("SELECT model, user_id, changes FROM core_audit WHERE action = 'update' "
                "AND model IN ('Task', 'Project')")
    assert len(audit) == 4 and all(row[1] == ids["admin"] for row in audit)
    assert json.loads(audit[0][2]) == {"owner_id": [ids["leaver"], ids["heir"]]}

    heir = suite.client()
    heir.login("heir", PASSWORD)
    assert heir.get("/admin/task/").get_data(as_text=True).count("t1") >= 1


def test_selected_records_from_the_list(office):
    suite, admin, sql, ids = office
    chosen = [row[0] for row in sql("SELECT id FROM fixture_task WHERE title IN ('t0', 't1')")]
    response = admin.post_form("/admin/task/action/", {"action": "reassign", "rowid": chosen},
                               token_from="/admin/task/")
    assert response.status_code == 302 and "/admin/reassign/" in response.headers["Location"]
    admin.post_form("/admin/reassign/", {
        "from_user": ids["leaver"], "to_user": ids["heir"], "models": ["Task"],
        "ids": ",".join(map(str, chosen))}, token_from="/admin/reassign/")
    moved = sql("SELECT title FROM fixture_task WHERE owner_id = :o ORDER BY title", o=ids["heir"])
    assert [row[0] for row in moved] == ["t0", "t1"]
    # The ids belong to the Task list: ticking another model must not move its rows
    # that happen to have the same ids.
    project = sql("SELECT id FROM fixture_project")[0][0]
    admin.post_form("/admin/reassign/", {
        "from_user": ids["leaver"], "to_user": ids["heir"], "models": ["Task", "Project"],
        "model": "Task", "ids": str(project)}, token_from="/admin/reassign/")
    assert sql("SELECT owner_id FROM fixture_project")[0][0] == ids["leaver"]
    response = admin.post_form("/admin/reassign/", {
        "from_user": ids["leaver"], "to_user": ids["heir"], "model": "Task", "ids": ""},
        token_from="/admin/reassign/")
    assert response.status_code == 400     # an empty selection is not "everything"


def test_only_administrators_may_reassign(office):
    suite, admin, sql, ids = office
    leaver = suite.client()
    leaver.login("leaver", PASSWORD)
    assert leaver.get("/admin/reassign/").status_code == 403
    response = leaver.post_form("/admin/reassign/", {
        "from_user": ids["leaver"], "to_user": ids["heir"]})
    assert response.status_code == 403
    assert sql("SELECT count(*) FROM fixture_task WHERE owner_id = :o", o=ids["heir"])[0][0] == 0


def test_same_user_is_refused(office):
    suite, admin, sql, ids = office
    response = admin.post_form("/admin/reassign/", {
        "from_user": ids["leaver"], "to_user": ids["leaver"]}, token_from="/admin/reassign/")
    assert "Choose two different users." in response.get_data(as_text=True)


def test_command_line(office):
    suite, admin, sql, ids = office
    result = suite.run("reassign", "--from-user", "leaver", "--to-user", "heir", "--dry-run")
    assert "Task\t3" in result.output and "would move: 4 records" in result.output
    assert sql("SELECT count(*) FROM fixture_task WHERE owner_id = :o", o=ids["heir"])[0][0] == 0
    result = suite.run("reassign", "--from-user", "leaver", "--to-user", "heir")
    assert result.exit_code == 0 and "moved: 4 records" in result.output
    assert sql("SELECT count(*) FROM fixture_task WHERE owner_id = :o", o=ids["heir"])[0][0] == 3
    result = suite.run("reassign", "--from-user", "ghost", "--to-user", "heir")
    assert result.exit_code == 1 and "--from-user: no user ghost" in result.output
