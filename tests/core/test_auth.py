"""Signing in and out, server-side sessions and login throttling; every screen needs a
signed-in user."""
from datetime import timedelta

from core.models import utcnow
from tests.conftest import ADMIN_PASSWORD, make_suite

OTHER_PASSWORD = "another user's password"


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


# -- server-side sessions ------------------------------------------------------------------

def copy_cookie(source, target):
    """What a thief does with a cookie read off a machine: use it in another browser."""
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)


def test_a_copied_cookie_is_refused_after_logout(notes_suite):
    client = notes_suite.admin_client()
    thief = notes_suite.client()
    copy_cookie(client, thief)
    assert thief.get("/admin/").status_code == 200
    client.post_form("/logout", {})
    assert thief.get("/admin/").status_code == 302
    assert notes_suite.sql("SELECT count(*) FROM core_session WHERE ended_at IS NULL")[0][0] == 0


def test_a_session_ends_when_idle_and_when_too_old(notes_suite):
    client = notes_suite.admin_client()
    notes_suite.sql("UPDATE core_session SET last_seen_at = :at", at=utcnow() - timedelta(minutes=119))
    assert client.get("/admin/").status_code == 200
    notes_suite.sql("UPDATE core_session SET last_seen_at = :at", at=utcnow() - timedelta(minutes=121))
    assert client.get("/admin/").status_code == 302   # [security] session_idle_minutes = 120
    client = notes_suite.admin_client()
    notes_suite.sql("UPDATE core_session SET created_at = :at WHERE ended_at IS NULL",
                    at=utcnow() - timedelta(hours=12, minutes=1))
    assert client.get("/admin/").status_code == 302   # session_lifetime_hours = 12


def test_the_user_is_loaded_in_one_query_and_last_seen_written_once_a_minute(notes_suite):
    client = notes_suite.admin_client()
    statements = client.queries("/admin/")
    loading = [sql for sql in statements if "core_session" in sql]
    assert len(loading) == 1 and "core_user" in loading[0]   # the user joined to the session
    assert not [sql for sql in statements if not sql.lstrip().upper().startswith("SELECT")]
    earlier = utcnow() - timedelta(minutes=5)
    notes_suite.sql("UPDATE core_session SET last_seen_at = :at", at=earlier)
    client.get("/admin/")
    seen = notes_suite.sql("SELECT last_seen_at FROM core_session")[0][0]
    assert notes_suite.sql("SELECT count(*) FROM core_session WHERE last_seen_at > :at",
                           at=earlier + timedelta(minutes=4))[0][0] == 1
    client.get("/admin/")
    assert notes_suite.sql("SELECT last_seen_at FROM core_session")[0][0] == seen


def test_sign_out_everywhere_ends_every_session_of_the_user(notes_suite):
    laptop, phone = notes_suite.client(), notes_suite.client()
    assert sign_in(laptop, "admin", ADMIN_PASSWORD, "10.1.2.3").status_code == 302
    assert sign_in(phone, "admin", ADMIN_PASSWORD, "10.1.2.4").status_code == 302
    assert "/admin/account/" in laptop.get("/admin/").get_data(as_text=True)   # user menu
    page = laptop.get("/admin/account/").get_data(as_text=True)
    assert "10.1.2.3" in page and "10.1.2.4" in page
    assert page.count("<tr>") == 3   # a heading and two sessions
    response = laptop.post("/logout/everywhere", data={"csrf_token": laptop.csrf_token("/admin/account/")})
    assert response.status_code == 302
    assert laptop.get("/admin/").status_code == 302
    assert phone.get("/admin/").status_code == 302


def test_sign_out_everywhere_needs_the_csrf_token(notes_suite):
    client = notes_suite.admin_client()
    assert client.post("/logout/everywhere").status_code == 400
    assert client.get("/admin/").status_code == 200


def test_a_csrf_token_from_before_login_or_logout_is_refused_after(notes_suite):
    client = notes_suite.client()
    before = client.csrf_token("/login")
    client.login("admin", ADMIN_PASSWORD)
    response = client.post("/language", data={"language": "en", "csrf_token": before})
    assert response.status_code == 400
    signed_in = client.csrf_token("/admin/")
    client.post("/logout", data={"csrf_token": signed_in})
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                           "csrf_token": signed_in})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_a_new_password_keeps_this_session_and_ends_the_others(notes_suite):
    client = notes_suite.admin_client()
    other = notes_suite.admin_client()
    response = client.post_form("/password", {"current": ADMIN_PASSWORD, "new": "another long one",
                                              "confirm": "another long one"}, token_from="/password")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302


def test_a_deactivated_user_stays_signed_out_when_active_again(notes_suite):
    notes_suite.run("create-user", "--username", "eve", "--password", OTHER_PASSWORD)
    eve = notes_suite.client()
    eve.login("eve", OTHER_PASSWORD)
    eve_id = notes_suite.sql("SELECT id FROM core_user WHERE username = 'eve'")[0][0]
    admin = notes_suite.admin_client()
    response = admin.post_form(f"/admin/users/edit/?id={eve_id}", {
        "username": "eve", "full_name": "Eve", "email": "", "language": ""},
        token_from=f"/admin/users/edit/?id={eve_id}")   # "active" unticked
    assert response.status_code == 302
    notes_suite.sql("UPDATE core_user SET active = :yes WHERE id = :id", yes=True, id=eve_id)
    assert eve.get("/admin/").status_code == 302


# -- login throttling --------------------------------------------------------------------------

def sign_in(client, username, password, address="127.0.0.1"):
    token = client.csrf_token()
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, environ_base={"REMOTE_ADDR": address})


def test_a_locked_out_address_does_not_lock_the_user_out_elsewhere(notes_suite):
    client = notes_suite.client()
    for _attempt in range(5):
        assert sign_in(client, "admin", "wrong", "10.0.0.1").status_code == 200
    response = sign_in(client, "admin", ADMIN_PASSWORD, "10.0.0.1")
    assert response.status_code == 429
    assert "Try again in 15 minutes." in response.get_data(as_text=True)
    assert sign_in(notes_suite.client(), "admin", ADMIN_PASSWORD, "10.0.0.2").status_code == 302


def test_one_address_has_a_higher_cap_of_its_own(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url,
                       extra="[security]\nlogin_attempts_per_address = 8\n")
    try:
        client = suite.client()
        for _attempt in range(5):   # one colleague behind the office's NAT forgets hers
            sign_in(client, "nobody", "wrong", "10.0.0.9")
        assert sign_in(suite.client(), "admin", ADMIN_PASSWORD, "10.0.0.9").status_code == 302
        for attempt in range(8):
            sign_in(client, f"guess{attempt}", "wrong", "10.0.0.9")
        assert sign_in(suite.client(), "admin", ADMIN_PASSWORD, "10.0.0.9").status_code == 429
        assert sign_in(suite.client(), "admin", ADMIN_PASSWORD, "10.0.0.10").status_code == 302
    finally:
        suite.close()


def test_a_username_has_a_slow_cap_over_all_addresses(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, extra="[security]\nlogin_attempts_per_user = 6\n")
    try:
        client = suite.client()
        for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.3"):
            sign_in(client, "admin", "wrong", address)
        assert sign_in(suite.client(), "admin", ADMIN_PASSWORD, "10.0.0.4").status_code == 302
        sign_in(client, "admin", "wrong", "10.0.0.3")
        response = sign_in(suite.client(), "admin", ADMIN_PASSWORD, "10.0.0.5")
        assert response.status_code == 429
        assert "Try again in 24 hours." in response.get_data(as_text=True)
    finally:
        suite.close()


def test_the_current_password_check_is_throttled_too(notes_suite):
    client = notes_suite.admin_client()
    stored = notes_suite.sql("SELECT password_hash FROM core_user WHERE username = 'admin'")
    form = {"new": "another long one", "confirm": "another long one"}
    for _attempt in range(5):
        response = client.post_form("/password", dict(form, current="wrong"), token_from="/password")
        assert "not your current password" in response.get_data(as_text=True)
    response = client.post_form("/password", dict(form, current=ADMIN_PASSWORD),
                                token_from="/password")
    assert response.status_code == 429
    assert "Try again in 15 minutes." in response.get_data(as_text=True)
    assert notes_suite.sql("SELECT password_hash FROM core_user WHERE username = 'admin'") == stored


def test_unknown_and_inactive_usernames_cost_a_password_check(notes_suite, monkeypatch):
    import core.models
    checks = []
    real_check = core.models.check_password_hash

    def counting_check(stored, password):
        checks.append(stored)
        return real_check(stored, password)

    monkeypatch.setattr(core.models, "check_password_hash", counting_check)
    notes_suite.run("create-user", "--username", "gone", "--password", OTHER_PASSWORD)
    notes_suite.sql("UPDATE core_user SET active = :no WHERE username = 'gone'", no=False)
    for username in ("nobody", "gone", "admin"):
        checks.clear()
        response = sign_in(notes_suite.client(), username, OTHER_PASSWORD)
        assert response.status_code == 200, username
        assert len(checks) == 1 and checks[0].startswith("scrypt:"), username


def test_an_administrator_lists_and_clears_locks(notes_suite):
    client = notes_suite.client()
    for _attempt in range(5):
        sign_in(client, "Admin", "wrong", "10.0.0.7")
    admin = notes_suite.admin_client()
    page = admin.get("/admin/login-locks/").get_data(as_text=True)
    assert "10.0.0.7" in page and "<td>admin</td>" in page and "<td>5</td>" in page
    assert 'href="/admin/login-locks/"' in page   # under Settings
    response = admin.post_form("/admin/login-locks/clear",
                               {"username": "admin", "address": "10.0.0.7"},
                               token_from="/admin/login-locks/")
    assert response.status_code == 302
    assert "10.0.0.7" not in admin.get("/admin/login-locks/").get_data(as_text=True)
    assert sign_in(client, "admin", ADMIN_PASSWORD, "10.0.0.7").status_code == 302
    notes_suite.run("create-user", "--username", "clerk", "--password", OTHER_PASSWORD)
    clerk = notes_suite.client()
    clerk.login("clerk", OTHER_PASSWORD)
    assert clerk.get("/admin/login-locks/").status_code == 403
    assert clerk.post_form("/admin/login-locks/clear", {"address": "10.0.0.7"}).status_code == 403


def test_old_failures_are_pruned(notes_suite):
    notes_suite.sql("INSERT INTO core_login_failure (username, address, at) VALUES "
                    "('admin', '10.0.0.8', :at)", at=utcnow() - timedelta(days=2))
    sign_in(notes_suite.client(), "admin", "wrong", "10.0.0.9")
    assert notes_suite.sql("SELECT address FROM core_login_failure") == [("10.0.0.9",)]


def test_old_sessions_are_deleted_at_a_sign_in(notes_suite):
    notes_suite.sql("INSERT INTO core_session (id, user_id, created_at, last_seen_at, ended_at, "
                    "remote_addr, user_agent) VALUES ('old', 1, :at, :at, :at, '', '')",
                    at=utcnow() - timedelta(days=31))
    notes_suite.admin_client()
    assert notes_suite.sql("SELECT count(*) FROM core_session WHERE id = 'old'")[0][0] == 0
    assert notes_suite.sql("SELECT count(*) FROM core_session")[0][0] == 1
