"""The outbox: email over SMTP (to a server the test runs on loopback), SMS through
the log and HTTP gateways, retries, final failure, the crash case, and two workers
sharing one queue."""
import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from core import outbox
from core.db import db
from core.models import Message, utcnow
from tests.conftest import ROOT, make_suite


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the loopback SMTP server received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def mail(tmp_path, database_url, smtp_port):
    extra = (f"[mail]\nhost = 127.0.0.1\nport = {smtp_port}\nsender = crm@example.com\n"
             "timeout = 5\n[sms]\nbackend = log\n")
    suite = make_suite(tmp_path, database_url, extra=extra)
    app = suite.dispatcher().app
    with app.app_context():
        yield suite, app
        db.session.remove()
    suite.close()


@pytest.fixture
def smtp_server(smtp_port):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield inbox
    controller.stop()


def queue_quote_email():
    message = outbox.send_email(
        ["li.lei@example.com", "han.meimei@example.com"], "Quote Q2026-00042 报价单",
        "Dear Li Lei,\n\nplease find our quote attached.",
        html="<p>Dear Li Lei,</p><p>please find our quote attached.</p>",
        attachments=[("Q2026-00042.pdf", b"%PDF-1.7 fake", "application/pdf")])
    db.session.commit()
    return message


def test_email_is_delivered_with_body_and_attachment(mail, smtp_server):
    message = queue_quote_email()
    assert message.status == "queued"
    assert "sent 1" in outbox.deliver_due()
    assert message.status == "sent" and message.attempts == 1 and message.sent_at
    [received] = smtp_server.messages
    assert received["Subject"] == "Quote Q2026-00042 报价单"
    assert received["To"] == "li.lei@example.com, han.meimei@example.com"
    assert received["Message-ID"] == outbox.message_id_header(message, "example.com")
    plain = received.get_body(("plain",)).get_content()
    assert "please find our quote attached." in plain
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "Q2026-00042.pdf"
    assert attachment.get_payload(decode=True) == b"%PDF-1.7 fake"


def test_failure_is_retried_with_backoff_then_sent(mail, smtp_port):
    message = queue_quote_email()
    outbox.deliver_due()              # no server listening yet
    assert message.status == "queued" and message.attempts == 1
    assert "ConnectionRefusedError" in message.last_error
    assert message.next_attempt_at > utcnow() + timedelta(seconds=50)
    assert "sent 0" in outbox.deliver_due()   # not due yet: nothing tried
    assert message.attempts == 1
    message.next_attempt_at = utcnow()
    db.session.commit()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        outbox.deliver_due()
    finally:
        controller.stop()
    assert message.status == "sent" and message.attempts == 2 and len(inbox.messages) == 1
    assert "attempt 1 failed" in message.delivery_log and "attempt 2 sent" in message.delivery_log


def test_final_failure_is_kept_with_its_reason(mail):
    message = queue_quote_email()
    message.attempts = outbox.MAX_ATTEMPTS - 1
    db.session.commit()
    outbox.deliver_due()
    assert message.status == "failed" and "ConnectionRefusedError" in message.last_error
    assert "failed for good" in message.delivery_log


def test_interrupted_delivery_is_sent_again_with_a_trace(mail, smtp_server):
    """The crash case: a process claimed the message and died before recording the
    result. It may or may not have gone out; it is sent again, on record, with the
    same Message-ID so that a duplicate can be recognised."""
    message = queue_quote_email()
    message.status, message.claimed_at = "sending", utcnow() - timedelta(hours=1)
    db.session.commit()
    result = outbox.deliver_due()
    assert "requeued after interruption 1" in result
    assert message.status == "sent"
    assert "interrupted while sending" in message.delivery_log
    assert smtp_server.messages[0]["Message-ID"] == outbox.message_id_header(message, "example.com")


def test_a_message_that_cannot_be_built_fails_alone(mail, smtp_server):
    bad = outbox.send_email(["x@example.com"], "line one\nBcc: victim@example.com", "body")
    good = outbox.send_email(["y@example.com"], "fine", "body")
    db.session.commit()
    outbox.deliver_due()
    assert bad.status == "queued" and bad.attempts == 1 and "ValueError" in bad.last_error
    assert good.status == "sent" and len(smtp_server.messages) == 1


def test_a_fresh_claim_is_left_alone(mail, smtp_server):
    message = queue_quote_email()
    message.status, message.claimed_at = "sending", utcnow()   # another worker, right now
    db.session.commit()
    outbox.deliver_due()
    assert message.status == "sending" and smtp_server.messages == []


def test_message_is_written_with_the_callers_transaction(mail):
    outbox.send_email(["x@example.com"], "rolled back", "never")
    db.session.rollback()
    assert db.session.query(Message).count() == 0
    with pytest.raises(ValueError):
        outbox.send_email([" "], "nobody", "to")


def test_sms_through_the_log_gateway(mail):
    suite, app = mail
    messages = outbox.send_sms(["+86 138 0000 0001", "+86 138 0000 0002"], "您的订单已发货")
    db.session.commit()
    outbox.deliver_due()
    assert all(m.status == "sent" for m in messages)
    lines = (suite.settings().instance_path / "sms.log").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[2:] for line in lines] == [
        ["+86 138 0000 0001", "您的订单已发货"], ["+86 138 0000 0002", "您的订单已发货"]]


class Gateway(BaseHTTPRequestHandler):
    received = []

    def do_GET(self):
        Gateway.received.append(self.path)
        self.send_response(500 if "fail" in self.path else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_sms_through_an_http_gateway(tmp_path, database_url):
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/send?to={{to}}&msg={{text}}&ref={{ref}}"
    suite = make_suite(tmp_path, database_url,
                       extra=f"[sms]\nbackend = http\nhttp_url = {url}\n")
    try:
        app = suite.dispatcher().app
        with app.app_context():
            [good] = outbox.send_sms(["+8613800000001"], "到货 & ready")
            [bad] = outbox.send_sms(["fail"], "x")
            db.session.commit()
            outbox.deliver_due()
            assert good.status == "sent" and bad.status == "queued"
            assert "500" in bad.last_error
            assert f"/send?to=%2B8613800000001&msg=%E5%88%B0%E8%B4%A7%20%26%20ready&ref={good.id}" \
                in Gateway.received
            db.session.remove()
    finally:
        server.shutdown()
        suite.close()


def test_mail_test_command(mail, smtp_server):
    suite, app = mail
    result = suite.run("mail-test", "--to", "ops@example.com")
    assert result.exit_code == 0 and "sent to ops@example.com" in result.output
    assert smtp_server.messages[0]["To"] == "ops@example.com"


def test_mail_test_command_reports_failure(mail):
    suite, app = mail
    result = suite.run("mail-test", "--to", "ops@example.com")
    assert result.exit_code == 1 and "not sent: ConnectionRefusedError" in result.output


def test_outbox_screen_shows_and_resends(mail):
    suite, app = mail
    message = queue_quote_email()
    message.status, message.last_error = "failed", "SMTPRecipientsRefused"
    db.session.commit()
    admin = suite.admin_client()
    page = admin.get("/admin/outbox/").get_data(as_text=True)
    assert "Quote Q2026-00042" in page and "SMTPRecipientsRefused" in page
    assert admin.get(f"/admin/outbox/edit/?id={message.id}").status_code == 403
    admin.post_form("/admin/outbox/action/", {"action": "resend", "rowid": [message.id]},
                    token_from="/admin/outbox/")
    db.session.refresh(message)
    assert message.status == "queued" and "queued again by hand" in message.delivery_log


class SlowGateway(BaseHTTPRequestHandler):
    """An SMS gateway that holds the first message until a second one arrives: a
    worker sends one message at a time, so the second comes from the other worker,
    and both are at the queue together however long either took to start."""

    refs = []
    first_two = threading.Barrier(2, timeout=50)

    def do_GET(self):
        if len(SlowGateway.refs) < 2:
            try:
                SlowGateway.first_two.wait()
            except threading.BrokenBarrierError:
                pass
        SlowGateway.refs.append(parse_qs(urlsplit(self.path).query)["ref"][0])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_two_workers_share_the_queue_and_send_each_message_once(tmp_path, database_url):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowGateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/send?to={{to}}&ref={{ref}}"
    # The sender waits longer for the gateway than the gateway waits for the second
    # worker, however slowly a loaded machine starts it.
    suite = make_suite(tmp_path, database_url, extra=f"[sms]\nbackend = http\nhttp_url = {url}\n"
                                                     "timeout = 90\n")
    count = 600
    try:
        engine = create_engine(suite.database_url)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO core_message (channel, recipients, subject, body_text, status, "
                "attempts, next_attempt_at, last_error, delivery_log, created_at) VALUES "
                "('sms', :to, '', 'hello', 'queued', 0, '2026-01-01', '', '', '2026-01-01')"),
                [{"to": f"+86{number:011d}"} for number in range(count)])
        engine.dispose()
        env = {**os.environ, **suite.env}
        workers = [subprocess.Popen([sys.executable, "run.py", "run-job", "core.outbox"],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
                   for _worker in range(2)]
        outputs = [worker.communicate(timeout=120) for worker in workers]
    finally:
        server.shutdown()
        suite.close()
    assert all(worker.returncode == 0 for worker in workers), [err[-3000:] for _out, err in outputs]
    sent = [int(out.split("sent ")[1].split(",")[0]) for out, _err in outputs]
    # None twice, none lost. (Both normally take a share, the gateway holding the first
    # message for the second worker; how much each gets is up to the machine.)
    assert sum(sent) == count, (sent, outputs)
    assert len(SlowGateway.refs) == count and len(set(SlowGateway.refs)) == count
