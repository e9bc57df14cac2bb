"""Webhooks: a URL told of changes to the records of one API model (created, changed,
deleted, moved to another state), for a shop, a website or a telephone system that must
follow the CRM without polling it.

An event is stored (core_webhook_delivery) in the transaction of the change it tells
of, from SQLAlchemy's flush as the audit trail is: every way of saving a record (a
screen, an import, the API, a job, the command line) is covered, and a change rolled
back tells nothing. The job ``core.webhooks`` sends it:

    POST <url>   Content-Type: application/json
    X-CRM-Event: updated          X-CRM-Delivery: 42 (the same on every retry)
    X-CRM-Signature: t=1733565600,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>
    {"event": "updated", "model": "customer", "id": 7, "occurred_at": "…Z",
     "data": {...the record as the API reads it}, "changes": {"name": [old, new]},
     "state": {"from": …, "to": …} (state_changed only)}

A 2xx answer delivers it. Anything else (an error status, a timeout, a refused
connection) is retried after 1, 4, 16, 64 and 256 minutes; after the sixth attempt the
delivery stays "failed". After PAUSE_AFTER failed attempts in a row the webhook pauses
and administrators are told; its events keep being stored, and are sent once an
administrator makes it active again. Redirects are not followed.

No SSRF: only http(s) addresses; an address in a private network, of this server
(loopback) or link-local (169.254.169.254, a cloud's metadata) is refused when the
webhook is saved and again when connecting (the address connected to is the one checked,
so a name that changes its address in between gains nothing), unless an administrator
allowed it for that webhook.
"""
import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import time
import urllib.parse
from datetime import timedelta

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import delete, event, insert, inspect, or_, select, update
from sqlalchemy.orm import Session

from core import customise, neutral, workflow
from core.audit import acting_token, acting_user_id, changes_of
from core.db import db
from core.i18n import mark
from core.models import ADMIN_GROUP, Group, User, Webhook, WebhookDelivery, utcnow
from core.scheduler import claim, failed_attempt, log_line

# event: the webhook's column that subscribes to it
EVENTS = {"created": "on_created", "updated": "on_updated", "deleted": "on_deleted",
          "state_changed": "on_state_changed"}
EVENT_LABELS = (mark("created"), mark("updated"), mark("deleted"), mark("state_changed"),
                mark("ping"))   # (shown translated)
BACKOFF_MINUTES = (1, 4, 16, 64, 256)   # each wait four times the one before
PAUSE_AFTER = 10      # failed attempts in a row (of any deliveries) that pause a webhook
TIMEOUT_SECONDS = 10
STALE_MINUTES = 15    # a delivery "sending" this long was interrupted: queued again
BATCH = 20
KEPT = timedelta(days=30)    # delivered and failed deliveries, for their log
RESPONSE_KEPT = 1000         # characters of the receiver's answer
USER_AGENT = "CRM-Webhooks/1"


class Blocked(OSError):
    """A connection refused by the SSRF guard."""


# -- what may be subscribed to ------------------------------------------------------------

def subscribable():
    """{model class: [the API names of its screens]} that webhooks may follow: the model
    screens of the enabled addons and the core, less logs and the webhooks' own."""
    state = current_app.extensions["crm"]
    if state.webhook_models is None and state.api_screens:   # (none yet while it starts)
        from core.views import ReadOnlyView
        found = {}
        for name, view in state.api_screens.items():
            if not isinstance(view, ReadOnlyView) and view.model not in (Webhook, WebhookDelivery):
                found.setdefault(view.model, []).append(name)
        state.webhook_models = found
    return state.webhook_models or {}


def model_choices():
    """(API name, the screen's name) of what a webhook may follow, for its form."""
    from core.i18n import label
    screens = current_app.extensions["crm"].api_screens
    names = [name for names in subscribable().values() for name in names]
    return sorted(((name, label(screens[name].name)) for name in names),
                  key=lambda pair: str(pair[1]))


# -- the SSRF guard -----------------------------------------------------------------------

def address_refusal(address, allow_private):
    """Why a webhook may not connect to the IP ``address``, or None."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if allow_private or (ip.is_global and not ip.is_multicast):
        return None
    return _("%(address)s is in a private network or on this server: an administrator "
             "must allow such an address for this webhook.", address=str(ip))


def url_refusal(url, allow_private):
    """Why a webhook may not have this address, or None. A name that does not resolve
    now is let through: it is checked again, address by address, on each delivery."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Give an address that starts with http:// or https://.")
    try:
        port = parts.port
        found = socket.getaddrinfo(parts.hostname, port or 80, type=socket.SOCK_STREAM)
    except ValueError:
        return _("The port in the address is not valid.")
    except (socket.gaierror, UnicodeError):
        return None
    for *_rest, address in found:
        refusal = address_refusal(address[0], allow_private)
        if refusal:
            return refusal
    return None


def guarded_connection(allow_private):
    """socket.create_connection, but refusing an address the webhook may not reach:
    every address the name resolves to is checked before one is connected to."""
    def connect(address, timeout=None, source_address=None):
        host, port = address
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        for *_rest, sockaddr in found:
            refusal = address_refusal(sockaddr[0], allow_private)
            if refusal:
                raise Blocked(refusal)
        error = OSError(f"{host} has no address")
        for family, kind, proto, _name, sockaddr in found:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise error
    return connect


# -- events, stored with the change -------------------------------------------------------

def record_data(record, view, deleted=False):
    """The record's fields as the API gives them, less those its screen hides from
    everyone (secrets, derived columns, custom fields taken off the site)."""
    from core.admin import _is_hidden
    from core.api import json_value
    active = {field.name for field in view.custom_fields}
    values = inspect(record).dict if deleted else None   # (a deleted row is not read again)
    data = {}
    for column in inspect(type(record)).columns:
        name = column.key
        if _is_hidden(column) or (customise.is_custom(column) and name not in active):
            continue
        data[name] = json_value(values.get(name) if deleted else getattr(record, name))
    return data


def state_change(record):
    """(before, after) when the flush moves ``record`` to another workflow state."""
    flow = workflow.declared().get(type(record).__name__)
    if flow is None:
        return None
    before, after = workflow.committed_value(record, flow), flow.value(record)
    return (before, after) if before != after else None


def events_of(kind, record):
    """[(event, extra body fields)] that one flushed change of ``record`` makes."""
    if kind != "updated":
        return [(kind, {})]
    found = []
    changes = changes_of(record, "update")
    if changes:
        found.append(("updated", {"changes": changes}))
    moved = state_change(record)
    if moved is not None:
        found.append(("state_changed", {"state": {"from": moved[0], "to": moved[1]}}))
    return found


def visible(extra, data, record):
    """``extra`` with its changes to fields the data leaves out (secrets) left out."""
    if "changes" not in extra:
        return extra
    columns = inspect(type(record)).columns.keys()
    return {"changes": {name: change for name, change in extra["changes"].items()
                        if name in data or name not in columns}}


@event.listens_for(Session, "after_flush")
def _queue_events(session, _context):
    if not has_app_context() or "crm" not in current_app.extensions:
        return
    models = subscribable()
    touched = [(kind, record) for kind, records in (
        ("created", session.new), ("updated", session.dirty), ("deleted", session.deleted))
        for record in records if type(record) in models]
    if not touched:
        return
    names = {name for _kind, record in touched for name in models[type(record)]}
    # Paused webhooks keep their events (sent once resumed); ones switched off do not.
    hooks = session.connection().execute(select(
        Webhook.id, Webhook.model, *(getattr(Webhook, column) for column in EVENTS.values()))
        .where(
        Webhook.model.in_(names), or_(Webhook.active, Webhook.paused_reason != ""))).all()
    if not hooks:
        return
    screens = current_app.extensions["crm"].api_screens
    now, by = utcnow(), {"user_id": acting_user_id(), "api_token": acting_token()}
    rows = []
    for kind, record in touched:
        for name_event, extra in events_of(kind, record):
            for hook in hooks:
                if hook.model not in models[type(record)] or not getattr(hook, EVENTS[name_event]):
                    continue
                data = record_data(record, screens[hook.model], kind == "deleted")
                body = {"event": name_event, "model": hook.model, "id": record.id,
                        "occurred_at": now.isoformat(timespec="seconds") + "Z", "by": by,
                        "data": data, **visible(extra, data, record)}
                rows.append({"webhook_id": hook.id, "event": name_event, "model": hook.model,
                             "record_id": record.id, "body": json.dumps(body, ensure_ascii=False),
                             "created_at": now, "next_attempt_at": now})
    if rows:
        session.connection().execute(insert(WebhookDelivery), rows)


def queue_ping(hook):
    """A test event for ``hook``, to try its receiver (the list's action)."""
    body = {"event": "ping", "model": hook.model, "id": None,
            "occurred_at": utcnow().isoformat(timespec="seconds") + "Z",
            "webhook": hook.name}
    db.session.add(WebhookDelivery(webhook_id=hook.id, event="ping", model=hook.model,
                                   body=json.dumps(body, ensure_ascii=False)))


# -- sending ------------------------------------------------------------------------------

def signature(secret, timestamp, body):
    """The X-CRM-Signature of ``body`` sent at ``timestamp`` (seconds since 1970)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body.encode(),
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post(hook, delivery):
    """Send one delivery; (status code, the start of the answer). Raises OSError (Blocked
    among them) or http.client.HTTPException when it could not."""
    parts = urllib.parse.urlsplit(hook.url.strip())
    connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                        else http.client.HTTPConnection)
    connection = connection_class(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
    # http.client opens its socket through this attribute (plain and TLS alike).
    connection._create_connection = guarded_connection(hook.allow_private)
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-CRM-Event": delivery.event, "X-CRM-Delivery": str(delivery.id),
               "X-CRM-Signature": signature(hook.signing_token, timestamp, delivery.body)}
    if parts.username:
        pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=delivery.body.encode(), headers=headers)
        response = connection.getresponse()
        return response.status, response.read(RESPONSE_KEPT * 4).decode("utf-8", "replace")
    finally:
        connection.close()


def deliver_due():
    """The job: queue again deliveries interrupted while sending, forget old ones, then
    send what is due, in batches. A neutralised copy (core.neutral) sends nothing."""
    session = db.session
    if neutral.is_neutralised(session):
        return "paused: this is a test copy; nothing is sent, deliveries stay queued"
    now = utcnow()
    stale = session.execute(
        update(WebhookDelivery).where(
            WebhookDelivery.status == "sending",
            WebhookDelivery.claimed_at < now - timedelta(minutes=STALE_MINUTES))
        .values(status="queued", delivery_log=WebhookDelivery.delivery_log + (
            f"{now:%Y-%m-%d %H:%M:%S} interrupted while sending (it may have arrived); "
            "queued again\n")).execution_options(synchronize_session=False)).rowcount
    session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.status.in_(("sent", "failed")), WebhookDelivery.created_at < now - KEPT))
    session.commit()
    due = (WebhookDelivery.status == "queued") & (WebhookDelivery.next_attempt_at <= now) & \
        WebhookDelivery.webhook_id.in_(select(Webhook.id).where(Webhook.active))
    sent = failed = 0
    while ids := claim(session, WebhookDelivery, due, BATCH, status="sending",
                       claimed_at=utcnow()):
        for delivery_id in ids:
            if deliver(session.get(WebhookDelivery, delivery_id)):
                sent += 1
            else:
                failed += 1
    return f"sent {sent}, not sent {failed}, queued again after interruption {stale}"


def deliver(delivery):
    """Send one claimed delivery now and record the outcome. True when delivered."""
    hook = delivery.webhook
    if not hook.active:   # paused since it was claimed: it waits
        delivery.status = "queued"
        db.session.commit()
        return False
    delivery.attempts += 1
    delivery.claimed_at = utcnow()
    db.session.commit()
    try:
        code, text = post(hook, delivery)
        error = "" if 200 <= code < 300 else f"HTTP {code}"
    except (OSError, http.client.HTTPException) as exc:
        code, text, error = None, "", f"{type(exc).__name__}: {exc}"
    delivery.response_code, delivery.response_body = code, text[:RESPONSE_KEPT]
    if not error:
        delivery.status, delivery.sent_at, delivery.last_error = "sent", utcnow(), ""
        hook.failures = 0
        log_line(delivery, f"attempt {delivery.attempts}: HTTP {code}, delivered")
        db.session.commit()
        return True
    failed_attempt(delivery, error, BACKOFF_MINUTES)
    failures = db.session.execute(update(Webhook).where(Webhook.id == hook.id).values(
        failures=Webhook.failures + 1).returning(Webhook.failures)).scalar_one()
    if failures >= PAUSE_AFTER and hook.active:
        pause(hook, failures, error)
    db.session.commit()
    return False


def pause(hook, failures, error):
    """Stop sending to ``hook`` and tell the administrators, in their languages."""
    from core import notifications
    hook.active, hook.paused_reason = False, error[:500]
    admins = db.session.scalars(select(User).join(User.groups).where(
        Group.code == ADMIN_GROUP, User.active.is_(True))).unique().all()
    link = current_app.url_map.bind("localhost").build(
        "webhooks.details_view", {"id": hook.id})
    notifications.notify_each(
        admins, lambda: _("Webhook paused: %(name)s", name=hook.name),
        body=lambda: _("%(count)d attempts in a row failed (the last: %(error)s). Its events "
                       "wait until you make it active again.", count=failures, error=error),
        link=link, key=f"webhook:{hook.id}:paused:{utcnow().isoformat()}")


def resume(hook):
    """After an administrator makes a paused webhook active again: its waiting
    deliveries are due now, and its count of failures starts again."""
    hook.failures, hook.paused_reason = 0, ""
    db.session.execute(update(WebhookDelivery).where(
        WebhookDelivery.webhook_id == hook.id, WebhookDelivery.status == "queued")
        .values(next_attempt_at=utcnow()).execution_options(synchronize_session=False))



