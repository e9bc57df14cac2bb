"""The audit trail: every create, update and delete of an owned record, with old and
new values, in the same transaction; shown on the record; never editable."""
import json

import pytest

from tests.conftest import make_suite

PASSWORD = "audit password 1"


@pytest.fixture
def audited(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes", "fixture_tasks"])
    yield suite, suite.admin_client(), suite.sql
    suite.close()


def test_create_update_delete_are_recorded(audited):
    suite, admin, rows = audited
    admin.post_form("/admin/task/new/", {"title": "Plan"}, token_from="/admin/task/new/")
    task_id = rows("SELECT id FROM fixture_task")[0][0]
    admin.post_form(f"/admin/task/edit/?id={task_id}", {"title": "Plan B", "done": "y"},
                    token_from=f"/admin/task/edit/?id={task_id}")
    admin.post_form("/admin/task/delete/", {"id": task_id}, token_from="/admin/task/")
    entries = rows("SELECT action, user_id, model, record_id, changes FROM core_audit "
                   "WHERE model = 'Task' ORDER BY id")
    assert [e[0] for e in entries] == ["create", "update", "delete"]
    assert all(e[1] == 1 and e[3] == task_id for e in entries)      # admin, this record
    created, updated, deleted = (json.loads(e[4]) for e in entries)
    assert created["title"] == [None, "Plan"] and created["owner_id"] == [None, 1]
    assert updated == {"title": ["Plan", "Plan B"], "done": [False, True]}
    assert deleted["title"] == ["Plan B", None]


def test_history_is_shown_on_the_record(audited):
    suite, admin, rows = audited
    admin.post_form("/admin/task/new/", {"title": "Visible <history>"},
                    token_from="/admin/task/new/")
    task_id = rows("SELECT id FROM fixture_task")[0][0]
    edit = f"/admin/task/edit/?id={task_id}"
    admin.post_form(edit, {"title": "Visible <history>", "done": "y"}, token_from=edit)
    page = admin.get(f"/admin/task/details/?id={task_id}").get_data(as_text=True)
    feed = page[page.index('id="feed"'):]
    assert "Visible &lt;history&gt;" in page and "<history>" not in page
    assert "Created" in feed and "Done</span>: No → Yes" in feed


def test_a_failed_change_leaves_no_audit_row(audited):
    suite, admin, rows = audited
    admin.post_form("/admin/task/new/", {"title": ""}, token_from="/admin/task/new/")
    assert rows("SELECT count(*) FROM core_audit WHERE model = 'Task'")[0][0] == 0


def test_audit_rows_cannot_be_changed_or_deleted(audited):
    suite, admin, rows = audited
    admin.post_form("/admin/task/new/", {"title": "Keep"}, token_from="/admin/task/new/")
    entry = rows("SELECT id, changes FROM core_audit")[0]
    assert admin.get("/admin/audit/").status_code == 200
    assert admin.get(f"/admin/audit/details/?id={entry[0]}").status_code == 200
    assert admin.get(f"/admin/audit/edit/?id={entry[0]}").status_code == 403
    assert admin.get("/admin/audit/new/").status_code == 403
    assert admin.post_form(f"/admin/audit/edit/?id={entry[0]}", {"changes": "{}"},
                           token_from="/admin/audit/").status_code == 403
    assert admin.post_form("/admin/audit/delete/", {"id": entry[0]},
                           token_from="/admin/audit/").status_code == 403
    assert admin.post_form("/admin/audit/action/", {"action": "delete", "rowid": [entry[0]]},
                           token_from="/admin/audit/").status_code == 403
    assert rows("SELECT id, changes FROM core_audit WHERE id = :i", i=entry[0]) == [entry]


def test_audit_log_is_for_administrators_only(audited):
    suite, admin, rows = audited
    suite.run("create-user", "--username", "kim", "--password", PASSWORD,
              "--groups", "tasks_lead")
    kim = suite.client()
    kim.login("kim", PASSWORD)
    assert kim.get("/admin/audit/").status_code == 403


def test_user_changes_are_audited_with_secrets_masked(audited):
    suite, admin, rows = audited
    suite.run("create-user", "--username", "lee", "--password", PASSWORD)
    lee = rows("SELECT id FROM core_user WHERE username = 'lee'")[0][0]
    admin.post_form(f"/admin/users/edit/?id={lee}", {
        "username": "lee", "full_name": "Lee Chen", "language": "", "active": "y",
        "new_password": "another password 2"}, token_from=f"/admin/users/edit/?id={lee}")
    changes = json.loads(rows("SELECT changes FROM core_audit WHERE model = 'User' "
                              "AND record_id = :i AND action = 'update'", i=lee)[-1][0])
    assert changes["full_name"] == ["lee", "Lee Chen"]
    assert changes["password_hash"] == ["***", "***"]
    assert PASSWORD not in json.dumps(changes)
