"""The activity calendar: month and week, mine and my team's, within the record rules,
in a constant number of queries."""
import html
import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.addons.crm_contacts.test_activities import (
    add_activity,
    make_user,
    page_text,
    user_client,
)

CALENDAR = "/admin/calendar/"


def cells(response):
    """{date: html of the day's cell} of a calendar page."""
    return dict(re.findall(r'<td[^>]*data-date="([0-9-]+)">(.*?)</td>', page_text(response),
                           re.S))


def query_of(link):
    return parse_qs(urlsplit(html.unescape(link)).query)


def day_of(response, subject):
    """The dates whose cells list ``subject``."""
    return sorted(day for day, cell in cells(response).items() if subject in cell)


def test_month_lists_own_activities_only(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    bob = make_user(contacts_suite, "bob")
    admin = contacts_suite.admin_client()
    add_activity(admin, contacts_suite, "Alice visits Acme", "2026-11-25 10:00", owner=alice)
    add_activity(admin, contacts_suite, "Alice calls Li", "2026-10-27 15:00", owner=alice)
    add_activity(admin, contacts_suite, "Alice next year", "2027-01-05 15:00", owner=alice)
    add_activity(admin, contacts_suite, "Bob visits Acme", "2026-11-25 10:00", owner=bob)
    # Bob's, with Alice taking part: her rule ("own") hides it all the same.
    add_activity(admin, contacts_suite, "Bob invites Alice", "2026-11-26 10:00", owner=bob,
                 participants=[alice])

    client = user_client(contacts_suite, "alice")
    for who in ("me", "team"):
        response = client.get(f"{CALENDAR}?view=month&date=2026-11-10&who={who}")
        assert response.status_code == 200
        days = sorted(cells(response))
        assert len(days) == 42 and days[0] == "2026-10-26" and days[-1] == "2026-12-06"
        assert day_of(response, "Alice visits Acme") == ["2026-11-25"]
        assert day_of(response, "Alice calls Li") == ["2026-10-27"]   # shown greyed
        text = page_text(response)
        assert "Alice next year" not in text
        assert "Bob visits Acme" not in text and "Bob invites Alice" not in text


def test_week_lists_the_week(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    admin = contacts_suite.admin_client()
    add_activity(admin, contacts_suite, "Wednesday visit", "2026-11-25 10:00",
                 end="2026-11-25 11:30", owner=alice)
    add_activity(admin, contacts_suite, "Sunday task", "2026-11-29 18:00", owner=alice,
                 kind="task")
    add_activity(admin, contacts_suite, "Next Monday", "2026-11-30 09:00", owner=alice)
    add_activity(admin, contacts_suite, "Two-day fair", "2026-11-23 09:00",
                 end="2026-11-24 17:00", owner=alice, kind="visit")

    response = user_client(contacts_suite, "alice").get(
        f"{CALENDAR}?view=week&date=2026-11-25")
    assert response.status_code == 200
    assert sorted(cells(response)) == [f"2026-11-{day}" for day in range(23, 30)]
    assert day_of(response, "Wednesday visit") == ["2026-11-25"]
    assert "10:00–11:30" in cells(response)["2026-11-25"]
    assert day_of(response, "Sunday task") == ["2026-11-29"]
    assert day_of(response, "Two-day fair") == ["2026-11-23", "2026-11-24"]
    assert "Next Monday" not in page_text(response)
    # Previous, today and next, keeping the view and the switch.
    links = [query_of(link) for link in re.findall(r'href="(/admin/calendar/\?[^"]+)"',
                                                  page_text(response))]
    assert {"view": ["week"], "date": ["2026-11-18"], "who": ["me"]} in links
    assert {"view": ["week"], "date": ["2026-12-02"], "who": ["me"]} in links
    assert {"view": ["month"], "date": ["2026-11-25"], "who": ["me"]} in links
    assert {"view": ["week"], "date": ["2026-11-25"], "who": ["team"]} in links


def test_mine_includes_activities_i_take_part_in(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    admin_id = contacts_suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    admin = contacts_suite.admin_client()
    add_activity(admin, contacts_suite, "Alice with the boss", "2026-11-25 10:00",
                 owner=alice, participants=[admin_id])
    add_activity(admin, contacts_suite, "Alice alone", "2026-11-25 14:00", owner=alice)
    text = page_text(admin.get(f"{CALENDAR}?date=2026-11-25&who=me"))
    assert "Alice with the boss" in text and "Alice alone" not in text


def test_team_switch_shows_team_members(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    carol = make_user(contacts_suite, "carol")
    bob = make_user(contacts_suite, "bob")
    # Users read their teams' activities; Alice and Carol are a team, Bob is not in it.
    contacts_suite.sql("UPDATE core_access SET scope = 'team' WHERE model = 'Activity' AND "
                       "group_id = (SELECT id FROM core_group WHERE code = 'contacts_user')")
    contacts_suite.sql("INSERT INTO core_team (name, leader_id) VALUES ('North', :alice)",
                       alice=alice)
    contacts_suite.sql("INSERT INTO core_team_member (team_id, user_id) "
                       "SELECT id, :carol FROM core_team WHERE name = 'North'", carol=carol)
    admin = contacts_suite.admin_client()
    add_activity(admin, contacts_suite, "Alice's call", "2026-11-25 10:00", owner=alice)
    add_activity(admin, contacts_suite, "Carol's call", "2026-11-25 11:00", owner=carol)
    add_activity(admin, contacts_suite, "Bob's call", "2026-11-25 12:00", owner=bob)

    client = user_client(contacts_suite, "alice")
    mine = html.unescape(page_text(client.get(f"{CALENDAR}?date=2026-11-25&who=me")))
    team = html.unescape(page_text(client.get(f"{CALENDAR}?date=2026-11-25&who=team")))
    assert "Alice's call" in mine and "Carol's call" not in mine
    assert "Alice's call" in team and "Carol's call" in team
    assert "Bob's call" not in mine and "Bob's call" not in team


def test_constant_number_of_queries(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    carol = make_user(contacts_suite, "carol")
    admin_id = contacts_suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    admin = contacts_suite.admin_client()
    page = f"{CALENDAR}?view=month&date=2026-11-10&who=team"

    def statements():
        admin.get(page)   # warm-up: what a first request loads once
        seen = []

        def count(*_args):
            seen.append(1)

        event.listen(Engine, "before_cursor_execute", count)
        try:
            assert admin.get(page).status_code == 200
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        return len(seen)

    add_activity(admin, contacts_suite, "First", "2026-11-02 10:00", owner=admin_id,
                 participants=[alice])
    add_activity(admin, contacts_suite, "Second", "2026-11-03 10:00", owner=admin_id)
    few = statements()
    for day in range(4, 16):
        add_activity(admin, contacts_suite, f"More {day}", f"2026-11-{day:02d} 10:00",
                     owner=admin_id, participants=[alice, carol], kind="visit")
    many_page = page_text(admin.get(page))
    assert "More 15" in many_page
    assert statements() == few


def test_links_overlaps_and_escaping(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    admin = contacts_suite.admin_client()
    first = add_activity(admin, contacts_suite, "<b>Visit</b> Acme", "2026-11-25 10:00",
                         end="2026-11-25 11:00", owner=alice)
    add_activity(admin, contacts_suite, "Call over it", "2026-11-25 10:30", owner=alice,
                 kind="call")
    add_activity(admin, contacts_suite, "Call later", "2026-11-25 16:00", owner=alice,
                 kind="call")
    add_activity(admin, contacts_suite, "Cancelled over it", "2026-11-25 10:15",
                 owner=alice, status="cancelled")

    client = user_client(contacts_suite, "alice")
    response = client.get(f"{CALENDAR}?view=month&date=2026-11-25&who=me")
    cell = cells(response)["2026-11-25"]
    items = dict((re.search(r'title="([^"]*)"', item).group(1), item)
                 for item in re.findall(r"<li.*?</li>", cell, re.S))
    assert "crm-cal-clash" in items["&lt;b&gt;Visit&lt;/b&gt; Acme"]
    assert "crm-cal-clash" in items["Call over it"]
    assert "crm-cal-clash" not in items["Call later"]
    assert "crm-cal-clash" not in items["Cancelled over it"]
    assert "<b>Visit</b>" not in page_text(response)
    assert "fa-phone" in items["Call over it"] and "10:30" in items["Call over it"]

    # Alice may write: each activity opens its edit form, which comes back here.
    back = "/admin/calendar/?view=month&date=2026-11-25&who=me"
    link = re.search(r'href="([^"]+)"', items["&lt;b&gt;Visit&lt;/b&gt; Acme"]).group(1)
    assert link.startswith("/admin/activity/edit/?")
    assert query_of(link) == {"id": [str(first)], "url": [back]}
    assert client.get(html.unescape(link)).status_code == 200

    # Read-only users get the detail page instead.
    contacts_suite.sql("UPDATE core_access SET letters = 'r' WHERE model = 'Activity' AND "
                       "group_id = (SELECT id FROM core_group WHERE code = 'contacts_user')")
    response = client.get(f"{CALENDAR}?view=month&date=2026-11-25&who=me")
    link = re.search(r'href="(/admin/activity/[^"]+)"', page_text(response)).group(1)
    assert link.startswith("/admin/activity/details/?")
    assert query_of(link) == {"id": [str(first)], "url": [back]}
    assert "/admin/activity/edit/" not in page_text(response)
    assert "crm-cal-add" not in page_text(response)   # nor "+" links


def test_add_link_prefills_the_start(contacts_suite):
    make_user(contacts_suite, "alice")
    client = user_client(contacts_suite, "alice")
    response = client.get(f"{CALENDAR}?view=week&date=2026-11-25")
    link = re.search(r'<a href="([^"]+)" class="crm-cal-add"',
                     cells(response)["2026-11-25"]).group(1)
    assert link.startswith("/admin/activity/new/?")
    assert query_of(link) == {"start_at": ["2026-11-25 09:00:00"],
                              "url": ["/admin/calendar/?view=week&date=2026-11-25&who=me"]}
    form = page_text(client.get(html.unescape(link)))
    assert re.search(r'<input[^>]*id="start_at"[^>]*value="2026-11-25 09:00"', form)
    # An end too, when given; nonsense is ignored.
    form = page_text(client.get("/admin/activity/new/?start_at=2026-11-25T14:00"
                                "&end_at=2026-11-25 15:30:00"))
    assert re.search(r'id="start_at"[^>]*value="2026-11-25 14:00"', form)
    assert re.search(r'id="end_at"[^>]*value="2026-11-25 15:30"', form)
    assert client.get("/admin/activity/new/?start_at=soon").status_code == 200


def test_bad_arguments_fall_back(contacts_suite):
    admin = contacts_suite.admin_client()
    response = admin.get(f"{CALENDAR}?view=year&date=2026-13-45&who=everyone")
    assert response.status_code == 200
    assert len(cells(response)) == 42


def test_in_chinese(contacts_suite):
    contacts_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
    admin = contacts_suite.admin_client()
    month = page_text(admin.get(f"{CALENDAR}?view=month&date=2026-11-25"))
    assert "2026年11月" in month and "周一" in month
    assert admin.get(f"{CALENDAR}?view=week&date=2026-11-25").status_code == 200
