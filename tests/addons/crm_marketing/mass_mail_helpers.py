"""A marketing installation with a loopback SMTP server, customers in bulk, and a
mailing to send: what the mass-mail tests share."""
import asyncio
import email
import email.policy
import os
import subprocess
import sys
import threading
import time
from collections import Counter

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from tests.addons.conftest import ADDONS
from tests.conftest import ROOT, make_suite
from tests.core.test_outbox import free_port

SENDER = "news@crm.example.com"


class Sink:
    """An SMTP server's handler that keeps what it receives; ``delay`` seconds per
    message; ``drop_after``: answer 421 and close once it holds that many."""

    def __init__(self, delay=0.0, drop_after=None):
        self.messages, self.times = [], []
        self.delay, self.drop_after = delay, drop_after
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.drop_after is not None and len(self.messages) >= self.drop_after:
                server.transport.close()
                return "421 4.3.2 Service shutting down"
            self.messages.append(envelope.content)
            self.times.append(time.monotonic())
        return "250 OK"

    def parsed(self):
        with self.lock:
            return [email.message_from_bytes(raw, policy=email.policy.default)
                    for raw in self.messages]

    def count(self):
        with self.lock:
            return len(self.messages)

    def per_address(self):
        return Counter(str(message["To"]).rpartition("<")[2].rstrip(">")
                       for message in self.parsed())


def start_sink(**options):
    sink = Sink(**options)
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    return sink, controller


def mail_suite(tmp_path, database_url, port, per_second=0):
    extra = (f"[mail]\nhost = 127.0.0.1\nport = {port}\nsender = {SENDER}\ntimeout = 5\n"
             "[server]\npublic_url = https://crm.example.com\n")
    suite = make_suite(tmp_path, database_url, addon_paths=[ADDONS], enabled=["crm_marketing"],
                       extra=extra)
    suite.sql("INSERT INTO core_option (addon, key, value) VALUES ('crm_marketing', "
              "'per_second', :v)", v=str(per_second))
    return suite


def add_people(suite, count, grade="A", start=0):
    """``count`` customers of ``grade``, each with a primary contact at
    p{n}@example.com, in two statements."""
    engine = create_engine(suite.database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
            "email_key, is_supplier, created_at, updated_at) VALUES ('company', :name, :name, "
            ":grade, false, 'active', '', '', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            [{"name": f"Customer {n:05d}", "grade": grade} for n in range(start, start + count)])
        ids = dict(connection.execute(text(
            "SELECT name, id FROM crm_customer WHERE name LIKE 'Customer %'")).all())
        connection.execute(text(
            "INSERT INTO crm_contact (customer_id, name, email, is_primary, created_at, "
            "updated_at) VALUES (:customer, :name, :email, true, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"),
            [{"customer": ids[f"Customer {n:05d}"], "name": f"Person {n}",
              "email": f"p{n}@example.com"} for n in range(start, start + count)])
    engine.dispose()


def make_mailing(suite, rules="flt0_grade_equals=A", body=None, name="Spring news",
                 channel="e-mail"):
    """A filter segment and a draft mailing to it; returns the mailing's id."""
    segment_id = suite.sql(
        "INSERT INTO mkt_segment (name, kind, rules, created_at, updated_at) VALUES "
        "(:n, 'filter', :r, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
        n=f"Segment of {name}", r=rules)[0][0]
    return suite.sql(
        "INSERT INTO mkt_mailing (name, channel, segment_id, audience, subject, body, state, "
        "created_at, updated_at) VALUES (:n, :channel, :s, 'contacts', :subject, :body, "
        "'draft', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id", n=name, s=segment_id,
        channel=channel,
        subject="Hello {{ name }}",
        body=body or '<p>Dear {{ first_name }},</p><p>See <a href="https://shop.example.com/'
                     'spring?a=1&amp;b=2">our offer</a>.</p>')[0][0]


def queue(suite, mailing_id):
    """Queue a mailing as its Send page does (the segment evaluated now)."""
    from addons.crm_marketing import mailings
    from addons.crm_marketing.models import Mailing
    from core import workflow
    from core.db import db
    app = suite.app()
    with app.app_context():
        mailing = db.session.get(Mailing, mailing_id)
        workflow.move(mailing, "send")
        counts = mailings.queue(mailing)
        db.session.commit()
        return counts


def send_here(suite, now=None, seconds=60):
    """One run of the sender in this process."""
    from addons.crm_marketing import sender
    app = suite.app()
    with app.app_context():
        return sender.send_due(now=now, seconds=seconds)


def sender_process(suite):
    """A sender in a process of its own (python run.py run-job crm_marketing.send)."""
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), "run-job",
                             "crm_marketing.send"], cwd=ROOT, env={**os.environ, **suite.env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def states(suite, mailing_id):
    return dict(suite.sql("SELECT state, count(*) FROM mkt_recipient WHERE mailing_id = :m "
                          "GROUP BY state", m=mailing_id))


def wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
