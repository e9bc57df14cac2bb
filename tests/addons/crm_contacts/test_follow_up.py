"""The daily follow-up job: follow-ups due, and grade A/B customers gone quiet."""
from datetime import date, timedelta

from tests.addons.crm_contacts.test_activities import (
    add_activity,
    last_id,
    make_user,
    page_text,
    user_client,
)

JOB = "crm_contacts.follow_up"


def days_ago(days, at="10:00"):
    return f"{(date.today() - timedelta(days=days)).isoformat()} {at}"


def add_customer(client, suite, name, grade, owner, age_days=365):
    """A customer through the form, taken on ``age_days`` ago."""
    form = {"name": name, "kind": "company", "stage": "active", "grade": grade,
            "owner": owner, "crm_confirmed": "1"}
    response = client.post_form("/admin/customer/new/", form, token_from="/admin/customer/new/")
    assert response.status_code == 302, page_text(response)[:3000]
    customer = last_id(suite, "crm_customer")
    suite.sql("UPDATE crm_customer SET created_at = :at WHERE id = :id",
              at=date.today() - timedelta(days=age_days), id=customer)
    return customer


def run_job(suite):
    result = suite.run("run-job", JOB)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def reminders(suite):
    """(username, link, key) of every reminder written."""
    return sorted(tuple(row) for row in suite.sql(
        "SELECT u.username, n.link, n.key FROM core_notification n "
        "JOIN core_user u ON u.id = n.user_id"))


def save_settings(client, days_a, days_b):
    response = client.post_form("/admin/addon-settings/", {
        "crm_contacts:follow_up_days_A": str(days_a),
        "crm_contacts:follow_up_days_B": str(days_b)}, token_from="/admin/addon-settings/")
    assert response.status_code == 302, page_text(response)[:3000]


def iso_week():
    year, week, _day = date.today().isocalendar()
    return f"{year}-W{week:02d}"


def test_reminds_the_right_owners_once(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    bob = make_user(contacts_suite, "bob")
    admin = contacts_suite.admin_client()
    acme = add_customer(admin, contacts_suite, "Acme", "A", bob)     # quiet for 40 days
    busy = add_customer(admin, contacts_suite, "Busy", "A", bob)     # called 5 days ago
    add_customer(admin, contacts_suite, "Cee", "C", bob)             # grade C: never
    bee = add_customer(admin, contacts_suite, "Bee", "B", alice)     # 40 < 60 days
    add_customer(admin, contacts_suite, "Fresh", "A", alice, age_days=3)   # new: not idle
    due = add_activity(admin, contacts_suite, "Quote sent", days_ago(40), owner=alice,
                       customer=acme, status="done",
                       next_follow_up=(date.today() - timedelta(days=1)).isoformat())
    add_activity(admin, contacts_suite, "Call", days_ago(5), owner=bob, customer=busy,
                 status="done", next_follow_up=(date.today() + timedelta(days=3)).isoformat())
    add_activity(admin, contacts_suite, "Dropped", days_ago(2), owner=bob, customer=acme,
                 status="cancelled", next_follow_up=date.today().isoformat())
    add_activity(admin, contacts_suite, "Old visit", days_ago(40), owner=alice, customer=bee,
                 status="done")

    assert run_job(contacts_suite) == f"{JOB}: ok 1 follow-up, 1 idle customer"
    # Exactly these: not the follow-up to come, not the cancelled one, not Busy, Cee,
    # Bee or Fresh.
    assert reminders(contacts_suite) == sorted([
        ("alice", f"/admin/activity/details/?id={due}",
         f"activity:{due}:follow-up:{(date.today() - timedelta(days=1)).isoformat()}"),
        ("bob", f"/admin/customer/details/?id={acme}", f"customer:{acme}:idle:{iso_week()}"),
    ])

    # Under the bell and on the Today page of each owner, titled.
    alice_today = page_text(user_client(contacts_suite, "alice").get("/admin/today/"))
    assert "Follow up: Quote sent" in alice_today
    bob_today = page_text(user_client(contacts_suite, "bob").get("/admin/today/"))
    assert "No activity for 30 days: Acme" in bob_today

    # Again the same day: nothing new.
    assert run_job(contacts_suite) == f"{JOB}: ok 0 follow-ups, 0 idle customers"
    assert len(reminders(contacts_suite)) == 2


def test_a_new_follow_up_date_reminds_again(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    admin = contacts_suite.admin_client()
    due = add_activity(admin, contacts_suite, "Demo", days_ago(10), owner=alice,
                       status="done", next_follow_up=days_ago(2)[:10])
    assert run_job(contacts_suite).endswith("1 follow-up, 0 idle customers")
    contacts_suite.sql("UPDATE crm_activity SET next_follow_up = :day WHERE id = :id",
                       day=date.today(), id=due)
    assert run_job(contacts_suite).endswith("1 follow-up, 0 idle customers")
    assert [key for _user, _link, key in reminders(contacts_suite)] == sorted([
        f"activity:{due}:follow-up:{days_ago(2)[:10]}",
        f"activity:{due}:follow-up:{date.today().isoformat()}"])


def test_days_from_the_settings_screen(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    bob = make_user(contacts_suite, "bob")
    admin = contacts_suite.admin_client()
    acme = add_customer(admin, contacts_suite, "Acme", "A", bob)
    bee = add_customer(admin, contacts_suite, "Bee", "B", alice)
    add_activity(admin, contacts_suite, "Visit", days_ago(40), owner=bob, customer=acme)
    add_activity(admin, contacts_suite, "Visit", days_ago(40), owner=alice, customer=bee)

    save_settings(admin, 50, 0)   # A after 50 days: Acme (40) is fine; B not watched
    assert run_job(contacts_suite).endswith("0 follow-ups, 0 idle customers")
    assert reminders(contacts_suite) == []

    save_settings(admin, 0, 30)   # A not watched; B after 30 days: Bee is due
    assert run_job(contacts_suite).endswith("0 follow-ups, 1 idle customer")
    assert reminders(contacts_suite) == [
        ("alice", f"/admin/customer/details/?id={bee}", f"customer:{bee}:idle:{iso_week()}")]

    save_settings(admin, 35, 30)  # A after 35 days: Acme now too
    assert run_job(contacts_suite).endswith("0 follow-ups, 1 idle customer")
    assert [user for user, _link, _key in reminders(contacts_suite)] == ["alice", "bob"]


def test_email_copy_for_those_who_asked(contacts_suite):
    alice = make_user(contacts_suite, "alice")
    bob = make_user(contacts_suite, "bob")
    contacts_suite.sql("UPDATE core_user SET notify_by_email = :yes, email = 'alice@example.com'"
                       " WHERE id = :id", yes=True, id=alice)
    admin = contacts_suite.admin_client()
    for owner in (alice, bob):
        add_activity(admin, contacts_suite, "Offer", days_ago(3), owner=owner, status="done",
                     next_follow_up=days_ago(1)[:10])
    assert run_job(contacts_suite).endswith("2 follow-ups, 0 idle customers")
    sent = contacts_suite.sql("SELECT subject FROM core_message")
    assert [row[0] for row in sent] == ["Follow up: Offer"]


def test_each_owner_is_reminded_in_their_own_language(contacts_suite):
    """A job has no request and so no reader: each reminder is written in its owner's
    language (flask-babel translates nothing in a job's bare app context)."""
    alice = make_user(contacts_suite, "alice")
    bob = make_user(contacts_suite, "bob")
    contacts_suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE id = :id", id=alice)
    admin = contacts_suite.admin_client()
    acme = add_customer(admin, contacts_suite, "Acme", "A", alice)
    for owner in (alice, bob):
        add_activity(admin, contacts_suite, "Offer", days_ago(3), owner=owner, status="done",
                     next_follow_up=days_ago(1)[:10])
    assert run_job(contacts_suite).endswith("2 follow-ups, 1 idle customer")
    titles = dict(contacts_suite.sql(
        "SELECT u.username || ':' || n.link, n.title FROM core_notification n "
        "JOIN core_user u ON u.id = n.user_id"))
    assert sorted(titles.values()) == sorted(
        ["跟进：Offer", "Follow up: Offer", "30 天无跟进：Acme"]), titles
    assert titles[f"alice:/admin/customer/details/?id={acme}"] == "30 天无跟进：Acme"
