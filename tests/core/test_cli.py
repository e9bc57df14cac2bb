"""The command line, in this process and as a real subprocess."""
import os
import subprocess
import sys

from tests.conftest import ROOT, make_suite, write_config


def test_init_creates_the_first_admin_once_with_a_random_password(tmp_path, database_url):
    config = write_config(tmp_path, [tmp_path / "none"])
    from tests.conftest import Suite
    suite = Suite(config, database_url)
    first = suite.run("init")
    assert first.exit_code == 0
    line = next(l for l in first.output.splitlines() if l.startswith("Administrator login"))
    password = line.rsplit(" ", 1)[1]
    assert len(password) >= 12
    again = suite.run("init", "--demo")
    assert again.exit_code == 0
    assert "already initialised" in again.output and "Administrator login" not in again.output
    client = suite.client()
    client.login("admin", password)
    # The printed password must be changed before anything else.
    assert client.get("/admin/").headers["Location"] == "/password"
    response = client.post_form("/password", {"current": password, "new": "a new long secret",
                                              "confirm": "a new long secret"},
                                token_from="/password")
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    suite.close()


def test_init_enables_the_configured_addons_with_demo_data(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes"], demo=True)
    assert "fixture_notes\tenabled" in suite.run("addons", "list").output
    page = suite.admin_client().get("/admin/note/").get_data(as_text=True)
    assert "Call the supplier" in page and "Write the quote" in page
    suite.close()


def test_init_with_an_unknown_default_addon_fails_and_writes_nothing(tmp_path, database_url):
    from tests.conftest import FIXTURE_ADDONS, Suite
    suite = Suite(write_config(tmp_path, [FIXTURE_ADDONS], ["fixture_notes", "nope"]),
                  database_url)
    result = suite.run("init")
    assert result.exit_code == 1
    assert "no addon named 'nope'" in result.output
    assert "Administrator login" not in result.output
    result = suite.run("init")  # nothing was half-written: a second try starts afresh
    assert "no addon named 'nope'" in result.output


def test_commands_before_init_say_what_to_do(tmp_path, database_url):
    from tests.conftest import FIXTURE_ADDONS, Suite
    suite = Suite(write_config(tmp_path, [FIXTURE_ADDONS]), database_url)
    for args in (["addons", "enable", "fixture_notes"],
                 ["create-admin", "--username", "a", "--password", "b"]):
        result = suite.run(*args)
        assert result.exit_code == 1 and "run `python run.py init` first" in result.output
    assert "fixture_notes\tdisabled" in suite.run("addons", "list").output


def test_run_py_as_a_subprocess(suite):
    result = subprocess.run([sys.executable, "run.py", "addons", "list"], cwd=ROOT,
                            env={**os.environ, **suite.env}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "fixture_notes\tdisabled\t1.0.0" in result.stdout


def test_bad_config_file_is_named(tmp_path):
    from tests.conftest import Suite
    missing = tmp_path / "missing.ini"
    result = Suite(missing, "sqlite://").run("addons", "list")
    assert result.exit_code == 1 and f"{missing}: config file not found" in result.output
