"""Date and date-time fields of the generated forms (core/dates.py), through HTTP: the
inputs the picker attaches to, what the server takes (ISO, with or without seconds),
the message on the field for anything else (nothing saved), values shown without
seconds, and list filters that read what the inputs take."""
import json
import re
from html import unescape

import pytest

from tests.addons.conftest import addon_suite

NOTE = "/admin/note/new/"
ACTIVITY = "/admin/activity/new/"
DATE_MESSAGE = "Enter a date as YYYY-MM-DD."
DATETIME_MESSAGE = "Enter a date and time as YYYY-MM-DD HH:MM."


@pytest.fixture
def contacts(tmp_path, database_url):
    installation = addon_suite(tmp_path, database_url, ["crm_contacts"])
    yield installation
    installation.close()


def page_of(response):
    return response.get_data(as_text=True)


def input_tag(page, name):
    match = re.search(rf'<input[^>]*\bid="{name}"[^>]*>', page)
    assert match, f"no input {name}"
    return match.group(0)


def field_errors(page, name):
    """The messages shown under the field ``name``."""
    for block in re.split(r'<div class="form-group', page):
        if re.search(rf'<input[^>]*\bid="{name}"', block):
            return [unescape(text) for text in re.findall(r"(?s)<li>\s*(.*?)\s*</li>", block)]
    raise AssertionError(f"no field {name}")


def notes(suite):
    return suite.sql("SELECT title, due FROM fixture_note ORDER BY id")


def activities(suite):
    return [(subject, str(start)[:19], str(end)[:19] if end else None) for subject, start, end
            in suite.sql("SELECT subject, start_at, end_at FROM crm_activity ORDER BY id")]


def add_activity(client, subject, start, end="", token_from=ACTIVITY, path=ACTIVITY):
    return client.post_form(path, {"subject": subject, "kind": "meeting", "status": "planned",
                                   "start_at": start, "end_at": end, "crm_confirmed": "1"},
                            token_from=token_from)


def test_date_inputs_are_text_boxes_for_the_picker(notes_suite):
    page = page_of(notes_suite.admin_client().get(NOTE))
    tag = input_tag(page, "due")
    for attribute in ('type="text"', 'data-role="crm-date"', 'placeholder="YYYY-MM-DD"',
                      'autocomplete="off"'):
        assert attribute in tag
    # The picker's script and its words are on the page; Flask-Admin's picker is not asked.
    assert "datepicker" not in tag
    assert "/static/core/crm-dates.js" in page and 'id="crm-date-texts"' in page


def test_a_bad_date_is_refused_on_the_field_and_nothing_is_saved(notes_suite):
    client = notes_suite.admin_client()
    before = notes(notes_suite)
    for typed in ("31/12/2026", "2026-02-30", "next week", "2026-12-09 14:00"):
        response = client.post_form(NOTE, {"title": "Dated", "priority": "1", "due": typed},
                                    token_from=NOTE)
        assert response.status_code == 200, typed
        page = page_of(response)
        assert field_errors(page, "due") == [DATE_MESSAGE], typed
        assert f'value="{typed}"' in input_tag(page, "due")   # shown back as typed
    assert notes(notes_suite) == before


def test_a_date_typed_or_pasted_in_iso_is_saved(notes_suite):
    client = notes_suite.admin_client()
    response = client.post_form(NOTE, {"title": "Dated", "priority": "1",
                                       "due": " 2026-12-09 "}, token_from=NOTE)
    assert response.status_code == 302
    assert [str(due)[:10] for title, due in notes(notes_suite) if title == "Dated"] == [
        "2026-12-09"]
    response = client.post_form(NOTE, {"title": "Undated", "priority": "1", "due": ""},
                                token_from=NOTE)
    assert response.status_code == 302   # an empty optional date is no error


def test_the_date_message_in_chinese(notes_suite):
    notes_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN'")
    client = notes_suite.admin_client()
    response = client.post_form(NOTE, {"title": "Dated", "priority": "1", "due": "31/12/2026"},
                                token_from=NOTE)
    assert field_errors(page_of(response), "due") == ["请按 YYYY-MM-DD 格式输入日期。"]
    # The picker's words: Monday first, translated.
    page = page_of(client.get(NOTE))
    texts = json.loads(re.search(
        r'<script type="application/json" id="crm-date-texts">(.*?)</script>', page).group(1))
    assert texts["days"] == ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert (texts["today"], texts["clear"], texts["months"][11]) == ("今天", "清除", "十二月")


def test_date_times_with_or_without_seconds_are_saved(contacts):
    client = contacts.admin_client()
    for subject, typed in (("Minutes", "2026-12-09 14:00"), ("Seconds", "2026-12-09 14:00:30"),
                           ("ISO T", "2026-12-09T08:05"), ("Spaces", " 2026-12-09  9:15 ")):
        response = add_activity(client, subject, typed)
        assert response.status_code == 302, (typed, field_errors(page_of(response), "start_at"))
    assert activities(contacts) == [
        ("Minutes", "2026-12-09 14:00:00", None), ("Seconds", "2026-12-09 14:00:30", None),
        ("ISO T", "2026-12-09 08:05:00", None), ("Spaces", "2026-12-09 09:15:00", None)]


def test_a_bad_date_time_is_refused_on_the_field_and_nothing_is_saved(contacts):
    client = contacts.admin_client()
    for typed in ("2026-12-09 25:00", "09/12/2026 14:00", "0002-01-01 00:00:00026-12-09 14:00",
                  "tomorrow"):
        response = add_activity(client, "Bad", "2026-12-09 14:00", end=typed)
        assert response.status_code == 200, typed
        page = page_of(response)
        assert field_errors(page, "end_at") == [DATETIME_MESSAGE], typed
        assert field_errors(page, "start_at") == []
        assert f'value="{typed}"' in input_tag(page, "end_at")
    assert activities(contacts) == []


def test_date_times_are_shown_without_seconds_and_kept_when_untouched(contacts):
    client = contacts.admin_client()
    assert add_activity(client, "Call", "2026-12-09 14:00").status_code == 302
    # A time with seconds and microseconds, as an import or the application writes it.
    contacts.sql("UPDATE crm_activity SET end_at = :end", end="2026-12-09 15:00:20.779675")
    edit = "/admin/activity/edit/?id=1"
    page = page_of(client.get(edit))
    assert 'value="2026-12-09 14:00"' in input_tag(page, "start_at")
    assert 'value="2026-12-09 15:00"' in input_tag(page, "end_at")
    listed = page_of(client.get("/admin/activity/"))
    assert "2026-12-09 14:00" in listed and "14:00:00" not in listed
    # Saved as shown: the seconds nobody touched stay; a changed minute is taken.
    response = add_activity(client, "Call", "2026-12-09 14:00", end="2026-12-09 15:00",
                            token_from=edit, path=edit)
    assert response.status_code == 302
    row = contacts.sql("SELECT end_at FROM crm_activity")[0][0]
    assert str(row).startswith("2026-12-09 15:00:20.779675")
    response = add_activity(client, "Call", "2026-12-09 14:00", end="2026-12-09 15:01",
                            token_from=edit, path=edit)
    assert activities(contacts) == [("Call", "2026-12-09 14:00:00", "2026-12-09 15:01:00")]


def test_date_filters_take_what_the_inputs_take(contacts):
    client = contacts.admin_client()
    for subject, start in (("Morning", "2026-12-09 09:00"), ("Afternoon", "2026-12-09 15:00"),
                           ("Next day", "2026-12-10 09:00")):
        assert add_activity(client, subject, start).status_code == 302

    def listed(query):
        page = page_of(client.get("/admin/activity/?" + query))
        return sorted(s for s in ("Morning", "Afternoon", "Next day") if s in page)

    assert listed("flt0_start_greater_than=2026-12-09+14:00") == ["Afternoon", "Next day"]
    assert listed("flt0_start_smaller_than=2026-12-09+14:00:00") == ["Morning"]
    # A day alone on a date-time range: the whole day, its last minute included.
    assert listed("flt0_start_between=2026-12-09+to+2026-12-09") == ["Afternoon", "Morning"]
    assert listed("flt0_start_not_between=2026-12-09+to+2026-12-09") == ["Next day"]
    # The follow-up date: a plain date filter.
    contacts.sql("UPDATE crm_activity SET next_follow_up = '2026-12-20' WHERE subject = 'Morning'")
    assert listed("flt0_next_followup_between=2026-12-01+to+2026-12-31") == ["Morning"]
