"""Sending mailings: one or more sender processes (the job ``crm_marketing.send``
every minute, and ``python run.py run-job crm_marketing.send`` for more) share the
queued recipients through the database, within the caps of the mail server.

Never a second copy. A recipient row moves queued → claimed (by one sender, with a
lease) → sending (committed just before its SMTP transaction) → sent (committed with
the next row's "sending", so one commit a message). A sender killed at any moment
leaves at most one row "sending": the message whose SMTP transaction was under way.
When its lease lapses, that row is queued again and may reach its recipient twice
(with the same Message-ID, which the receiving side may recognise); its claimed rows
are queued again, unsent. Every other row was sent once or not at all.

A mail server that refuses or drops the connection: the row under way goes back to
the queue (an SMTP server accepts a message only by its reply to the data, which never
came), the mailing keeps the server's words as its problem, and the sender stops until
its next run. A recipient the server refuses for good is "failed", with the reason.

Throttling: the caps per second, hour and day (Settings > Addons > Marketing) are
shared by every sender through rows of mkt_send_quota, one per window and server; the
messages per connection are each sender's own."""
import os
import secrets
import smtplib
import socket
import time
from types import SimpleNamespace
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from flask_babel import gettext as _
from flask import current_app
from markupsafe import Markup
from sqlalchemy import and_, case, delete, exists, select, update

from addons.crm_contacts.models import Contact, Customer
from addons.crm_marketing import mailtext, surveys
from addons.crm_marketing.models import Mailing, Recipient, SendQuota, Suppression
from core import company, neutral, options, outbox, workflow
from core.db import db, dialect_insert
from core.models import utcnow

LEASE = timedelta(minutes=5)
CLAIM = 50                 # rows a sender takes at a time
RUN_SECONDS = 50           # a run of the job ends before the next one starts
MAX_ATTEMPTS = 5           # temporary refusals before a recipient is failed
IN_FLIGHT_ERROR = "interrupted during its SMTP transaction: sent again, may arrive twice"
ADDON = "crm_marketing"


def send_due(now=None, seconds=RUN_SECONDS):
    """The job: send what is queued for about ``seconds``; returns what it did."""
    session = db.session
    if neutral.is_neutralised(session):
        return "paused: this is a test copy; nothing is sent"
    requeued = release_lapsed(now or utcnow())
    deadline = time.monotonic() + seconds
    senders = [Sender(outbox.mail_settings(), caps()), SmsSender(outbox.mail_settings(), caps())]
    for sender in senders:
        try:
            sender.run(deadline)
        finally:
            sender.close()
    finished = finish_mailings()
    stopped = "; ".join(sender.stopped for sender in senders if sender.stopped)
    return (f"sent {sum(s.sent for s in senders)}, failed {sum(s.failed for s in senders)}, "
            f"requeued {requeued}, mailings finished {finished}"
            + (f"; stopped: {stopped}" if stopped else ""))


def caps():
    def setting(key):
        return max(0, int(options.get(ADDON, key) or 0))
    return {"second": setting("per_second"), "hour": setting("per_hour"),
            "day": setting("per_day"), "connection": max(1, setting("per_connection"))}


def release_lapsed(now):
    """Rows of senders that died: claimed ones back to the queue as they were, the one
    that was under way back to the queue with a note. Returns how many."""
    session = db.session
    lapsed = and_(Recipient.lease_until < now, Recipient.state.in_(("claimed", "sending")))
    in_flight = session.execute(
        update(Recipient).where(lapsed, Recipient.state == "sending")
        .values(state="queued", claimed_by=None, lease_until=None, error=IN_FLIGHT_ERROR,
                attempts=Recipient.attempts + 1)).rowcount
    claimed = session.execute(update(Recipient).where(lapsed).values(
        state="queued", claimed_by=None, lease_until=None)).rowcount
    session.execute(delete(SendQuota).where(SendQuota.ends_at < now - timedelta(days=1)))
    session.commit()
    return in_flight + claimed


def finish_mailings():
    """Mailings under way with nobody left to send to are sent."""
    session = db.session
    pending = exists().where(Recipient.mailing_id == Mailing.id,
                             Recipient.state.in_(("queued", "claimed", "sending")))
    done = session.scalars(select(Mailing).where(Mailing.state == "sending", ~pending)
                           .with_for_update(skip_locked=True)).all()
    for mailing in done:
        workflow.move(mailing, "finish")
        mailing.finished_at = utcnow()
    session.commit()
    return len(done)


# -- throttling ----------------------------------------------------------------------------------

WINDOWS = {"second": timedelta(seconds=1), "hour": timedelta(hours=1),
           "day": timedelta(days=1)}


def window_start(kind, now):
    if kind == "second":
        return now.replace(microsecond=0)
    if kind == "hour":
        return now.replace(minute=0, second=0, microsecond=0)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def take(server, wanted, limits, now=None):
    """Reserve up to ``wanted`` messages in every capped window of ``server``; returns
    (granted, seconds to wait when none was). One short transaction."""
    session = db.session
    now = now or utcnow()
    windows = []
    for kind, span in WINDOWS.items():
        if limits.get(kind):
            start = window_start(kind, now)
            windows.append((f"{server}|{kind}|{start:%Y-%m-%dT%H:%M:%S}", limits[kind],
                            start + span))
    if not windows:
        return wanted, 0
    session.execute(dialect_insert(SendQuota).values(
        [{"window": key, "used": 0, "ends_at": ends} for key, _cap, ends in windows])
        .on_conflict_do_nothing())
    used = dict(session.execute(select(SendQuota.window, SendQuota.used).where(
        SendQuota.window.in_([key for key, _cap, _ends in windows]))
        .with_for_update()).all())
    granted = min([wanted] + [cap - used.get(key, 0) for key, cap, _ends in windows])
    if granted <= 0:
        session.commit()
        full = [ends for key, cap, ends in windows if used.get(key, 0) >= cap]
        return 0, max(0.05, (min(full) - now).total_seconds())
    session.execute(update(SendQuota).where(SendQuota.window.in_(
        [key for key, _cap, _ends in windows])).values(used=SendQuota.used + granted))
    session.commit()
    return granted, 0


def give_back(server, count, now=None):
    """Return reserved messages that were not sent (fewer rows were queued)."""
    if count <= 0:
        return
    now = now or utcnow()
    keys = [f"{server}|{kind}|{window_start(kind, now):%Y-%m-%dT%H:%M:%S}" for kind in WINDOWS]
    db.session.execute(update(SendQuota).where(SendQuota.window.in_(keys), SendQuota.used >= count)
                       .values(used=SendQuota.used - count))
    db.session.commit()


# -- claiming ----------------------------------------------------------------------------------

def claim(sender_id, count, channel="e-mail", now=None):
    """Take up to ``count`` queued rows of ``channel``'s mailings under way for this
    sender; those of addresses suppressed since they were queued (an unsubscribe) are
    failed on the way. On SQLite the update comes first (the write lock before any read)
    and checks the state itself, so two senders never take one row."""
    session = db.session
    now = now or utcnow()
    under_way = select(Mailing.id).where(Mailing.state == "sending", Mailing.channel == channel)
    candidates = (select(Recipient.id).where(Recipient.state == "queued",
                                             Recipient.mailing_id.in_(under_way))
                  .order_by(Recipient.mailing_id, Recipient.id).limit(count)
                  .with_for_update(skip_locked=True))
    if session.get_bind().dialect.name == "postgresql":
        # The select locks its rows (other senders skip them); an UPDATE ... IN (SELECT
        # ... LIMIT) could run its subquery more than once and take more than asked.
        candidates = session.scalars(candidates).all()
    session.execute(update(Recipient).where(Recipient.id.in_(candidates),
                                            Recipient.state == "queued")
                    .values(state="claimed", claimed_by=sender_id, lease_until=now + LEASE)
                    .execution_options(synchronize_session=False))
    mine = and_(Recipient.claimed_by == sender_id, Recipient.state == "claimed")
    session.execute(update(Recipient).where(
        mine, exists().where(Suppression.address == Recipient.address_key))
        .values(state="failed", claimed_by=None, lease_until=None,
                error="on the suppression list since it was queued")
        .execution_options(synchronize_session=False))
    ids = session.scalars(select(Recipient.id).where(mine).order_by(Recipient.id)).all()
    session.commit()
    return ids


def rows_to_send(ids):
    """The claimed rows with what their messages need, in one query."""
    return db.session.execute(
        select(Recipient.id, Recipient.mailing_id, Recipient.email, Recipient.phone,
               Recipient.name, Recipient.customer_id, Recipient.contact_id,
               Recipient.attempts, Customer.name.label("customer"), Customer.city,
               Contact.title)
        .outerjoin(Customer, Customer.id == Recipient.customer_id)
        .outerjoin(Contact, Contact.id == Recipient.contact_id)
        .where(Recipient.id.in_(ids)).order_by(Recipient.id)).all()


class Stop(Exception):
    """The mail server cannot be used now: this run ends, the rows wait."""


class Sender:
    """Sends the e-mail mailings' rows over SMTP (one connection for many messages)."""

    channel = "e-mail"

    def __init__(self, mail, limits):
        self.mail, self.limits = mail, limits
        self.server = self.server_key()
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:64]
        self.connection, self.on_connection = None, 0
        self.sent = self.failed = 0
        self.stopped = None
        self.mailings = {}
        self.done_id = None       # the row sent, marked "sent" with the next commit
        # Read once: each costs queries, the same for every message of the run.
        self.company = company.name()
        self.from_name = outbox.sender_name(mail)
        self.renewed = time.monotonic()

    def run(self, deadline):
        while time.monotonic() < deadline and not self.stopped:
            granted, wait = take(self.server, CLAIM, self.limits)
            if not granted:
                if time.monotonic() + wait > deadline:
                    break
                time.sleep(wait)
                continue
            ids = claim(self.id, granted, self.channel)
            give_back(self.server, granted - len(ids))
            if not ids:
                break
            self.send_batch(ids)

    def send_batch(self, ids):
        rows = rows_to_send(ids)
        try:
            for row in rows:
                self.send_one(row)
        except Stop as stop:
            self.stopped = str(stop)
        finally:
            self.mark(None)
            # Rows of the batch not reached go back to the queue, unsent.
            db.session.execute(update(Recipient).where(
                Recipient.claimed_by == self.id, Recipient.state == "claimed")
                .values(state="queued", claimed_by=None, lease_until=None))
            db.session.commit()

    def mark(self, sending_id):
        """One commit: the last row sent is "sent", the next one "sending"."""
        now = utcnow()
        if self.done_id is not None:
            db.session.execute(update(Recipient).where(Recipient.id == self.done_id).values(
                state="sent", sent_at=now, claimed_by=None, lease_until=None,
                # What went before is moot, except a possible second copy (say so).
                error=case((Recipient.error == IN_FLIGHT_ERROR, IN_FLIGHT_ERROR), else_=None)))
            self.done_id = None
        if sending_id is not None:
            db.session.execute(update(Recipient).where(Recipient.id == sending_id).values(
                state="sending", lease_until=now + LEASE))
            if time.monotonic() - self.renewed > LEASE.total_seconds() / 4:
                # The rest of this sender's claim stays leased while it works.
                db.session.execute(update(Recipient).where(
                    Recipient.claimed_by == self.id, Recipient.state == "claimed")
                    .values(lease_until=now + LEASE))
                self.renewed = time.monotonic()
        db.session.commit()

    def server_key(self):
        return self.mail["host"].strip().lower() or "-"

    def send_one(self, row):
        mailing = self.mailing(row.mailing_id)
        email = self.build(mailing, row)
        self.mark(row.id)
        self.deliver(row, email)

    def deliver(self, row, email):
        try:
            self.connect().send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            reply = next(iter(error.recipients.values()), (0, b""))
            self.refused(row, reply[0], reply[1])
            return
        except smtplib.SMTPDataError as error:
            self.refused(row, error.smtp_code, error.smtp_error)
            return
        except (smtplib.SMTPException, OSError) as error:
            self.back_to_queue(row, outbox.smtp_reply(error))
            self.drop_connection()
            self.note_problem(row.mailing_id, outbox.explain(error, self.mail))
            raise Stop(outbox.smtp_reply(error)) from error
        self.done_id = row.id
        self.sent += 1
        self.on_connection += 1
        if self.on_connection >= self.limits["connection"]:
            self.drop_connection()

    def refused(self, row, code, text):
        """The server refused this one recipient: for good (5xx), or for now (4xx:
        queued again, failed after MAX_ATTEMPTS)."""
        words = f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
        if 400 <= (code or 0) < 500 and row.attempts + 1 < MAX_ATTEMPTS:
            self.back_to_queue(row, words)
            return
        db.session.execute(update(Recipient).where(Recipient.id == row.id).values(
            state="failed", error=words[:500], claimed_by=None, lease_until=None,
            attempts=Recipient.attempts + 1))
        db.session.commit()
        self.failed += 1

    def back_to_queue(self, row, words):
        db.session.execute(update(Recipient).where(Recipient.id == row.id).values(
            state="queued", error=words[:500], claimed_by=None, lease_until=None,
            attempts=Recipient.attempts + 1))
        db.session.commit()

    def note_problem(self, mailing_id, text):
        db.session.execute(update(Mailing).where(Mailing.id == mailing_id).values(
            problem=str(text)[:500]))
        db.session.commit()

    # -- the connection and the message --------------------------------------------------------

    def connect(self):
        if self.connection is None:
            try:
                self.connection = outbox.smtp_connection(self.mail)
            except (smtplib.SMTPException, OSError, outbox.DeliveryError) as error:
                raise Stop(outbox.smtp_reply(error)) from error
            self.on_connection = 0
        return self.connection

    def drop_connection(self):
        if self.connection is not None:
            outbox.close_quietly(self.connection)
            self.connection = None

    def close(self):
        self.drop_connection()

    def mailing(self, mailing_id):
        """(subject, body, survey id or None) of a mailing, read once per run."""
        if mailing_id not in self.mailings:
            mailing = db.session.get(Mailing, mailing_id)
            self.mailings[mailing_id] = (mailing.subject, mailing.body,
                                         surveys.survey_of(mailing.campaign_id))
        return self.mailings[mailing_id]

    def values(self, mailing, row, address):
        survey_id = mailing[2]
        return mailtext.values_for(
            row.name, address, row.customer, row.title, row.city,
            mailtext.unsubscribe_link(row.id),
            surveys.survey_link(survey_id, row.customer_id, row.contact_id, row.email or "")
            if survey_id else "", company_name=self.company)

    def build(self, mailing, row):
        subject_source, body_source, _survey = mailing
        values = self.values(mailing, row, row.email)
        unsubscribe = values["unsubscribe_url"]
        subject, body = mailtext.render(subject_source, body_source, values)
        footer = _footer(unsubscribe, self.company)
        html = mailtext.tracked(body + footer, row.id)
        sender = self.mail["sender"]
        domain = sender.rpartition("@")[2] or "localhost"
        email = EmailMessage()
        email["From"] = formataddr((self.from_name, sender))
        email["To"] = formataddr((row.name or "", row.email))
        email["Subject"] = subject
        email["Date"] = formatdate()
        email["Message-ID"] = f"<mkt-{mailtext.signed(row.id, 'message')}@{domain}>"
        # RFC 2369 and RFC 8058: mail programs show an unsubscribe button that POSTs.
        email["List-Unsubscribe"] = (f"<{unsubscribe}>, <mailto:{sender}?subject="
                                     f"unsubscribe%20{mailtext.signed(row.id, 'unsubscribe')}>")
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email["Precedence"] = "bulk"
        email.set_content(mailtext.text_of(body + footer))
        email.add_alternative(html, subtype="html")
        return email


def _footer(unsubscribe, company_name):
    """The unsubscribe line under every message (as text: the body is HTML already)."""
    return str(Markup('<p style="font-size:12px;color:#777">{} <a href="{}">{}</a></p>').format(
        _("You receive this as a customer or contact of %(company)s.",
          company=company_name), unsubscribe, _("Unsubscribe")))


class SmsSender(Sender):
    """Sends the SMS mailings' rows through the core's gateway ([sms] in config.ini),
    within the same caps (counted apart from e-mail's, under "sms")."""

    channel = "SMS"

    def server_key(self):
        return "sms"

    def build(self, mailing, row):
        return mailtext.render_sms(mailing[1], self.values(mailing, row, row.phone))

    def deliver(self, row, text):
        message = SimpleNamespace(recipients=row.phone, body_text=text,
                                  id=f"mkt-{row.id}")
        try:
            outbox.send_by_gateway(current_app.extensions["crm"].settings, message)
        except (outbox.DeliveryError, OSError) as error:
            self.back_to_queue(row, str(error))
            self.note_problem(row.mailing_id, str(error))
            raise Stop(str(error)) from error
        self.done_id = row.id
        self.sent += 1

    def close(self):
        pass
