"""Customer screens in a real browser: the duplicate warning and "Save anyway", the
merge from a list selection, the calendar and the 360° page, under the strict CSP."""
import pytest

from tests.addons.conftest import addon_suite
from tests.e2e.conftest import serve, signed_in


@pytest.fixture
def tab(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_contacts"], demo=True)
    with serve(suite) as site, signed_in(site) as page:
        page.site = site
        yield page
    suite.close()


def test_duplicate_warning_then_save_anyway(tab):
    tab.goto(f"{tab.site}/admin/customer/new/")
    tab.fill("#name", "上海明远贸易股份有限公司")       # the demo has 上海明远贸易有限公司
    tab.click("input[type=submit][value=Save]")
    tab.wait_for_load_state()
    assert "Possible duplicate" in tab.content()
    assert tab.locator(".crm-form-warnings a").count() >= 1
    tab.click("button.crm-save-anyway")
    tab.wait_for_load_state()
    assert "/admin/customer/new/" not in tab.url
    tab.goto(f"{tab.site}/admin/search/?q=明远")
    assert tab.locator(".crm-search-section li").count() == 2
    assert tab.errors == []


def test_merge_from_the_list(tab):
    tab.goto(f"{tab.site}/admin/customer/new/")
    tab.fill("#name", "上海明远贸易公司")
    tab.click("input[type=submit][value=Save]")
    tab.wait_for_load_state()
    tab.click("button.crm-save-anyway")
    tab.wait_for_load_state()
    tab.goto(f"{tab.site}/admin/customer/?search=明远")
    tab.check("input.action-rowtoggle")
    tab.click("text=With selected")
    tab.click(".dropdown-menu >> text=Merge into one")
    tab.wait_for_url("**/merge/**")
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.click("form.crm-merge button[type=submit]")
    tab.wait_for_url("**/details/**")
    assert "1 record merged into" in tab.content()
    tab.goto(f"{tab.site}/admin/search/?q=明远")
    assert tab.locator(".crm-search-section li").count() == 1
    assert tab.errors == []


def test_calendar_and_360_page_render_without_errors(tab):
    tab.goto(f"{tab.site}/admin/calendar/")
    assert tab.locator("text=Mine").count() >= 1
    tab.goto(f"{tab.site}/admin/calendar/?view=week")
    tab.goto(f"{tab.site}/admin/customer/details/?id=1")
    assert tab.locator(".crm-panel").count() >= 2
    assert tab.errors == []
