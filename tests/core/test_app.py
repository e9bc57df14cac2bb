"""Settings, health check, languages and offline assets."""
import json
import re
import stat

from core.config import PROJECT_ROOT, load_settings
from tests.conftest import Suite, write_config


def test_secret_key_is_generated_per_installation_and_kept(tmp_path):
    first = load_settings(write_config(tmp_path / "a", []))
    second = load_settings(write_config(tmp_path / "b", []))
    key = first.secret_key
    assert len(key) == 64 and key != second.secret_key
    assert load_settings(tmp_path / "a" / "config.ini").secret_key == key   # survives restart
    key_file = tmp_path / "a" / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_shipped_config_has_no_secret_and_defaults_to_sqlite_in_instance(monkeypatch):
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    text = (PROJECT_ROOT / "config.ini").read_text()
    assert not re.search(r"^\s*secret_key\s*=", text, re.M)
    settings = load_settings(PROJECT_ROOT / "config.ini")
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'instance' / 'crm.db'}"


def test_environment_overrides(tmp_path, monkeypatch):
    config = write_config(tmp_path, [])
    other = write_config(tmp_path / "other", ["elsewhere"])
    monkeypatch.setenv("CRM_CONFIG", str(other))
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql://u@db:5432/crm")
    settings = load_settings()
    assert settings.config_file == other
    assert settings.addon_paths == [tmp_path / "other" / "elsewhere"]
    assert settings.database_url == "postgresql+psycopg://u@db:5432/crm"
    assert load_settings(config).config_file == config


def test_healthz_before_and_after_init(tmp_path, database_url):
    suite = Suite(write_config(tmp_path, []), database_url)
    response = suite.client().get("/healthz")
    body = json.loads(response.data)
    assert response.status_code == 503 and body["initialised"] is False
    suite.run("init")
    response = suite.client().get("/healthz")
    body = json.loads(response.data)
    assert response.status_code == 200
    assert body == {"status": "ok", "database": "ok", "initialised": True, "addons": [],
                    "schema": {"current": True, "behind": [], "newer": []}}
    suite.close()


def test_healthz_lists_enabled_addons(notes_suite):
    body = json.loads(notes_suite.client().get("/healthz").data)
    assert body["addons"] == ["fixture_notes"]


def test_chinese_per_user(notes_suite):
    client = notes_suite.admin_client()
    assert "Settings" in client.get("/admin/").get_data(as_text=True)
    client.post_form("/language", {"language": "zh_Hans_CN", "next": "/admin/"})
    page = client.get("/admin/note/").get_data(as_text=True)
    assert "设置" in page and "插件" in page and "退出登录" in page
    assert "列表" in page   # Flask-Admin's own strings follow the same choice
    # Stored on the user: a new session in another browser is Chinese too.
    other = notes_suite.admin_client()
    assert "退出登录" in other.get("/admin/").get_data(as_text=True)


def test_browser_language_is_used_before_sign_in(notes_suite):
    client = notes_suite.client()
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "登录" in page.get_data(as_text=True)


def test_every_asset_is_served_by_the_app(notes_suite):
    client = notes_suite.admin_client()
    for path in ("/admin/", "/admin/note/", "/admin/note/new/", "/login"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', page), path
        for asset in re.findall(r'(?:src|href)="(/[^"]+\.(?:css|js))(?:\?[^"]*)?"', page):
            assert client.get(asset).status_code == 200, asset


def test_unknown_page_is_a_clear_404(notes_suite):
    response = notes_suite.admin_client().get("/admin/nothing-here/")
    assert response.status_code == 404
    assert "does not exist" in response.get_data(as_text=True)


def test_root_goes_to_the_dashboard(notes_suite):
    assert notes_suite.client().get("/").headers["Location"] == "/admin/"
