"""The outbox: every email and SMS of every addon goes through here.

    from core import outbox
    outbox.send_email(["li@example.com"], "Your quote", text, html=html,
                      attachments=[("Q2026-00042.pdf", pdf_bytes, "application/pdf")],
                      related=quote)
    outbox.send_sms(["+86 138 0000 0000"], "Your order has shipped", related=order)

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
"""
import smtplib
import urllib.parse
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from flask import current_app
from sqlalchemy import update

from core.audit import acting_user_id
from core.db import db
from core.models import Message, MessageAttachment, utcnow
from core.scheduler import claim

BACKOFF_MINUTES = (1, 5, 15, 60, 240)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
STALE_MINUTES = 15
BATCH = 20


class DeliveryError(Exception):
    """A message could not be delivered; the text says why."""


def _queue(channel, recipients, subject, text, html=None, attachments=(), related=None):
    message = Message(
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


def send_email(recipients, subject, text, html=None, attachments=(), related=None):
    """Queue an email; it goes out with the caller's transaction, or not at all."""
    return _queue("email", recipients, subject, text, html, attachments, related)


def send_sms(recipients, text, related=None):
    """Queue one SMS per number, so that one bad number does not hold up the others."""
    return [_queue("sms", [number], "", text, related=related) for number in recipients]


def _log(message, event):
    message.delivery_log += f"{utcnow():%Y-%m-%d %H:%M:%S} {event}\n"


def deliver_due():
    """The job: requeue interrupted deliveries, then deliver what is due, in batches."""
    session = db.session
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
    message.attempts += 1
    try:
        if message.channel == "email":
            send_by_smtp(settings, message)
        else:
            send_by_gateway(settings, message)
    except Exception as exc:  # whatever went wrong, it is this message's failed attempt
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            _log(message, f"attempt {message.attempts} failed for good: {message.last_error}")
        else:
            message.status = "queued"
            message.next_attempt_at = utcnow() + timedelta(
                minutes=BACKOFF_MINUTES[message.attempts - 1])
            _log(message, f"attempt {message.attempts} failed, next at "
                          f"{message.next_attempt_at:%H:%M}: {message.last_error}")
        db.session.commit()
        return False
    message.status, message.sent_at = "sent", utcnow()
    _log(message, f"attempt {message.attempts} sent")
    db.session.commit()
    return True


def resend(message):
    """Queue a message again (an administrator's decision, logged)."""
    message.status, message.next_attempt_at, message.attempts = "queued", utcnow(), 0
    _log(message, "queued again by hand")


def message_id_header(message, domain):
    # The same for every attempt, so a duplicate after a crash can be recognised.
    return f"<crm-message-{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"


def build_email(settings, message):
    sender = settings.get("mail", "sender", "crm@localhost")
    email = EmailMessage()
    email["From"] = formataddr((settings.get("mail", "sender_name", ""), sender))
    email["To"] = message.recipients
    email["Subject"] = message.subject
    email["Date"] = formatdate()
    email["Message-ID"] = message_id_header(message, sender.rpartition("@")[2] or "localhost")
    email.set_content(message.body_text or "")
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(attachment.data, maintype=maintype,
                             subtype=subtype or "octet-stream", filename=attachment.filename)
    return email


def send_by_smtp(settings, message):
    host = settings.get("mail", "host", "")
    if not host:
        raise DeliveryError("no SMTP server: set [mail] host in config.ini")
    port = int(settings.get("mail", "port", "25"))
    timeout = float(settings.get("mail", "timeout", "30"))
    use_ssl = settings.get("mail", "ssl", "false").lower() == "true"
    connection = (smtplib.SMTP_SSL if use_ssl else smtplib.SMTP)(host, port, timeout=timeout)
    try:
        if settings.get("mail", "starttls", "false").lower() == "true":
            connection.starttls()
        if settings.get("mail", "username", ""):
            connection.login(settings.get("mail", "username"), settings.get("mail", "password", ""))
        connection.send_message(build_email(settings, message))
    finally:
        try:
            connection.quit()
        except smtplib.SMTPException:
            pass


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
