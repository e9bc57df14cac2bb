"""Issue 14: a customer given to another owner kept its follow-up reminders with the old
one. Its open activities of the old owner now go with it (core.reassign, declared by
Activity.owner_follows): on the Reassign page, from a list's selection and on the
customer's form; the rest stays."""
import json
import re
from datetime import date, timedelta

from tests.addons.crm_contacts.test_activities import add_activity, make_user, page_text
from tests.addons.crm_contacts.test_follow_up import add_customer, reminders, run_job

REASSIGN = "/admin/reassign/"


def today(days=0):
    return (date.today() + timedelta(days=days)).isoformat()


def setup(suite):
    """Bob's customer Acme with activities of every kind; ids by name."""
    ids = {name: make_user(suite, name) for name in ("bob", "alice", "carol")}
    admin = suite.admin_client()
    ids["acme"] = add_customer(admin, suite, "Acme", "C", ids["bob"])
    ids["other"] = add_customer(admin, suite, "Other", "C", ids["bob"])
    at = f"{today(-3)} 10:00"
    for name, owner, customer, status, follow_up in (
            ("planned", "bob", "acme", "planned", None),
            ("follow-up due", "bob", "acme", "done", today()),
            ("follow-up later", "bob", "acme", "done", today(7)),
            ("done", "bob", "acme", "done", None),
            ("old follow-up", "bob", "acme", "done", today(-2)),
            ("cancelled", "bob", "acme", "cancelled", today(3)),
            ("carol's", "carol", "acme", "planned", None),
            ("other customer", "bob", "other", "planned", None)):
        ids[name] = add_activity(admin, suite, name, at, owner=ids[owner],
                                 customer=ids[customer], status=status,
                                 next_follow_up=follow_up)
    return admin, ids


def owners(suite, ids):
    names = {ids[user]: user for user in ("bob", "alice", "carol")}
    return {subject: names[owner] for subject, owner in suite.sql(
        "SELECT subject, owner_id FROM crm_activity")}


FOLLOWED = {"planned": "alice", "follow-up due": "alice", "follow-up later": "alice",
            "done": "bob", "old follow-up": "bob", "cancelled": "bob", "carol's": "carol",
            "other customer": "bob"}


def test_reassigning_customers_takes_their_open_activities_along(contacts_suite):
    admin, ids = setup(contacts_suite)
    query = f"from_user={ids['bob']}&to_user={ids['alice']}&models=Customer"
    preview = page_text(admin.get(f"{REASSIGN}?{query}"))
    # Two customers, and the three open activities of Acme and the one of Other.
    assert re.search(r'<td>[^<]*</td><td class="text-right">2</td>', preview)
    assert re.search(r'<td>[^<]*</td><td class="text-right">4</td>', preview)
    response = admin.post_form(REASSIGN, {"from_user": ids["bob"], "to_user": ids["alice"],
                                          "models": ["Customer"]}, token_from=REASSIGN)
    assert response.status_code == 302
    assert owners(contacts_suite, ids) == {**FOLLOWED, "other customer": "alice"}
    audit = contacts_suite.sql("SELECT record_id, changes FROM core_audit WHERE "
                               "model = 'Activity' AND action = 'update'")
    assert sorted(record for record, _changes in audit) == sorted(
        ids[name] for name in ("planned", "follow-up due", "follow-up later",
                               "other customer"))
    assert json.loads(audit[0][1]) == {"owner_id": [ids["bob"], ids["alice"]]}
    # The follow-up due today reminds the new owner; the one past before the change
    # (reminded then, when the job runs daily) stays the old owner's.
    run_job(contacts_suite)
    assert [(user, link) for user, link, _key in reminders(contacts_suite)] == [
        ("alice", f"/admin/activity/details/?id={ids['follow-up due']}"),
        ("bob", f"/admin/activity/details/?id={ids['old follow-up']}")]


def test_a_customer_selected_in_the_list_takes_only_its_own(contacts_suite):
    admin, ids = setup(contacts_suite)
    admin.post_form(REASSIGN, {"from_user": ids["bob"], "to_user": ids["alice"],
                               "models": ["Customer"], "model": "Customer",
                               "ids": str(ids["acme"])}, token_from=REASSIGN)
    assert owners(contacts_suite, ids) == FOLLOWED


def test_a_new_owner_on_the_customer_form_takes_them_too(contacts_suite):
    admin, ids = setup(contacts_suite)
    path = f"/admin/customer/edit/?id={ids['acme']}"
    response = admin.post_form(path, {"name": "Acme", "kind": "company", "stage": "active",
                                      "grade": "C", "owner": ids["alice"],
                                      "crm_confirmed": "1"}, token_from=path)
    assert response.status_code == 302, page_text(response)[:2000]
    assert contacts_suite.sql("SELECT owner_id FROM crm_customer WHERE id = :id",
                              id=ids["acme"])[0][0] == ids["alice"]
    assert owners(contacts_suite, ids) == FOLLOWED
    # Audited like any change, by the user who saved the form.
    assert len(contacts_suite.sql(
        "SELECT id FROM core_audit WHERE model = 'Activity' AND action = 'update' "
        "AND record_id = :id", id=ids["planned"])) == 1
