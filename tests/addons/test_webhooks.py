"""Webhooks (core/webhooks.py): an administrator subscribes a URL to a model's events;
every way of changing a record queues the event in its own transaction; the job signs
and sends it, retries it with growing waits, logs the answers, pauses a webhook that
keeps failing; and no address inside the server's network is reached unless allowed."""
import hashlib
import hmac
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core import webhooks
from core.models import utcnow
from tests.addons.crm_contacts.helpers import add_user, create_customer
from tests.addons.test_api import make_token
from tests.addons.test_api_writes import send

HOOKS = "/admin/webhooks/"


class Receiver:
    """A receiving server on 127.0.0.1: keeps each request, answers ``statuses`` in turn
    (then 200)."""

    def __init__(self):
        self.requests, self.statuses = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"thanks" if status == 200 else b"broken")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self):
        return [json.loads(body)["event"] for _headers, body in self.requests]


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.server.shutdown()


def save_webhook(admin, expect_ok=True, **values):
    data = {"name": "Shop", "model": "customer", "on_created": "y", "on_updated": "y",
            "on_deleted": "y", "active": "y", **values}
    data = {key: value for key, value in data.items() if value is not None}
    response = admin.post_form(f"{HOOKS}new/", data, token_from=f"{HOOKS}new/")
    page = response.get_data(as_text=True)
    assert (response.status_code == 302) == expect_ok, page[-3000:]
    return page


def run_job(suite):
    result = suite.run("run-job", "core.webhooks")
    assert result.exit_code == 0, result.output
    return result.output


def deliveries(suite):
    return suite.sql("SELECT event, status, attempts, response_code FROM "
                     "core_webhook_delivery ORDER BY id")


def verified(headers, body, secret):
    """The body, when its signature is right (as the README tells a receiver to check)."""
    fields = dict(part.split("=", 1) for part in headers["X-CRM-Signature"].split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"])
    assert abs(int(fields["t"]) - datetime.now().timestamp()) < 300
    return json.loads(body)


def test_events_are_signed_sent_retried_and_logged(contacts_suite, receiver):
    admin = contacts_suite.admin_client()
    save_webhook(admin, url=receiver.url, allow_private="y")
    (hook_id, secret), = contacts_suite.sql("SELECT id, signing_token FROM core_webhook")
    page = admin.get(f"{HOOKS}details/?id={hook_id}").get_data(as_text=True)
    assert secret in page and "Nothing has been sent yet." in page

    sam = add_user(contacts_suite, "sam", "contacts_user")
    assert create_customer(sam, name="Acme").status_code == 302
    assert deliveries(contacts_suite) == [("created", "queued", 0, None)]
    assert "sent 1" in run_job(contacts_suite)
    (headers, body), = receiver.requests
    event = verified(headers, body, secret)
    assert (event["event"], event["model"], event["data"]["name"]) == ("created", "customer", "Acme")
    assert headers["X-CRM-Event"] == "created" and headers["Content-Type"] == "application/json"
    assert deliveries(contacts_suite) == [("created", "sent", 1, 200)]

    # A change through the API: the receiver fails once; the retry waits, then goes out
    # under the same delivery number.
    key = make_token(sam, name="Web shop", access="write", models=["Customer"])
    customer_id = event["id"]
    etag = send(sam, key, "GET", f"customer/{customer_id}").headers["ETag"]
    receiver.statuses = [500]
    assert send(sam, key, "PATCH", f"customer/{customer_id}", {"phone": "021-1"},
                **{"If-Match": etag}).status_code == 200
    assert "not sent 1" in run_job(contacts_suite)
    assert deliveries(contacts_suite)[-1] == ("updated", "queued", 1, 500)
    waits, = contacts_suite.sql("SELECT next_attempt_at, last_error FROM core_webhook_delivery "
                                "WHERE event = 'updated'")
    assert waits[1] == "HTTP 500"
    assert "sent 0" in run_job(contacts_suite)   # not due yet: nothing sent again
    contacts_suite.sql("UPDATE core_webhook_delivery SET next_attempt_at = :at",
                       at=utcnow() - timedelta(minutes=1))
    assert "sent 1" in run_job(contacts_suite)
    (first, _body), (second, body) = receiver.requests[1:]
    assert first["X-CRM-Delivery"] == second["X-CRM-Delivery"]
    event = verified(second, body, secret)
    assert event["changes"] == {"phone": [None, "021-1"]}
    assert event["by"]["api_token"] == "Web shop"
    log = admin.get(f"/admin/webhook-deliveries/details/?id={second['X-CRM-Delivery']}")
    assert "attempt 1 failed" in log.get_data(as_text=True)

    # Deleted; and a change rolled back (refused by the form) tells nothing.
    assert admin.post_form("/admin/customer/edit/?id=%d" % customer_id, {"name": ""},
                           token_from="/admin/customer/").status_code == 200
    admin.post_form("/admin/customer/delete/", {"id": customer_id}, token_from="/admin/customer/")
    run_job(contacts_suite)
    assert receiver.events() == ["created", "updated", "updated", "deleted"]
    assert verified(*receiver.requests[-1], secret)["data"]["name"] == "Acme"


def test_an_address_inside_the_network_is_refused_unless_allowed(contacts_suite, receiver):
    admin = contacts_suite.admin_client()
    for url in (receiver.url, "http://localhost:8080/", "http://169.254.169.254/latest/",
                "http://10.1.2.3/hook", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/"):
        page = save_webhook(admin, expect_ok=False, url=url)
        assert "in a private network or on this server" in page, url
    page = save_webhook(admin, expect_ok=False, url="ftp://example.com/")
    assert "http:// or https://" in page
    page = save_webhook(admin, expect_ok=False, url="https://example.com/",
                        on_created=None, on_updated=None, on_deleted=None)
    assert "Choose at least one event." in page
    assert contacts_suite.sql("SELECT count(*) FROM core_webhook") == [(0,)]

    # Allowed when saved, then not any more: the connection itself is refused.
    save_webhook(admin, url=receiver.url, allow_private="y")
    contacts_suite.sql("UPDATE core_webhook SET allow_private = :no", no=False)
    assert create_customer(admin, name="Acme").status_code == 302
    run_job(contacts_suite)
    assert receiver.requests == []
    error, = contacts_suite.sql("SELECT last_error FROM core_webhook_delivery")[0]
    assert error.startswith("Blocked: 127.0.0.1 is in a private network")


@pytest.mark.parametrize("address, allowed", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("127.0.0.1", False),
    ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False),
    ("::ffff:10.0.0.1", False), ("fe80::1%eth0", False), ("224.0.0.1", False)])
def test_the_addresses_a_webhook_may_reach(contacts_suite, address, allowed):
    with contacts_suite.app().test_request_context():
        assert (webhooks.address_refusal(address, False) is None) == allowed
        assert webhooks.address_refusal(address, True) is None


def test_a_failing_webhook_pauses_keeps_its_events_and_resumes(contacts_suite, receiver,
                                                              monkeypatch):
    monkeypatch.setattr(webhooks, "PAUSE_AFTER", 2)
    admin = contacts_suite.admin_client()
    save_webhook(admin, url=receiver.url, allow_private="y")
    receiver.statuses = [503, 503]
    for name in ("Acme", "Bolt"):
        assert create_customer(admin, name=name).status_code == 302
    run_job(contacts_suite)
    assert contacts_suite.sql("SELECT active, failures, paused_reason FROM core_webhook") == \
        [(False, 2, "HTTP 503")]
    titles = contacts_suite.sql("SELECT title FROM core_notification")
    assert titles == [("Webhook paused: Shop",)]   # the administrators are told

    # Paused: its events are kept, not sent.
    assert create_customer(admin, name="Cord").status_code == 302
    contacts_suite.sql("UPDATE core_webhook_delivery SET next_attempt_at = :at",
                       at=utcnow() - timedelta(minutes=1))
    assert "sent 0" in run_job(contacts_suite)
    assert len(receiver.requests) == 2

    # Made active again: everything waiting goes out at once.
    hook_id = contacts_suite.sql("SELECT id FROM core_webhook")[0][0]
    response = admin.post_form(f"{HOOKS}edit/?id={hook_id}", {
        "name": "Shop", "model": "customer", "url": receiver.url, "on_created": "y",
        "on_updated": "y", "on_deleted": "y", "allow_private": "y", "active": "y"},
        token_from=f"{HOOKS}edit/?id={hook_id}")
    assert response.status_code == 302
    assert "sent 3" in run_job(contacts_suite)
    assert sorted(json.loads(body)["data"]["name"] for _h, body in receiver.requests[2:]) == \
        ["Acme", "Bolt", "Cord"]
    assert contacts_suite.sql("SELECT active, failures, paused_reason FROM core_webhook") == \
        [(True, 0, "")]


def test_a_test_event_and_a_state_change(sales_suite, receiver):
    admin = sales_suite.admin_client()
    save_webhook(admin, url=receiver.url, allow_private="y", model="lead", on_created=None,
                 on_updated=None, on_deleted=None, on_state_changed="y")
    hook_id = sales_suite.sql("SELECT id FROM core_webhook")[0][0]
    assert admin.post_form(f"{HOOKS}ping?id={hook_id}", {},
                           token_from=f"{HOOKS}details/?id={hook_id}").status_code == 302
    key = make_token(admin, name="Desk", access="write")
    lead = send(admin, key, "POST", "lead", {"name": "Wang"}).get_json()
    etag = send(admin, key, "GET", f"lead/{lead['id']}").headers["ETag"]
    moved = send(admin, key, "POST", f"lead/{lead['id']}/actions/qualify", **{"If-Match": etag})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    run_job(sales_suite)
    assert receiver.events() == ["ping", "state_changed"]   # created and changed: not asked
    state = json.loads(receiver.requests[1][1])["state"]
    assert state == {"from": lead["status"], "to": "qualified"}


def test_a_webhook_made_through_the_api_is_checked_as_on_its_form(contacts_suite):
    admin = contacts_suite.admin_client()
    key = make_token(admin, access="write")
    hook = {"name": "Shop", "model": "customer", "url": "http://169.254.169.254/latest/",
            "on_created": True}
    refused = send(admin, key, "POST", "webhooks", hook)
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert refused.get_json()["errors"][0]["field"] == "url"
    assert "private network" in refused.get_json()["errors"][0]["message"]
    refused = send(admin, key, "POST", "webhooks", {**hook, "url": "gopher://shop.example/"})
    assert refused.get_json()["errors"][0]["field"] == "url"
    assert contacts_suite.sql("SELECT count(*) FROM core_webhook") == [(0,)]
    made = send(admin, key, "POST", "webhooks", {**hook, "url": "https://93.184.216.34/hook"})
    assert made.status_code == 201, made.get_data(as_text=True)
    assert "signing_token" not in made.get_json()   # (the secret: on its page only)
    sam = add_user(contacts_suite, "sam", "contacts_user")
    assert send(sam, make_token(sam, access="write"), "POST", "webhooks",
                hook).status_code in (403, 404)   # administrators' only
