"""Signing in and out; every screen needs a signed-in user."""
from tests.conftest import ADMIN_PASSWORD


def test_anonymous_visitor_is_sent_to_login(notes_suite):
    client = notes_suite.client()
    for path in ("/admin/", "/admin/note/", "/admin/note/details/?id=1",
                 "/admin/note/export/csv/", "/admin/note/ajax/lookup/?name=notebook&query=D"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path


def test_login_with_wrong_password_says_so_without_naming_the_cause(notes_suite):
    client = notes_suite.client()
    for username in ("admin", "nobody"):
        token = client.csrf_token()
        response = client.post("/login", data={"username": username, "password": "wrong",
                                               "csrf_token": token})
        assert response.status_code == 200
        assert "Invalid username or password." in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_login_without_csrf_token_is_refused(notes_suite):
    client = notes_suite.client()
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_login_follows_next_only_within_the_site(notes_suite):
    client = notes_suite.client()
    token = client.csrf_token()
    response = client.post("/login?next=/admin/note/", data={
        "username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/note/"
    client = notes_suite.client()
    token = client.csrf_token()
    response = client.post("/login?next=//evil.example/", data={
        "username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/"
    client = notes_suite.client()
    token = client.csrf_token()
    response = client.post("/login?next=/%5Cevil.example/", data={
        "username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/"   # browsers read /\ as //


def test_logout_ends_the_session(notes_suite):
    client = notes_suite.admin_client()
    assert client.get("/admin/").status_code == 200
    response = client.post_form("/logout", {})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(notes_suite):
    client = notes_suite.client()
    response = client.login("admin", ADMIN_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_new_password_ends_other_sessions(notes_suite):
    client = notes_suite.admin_client()
    notes_suite.run("create-admin", "--username", "admin", "--password", "another long one")
    assert client.get("/admin/").status_code == 302


def test_password_is_stored_hashed(notes_suite):
    stored = notes_suite.sql("SELECT password_hash FROM core_user")[0][0]
    assert ADMIN_PASSWORD not in stored and stored.startswith("scrypt:")
