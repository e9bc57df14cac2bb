"""Reminders (the bell, the Today page) and announcements."""
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from core import notifications
from core.db import db
from core.models import Message, utcnow
from tests.conftest import make_suite

PASSWORD = "reminder pass 1"


@pytest.fixture
def office(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes", "fixture_tasks"])
    for name, group in (("amy", "tasks_user"), ("ben", "tasks_lead")):
        suite.run("create-user", "--username", name, "--password", PASSWORD, "--groups", group,
                  "--email", f"{name}@example.com")
    app = suite.dispatcher().app
    def uid(name):
        return suite.sql("SELECT id FROM core_user WHERE username = :n", n=name)[0][0]
    with app.app_context():
        yield suite, app, uid
        db.session.remove()
    suite.close()


def signed_in(suite, name):
    client = suite.client()
    client.login(name, PASSWORD)
    return client


def test_notify_once_per_key_and_the_bell_counts(office):
    suite, app, uid = office
    amy = uid("amy")
    assert notifications.notify(amy, "Call Li Lei back", key="activity:1")
    assert not notifications.notify(amy, "Call Li Lei back", key="activity:1")
    notifications.notify(amy, "Send the brochure")
    db.session.commit()
    page = signed_in(suite, "amy").get("/admin/").get_data(as_text=True)
    assert 'crm-bell' in page and '<span class="badge badge-danger">2</span>' in page


def test_today_page_shows_due_and_overdue_and_addon_sections(office):
    suite, app, uid = office
    amy = uid("amy")
    notifications.notify(amy, "Overdue visit", due_at=utcnow() - timedelta(days=2))
    notifications.notify(amy, "Today's call", link="/admin/task/", due_at=utcnow())
    notifications.notify(amy, "Next week's meeting", due_at=utcnow() + timedelta(days=7))
    notifications.notify(uid("ben"), "Ben's own reminder")
    db.session.commit()
    client = signed_in(suite, "amy")
    client.post_form("/admin/task/new/", {"title": "Prepare samples"}, token_from="/admin/task/new/")
    page = client.get("/admin/today/").get_data(as_text=True)
    assert "Overdue visit" in page and "overdue" in page and "Today&#39;s call" in page
    assert "Next week" not in page and "Ben&#39;s own" not in page
    assert "My open tasks" in page and "Prepare samples" in page    # fixture_tasks' section


def test_marking_read_touches_only_your_own(office):
    suite, app, uid = office
    amy, ben = uid("amy"), uid("ben")
    notifications.notify(amy, "Amy's")
    notifications.notify(ben, "Ben's")
    db.session.commit()
    ids = [row[0] for row in db.session.execute(text("SELECT id FROM core_notification"))]
    client = signed_in(suite, "amy")
    client.post_form("/admin/today/read", {"id": ids}, token_from="/admin/today/")
    assert notifications.unread_count(amy) == 0
    assert notifications.unread_count(ben) == 1
    db.session.remove()


def test_reminder_by_email_for_users_who_opted_in(office):
    suite, app, uid = office
    amy, ben = uid("amy"), uid("ben")
    db.session.execute(text("UPDATE core_user SET notify_by_email = true WHERE id = :u"),
                       {"u": amy})
    notifications.notify(amy, "Contract renewal due", body="ACME's contract ends on 1 Dec",
                         link="/admin/task/details/?id=1")
    notifications.notify(ben, "Not by email")
    db.session.commit()
    [message] = db.session.query(Message).all()
    assert message.recipients == "amy@example.com" and message.subject == "Contract renewal due"
    assert "ACME" in message.body_text
    # Links start with [server] public_url, never with a Host header a visitor chose.
    assert "http://127.0.0.1:5000/admin/task/details/?id=1" in message.body_text


def test_announcements_by_audience_and_dates(office):
    suite, app, uid = office
    admin = suite.admin_client()
    lead_group = db.session.execute(
        text("SELECT id FROM core_group WHERE code = 'tasks_lead'")).scalar()
    today = date.today()
    for title, groups, start, end in (
            ("Office closed on Friday", [], today, None),
            ("Leads: pipeline review at 3pm", [lead_group], today, today),
            ("Notice for later", [], today + timedelta(days=30), None),
            ("Expired notice", [], today - timedelta(days=10), today - timedelta(days=1))):
        response = admin.post_form("/admin/announcements/new/", {
            "title": title, "body": "details", "starts_on": start.isoformat(),
            "ends_on": end.isoformat() if end else "", "groups": groups},
            token_from="/admin/announcements/new/")
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    amy_page = signed_in(suite, "amy").get("/admin/").get_data(as_text=True)
    ben = signed_in(suite, "ben")
    ben_page = ben.get("/admin/").get_data(as_text=True)
    assert "Office closed on Friday" in amy_page and "pipeline review" not in amy_page
    assert "Office closed on Friday" in ben_page and "pipeline review" in ben_page
    for page in (amy_page, ben_page):
        assert "Notice for later" not in page and "Expired notice" not in page

    notice = db.session.execute(text(
        "SELECT id FROM core_announcement WHERE title = 'Office closed on Friday'")).scalar()
    ben.post_form(f"/admin/today/announcement/{notice}/read", {})
    ben_page = ben.get("/admin/").get_data(as_text=True)
    assert "Office closed on Friday" not in ben_page and "pipeline review" in ben_page
    assert "Office closed on Friday" in signed_in(suite, "amy").get("/admin/").get_data(as_text=True)


def test_announcement_end_before_start_is_refused(office):
    suite, app, uid = office
    admin = suite.admin_client()
    response = admin.post_form("/admin/announcements/new/", {
        "title": "Backwards", "body": "", "starts_on": "2026-12-10", "ends_on": "2026-12-01"},
        token_from="/admin/announcements/new/")
    assert response.status_code == 200
    assert db.session.execute(text("SELECT count(*) FROM core_announcement")).scalar() == 0


def test_only_administrators_publish_announcements(office):
    suite, app, uid = office
    assert signed_in(suite, "ben").get("/admin/announcements/new/").status_code == 403
