"""Activities through the screens: the overlap warning, "Save anyway", the end before
the start, and the "My activities today" section of the Today page."""
import re
from datetime import date, datetime

PASSWORD = "a long password 1"
NEW = "/admin/activity/new/"


# -- helpers, shared with test_calendar.py and test_follow_up.py -------------------------

def make_user(suite, username, groups="contacts_user", full_name=""):
    result = suite.run("create-user", "--username", username, "--password", PASSWORD,
                       "--groups", groups, "--full-name", full_name)
    assert result.exit_code == 0, result.output
    return suite.sql("SELECT id FROM core_user WHERE username = :name", name=username)[0][0]


def user_client(suite, username):
    client = suite.client()
    client.login(username, PASSWORD)
    return client


def when(text):
    """'2026-11-25 10:00' as the form writes it."""
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S")


def activity_form(subject, start, end=None, owner=None, participants=(), status="planned",
                  kind="meeting", customer=None, next_follow_up=None, confirmed=True):
    data = {"subject": subject, "kind": kind, "status": status, "start_at": when(start),
            "end_at": when(end) if end else "", "owner": owner or "",
            "participants": [str(p) for p in participants], "customer": customer or "",
            "next_follow_up": next_follow_up or ""}
    if confirmed:
        data["crm_confirmed"] = "1"
    return data


def add_activity(client, suite, subject, start, **fields):
    """Create an activity through the form ("Save anyway" pressed); its id."""
    response = client.post_form(NEW, activity_form(subject, start, **fields), token_from=NEW)
    assert response.status_code == 302, page_text(response)[:3000]
    return last_id(suite, "crm_activity")


def last_id(suite, table):
    return suite.sql(f"SELECT max(id) FROM {table}")[0][0]


def count(suite, table="crm_activity"):
    return suite.sql(f"SELECT count(*) FROM {table}")[0][0]


def page_text(response):
    return response.get_data(as_text=True)


def warnings_of(response):
    """The text of the warning box above the form, or '' without one."""
    match = re.search(r'<div class="alert alert-warning crm-form-warnings">(.*?)</div>\s*</div>',
                      page_text(response), re.S)
    return match.group(1) if match else ""


# -- the overlap warning ------------------------------------------------------------------

def test_overlap_warns_and_saves_nothing_until_confirmed(contacts_suite):
    alice = make_user(contacts_suite, "alice", full_name="Alice Archer")
    bob = make_user(contacts_suite, "bob", full_name="Bob Baker")
    admin = contacts_suite.admin_client()
    existing = add_activity(admin, contacts_suite, "Visit Acme", "2026-11-25 10:00",
                            end="2026-11-25 11:00", owner=alice)
    before = count(contacts_suite)

    # Bob's meeting with Alice taking part, from 10:30 and without an end: an hour.
    form = activity_form("Budget meeting", "2026-11-25 10:30", owner=bob,
                         participants=[alice], confirmed=False)
    response = admin.post_form(NEW, form, token_from=NEW)
    assert response.status_code == 200
    box = warnings_of(response)
    assert f'href="/admin/activity/details/?id={existing}"' in box
    assert "Alice Archer" in box and "Visit Acme" in box
    assert 'name="crm_confirmed"' in page_text(response)   # the "Save anyway" button
    assert count(contacts_suite) == before

    response = admin.post_form(NEW, dict(form, crm_confirmed="1"), token_from=NEW)
    assert response.status_code == 302
    assert count(contacts_suite) == before + 1


def test_overlap_of_the_owner_and_on_edit_not_with_itself(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    admin = contacts_suite.admin_client()
    first = add_activity(admin, contacts_suite, "Call Li", "2026-11-25 09:00", owner=alice)
    second = add_activity(admin, contacts_suite, "Call Wang", "2026-11-25 14:00", owner=alice)

    # Editing the second without moving it: it does not overlap itself.
    edit = f"/admin/activity/edit/?id={second}"
    same = activity_form("Call Wang again", "2026-11-25 14:00", owner=alice, confirmed=False)
    response = admin.post_form(edit, same, token_from=edit)
    assert response.status_code == 302
    assert contacts_suite.sql("SELECT subject FROM crm_activity WHERE id = :id",
                              id=second)[0][0] == "Call Wang again"

    # Moved onto the first (9:00 to 10:00, no end): warned, not saved.
    moved = activity_form("Call Wang again", "2026-11-25 09:30", owner=alice, confirmed=False)
    response = admin.post_form(edit, moved, token_from=edit)
    assert response.status_code == 200
    assert f"/admin/activity/details/?id={first}" in warnings_of(response)
    assert f"/admin/activity/details/?id={second}" not in warnings_of(response)
    start = contacts_suite.sql("SELECT start_at FROM crm_activity WHERE id = :id", id=second)
    assert str(start[0][0]).startswith("2026-11-25 14:00")


def test_no_warning_without_overlap(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    bob = make_user(contacts_suite, "bob")
    admin = contacts_suite.admin_client()
    add_activity(admin, contacts_suite, "Morning call", "2026-11-25 09:00", owner=alice)
    add_activity(admin, contacts_suite, "Cancelled visit", "2026-11-25 11:00",
                 end="2026-11-25 13:00", owner=alice, status="cancelled")
    add_activity(admin, contacts_suite, "Bob's visit", "2026-11-25 12:00", owner=bob)
    cases = [
        # Right after the morning call (which lasts an hour, having no end).
        activity_form("Next call", "2026-11-25 10:00", end="2026-11-25 11:00", owner=alice,
                      confirmed=False),
        # Over the cancelled visit only.
        activity_form("Lunch", "2026-11-25 11:30", end="2026-11-25 11:45", owner=alice,
                      confirmed=False),
        # Over the morning call, but cancelled itself.
        activity_form("Dropped", "2026-11-25 09:15", owner=alice, status="cancelled",
                      confirmed=False),
        # Another person's time.
        activity_form("Alone", "2026-11-25 12:15", owner=alice, confirmed=False),
    ]
    for form in cases:
        before = count(contacts_suite)
        response = admin.post_form(NEW, form, token_from=NEW)
        assert response.status_code == 302, (form["subject"], warnings_of(response))
        assert count(contacts_suite) == before + 1


def test_end_before_start_refused(contacts_suite):
    admin = contacts_suite.admin_client()
    before = count(contacts_suite)
    form = activity_form("Backwards", "2026-11-25 10:00", end="2026-11-25 09:00")
    response = admin.post_form(NEW, form, token_from=NEW)   # even with "Save anyway"
    assert response.status_code == 200
    assert "The end is before the start." in page_text(response)
    assert count(contacts_suite) == before


def test_activities_the_user_cannot_see_are_only_counted(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    bob = make_user(contacts_suite, "bob", full_name="Bob Baker")
    admin = contacts_suite.admin_client()
    # Bob's secret meeting, with Alice taking part: Alice (rule "own") cannot read it.
    secret = add_activity(admin, contacts_suite, "Secret merger talk", "2026-11-25 10:00",
                          end="2026-11-25 12:00", owner=bob, participants=[alice])
    mine = add_activity(admin, contacts_suite, "Alice's own call", "2026-11-25 11:00",
                        owner=alice)
    client = user_client(contacts_suite, "alice")
    form = activity_form("Another call", "2026-11-25 11:30", confirmed=False)
    response = client.post_form(NEW, form, token_from=NEW)
    assert response.status_code == 200
    box = warnings_of(response)
    assert f"/admin/activity/details/?id={mine}" in box
    assert "1 other activity you cannot see" in box
    assert f"?id={secret}" not in box
    assert "Secret merger talk" not in page_text(response)
    assert "Bob Baker" not in page_text(response)


# -- Today -----------------------------------------------------------------------------------

def test_my_activities_today(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    bob = make_user(contacts_suite, "bob")
    admin = contacts_suite.admin_client()
    today = date.today().isoformat()
    add_activity(admin, contacts_suite, "Today's <visit>", f"{today} 09:00", owner=alice)
    add_activity(admin, contacts_suite, "Done already", f"{today} 08:00", owner=alice,
                 status="done")
    add_activity(admin, contacts_suite, "Bob's call", f"{today} 10:00", owner=bob)
    add_activity(admin, contacts_suite, "Some other day", "2020-01-01 10:00", owner=alice)
    page = page_text(user_client(contacts_suite, "alice").get("/admin/today/"))
    assert "My activities today" in page
    assert "Today&#39;s &lt;visit&gt;" in page and "09:00" in page   # escaped
    assert "Done already" not in page
    assert "Bob&#39;s call" not in page
    assert "Some other day" not in page
