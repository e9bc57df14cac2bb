"""Record rules: a user sees and changes only the records their scope allows, through
every URL form, including ids guessed by hand."""
import csv
import io
import json

import pytest

from tests.conftest import FIXTURE_ADDONS, make_suite

PASSWORD = "rules password 1"


class World:
    """alice and bob (tasks_user) in team A led by lead (tasks_lead); carol
    (tasks_user) in no team; viewer (tasks_viewer). Each has one task and project."""

    def __init__(self, suite):
        self.suite = suite
        self.dispatcher = suite.dispatcher()
        for name, group in (("alice", "tasks_user"), ("bob", "tasks_user"),
                            ("carol", "tasks_user"), ("lead", "tasks_lead"),
                            ("viewer", "tasks_viewer")):
            assert suite.run("create-user", "--username", name, "--password", PASSWORD,
                             "--groups", group).exit_code == 0
        admin = suite.admin_client(self.dispatcher)
        response = admin.post_form("/admin/teams/new/", {
            "name": "Team A", "leader": self.user_id("lead"),
            "members": [self.user_id("alice"), self.user_id("bob")]},
            token_from="/admin/teams/new/")
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        self.clients = {}
        for name in ("alice", "bob", "carol", "lead"):
            # Users may not create projects: the administrator makes one for each.
            response = admin.post_form("/admin/project/new/", {
                "name": f"project of {name}", "owner": self.user_id(name)},
                token_from="/admin/project/new/")
            assert response.status_code == 302, response.get_data(as_text=True)[:3000]
            response = self.client(name).post_form("/admin/task/new/", {
                "title": f"task of {name}"}, token_from="/admin/task/new/")
            assert response.status_code == 302, response.get_data(as_text=True)[:3000]

    def client(self, name):
        if name not in self.clients:
            client = self.suite.client(self.dispatcher)
            client.login(name, PASSWORD)
            self.clients[name] = client
        return self.clients[name]

    def scalar(self, sql, **params):
        rows = self.suite.sql(sql, **params)
        return rows[0][0] if rows else None

    def user_id(self, name):
        return self.scalar("SELECT id FROM core_user WHERE username = :n", n=name)

    def task_id(self, owner):
        return self.scalar("SELECT id FROM fixture_task WHERE title = :t", t=f"task of {owner}")

    def project_id(self, owner):
        return self.scalar("SELECT id FROM fixture_project WHERE name = :n", n=f"project of {owner}")


@pytest.fixture
def world(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, addon_paths=[FIXTURE_ADDONS],
                       enabled=["fixture_notes", "fixture_tasks"])
    built = World(suite)
    yield built
    suite.close()


def titles(page):
    return sorted(t for t in ("task of alice", "task of bob", "task of carol", "task of lead")
                  if t in page)


def test_own_team_and_all_scopes_in_the_list(world):
    assert titles(world.client("alice").get("/admin/task/").get_data(as_text=True)) == [
        "task of alice"]
    assert titles(world.client("lead").get("/admin/task/").get_data(as_text=True)) == [
        "task of alice", "task of bob", "task of lead"]
    viewer = world.client("viewer")
    assert titles(viewer.get("/admin/task/").get_data(as_text=True)) == [
        "task of alice", "task of bob", "task of carol", "task of lead"]
    page = world.client("alice").get("/admin/task/").get_data(as_text=True)
    assert "List (1)" in page   # the count obeys the rules too


def test_export_obeys_the_rules(world):
    lead = world.client("lead")
    rows = list(csv.reader(io.StringIO(
        lead.get("/admin/task/export/csv/").get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r[0] for r in rows[1:]) == ["task of alice", "task of bob", "task of lead"]


def test_guessed_ids_answer_404_and_change_nothing(world):
    alice, lead = world.client("alice"), world.client("lead")
    bob_task, carol_task = world.task_id("bob"), world.task_id("carol")
    assert alice.get(f"/admin/task/details/?id={bob_task}").status_code == 404
    assert alice.get(f"/admin/task/edit/?id={bob_task}").status_code == 404
    response = alice.post_form(f"/admin/task/edit/?id={bob_task}", {"title": "stolen"})
    assert response.status_code == 404
    assert world.scalar("SELECT title FROM fixture_task WHERE id = :i", i=bob_task) == "task of bob"

    # lead may delete within the team, not carol's task, neither one by one nor in bulk.
    assert lead.post_form("/admin/task/delete/", {"id": carol_task}).status_code == 404
    lead.post_form("/admin/task/action/", {"action": "delete", "rowid": [carol_task]})
    assert world.task_id("carol") == carol_task
    response = lead.post_form("/admin/task/delete/", {"id": world.task_id("bob")})
    assert response.status_code == 302 and world.task_id("bob") is None


def test_rights_without_the_letter_are_refused(world):
    viewer = world.client("viewer")       # reads every task, may change none
    task = world.task_id("alice")
    assert viewer.get(f"/admin/task/details/?id={task}").status_code == 200
    assert viewer.get(f"/admin/task/edit/?id={task}").status_code == 403
    assert viewer.post_form(f"/admin/task/edit/?id={task}", {"title": "x"}).status_code == 403
    assert world.client("alice").get("/admin/task/export/csv/").status_code == 403


def test_lookups_offer_only_readable_related_records(world):
    alice = world.client("alice")
    found = json.loads(alice.get("/admin/task/ajax/lookup/?name=project&query=project").data)
    assert [label for _id, label in found] == ["project of alice"]
    owners = json.loads(alice.get("/admin/task/ajax/lookup/?name=owner&query=").data)
    assert [label for _id, label in owners] == ["alice"]
    lead_owners = json.loads(world.client("lead").get(
        "/admin/task/ajax/lookup/?name=owner&query=").data)
    assert sorted(label for _id, label in lead_owners) == ["alice", "bob", "lead"]


def test_a_guessed_related_id_is_refused_on_save(world):
    alice = world.client("alice")
    response = alice.post_form("/admin/task/new/", {
        "title": "sneaky", "project": world.project_id("carol")}, token_from="/admin/task/new/")
    assert response.status_code == 200          # the form again, with its error
    assert world.scalar("SELECT count(*) FROM fixture_task WHERE title = 'sneaky'") == 0


def test_records_cannot_be_given_outside_the_scope(world):
    alice, lead = world.client("alice"), world.client("lead")
    response = alice.post_form("/admin/task/new/", {
        "title": "for bob", "owner": world.user_id("bob")}, token_from="/admin/task/new/")
    assert response.status_code == 200
    assert world.scalar("SELECT count(*) FROM fixture_task WHERE title = 'for bob'") == 0
    response = lead.post_form("/admin/task/new/", {
        "title": "for bob", "owner": world.user_id("bob")}, token_from="/admin/task/new/")
    assert response.status_code == 302
    assert world.scalar("SELECT owner_id FROM fixture_task WHERE title = 'for bob'") == \
        world.user_id("bob")
    response = lead.post_form("/admin/task/new/", {
        "title": "for carol", "owner": world.user_id("carol")}, token_from="/admin/task/new/")
    assert world.scalar("SELECT count(*) FROM fixture_task WHERE title = 'for carol'") == 0


def test_new_records_belong_to_their_creator(world):
    assert world.scalar("SELECT owner_id FROM fixture_task WHERE id = :i",
                        i=world.task_id("carol")) == world.user_id("carol")
    assert world.scalar("SELECT created_by_id FROM fixture_task WHERE id = :i",
                        i=world.task_id("carol")) == world.user_id("carol")


def test_menus_show_only_readable_screens(world):
    page = world.client("alice").get("/admin/").get_data(as_text=True)
    assert 'href="/admin/task/"' in page and 'href="/admin/note/"' in page
    assert 'href="/admin/notebook/"' not in page and 'href="/admin/users/"' not in page
    assert world.client("alice").get("/admin/notebook/").status_code == 403
    assert world.client("alice").get("/admin/users/").status_code == 403


def test_an_addons_own_bulk_action_gets_only_visible_rows(world):
    alice = world.client("alice")
    mine, bobs = world.task_id("alice"), world.task_id("bob")
    alice.post_form("/admin/task/action/", {"action": "mark_done", "rowid": [mine, bobs]},
                    token_from="/admin/task/")
    assert world.scalar("SELECT done FROM fixture_task WHERE id = :i", i=mine) in (1, True)
    assert world.scalar("SELECT done FROM fixture_task WHERE id = :i", i=bobs) in (0, False)


def test_a_screens_own_post_endpoint_needs_write(world):
    assert world.client("viewer").post_form("/admin/task/mark-mine-done/", {}).status_code == 403
    assert world.scalar("SELECT count(*) FROM fixture_task WHERE done") == 0
    assert world.client("alice").post_form("/admin/task/mark-mine-done/", {}).status_code == 302
    assert world.scalar("SELECT count(*) FROM fixture_task WHERE done") == 1   # hers only


def test_a_group_without_read_widens_no_scope(world):
    """alice reads her own tasks (tasks_user); a second group that may only export, with
    scope all, must not let her read everyone's."""
    admin = world.suite.admin_client(world.dispatcher)
    admin.post_form("/admin/groups/new/", {"code": "exporters", "name": "Exporters",
                                          "users": [world.user_id("alice")]},
                    token_from="/admin/groups/new/")
    group = world.scalar("SELECT id FROM core_group WHERE code = 'exporters'")
    admin.post_form("/admin/permissions/", {f"cell:{group}:Task": "1",
                                            f"letters:{group}:Task": ["x"],
                                            f"scope:{group}:Task": "all"},
                    token_from="/admin/permissions/")
    alice = world.suite.client(world.dispatcher)
    alice.login("alice", PASSWORD)
    assert titles(alice.get("/admin/task/").get_data(as_text=True)) == ["task of alice"]
    rows = alice.get("/admin/task/export/csv/").get_data(as_text=True)
    assert "task of alice" in rows and "task of bob" not in rows


def test_filters_never_reach_secret_columns(world):
    page = world.client("lead").get("/admin/task/").get_data(as_text=True)
    assert "Password" not in page and "Session Token" not in page
    from core.admin import ModelView
    from core.db import db
    from core.models import User
    view = ModelView(User, db)
    assert {"password_hash", "session_token"} <= set(view.column_details_exclude_list)
    assert {"password_hash", "session_token"} <= set(view.column_export_exclude_list)
    assert not [f for f in view.column_filters if f.endswith(("password_hash", "_token"))]
