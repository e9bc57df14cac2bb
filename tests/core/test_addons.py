"""Enabling and disabling addons at run time, from the CLI and the Addons page."""
from tests.conftest import FIXTURE_ADDONS, make_suite
from tests.core.test_registry import make_addon


def row_count(suite, table):
    return suite.sql(f"SELECT count(*) FROM {table}")[0][0]


def test_cli_enable_disable_and_list(suite):
    result = suite.run("addons", "list")
    assert "fixture_notes\tdisabled\t1.0.0" in result.output
    result = suite.run("addons", "enable", "fixture_notes")
    assert result.exit_code == 0 and "enabled: fixture_notes" in result.output
    assert "fixture_notes\tenabled\t1.0.0" in suite.run("addons", "list").output
    result = suite.run("addons", "disable", "fixture_notes")
    assert result.exit_code == 0 and "disabled: fixture_notes" in result.output
    assert "fixture_notes\tdisabled" in suite.run("addons", "list").output


def test_cli_refuses_unknown_addon(suite):
    result = suite.run("addons", "enable", "no_such_addon")
    assert result.exit_code == 1
    assert "no addon named 'no_such_addon'" in result.output


def test_fixture_addon_appears_after_enable_and_404s_after_disable(suite):
    client = suite.admin_client()
    assert client.get("/admin/note/").status_code == 404
    assert "Notes" not in client.get("/admin/").get_data(as_text=True)

    response = client.post_form("/admin/addons/enable/fixture_notes", {})
    assert response.status_code == 302
    assert client.get("/admin/note/").status_code == 200
    assert 'href="/admin/note/"' in client.get("/admin/").get_data(as_text=True)

    client.post_form("/admin/note/new/", {"title": "Survives", "priority": "1"},
                     token_from="/admin/note/new/")
    assert row_count(suite, "fixture_note") == 1

    response = client.post_form("/admin/addons/disable/fixture_notes", {})
    assert response.status_code == 302
    assert client.get("/admin/note/").status_code == 404
    assert client.get("/admin/note/new/").status_code == 404
    assert 'href="/admin/note/"' not in client.get("/admin/").get_data(as_text=True)
    assert row_count(suite, "fixture_note") == 1   # disabling keeps every row

    client.post_form("/admin/addons/enable/fixture_notes", {})
    assert "Survives" in client.get("/admin/note/").get_data(as_text=True)


def test_change_in_one_process_is_seen_by_another_without_restart(suite):
    first, second = suite.admin_client(), suite.admin_client()
    assert second.get("/admin/note/").status_code == 404
    first.post_form("/admin/addons/enable/fixture_notes", {})
    assert second.get("/admin/note/").status_code == 200
    suite.run("addons", "disable", "fixture_notes")     # a third process: the CLI
    assert first.get("/admin/note/").status_code == 404
    assert second.get("/admin/note/").status_code == 404


def test_enable_pulls_in_dependencies_and_disable_names_dependants(tmp_path, database_url):
    extra = tmp_path / "client_addons"
    make_addon(extra, "dep_base")
    make_addon(extra, "dep_top", depends=["dep_base"])
    suite = make_suite(tmp_path, database_url, addon_paths=[FIXTURE_ADDONS, extra])
    try:
        result = suite.run("addons", "enable", "dep_top")
        assert "enabled: dep_base, dep_top" in result.output
        result = suite.run("addons", "disable", "dep_base")
        assert result.exit_code == 1
        assert "dep_base cannot be disabled: dep_top depends on it" in result.output
        client = suite.admin_client()
        client.post_form("/admin/addons/disable/dep_base", {})
        page = client.get("/admin/addons/").get_data(as_text=True)
        assert "dep_top depends on it" in page
        assert "dep_base\tenabled" in suite.run("addons", "list").output
    finally:
        suite.close()


def test_broken_addon_is_listed_as_not_installable(tmp_path, database_url):
    extra = tmp_path / "client_addons"
    (extra / "broken_one").mkdir(parents=True)
    (extra / "broken_one" / "__manifest__.py").write_text("{'name': 'Broken', 'version': 'x'}")
    suite = make_suite(tmp_path, database_url, addon_paths=[FIXTURE_ADDONS, extra])
    try:
        listing = suite.run("addons", "list").output
        assert "broken_one\tnot installable\t-" in listing
        assert "__manifest__.py: version: 'x' is not a version" in listing
        assert "fixture_notes\tdisabled" in listing
        page = suite.admin_client().get("/admin/addons/").get_data(as_text=True)
        assert "not installable" in page and "is not a version" in page
        result = suite.run("addons", "enable", "broken_one")
        assert result.exit_code == 1 and "is not installable" in result.output
    finally:
        suite.close()


def test_rescan_picks_up_a_new_addon_folder(tmp_path, database_url):
    extra = tmp_path / "client_addons"
    extra.mkdir()
    suite = make_suite(tmp_path, database_url, addon_paths=[FIXTURE_ADDONS, extra])
    try:
        client = suite.admin_client()
        assert "late_arrival" not in client.get("/admin/addons/").get_data(as_text=True)
        make_addon(extra, "late_arrival")
        client.post_form("/admin/addons/rescan", {})
        assert "late_arrival" in client.get("/admin/addons/").get_data(as_text=True)
    finally:
        suite.close()


def test_addons_page_needs_an_administrator(suite):
    anonymous = suite.client()
    response = anonymous.get("/admin/addons/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = anonymous.post("/admin/addons/enable/fixture_notes")
    assert response.status_code in (302, 400)
    assert "fixture_notes\tdisabled" in suite.run("addons", "list").output


def test_post_without_csrf_token_changes_nothing(suite):
    client = suite.admin_client()
    response = client.post("/admin/addons/enable/fixture_notes")
    assert response.status_code == 400
    assert "fixture_notes\tdisabled" in suite.run("addons", "list").output
