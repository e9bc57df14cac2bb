"""Users, groups, passwords, throttling, security headers and the permission matrix."""
import re

import pytest

from tests.conftest import ADMIN_PASSWORD, make_suite

PASSWORD = "users password 1"


@pytest.fixture
def tasks_suite(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes", "fixture_tasks"])
    yield suite
    suite.close()


def scalar(suite, sql, **params):
    return suite.sql(sql, **params)[0][0]


def group_id(suite, code):
    return scalar(suite, "SELECT id FROM core_group WHERE code = :c", c=code)


def test_admin_creates_a_user_through_the_screen(tasks_suite):
    admin = tasks_suite.admin_client()
    form = {"username": "dora", "full_name": "Dora", "email": "dora@example.com",
            "language": "zh_Hans_CN", "active": "y", "groups": [group_id(tasks_suite, "tasks_user")]}
    response = admin.post_form("/admin/users/new/", dict(form, new_password="short"),
                               token_from="/admin/users/new/")
    assert response.status_code == 200
    assert "at least 10 characters" in response.get_data(as_text=True)
    response = admin.post_form("/admin/users/new/", dict(form, new_password="xxdoraxx-long"),
                               token_from="/admin/users/new/")
    assert "must not contain the username" in response.get_data(as_text=True)
    assert scalar(tasks_suite, "SELECT count(*) FROM core_user WHERE username = 'dora'") == 0

    response = admin.post_form("/admin/users/new/", dict(form, new_password=PASSWORD),
                               token_from="/admin/users/new/")
    assert response.status_code == 302
    dora = tasks_suite.client()
    dora.login("dora", PASSWORD)
    page = dora.get("/admin/").get_data(as_text=True)
    assert "退出登录" in page                       # her language
    assert 'href="/admin/task/"' in page            # her group's screens
    assert 'href="/admin/users/"' not in page


def test_user_list_never_shows_password_hashes(tasks_suite):
    page = tasks_suite.admin_client().get("/admin/users/details/?id=1").get_data(as_text=True)
    assert "scrypt" not in page and "session_token" not in page


def test_deactivating_a_user_ends_their_session(tasks_suite):
    tasks_suite.run("create-user", "--username", "eve", "--password", PASSWORD)
    eve = tasks_suite.client()
    eve.login("eve", PASSWORD)
    assert eve.get("/admin/").status_code == 200
    eve_id = scalar(tasks_suite, "SELECT id FROM core_user WHERE username = 'eve'")
    admin = tasks_suite.admin_client()
    response = admin.post_form(f"/admin/users/edit/?id={eve_id}", {
        "username": "eve", "full_name": "Eve", "email": "", "language": ""},
        token_from=f"/admin/users/edit/?id={eve_id}")   # "active" unticked
    assert response.status_code == 302
    assert eve.get("/admin/").status_code == 302


def test_admin_cannot_lock_themselves_out(tasks_suite):
    admin = tasks_suite.admin_client()
    response = admin.post_form("/admin/users/edit/?id=1", {
        "username": "admin", "full_name": "admin", "language": ""},
        token_from="/admin/users/edit/?id=1")
    assert response.status_code == 200
    assert scalar(tasks_suite, "SELECT active FROM core_user WHERE id = 1") in (1, True)


def test_must_change_password_flow(tasks_suite):
    admin = tasks_suite.admin_client()
    admin.post_form("/admin/users/new/", {
        "username": "fred", "full_name": "Fred", "language": "", "active": "y",
        "must_change_password": "y", "new_password": PASSWORD}, token_from="/admin/users/new/")
    fred = tasks_suite.client()
    fred.login("fred", PASSWORD)
    for path in ("/admin/", "/admin/task/", "/admin/addons/"):
        assert fred.get(path).headers["Location"] == "/password", path
    response = fred.post_form("/password", {"current": PASSWORD, "new": "fred-new-password",
                                            "confirm": "fred-new-password"}, token_from="/password")
    assert "must not contain the username" in response.get_data(as_text=True)
    response = fred.post_form("/password", {"current": "wrong one!!", "new": "a better secret",
                                            "confirm": "a better secret"}, token_from="/password")
    assert "not your current password" in response.get_data(as_text=True)
    response = fred.post_form("/password", {"current": PASSWORD, "new": "a better secret",
                                            "confirm": "a better secret"}, token_from="/password")
    assert response.status_code == 302
    assert fred.get("/admin/").status_code == 200
    fred.post_form("/logout", {})
    fred.login("fred", "a better secret")


def test_create_user_command(tasks_suite):
    result = tasks_suite.run("create-user", "--username", "gus", "--password", PASSWORD,
                             "--groups", "tasks_user,tasks_lead")
    assert result.exit_code == 0 and "groups: tasks_user, tasks_lead" in result.output
    result = tasks_suite.run("create-user", "--username", "hal", "--password", PASSWORD,
                             "--groups", "tasks_user,nope")
    assert result.exit_code == 1 and "--groups: no group nope" in result.output
    result = tasks_suite.run("create-user", "--username", "ida", "--password", "short")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    assert scalar(tasks_suite, "SELECT count(*) FROM core_user WHERE username IN ('hal', 'ida')") == 0


def test_login_throttling_per_username(tasks_suite):
    client = tasks_suite.client()
    for _attempt in range(5):
        token = client.csrf_token()
        response = client.post("/login", data={"username": "admin", "password": "wrong",
                                               "csrf_token": token})
        assert response.status_code == 200
    token = client.csrf_token()
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 429     # even the right password waits now
    assert "Too many failed sign-ins. Try again in 15 minutes." in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_login_throttling_per_address(tmp_path, database_url):
    """Wrong passwords for several usernames from one address: the address's own cap
    ([security] login_attempts_per_address), well above the per-username one."""
    suite = make_suite(tmp_path, database_url, extra="[security]\nlogin_attempts_per_address = 6\n")
    try:
        client = suite.client()
        for attempt in range(6):
            token = client.csrf_token()
            client.post("/login", data={"username": f"nobody{attempt}", "password": "x",
                                        "csrf_token": token})
        token = client.csrf_token()
        response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 429
    finally:
        suite.close()


def test_throttle_counts_are_shared_by_web_processes(tasks_suite):
    one, two = tasks_suite.dispatcher(), tasks_suite.dispatcher()
    for _attempt in range(5):
        client = tasks_suite.client(one)
        token = client.csrf_token()
        client.post("/login", data={"username": "admin", "password": "wrong",
                                    "csrf_token": token})
    client = tasks_suite.client(two)
    token = client.csrf_token()
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 429


def test_security_headers(tasks_suite):
    response = tasks_suite.client().get("/login")
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    https = tasks_suite.client().get("/login", base_url="https://localhost")
    assert "Secure" in https.headers["Set-Cookie"]
    assert "Secure" not in tasks_suite.client().get("/login").headers["Set-Cookie"]


def test_pages_have_no_inline_script_without_the_nonce(tasks_suite):
    page = tasks_suite.admin_client().get("/admin/task/").get_data(as_text=True)
    for tag in re.findall(r"<script[^>]*>", page):   # data (type="application/json") never runs
        assert "src=" in tag or "nonce=" in tag or 'type="application/json"' in tag, tag


def test_permission_matrix_page_edits_access(tasks_suite):
    tasks_suite.run("create-user", "--username", "ivy", "--password", PASSWORD,
                    "--groups", "tasks_viewer")
    ivy = tasks_suite.client()
    ivy.login("ivy", PASSWORD)
    assert ivy.get("/admin/note/").status_code == 403
    admin = tasks_suite.admin_client()
    page = admin.get("/admin/permissions/").get_data(as_text=True)
    viewer = group_id(tasks_suite, "tasks_viewer")
    assert f'name="letters:{viewer}:Note"' in page
    assert f'name="scope:{viewer}:Task"' in page and f'name="scope:{viewer}:Note"' not in page
    # The form posts every cell shown; keep the others as they are, add read on Note.
    form = {name: "1" for name in re.findall(r'name="(cell:[^"]+)"', page)}
    for name, value in re.findall(r'name="(letters:[^"]+)" value="(\w)" checked', page):
        form.setdefault(name, []).append(value)
    for name, value in re.findall(r'<select name="(scope:[^"]+)".*?<option value="(\w+)" selected',
                                  page, re.S):
        form[name] = value
    form[f"letters:{viewer}:Note"] = ["r"]
    response = admin.post_form("/admin/permissions/", form, token_from="/admin/permissions/")
    assert response.status_code == 302
    assert ivy.get("/admin/note/").status_code == 200
    assert ivy.get("/admin/task/").status_code == 200        # untouched cells kept
    bad = admin.post_form("/admin/permissions/", {f"cell:{viewer}:Note": "1",
                                                  f"letters:{viewer}:Note": ["z"]},
                          token_from="/admin/permissions/")
    assert bad.status_code == 400
    assert ivy.get("/admin/note/").status_code == 200        # nothing half-written
    # A cell the page did not show (an addon enabled meanwhile) is left alone.
    admin.post_form("/admin/permissions/", {}, token_from="/admin/permissions/")
    assert ivy.get("/admin/note/").status_code == 200


def test_group_membership_edited_on_the_group(tasks_suite):
    tasks_suite.run("create-user", "--username", "jon", "--password", PASSWORD)
    jon_id = scalar(tasks_suite, "SELECT id FROM core_user WHERE username = 'jon'")
    lead = group_id(tasks_suite, "tasks_lead")
    admin = tasks_suite.admin_client()
    response = admin.post_form(f"/admin/groups/edit/?id={lead}", {
        "code": "tasks_lead", "name": "Task lead", "users": [jon_id]},
        token_from=f"/admin/groups/edit/?id={lead}")
    assert response.status_code == 302
    jon = tasks_suite.client()
    jon.login("jon", PASSWORD)
    assert jon.get("/admin/project/").status_code == 200


def test_administrator_group_cannot_be_deleted(tasks_suite):
    admin = tasks_suite.admin_client()
    admin_group = group_id(tasks_suite, "admin")
    admin.post_form("/admin/groups/delete/", {"id": admin_group}, token_from="/admin/groups/")
    assert group_id(tasks_suite, "admin") == admin_group
