"""Date and date-time inputs in a real browser (core/dates.py, core/static/core/
crm-dates.js): typed, pasted and script-set text is kept as it is, the picker starts its
week on Monday and speaks Chinese, and the list filters on dates use the same picker."""
import pytest

from tests.addons.conftest import addon_suite
from tests.e2e.conftest import serve, signed_in

NEW = "/admin/activity/new/"


@pytest.fixture
def site(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_contacts"])
    with serve(suite) as address:
        suite.address = address
        yield suite
    suite.close()


@pytest.fixture
def tab(site):
    with signed_in(site.address) as page:
        page.site = site.address
        yield page


def save(tab):
    """Submit the activity form as Enter in its subject does; past the overlap warning."""
    tab.press("#subject", "Enter")
    tab.wait_for_load_state()
    if tab.locator("button.crm-save-anyway").count():
        tab.click("button.crm-save-anyway")
        tab.wait_for_load_state()


def stored_start(site):
    return [str(row[0])[:19] for row in site.sql("SELECT start_at FROM crm_activity")]


def test_typed_date_time_is_saved_as_typed(site, tab):
    tab.goto(tab.site + NEW)
    tab.fill("#subject", "Typed")
    tab.click("#start_at")
    tab.keyboard.type("2026-12-09 14:00")
    tab.click("#subject")   # away: nothing rewrites the text on blur
    assert tab.input_value("#start_at") == "2026-12-09 14:00"
    save(tab)
    assert stored_start(site) == ["2026-12-09 14:00:00"]
    assert tab.errors == []


def test_pasted_date_time_is_kept_and_the_picker_follows(site, tab):
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab.goto(tab.site + NEW)
    tab.fill("#subject", "Pasted")
    tab.evaluate("navigator.clipboard.writeText('2027-03-05 08:30')")
    tab.click("#start_at")
    tab.keyboard.press("Control+V")
    assert tab.input_value("#start_at") == "2027-03-05 08:30"
    tab.click("#subject")
    assert tab.input_value("#start_at") == "2027-03-05 08:30"
    # The picker shows the pasted day and time; it writes nothing itself.
    tab.click("#start_at")
    assert tab.locator(".crm-picker-selected").inner_text() == "5"
    assert tab.locator(".crm-picker-month").input_value() == "2"   # March (0-based)
    assert tab.locator(".crm-picker-hour").input_value() == "8"
    tab.click("#subject")
    assert tab.input_value("#start_at") == "2027-03-05 08:30"
    save(tab)
    assert stored_start(site) == ["2027-03-05 08:30:00"]


def test_a_value_set_by_script_survives_focus_and_blur(site, tab):
    tab.goto(tab.site + NEW)
    # An empty field visited stays empty (the old picker wrote the current time in).
    tab.click("#end_at")
    tab.click("#subject")
    assert tab.input_value("#end_at") == ""
    # Set without keystrokes while the picker is open, then away: kept as set.
    tab.click("#start_at")
    tab.eval_on_selector("#start_at", "input => { input.value = '2026-12-09 14:00'; }")
    tab.click("#subject")
    tab.eval_on_selector("#end_at", "input => { input.value = '2026-12-09 15:00'; }")
    tab.click("#end_at")
    tab.click("#subject")
    assert tab.input_value("#start_at") == "2026-12-09 14:00"
    assert tab.input_value("#end_at") == "2026-12-09 15:00"
    tab.fill("#subject", "Set by script")
    save(tab)
    assert stored_start(site) == ["2026-12-09 14:00:00"]


def test_picking_a_day_and_a_time(site, tab):
    tab.goto(tab.site + NEW)
    tab.fill("#start_at", "2026-12-09 14:00")
    tab.click("#start_at")
    tab.click(".crm-picker-day[data-day='2026-12-16']")   # keeps the time
    assert tab.input_value("#start_at") == "2026-12-16 14:00"
    tab.select_option(".crm-picker-minute", "45")
    assert tab.input_value("#start_at") == "2026-12-16 14:45"
    tab.click(".crm-picker-close")
    assert tab.locator(".crm-picker").count() == 0
    # A date field: a day closes the picker; Flask-Admin's old picker never shows.
    tab.click("#next_follow_up")
    tab.click(".crm-picker-next")
    tab.click(".crm-picker-day[data-day='2027-01-04']")
    assert tab.input_value("#next_follow_up") == "2027-01-04"
    assert tab.locator(".crm-picker").count() == 0
    assert tab.locator(".daterangepicker:visible").count() == 0
    assert tab.errors == []


def test_picker_in_chinese_starts_on_monday(site, tab):
    site.sql("UPDATE core_user SET language = 'zh_Hans_CN'")
    tab.goto(tab.site + NEW)
    tab.fill("#start_at", "2026-12-09 14:00")
    tab.click("#start_at")
    picker = tab.locator(".crm-picker")
    assert picker.locator("th").all_inner_texts() == [
        "周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    # December 2026 begins on a Tuesday: the first row starts with Monday 30 November.
    first_row = picker.locator("tbody tr").first.locator("button")
    assert first_row.first.get_attribute("data-day") == "2026-11-30"
    assert picker.locator(".crm-picker-month option:checked").inner_text() == "十二月"
    assert [picker.locator(f".crm-picker-{name}").inner_text()
            for name in ("now", "clear", "close")] == ["现在", "清除", "关闭"]
    assert picker.locator(".crm-picker-time-label").inner_text() == "时间"
    assert tab.errors == []


def test_list_filters_use_the_picker(site, tab):
    tab.goto(tab.site + "/admin/activity/?flt0_start_between=2026-12-01+to+2026-12-31")
    field = tab.locator("input.filter-val").first
    assert field.input_value() == "2026-12-01 to 2026-12-31"
    field.click()
    assert tab.locator(".daterangepicker:visible").count() == 0
    tab.click(".crm-picker-day[data-day='2026-12-03']")
    tab.click(".crm-picker-day[data-day='2026-12-20']")
    assert field.input_value() == "2026-12-03 to 2026-12-20"
    field.press("Enter")
    tab.wait_for_url("**flt0_start_between=2026-12-03+to+2026-12-20**")
    assert tab.locator("input.filter-val").first.input_value() == "2026-12-03 to 2026-12-20"
    assert tab.errors == []
