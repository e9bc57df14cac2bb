"""Writing through the REST API (core/api.py): records created, changed and deleted with
a read-and-write token, through the screen's own checks (its form, record rules, fields
hidden or read-only for the user's groups, the owner, a state that locks a record);
If-Match against lost updates; every refusal a problem document naming the field, with
nothing written; the audit trail naming the token."""
import json
import threading
import time
import urllib.request

import pytest

from tests.addons.crm_contacts.helpers import add_user, create_customer, user_id
from tests.addons.crm_sales.quote_helpers import create_customer as create_quote_customer
from tests.addons.crm_sales.quote_helpers import create_quote, team
from tests.addons.crm_sales.test_quotes import line
from tests.addons.test_api import make_token, refused
from tests.addons.test_field_layout import set_layout
from tests.e2e.conftest import serve


def send(client, key, method, path, body=None, raw=None, **headers):
    """A JSON request to /api/v1/<path> with the token ``key``."""
    headers = {"Authorization": f"Bearer {key}", **headers}
    data = raw if raw is not None else None if body is None else json.dumps(body)
    return client.open(f"/api/v1/{path}", method=method, data=data, headers=headers,
                       content_type="application/json")


def created(response):
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def fields_refused(response, status=422):
    """[(field, message)] of a refused write."""
    return [(error["field"], error["message"]) for error in refused(response, status)["errors"]]


def count(suite, table="crm_customer"):
    return suite.sql(f"SELECT count(*) FROM {table}")[0][0]


def test_a_record_is_created_changed_and_deleted_as_its_screen_would(contacts_suite):
    sam = add_user(contacts_suite, "sam", "contacts_user")
    key = make_token(sam, name="Web shop", access="write", models=["Customer", "Contact"])
    browser = contacts_suite.client()   # the key alone, no cookie

    response = send(browser, key, "POST", "customer", {
        "name": "Acme", "kind": "company", "stage": "prospect", "credit_limit": "1234.50",
        "grade": "A", "is_key": True})
    acme = created(response)
    assert response.headers["Location"].endswith(f"/api/v1/customer/{acme['id']}")
    assert (acme["name"], acme["credit_limit"], acme["is_key"], acme["owner_id"]) == \
        ("Acme", "1234.50", True, user_id(contacts_suite, "sam"))   # the owner, as on a form
    assert acme["code"]   # numbered as any new customer
    assert contacts_suite.sql("SELECT action, api_token FROM core_audit WHERE model = "
                              "'Customer'") == [("create", "Web shop")]
    page = sam.get(f"/admin/customer/details/?id={acme['id']}").get_data(as_text=True)
    assert "through the API (Web shop)" in page   # the record's history says so

    # A link by its id, among the records the user may read.
    contact = created(send(browser, key, "POST", "contact",
                           {"name": "Wang", "customer_id": acme["id"]}))
    assert contact["customer_id"] == acme["id"]

    # A change needs the version read (If-Match): none, 428; an old one, 412.
    path = f"customer/{acme['id']}"
    etag = send(browser, key, "GET", path).headers["ETag"]
    refused(send(browser, key, "PATCH", path, {"phone": "021-1"}), 428)
    refused(send(browser, key, "PATCH", path, {"phone": "021-1"}, **{"If-Match": '"old"'}), 412)
    changed = send(browser, key, "PATCH", path, {"phone": "021-1"}, **{"If-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["phone"] == "021-1"
    assert changed.headers["ETag"] != etag
    # A second client that read before the change cannot overwrite it (no lost update).
    refused(send(browser, key, "PATCH", path, {"phone": "021-2"}, **{"If-Match": etag}), 412)
    assert contacts_suite.sql("SELECT phone FROM crm_customer")[0][0] == "021-1"
    assert contacts_suite.sql("SELECT api_token FROM core_audit WHERE action = 'update' "
                              "AND model = 'Customer'") == [("Web shop",)]

    # Several at once: all saved, or none.
    many = created(send(browser, key, "POST", "customer", [
        {"name": f"Bulk {n}", "kind": "company", "stage": "prospect"} for n in range(3)]))
    assert [row["name"] for row in many["data"]] == ["Bulk 0", "Bulk 1", "Bulk 2"]
    before = count(contacts_suite)
    problems = fields_refused(send(browser, key, "POST", "customer", [
        {"name": "Fine", "kind": "company", "stage": "prospect"},
        {"name": "Bad", "kind": "company", "stage": "nowhere"}]))
    assert [field for field, _message in problems] == ["stage"]
    assert refused(send(browser, key, "POST", "customer", [{}, {"name": 5}]), 422)[
        "errors"][0]["index"] == 1
    assert count(contacts_suite) == before

    # sam may not delete customers (contacts_user: rwcx); a manager may, with If-Match.
    refused(send(browser, key, "DELETE", path, **{"If-Match": changed.headers["ETag"]}), 403)
    manager = add_user(contacts_suite, "max", "contacts_manager")
    manager_key = make_token(manager, access="write")
    etag = send(browser, manager_key, "GET", path).headers["ETag"]
    refused(send(browser, manager_key, "DELETE", path), 428)
    refused(send(browser, manager_key, "DELETE", path, **{"If-Match": '"old"'}), 412)
    gone = send(browser, manager_key, "DELETE", f"contact/{contact['id']}",
                **{"If-Match": send(browser, manager_key, "GET",
                                    f"contact/{contact['id']}").headers["ETag"]})
    assert gone.status_code == 204
    assert send(browser, manager_key, "DELETE", path, **{"If-Match": etag}).status_code == 204
    refused(send(browser, manager_key, "GET", path), 404)
    assert ("delete", "Shop") in contacts_suite.sql(
        "SELECT action, api_token FROM core_audit WHERE model = 'Customer'")


def test_bad_writes_are_refused_by_field_and_change_nothing(contacts_suite):
    admin = contacts_suite.admin_client()
    sam = add_user(contacts_suite, "sam", "contacts_user")
    ann = add_user(contacts_suite, "ann", "contacts_user")
    assert create_customer(ann, name="Ann's").status_code == 302
    anns = contacts_suite.sql("SELECT id FROM crm_customer")[0][0]
    key = make_token(sam, access="write")
    browser = contacts_suite.client()
    post = lambda body, **kw: send(browser, key, "POST", "customer", body, **kw)  # noqa: E731
    good = {"name": "Acme", "kind": "company", "stage": "prospect"}

    assert refused(post(None, raw="{not json"), 400)["detail"]
    refused(browser.post("/api/v1/customer", data="name=Acme",
                         headers={"Authorization": f"Bearer {key}"}), 415)
    assert fields_refused(post({**good, "credit_limit": True, "is_key": "yes", "name": 5})) == [
        ("name", "Give text."), ("credit_limit", "Give a number."),
        ("is_key", "Give true or false.")]
    assert fields_refused(post({**good, "nothing": 1})) == [
        ("nothing", "No such field, or not one you may set.")]
    assert fields_refused(post({"kind": "company", "stage": "prospect"})) == [
        ("name", "is required")]
    assert fields_refused(post({**good, "credit_limit": "lots"})) == [
        ("credit_limit", "lots is not a number")]
    # Numbers the database cannot keep (as a fuzzer sends them): refused by field, no 500.
    assert fields_refused(post({**good, "credit_limit": "1e20", "owner_id": 2**70})) == [
        ("credit_limit", "1e20 is too large"), ("owner_id", f"{2**70} was not found")]
    assert fields_refused(post({**good, "credit_limit": "NaN"})) == [
        ("credit_limit", "NaN is not a number")]
    refused(send(browser, key, "GET", f"customer/{2**70}"), 404)
    # A body over the site's upload limit (20 MB): 413, read no further.
    assert refused(post(None, raw="[" + " " * (21 * 2 ** 20) + "]"), 413)["title"]
    # A link to a record the user may not read is not found, as one that does not exist.
    assert fields_refused(send(browser, key, "POST", "contact",
                               {"name": "Li", "customer_id": anns})) == [
        ("customer_id", f"{anns} was not found")]
    # Another user's record (the rule "own"): 404, as on the screen.
    refused(send(browser, key, "PATCH", f"customer/{anns}", {"name": "Mine"},
                 **{"If-Match": '"x"'}), 404)
    # A field hidden or read-only for the user's group is not set.
    set_layout(admin, "phone", contacts_user="hidden")
    set_layout(admin, "grade", contacts_user="readonly")
    assert fields_refused(post({**good, "phone": "1", "grade": "A"})) == [
        ("phone", "No such field, or not one you may set."),
        ("grade", "No such field, or not one you may set.")]
    assert count(contacts_suite) == 1 and contacts_suite.sql(
        "SELECT count(*) FROM core_audit WHERE model = 'Customer'")[0][0] == 1

    # A read-only token, and one for other records, may not write.
    reader = make_token(sam)
    refused(send(browser, reader, "POST", "customer", good), 403)
    other = make_token(sam, access="write", models=["Contact"])
    refused(send(browser, other, "POST", "customer", good), 403)
    assert count(contacts_suite) == 1
    page = make_token(sam, expect_ok=False, access="everything")
    assert "Choose what the token may do." in page
    assert "Read and write" in sam.get("/admin/account/").get_data(as_text=True)


def test_the_screens_own_refusals_hold_through_the_api(sales_suite):
    """A converted lead can be neither changed nor deleted; a screen whose records are
    made on a page of their own takes no POST; a workflow's state is not set by a PATCH
    against its transitions."""
    admin = sales_suite.admin_client()
    key = make_token(admin, access="write")
    browser = sales_suite.client()
    lead = created(send(browser, key, "POST", "lead", {"name": "Wang", "company": "Acme"}))
    path = f"lead/{lead['id']}"
    sales_suite.sql("UPDATE sale_lead SET status = 'converted'")
    etag = send(browser, key, "GET", path).headers["ETag"]
    problem = refused(send(browser, key, "PATCH", path, {"company": "Other"},
                           **{"If-Match": etag}), 409)
    assert problem["detail"] == "A converted lead cannot be changed."
    problem = refused(send(browser, key, "DELETE", path, **{"If-Match": etag}), 409)
    assert problem["detail"] == "A converted lead is kept with its opportunity."
    assert sales_suite.sql("SELECT company FROM sale_lead") == [("Acme",)]
    # A state moves by its transitions, not by a PATCH; a delivery is made on its order's
    # page, not from values.
    other = created(send(browser, key, "POST", "lead", {"name": "Li"}))
    etag = send(browser, key, "GET", f"lead/{other['id']}").headers["ETag"]
    assert fields_refused(send(browser, key, "PATCH", f"lead/{other['id']}",
                               {"status": "converted"}, **{"If-Match": etag})) == [
        ("status", "No such field, or not one you may set.")]
    assert refused(send(browser, key, "POST", "delivery", {"notes": "x"}), 405)["detail"]
    # The edit screen says the same, from the same place.
    response = admin.get(f"/admin/lead/edit/?id={lead['id']}")
    assert response.status_code == 302
    assert "A converted lead cannot be changed." in admin.get(
        response.headers["Location"]).get_data(as_text=True)


def test_a_post_retried_with_its_idempotency_key_creates_one_record(contacts_suite):
    admin = contacts_suite.admin_client()
    key = make_token(admin, access="write")
    browser = contacts_suite.client()
    body = {"name": "Acme", "kind": "company", "stage": "prospect"}
    post = lambda body, idem: send(browser, key, "POST", "customer", body,  # noqa: E731
                                   **{"Idempotency-Key": idem})
    first, again = post(body, "order-1"), post(body, "order-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert (again.headers["Location"], again.headers["ETag"]) == \
        (first.headers["Location"], first.headers["ETag"])
    assert count(contacts_suite) == 1
    # The same key with another request: refused, nothing made.
    assert fields_refused(post({**body, "name": "Other"}, "order-1")) == [
        ("Idempotency-Key", "Use a new key for each new request.")]
    refused(post(body, "x" * 201), 400)
    # A refused request keeps nothing: its key is free for the corrected one.
    refused(post({**body, "stage": "nowhere"}, "order-2"), 422)
    assert created(post({**body, "name": "Beta"}, "order-2"))["name"] == "Beta"
    # Keys are the token's own, and kept a day.
    other = make_token(admin, access="write")
    assert created(send(browser, other, "POST", "customer", body,
                        **{"Idempotency-Key": "order-1"}))["id"] != first.get_json()["id"]
    contacts_suite.sql("UPDATE core_api_idempotency SET created_at = '2020-01-01'")
    assert "Idempotent-Replayed" not in post(body, "order-1").headers
    assert count(contacts_suite) == 4


def test_two_identical_posts_at_once_create_one_record(contacts_suite, monkeypatch):
    """The second waits at the key's row until the first commits, then answers as it
    did (the first is held inside its transaction for a moment)."""
    from core.admin import ModelView
    creating = ModelView.create_records

    def slowly(self, items):
        time.sleep(0.5)
        return creating(self, items)
    monkeypatch.setattr(ModelView, "create_records", slowly)
    key = make_token(contacts_suite.admin_client(), access="write")
    answers = []
    with serve(contacts_suite) as site:
        def post():
            request = urllib.request.Request(
                f"{site}/api/v1/customer", method="POST", data=json.dumps(
                    {"name": "Acme", "kind": "company", "stage": "prospect"}).encode(),
                headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "once",
                         "Content-Type": "application/json"})
            with urllib.request.urlopen(request) as response:
                answers.append((response.status, json.loads(response.read())["id"]))
        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(answers) == 2 and answers[0] == answers[1] and answers[0][0] == 201
    assert count(contacts_suite) == 1


def test_a_transition_is_made_as_its_button_makes_it(sales_suite):
    admin = sales_suite.admin_client()
    key = make_token(admin, access="write")
    browser = sales_suite.client()
    lead = created(send(browser, key, "POST", "lead", {"name": "Wang"}))
    path = f"lead/{lead['id']}"
    actions = send(browser, key, "GET", f"{path}/actions").get_json()["actions"]
    assert [a["name"] for a in actions] == ["qualify", "disqualify"]
    assert actions[0] == {"name": "qualify", "label": "Qualify", "to": "qualified"}
    refused(send(browser, key, "POST", f"{path}/actions/qualify"), 428)
    etag = send(browser, key, "GET", path).headers["ETag"]
    done = send(browser, key, "POST", f"{path}/actions/qualify", **{"If-Match": etag})
    assert done.status_code == 200 and done.get_json()["status"] == "qualified"
    problem = refused(send(browser, key, "POST", f"{path}/actions/qualify",
                           **{"If-Match": done.headers["ETag"]}), 409)
    assert "cannot be done from there" in problem["detail"]
    refused(send(browser, key, "POST", f"{path}/actions/convert",   # (its own page)
                 **{"If-Match": done.headers["ETag"]}), 404)
    refused(send(browser, make_token(admin), "POST", f"{path}/actions/disqualify",
                 **{"If-Match": done.headers["ETag"]}), 403)   # a token that reads only
    assert sales_suite.sql("SELECT status FROM sale_lead") == [("qualified",)]
    action = send(browser, key, "GET", "openapi.json").get_json()["paths"][
        "/lead/{id}/actions/{action}"]   # (the document names the actions)
    assert {"qualify", "disqualify"} <= set(action["parameters"][1]["schema"]["enum"])

    # A deal moves to the stage named by its id.
    customer = created(send(browser, key, "POST", "customer", {
        "name": "Acme", "kind": "company", "stage": "prospect"}))
    first, second = [row[0] for row in sales_suite.sql(
        "SELECT id FROM sale_stage ORDER BY sequence, id LIMIT 2")]
    deal = created(send(browser, key, "POST", "opportunity", {
        "name": "Big deal", "customer_id": customer["id"], "stage_id": first,
        "amount": "1000"}))
    path = f"opportunity/{deal['id']}"
    etag = send(browser, key, "GET", path).headers["ETag"]
    assert fields_refused(send(browser, key, "POST", f"{path}/actions/move", {},
                               **{"If-Match": etag})) == [("to", "Choose where to move it.")]
    moved = send(browser, key, "POST", f"{path}/actions/move", {"to": second},
                 **{"If-Match": etag})
    assert moved.status_code == 200 and moved.get_json()["stage_id"] == second


def test_an_approval_is_requested_and_decided_as_on_its_page(sales_suite):
    """The quote policy (a line discount above 15 %, a sales manager decides): requested
    by its owner's token, refused without a reason, approved by the manager's."""
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    mia = add_user(sales_suite, "mia", "sales_manager", "contacts_user")
    team(sales_suite, "East", user_id(sales_suite, "mia"), [user_id(sales_suite, "ann")])
    customer = create_quote_customer(ann, sales_suite, "Bargain Hunters")
    quote = create_quote(ann, sales_suite, customer, [line(discount="20")])
    browser = sales_suite.client()
    ann_key, mia_key = make_token(ann, access="write"), make_token(mia, access="write")
    path = f"quote/{quote}"

    def act(key, action, **body):
        version = send(browser, key, "GET", path).headers["ETag"]
        return send(browser, key, "POST", f"{path}/actions/{action}", body or None,
                    **{"If-Match": version})

    def offered(key):
        return [a["name"] for a in send(browser, key, "GET", f"{path}/actions").get_json()[
            "actions"]]
    assert "approval.request" in offered(ann_key)
    refused(act(make_token(ann), "approval.request"), 403)   # a token that reads only
    assert act(ann_key, "approval.request").status_code == 200
    assert sales_suite.sql("SELECT approval FROM sale_quote") == [("pending",)]
    assert "approval.approve" not in offered(ann_key)
    assert {"approval.approve", "approval.reject"} <= set(offered(mia_key))
    problem = refused(act(ann_key, "approval.approve"), 409)   # not an approver of the step
    assert problem["detail"] == "You are not an approver of this step."
    assert refused(act(mia_key, "approval.reject"), 409)["detail"] == "Say why you reject it."
    refused(act(make_token(mia), "approval.approve"), 403)
    assert act(mia_key, "approval.approve", comment="Fine").get_json()["approval"] == "approved"
    assert sales_suite.sql("SELECT via FROM core_approval_decision") == [("api",)]
    named = send(browser, mia_key, "GET", "openapi.json").get_json()["paths"][
        "/quote/{id}/actions/{action}"]["parameters"][1]["schema"]["enum"]
    assert {"approval.request", "approval.approve", "approval.reject", "reject"} <= set(named)


@pytest.mark.own_process   # (its fields are mapped onto Customer for the whole process)
def test_every_kind_of_field_is_created_read_changed_and_deleted(contacts_suite):
    """A custom field of each kind, besides the model's own (text, choice, amount,
    yes/no, link): as JSON in, the same JSON out, through POST, GET, PATCH and DELETE."""
    from tests.addons.test_custom_fields import KINDS, add_field
    admin = contacts_suite.admin_client()
    for kind, extra, *_rest in KINDS:
        add_field(admin, name=kind, label_en=f"Field {kind}", label_zh=f"字段{kind}",
                  kind=kind, **extra)
    key = make_token(admin, access="write")
    first = {"x_text": "wx-1", "x_long_text": "Met at the fair.", "x_number": 42,
             "x_decimal": "1.2500", "x_money": "99.50", "x_date": "2026-12-31",
             "x_datetime": "2026-12-31T09:30:00Z", "x_yes_no": True, "x_choice": "gold",
             "x_choices": ["wx", "mail"]}
    second = {"x_text": "wx-2", "x_long_text": "", "x_number": -7, "x_decimal": "0.0001",
              "x_money": "0.00", "x_date": "2027-01-01", "x_datetime": "2027-01-01T00:00:00Z",
              "x_yes_no": False, "x_choice": "silver", "x_choices": ["mail"]}
    own = {"name": "Acme", "kind": "company", "stage": "prospect", "credit_limit": "12.50",
           "is_key": True, "phone": "021-1"}
    made = created(send(admin, key, "POST", "customer", {**own, **first}))
    path = f"customer/{made['id']}"
    read = send(admin, key, "GET", path)
    assert {name: read.get_json()[name] for name in {**own, **first}} == {**own, **first}
    changed = send(admin, key, "PATCH", path, {**second, "credit_limit": "0.10", "is_key": False},
                   **{"If-Match": read.headers["ETag"]})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    again = send(admin, key, "GET", path).get_json()
    expected = {**second, "x_long_text": None}   # (an empty text is kept as none)
    assert {name: again[name] for name in second} == expected
    assert (again["credit_limit"], again["is_key"]) == ("0.10", False)
    contact = created(send(admin, key, "POST", "contact", {"name": "Li", "customer_id": made["id"]}))
    assert contact["customer_id"] == made["id"]
    refused(send(admin, key, "DELETE", path, **{"If-Match": changed.headers["ETag"]}), 409)
    version = send(admin, key, "GET", f"contact/{contact['id']}").headers["ETag"]
    assert send(admin, key, "DELETE", f"contact/{contact['id']}",
                **{"If-Match": version}).status_code == 204
    assert send(admin, key, "DELETE", path,
                **{"If-Match": changed.headers["ETag"]}).status_code == 204
    assert count(contacts_suite) == 0
