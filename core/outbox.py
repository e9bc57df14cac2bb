"""The outbox: every email and SMS of every addon goes through here.

    from core import outbox
    outbox.send_email(["li@example.com"], "Your quote", text, html=html,
                      attachments=[("Q2026-00042.pdf", pdf_bytes, "application/pdf")],
                      related=quote)
    outbox.send_sms(["+86 138 0000 0000"], "Your order has shipped", related=order)
    outbox.send_email([customer], "Re: " + subject, text, related=ticket,   # a reply
                      headers={"In-Reply-To": "<id>", "References": "<a> <id>"})

A message is stored in the same transaction as the action that sends it; the job
``core.outbox`` delivers it: email over SMTP ([mail] in config.ini), SMS through a gateway
([sms]: a log file, or an HTTP gateway). A failed attempt is retried after 1, 5, 15, 60
and 240 minutes; after the sixth failure the message stays "failed", with the reason.

Delivery guarantee: at least once, never silently lost, and a possible duplicate is
always on record. A message is claimed ("sending") before it is sent and marked "sent"
after. If the process dies in between, the claim grows stale; after STALE_MINUTES the
message is queued again with "interrupted" in its delivery log, and sent again. The
re-sent email carries the same Message-ID (and an SMS the same reference), so the
receiving side can recognise the duplicate, and the outbox screen shows it.

Honest about it: with no mail server set up, an email fails at once (no retries: nothing
would change before an administrator acts, and the sender should know now). A message
that fails for good tells the user who sent it (a reminder under the bell, linked to the
record it was sent from). Any record lists its messages with their delivery state:

    outbox.messages_for("Quote", 42)   # [{"subject": ..., "state": "delivered", ...}]

The mail server is set on Settings > Mail server (kept in the database, see
``mail_settings``); [mail] in config.ini gives the values until then.
"""
import json
import re
import smtplib
import socket
import ssl
import urllib.parse
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from core import neutral
from core.audit import acting_user_id
from core.db import db
from core.i18n import mark
from core.models import Message, MessageAttachment, Option, User, utcnow
from core.scheduler import claim, failed_attempt, log_line

BACKOFF_MINUTES = (1, 5, 15, 60, 240)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
STALE_MINUTES = 15
BATCH = 20


# A message's delivery as people read it (see delivery_state), and the raw statuses.
DELIVERY_STATES = (mark("queued"), mark("retrying"), mark("delivered"), mark("failed"))
STATUSES = (mark("queued"), mark("sending"), mark("sent"), mark("failed"))

# The mail server: Settings > Mail server stores these under this name in core_option;
# a key not stored there comes from [mail] in config.ini.
MAIL_OPTIONS = "core.mail"
MAIL_DEFAULTS = {"host": "", "port": "25", "security": "none", "username": "",
                 "password": "", "sender": "crm@localhost", "sender_name": "",
                 "timeout": "30"}
SECURITY = ("none", "starttls", "ssl")
# The headers a caller may add to an email: those that thread a reply under the message
# it answers in the recipient's mail program.
THREADING_HEADERS = ("In-Reply-To", "References")


class DeliveryError(Exception):
    """A message could not be delivered; the text says why."""


class NoMailServer(DeliveryError):
    """No mail server is set up: retrying cannot help until an administrator acts."""


def _queue(channel, recipients, subject, text, html=None, attachments=(), related=None,
           headers=None):
    message = Message(
        headers=json.dumps(threading_headers(headers)) if headers else None,
        channel=channel, recipients=", ".join(r.strip() for r in recipients if r.strip()),
        subject=subject or "", body_text=text or "", body_html=html,
        related_model=type(related).__name__ if related is not None else None,
        related_id=getattr(related, "id", None), created_by_id=acting_user_id(),
        next_attempt_at=utcnow(), delivery_log="")
    if not message.recipients:
        raise ValueError("a message needs at least one recipient")
    for filename, data, content_type in attachments:
        message.attachments.append(MessageAttachment(
            filename=filename, data=data, content_type=content_type))
    db.session.add(message)
    return message


# An address as forms take it: no list separators or angle brackets inside.
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def read_email_form(form, defaults, missing):
    """(values, recipients, {field: error}) of a sending form (core/macros.html
    email_fields) with the keys of ``defaults``: "to" (several addresses apart by commas,
    semicolons or spaces), "subject" and "text". ``missing``: the error when "to" is
    empty, saying whose address is wanted."""
    values = {key: form.get(key, "").strip() for key in defaults}
    recipients = [address for address in re.split(r"[,;\s]+", values["to"]) if address]
    wrong = [address for address in recipients if not EMAIL.match(address)]
    errors = {}
    if not recipients:
        errors["to"] = missing
    elif wrong:
        errors["to"] = _("Not a valid email address: %(address)s", address=wrong[0])
    if not values["subject"]:
        errors["subject"] = _("Enter a subject.")
    return values, recipients, errors


def send_email(recipients, subject, text, html=None, attachments=(), related=None,
               headers=None):
    """Queue an email; it goes out with the caller's transaction, or not at all.
    ``headers``: {"In-Reply-To": "<id>", "References": "<a> <b>"} for a reply."""
    return _queue("email", recipients, subject, text, html, attachments, related, headers)


def threading_headers(headers):
    """``headers`` checked: only THREADING_HEADERS, each one line (a line break would
    let a caller's data add headers of its own). ValueError otherwise."""
    checked = {}
    for name, value in headers.items():
        if name not in THREADING_HEADERS:
            raise ValueError(f"an email may carry only {', '.join(THREADING_HEADERS)}, "
                             f"not {name}")
        value = " ".join(str(value).split())
        if value:
            checked[name] = value
    return checked


def send_sms(recipients, text, related=None):
    """Queue one SMS per number, so that one bad number does not hold up the others."""
    return [_queue("sms", [number], "", text, related=related) for number in recipients]


def deliver_due():
    """The job: requeue interrupted deliveries, then deliver what is due, in batches.
    A neutralised copy (core.neutral) sends nothing: its messages stay queued."""
    session = db.session
    if neutral.is_neutralised(session):
        return "paused: this is a test copy; nothing is sent, messages stay queued"
    now = utcnow()
    stale = session.execute(
        update(Message).where(Message.status == "sending",
                              Message.claimed_at < now - timedelta(minutes=STALE_MINUTES))
        .values(status="queued", delivery_log=Message.delivery_log + (
            f"{now:%Y-%m-%d %H:%M:%S} interrupted while sending (it may have gone out); "
            "queued again\n")).execution_options(synchronize_session=False)).rowcount
    session.commit()
    sent = failed = 0
    while True:
        ids = claim(session, Message,
                    (Message.status == "queued") & (Message.next_attempt_at <= now), BATCH,
                    status="sending", claimed_at=utcnow())
        if not ids:
            break
        for message_id in ids:
            message = session.get(Message, message_id)
            message.claimed_at = utcnow()   # fresh claim: a slow batch never looks stale
            session.commit()
            if deliver(message):
                sent += 1
            else:
                failed += 1
    return f"sent {sent}, not sent {failed}, requeued after interruption {stale}"


def deliver(message):
    """Send one claimed message now and record the outcome. True when sent."""
    settings = current_app.extensions["crm"].settings
    if neutral.is_neutralised(db.session):
        message.status = "queued"     # a test copy sends nothing; the message waits
        db.session.commit()
        return False
    message.attempts += 1
    try:
        if message.channel == "email":
            send_by_smtp(mail_settings(), message)
        else:
            send_by_gateway(settings, message)
    except Exception as exc:  # whatever went wrong, it is this message's failed attempt
        if failed_attempt(message, f"{type(exc).__name__}: {exc}", BACKOFF_MINUTES,
                          for_good=isinstance(exc, NoMailServer)):
            tell_sender(message, exc)
        db.session.commit()
        return False
    message.status, message.sent_at = "sent", utcnow()
    log_line(message, f"attempt {message.attempts} sent")
    db.session.commit()
    return True


def tell_sender(message, error):
    """A reminder for the user who sent a message that failed for good, in their
    language, linked to the record it was sent from. Never by email: a copy of a
    failure could fail in turn."""
    from core import notifications   # (notifications sends its email copies through here)
    sender = db.session.get(User, message.created_by_id) if message.created_by_id else None
    if sender is None or not sender.active:
        return
    link = None
    if message.related_model and message.related_id:
        link = notifications.record_link(message.related_model, message.related_id)
    with notifications.in_language(sender):
        title = (_("Email not delivered: %(subject)s", subject=message.subject)
                 if message.channel == "email" else
                 _("Text message not delivered to %(number)s", number=message.recipients))
        body = _("To %(recipients)s: %(reason)s", recipients=message.recipients,
                 reason=explain(error, mail_settings()))
    notifications.notify(sender.id, title, body=body, link=link, email=False,
                         key=f"outbox:{message.id}:failed:{utcnow().isoformat()}")


# -- what a record shows of its messages ---------------------------------------------------

def delivery_state(status, attempts):
    """queued, retrying (a failed attempt, another to come), delivered or failed."""
    if status == "sent":
        return "delivered"
    if status == "failed":
        return "failed"
    return "retrying" if attempts else "queued"


def messages_for(model_name, record_id, limit=50):
    """The emails and text messages sent from one record, newest first: dicts of id,
    channel, recipients, subject, state (see delivery_state; show it with label()),
    error (the last one, "" once delivered; error_text words it), attempts,
    created_at, sent_at, next_attempt_at and created_by_id. One query, without the
    bodies and attachments."""
    rows = db.session.execute(
        select(Message.id, Message.channel, Message.recipients, Message.subject,
               Message.status, Message.attempts, Message.last_error, Message.created_at,
               Message.sent_at, Message.next_attempt_at, Message.created_by_id)
        .where(Message.related_model == model_name, Message.related_id == record_id)
        .order_by(Message.id.desc()).limit(limit)).mappings()
    return [{"id": row.id, "channel": row.channel, "recipients": row.recipients,
             "subject": row.subject, "state": delivery_state(row.status, row.attempts),
             "error": row.last_error if row.status != "sent" else "",
             "attempts": row.attempts, "created_at": row.created_at, "sent_at": row.sent_at,
             "next_attempt_at": row.next_attempt_at, "created_by_id": row.created_by_id}
            for row in rows]


# -- the mail server -----------------------------------------------------------------------

def error_text(last_error):
    """A stored error as the user reads it: in words where the kind is known, else as
    the server or library put it."""
    if last_error.startswith(NoMailServer.__name__ + ":"):
        return explain(NoMailServer())
    return last_error


def mail_settings():
    """{key: text} of the mail server (MAIL_DEFAULTS' keys): what an administrator saved
    on Settings > Mail server, else [mail] in config.ini, else the default."""
    config = current_app.extensions["crm"].settings
    values = {key: config.get("mail", key, default) for key, default in MAIL_DEFAULTS.items()}
    if config.get("mail", "ssl", "false").lower() == "true":
        values["security"] = "ssl"
    elif config.get("mail", "starttls", "false").lower() == "true":
        values["security"] = "starttls"
    stored = db.session.execute(select(Option.key, Option.value)
                                .where(Option.addon == MAIL_OPTIONS)).all()
    values.update({key: value for key, value in stored if key in MAIL_DEFAULTS})
    return values


def mail_configured(mail=None):
    return bool((mail or mail_settings())["host"].strip())


def sender_name(mail):
    """The name emails come from: the one set for the mail server, else the company's."""
    from core import company
    return mail.get("sender_name") or company.name()


def send_test(mail, address):
    """Send a short email to ``address`` now, straight through the server (not the
    queue); DeliveryError or the SMTP library's error when it does not go."""
    if neutral.is_neutralised(db.session):
        raise DeliveryError(_("This is a test copy of the site: it sends nothing."))
    email = EmailMessage()
    email["From"] = formataddr((sender_name(mail), mail["sender"]))
    email["To"] = address
    email["Subject"] = _("Test email from %(name)s", name=sender_name(mail))
    email["Date"] = formatdate()
    email["Message-ID"] = make_msgid(domain=mail["sender"].rpartition("@")[2] or "localhost")
    email.set_content(_("The mail server works: emails from the suite will go out "
                        "through it."))
    smtp_send(mail, email)


def explain(error, mail=None):
    """Why a message did not go, in words for the user (in the current language)."""
    mail = mail or {}
    where = f"{mail.get('host', '')}:{mail.get('port', '')}" if mail.get("host") else ""
    reply = smtp_reply(error)
    if isinstance(error, NoMailServer):
        return _("No mail server is set up: an administrator sets it on Settings > Mail "
                 "server.")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return _("The mail server refused the user name or password (%(reply)s).",
                 reply=reply)
    if isinstance(error, smtplib.SMTPSenderRefused):
        return _("The mail server refused the sender address %(sender)s (%(reply)s).",
                 sender=error.sender, reply=reply)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return _("The mail server refused the address %(addresses)s.",
                 addresses=", ".join(error.recipients))
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return _("The mail server does not offer what the settings ask for (%(reply)s): "
                 "check the security setting and the user name.", reply=reply)
    if isinstance(error, socket.gaierror):
        return _("No mail server is known by the name %(host)s: check the host.",
                 host=mail.get("host") or "?")
    if isinstance(error, ConnectionRefusedError):
        return _("Nothing answers at %(where)s: check the host and the port.",
                 where=where or "?")
    if isinstance(error, (TimeoutError, socket.timeout)):
        return _("The mail server %(where)s did not answer in time.", where=where or "?")
    if isinstance(error, (ssl.SSLError, ssl.CertificateError)):
        return _("The secure connection to the mail server failed (%(reply)s): check the "
                 "security setting and the port.", reply=reply)
    if isinstance(error, (smtplib.SMTPException, OSError)):
        return _("The mail server answered: %(reply)s", reply=reply)
    return reply


def smtp_reply(error):
    """The server's own words for an SMTP error, else the error's text."""
    code, text = getattr(error, "smtp_code", None), getattr(error, "smtp_error", None)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if code and text:
        return f"{code} {text}"
    return str(error) or type(error).__name__


def message_id_header(message, domain):
    # The same for every attempt, so a duplicate after a crash can be recognised.
    return f"<crm-message-{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"


def build_email(mail, message):
    sender = mail["sender"]
    email = EmailMessage()
    email["From"] = formataddr((sender_name(mail), sender))
    email["To"] = message.recipients
    email["Subject"] = message.subject
    email["Date"] = formatdate()
    email["Message-ID"] = message_id_header(message, sender.rpartition("@")[2] or "localhost")
    for name, value in json.loads(message.headers or "{}").items():
        email[name] = value
    email.set_content(message.body_text or "")
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(attachment.data, maintype=maintype,
                             subtype=subtype or "octet-stream", filename=attachment.filename)
    return email


def send_by_smtp(mail, message):
    smtp_send(mail, build_email(mail, message))


def smtp_send(mail, email):
    """Hand one built email to the mail server of ``mail`` (see mail_settings)."""
    connection = smtp_connection(mail)
    try:
        connection.send_message(email)
    finally:
        close_quietly(connection)


def smtp_connection(mail):
    """An open, signed-in connection to the mail server of ``mail``: one email at a
    time, or many over one connection (marketing sends). The caller closes it."""
    host = mail["host"].strip()
    if not host:
        raise NoMailServer("no mail server: set it on Settings > Mail server")
    port = int(mail["port"] or 25)
    timeout = float(mail["timeout"] or 30)
    use_ssl = mail["security"] == "ssl"
    connection = (smtplib.SMTP_SSL if use_ssl else smtplib.SMTP)(host, port, timeout=timeout)
    try:
        if mail["security"] == "starttls":
            connection.starttls()
        if mail["username"]:
            connection.login(mail["username"], mail["password"])
    except BaseException:
        close_quietly(connection)
        raise
    return connection


def close_quietly(connection):
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def send_by_gateway(settings, message):
    backend = settings.get("sms", "backend", "log")
    values = {"to": message.recipients, "text": message.body_text, "ref": str(message.id)}
    if backend == "log":
        path = settings.instance_path / settings.get("sms", "log_file", "sms.log")
        with open(path, "a", encoding="utf-8") as log_file:
            log_file.write(f"{utcnow():%Y-%m-%d %H:%M:%S}\t{values['ref']}\t{values['to']}\t"
                           f"{values['text']}\n")
        return
    if backend != "http":
        raise DeliveryError(f"[sms] backend {backend!r} is unknown; use log or http")
    quoted = {key: urllib.parse.quote(value, safe="") for key, value in values.items()}
    url = settings.get("sms", "http_url", "").format(**quoted)
    method = settings.get("sms", "http_method", "GET").upper()
    body = settings.get("sms", "http_body", "").format(**quoted).encode() or None
    request = urllib.request.Request(url, data=body if method == "POST" else None, method=method,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=float(settings.get("sms", "timeout", "15"))):
            pass
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"gateway answered {exc.code} {exc.reason}") from exc
