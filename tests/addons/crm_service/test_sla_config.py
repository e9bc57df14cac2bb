"""The SLA configuration screens through HTTP: a business calendar with two working
periods a day (a lunch break), a holiday and a working Saturday; bad periods refused
with a message on the field and nothing saved; SLA policies and their checks; the one
default calendar; what a service agent may do there; and the defaults an enable adds."""
import re
from html import unescape

import pytest

from tests.addons.crm_contacts.helpers import add_user

NEW_CALENDAR = "/admin/business-calendar/new/"
NEW_POLICY = "/admin/sla-policy/new/"


def text(response):
    return unescape(re.sub(r"<[^>]+>|\s+", " ", response.get_data(as_text=True)))


def calendar_form(name="Shanghai desk", periods=(), days=(), default=False):
    data = {"name": name, "time_zone": "Asia/Shanghai"}
    if default:
        data["is_default"] = "y"
    for index, (weekday, start, end) in enumerate(periods):
        data.update({f"periods-{index}-weekday": str(weekday),
                     f"periods-{index}-start": start, f"periods-{index}-end": end})
    for index, (day, kind, like, name_of_day) in enumerate(days):
        data.update({f"days-{index}-day": day, f"days-{index}-kind": kind,
                     f"days-{index}-like_weekday": str(like),
                     f"days-{index}-name": name_of_day})
    return data


def count(suite, table):
    return suite.sql(f"SELECT count(*) FROM {table}")[0][0]


LUNCH_BREAK = [(0, "09:00", "12:00"), (0, "13:30", "18:00"), (1, "09:00", "12:00"),
               (1, "13:30", "18:00")]


def test_a_calendar_with_a_lunch_break_a_holiday_and_a_working_saturday(service_suite):
    admin = service_suite.admin_client()
    response = admin.post_form(NEW_CALENDAR, calendar_form(
        periods=LUNCH_BREAK,
        days=[("2026-10-01", "holiday", 0, "National Day"),
              ("2026-10-10", "working day", 2, "Adjusted working day")]),
        token_from=NEW_CALENDAR)
    assert response.status_code == 302, text(response)[:3000]
    calendar = service_suite.sql("SELECT id FROM svc_calendar WHERE name = 'Shanghai desk'")[0][0]
    periods = service_suite.sql("SELECT weekday, start, \"end\" FROM svc_working_period "
                                "WHERE calendar_id = :c ORDER BY weekday, start", c=calendar)
    assert [(w, str(s)[:5], str(e)[:5]) for w, s, e in periods] == LUNCH_BREAK
    days = service_suite.sql("SELECT day, kind, like_weekday FROM svc_calendar_day "
                             "WHERE calendar_id = :c ORDER BY day", c=calendar)
    assert [(str(d), k, w) for d, k, w in days] == [("2026-10-01", "holiday", 0),
                                                    ("2026-10-10", "working day", 2)]
    page = text(admin.get(f"/admin/business-calendar/details/?id={calendar}"))
    assert "Monday: 09:00-12:00, 13:30-18:00" in page
    assert "2026-10-10 Adjusted working day (working day, worked like Wednesday)" in page


@pytest.mark.parametrize("periods, days, message", [
    ([(0, "14:00", "12:00")], [], "The period ends before it starts."),
    ([(0, "09:00", "12:00"), (0, "11:30", "18:00")], [],
     "This period overlaps another on Monday."),
    ([(0, "25:00", "26:00")], [], "Enter a time as HH:MM."),
    ([(0, "", "12:00")], [], "Enter a time as HH:MM."),
    ([(0, "09:00", "12:00")], [("2026-10-01", "holiday", 0, "A"),
                               ("2026-10-01", "holiday", 0, "B")],
     "This date is listed twice."),
], ids=["end before start", "overlap", "not a time", "no start", "date twice"])
def test_bad_periods_are_refused_with_nothing_saved(service_suite, periods, days, message):
    admin = service_suite.admin_client()
    before = [count(service_suite, table) for table in
              ("svc_calendar", "svc_working_period", "svc_calendar_day")]
    response = admin.post_form(NEW_CALENDAR, calendar_form(periods=periods, days=days),
                               token_from=NEW_CALENDAR)
    assert response.status_code == 200
    assert message in text(response)
    assert [count(service_suite, table) for table in
            ("svc_calendar", "svc_working_period", "svc_calendar_day")] == before


def test_an_overnight_shift_ends_at_midnight(service_suite):
    admin = service_suite.admin_client()
    response = admin.post_form(NEW_CALENDAR, calendar_form(
        name="Night desk", periods=[(0, "22:00", "24:00"), (1, "00:00", "06:00")]),
        token_from=NEW_CALENDAR)
    assert response.status_code == 302, text(response)[:3000]
    calendar = service_suite.sql("SELECT id FROM svc_calendar WHERE name = 'Night desk'")[0][0]
    assert "Monday: 22:00-24:00" in text(admin.get(
        f"/admin/business-calendar/details/?id={calendar}"))


def test_one_default_calendar(service_suite):
    admin = service_suite.admin_client()
    response = admin.post_form(NEW_CALENDAR, calendar_form(name="New default", default=True,
                                                           periods=LUNCH_BREAK),
                               token_from=NEW_CALENDAR)
    assert response.status_code == 302
    assert [row[0] for row in service_suite.sql(
        "SELECT name FROM svc_calendar WHERE is_default = :t", t=True)] == ["New default"]


def test_saving_a_calendar_sends_open_tickets_to_the_job(service_suite):
    """Their deadlines are worked out again by the escalation job, on its next run."""
    from addons.crm_service.models import Ticket
    from core.db import db
    app = service_suite.app()
    with app.app_context():
        db.session.add(Ticket(subject="Slow", channel="phone"))
        db.session.commit()
    service_suite.sql("UPDATE svc_ticket SET sla_warn_at = '2099-01-01 00:00:00'")
    admin = service_suite.admin_client()
    admin.post_form(NEW_CALENDAR, calendar_form(name="Another", periods=LUNCH_BREAK),
                    token_from=NEW_CALENDAR)
    assert str(service_suite.sql("SELECT sla_warn_at FROM svc_ticket")[0][0]) < "2099"


def policy_form(**fields):
    data = {"name": "Gold customers", "sequence": "5", "active": "y", "priority": "",
            "kind": "", "grade": "A", "customer": "", "first_response_minutes": "30",
            "next_reply_minutes": "", "resolution_minutes": "480", "warning_percent": "75",
            "calendar": "", "reassign_to": ""}
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_a_policy_through_the_form(service_suite):
    admin = service_suite.admin_client()
    response = admin.post_form(NEW_POLICY, policy_form(), token_from=NEW_POLICY)
    assert response.status_code == 302, text(response)[:3000]
    row = service_suite.sql("SELECT grade, first_response_minutes, resolution_minutes, "
                            "warning_percent FROM svc_sla_policy WHERE name = 'Gold customers'")
    assert tuple(row[0]) == ("A", 30, 480, 75)
    # The order and the calendar say how they work, on the form.
    page = text(admin.get(NEW_POLICY))
    assert "else around the clock (24 hours, 7 days)" in page


@pytest.mark.parametrize("fields, message", [
    ({"first_response_minutes": "", "resolution_minutes": ""}, "Set at least one target."),
    ({"resolution_minutes": "0"}, "Between 1 and"),
    ({"first_response_minutes": "-5"}, "Between 1 and"),
    ({"warning_percent": "150"}, "Between 1 and 100."),
], ids=["no target", "zero", "negative", "warning over 100"])
def test_bad_policies_are_refused(service_suite, fields, message):
    admin = service_suite.admin_client()
    before = count(service_suite, "svc_sla_policy")
    response = admin.post_form(NEW_POLICY, policy_form(**fields), token_from=NEW_POLICY)
    assert response.status_code == 200
    assert message in text(response)
    assert count(service_suite, "svc_sla_policy") == before


def test_agents_read_the_configuration_and_change_nothing(service_suite):
    agent = add_user(service_suite, "ann", "service_agent")
    assert agent.get("/admin/business-calendar/").status_code == 200
    assert agent.get("/admin/sla-policy/details/?id=1").status_code == 200
    assert agent.get(NEW_CALENDAR).status_code == 403
    response = agent.post_form(NEW_POLICY, policy_form(), token_from="/admin/")
    assert response.status_code == 403
    assert agent.get("/admin/ticket-routing/").status_code == 403


def test_the_defaults_of_an_enable(service_suite):
    """The standard calendar (lunch break, 2026's holidays and 调休), a policy per
    priority, root causes and folders; enabling again adds nothing twice."""
    def counts():
        return [count(service_suite, table) for table in (
            "svc_calendar", "svc_working_period", "svc_calendar_day", "svc_sla_policy",
            "svc_root_cause", "svc_kb_folder")]
    assert counts() == [1, 10, 39, 4, 7, 3]
    working = service_suite.sql("SELECT day FROM svc_calendar_day WHERE kind = 'working day' "
                                "ORDER BY day")
    assert [str(row[0]) for row in working] == [
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
    result = service_suite.run("addons", "disable", "crm_service")
    assert result.exit_code == 0, result.output
    result = service_suite.run("addons", "enable", "crm_service")
    assert result.exit_code == 0, result.output
    assert counts() == [1, 10, 39, 4, 7, 3]


def test_the_configuration_reads_in_chinese(service_suite):
    service_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
    admin = service_suite.admin_client()
    page = text(admin.get("/admin/business-calendar/details/?id=1"))
    assert "标准工作时间" in page and "星期一: 09:00-12:00, 13:30-18:00" in page
    assert "国庆节" in page and "春节" in page
