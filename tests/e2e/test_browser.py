"""The pages in a real browser (Debian's Chromium driven by Playwright): sign-in, the
menus, and the confirmations and bulk actions that must work under the strict
Content-Security-Policy (which blocks Flask-Admin's inline handlers)."""
import pytest

from tests.conftest import make_suite
from tests.e2e.conftest import serve, signed_in


@pytest.fixture
def site(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes"], demo=True)
    with serve(suite) as url:
        yield url
    suite.close()


@pytest.fixture
def page(site):
    with signed_in(site) as tab:
        yield tab


def rows(page):
    return page.locator("input[name=rowid]").count()


def test_delete_asks_first_and_a_no_keeps_the_record(page, site):
    page.goto(f"{site}/admin/note/")
    assert rows(page) == 2
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("form.icon button")
    page.wait_for_timeout(300)
    assert rows(page) == 2
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form.icon button")
    page.wait_for_load_state()
    assert rows(page) == 1


def test_bulk_action_from_the_menu(page, site):
    page.goto(f"{site}/admin/note/")
    page.check("input.action-rowtoggle")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=With selected")
    page.click(".dropdown-menu >> text=Delete")
    page.wait_for_load_state()
    assert rows(page) == 0


def test_menu_and_language(page, site):
    page.click("text=Notes >> nth=0")
    page.click(".dropdown-menu >> text=Notebooks")
    page.wait_for_url(f"{site}/admin/notebook/")
    page.click(".crm-user >> a.dropdown-toggle")
    page.click("text=简体中文")
    page.wait_for_load_state()
    assert "退出登录" in page.content()
