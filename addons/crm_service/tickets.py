"""Tickets: opening one from any channel, its conversation, and who gets it.

Every way in (the e-mail handler in mail.py, the new-ticket form, the self-service
page) opens a ticket with ``open_ticket``; every message added to one goes through
``customer_message``, ``reply`` or ``note``. They add to the session and never commit:
the caller's action is one transaction. State changes go through core.workflow.move, so
the workflow's checks and effects run whatever the path.

Who gets a new ticket: the first routing rule (RoutingRule, by order) whose kind,
product and customer grade fit gives the team, and perhaps the person; otherwise the
team whose service address the e-mail was sent to. Within the team, its assignment
method picks the person: round robin (members in user-id order, after the last one
given a ticket), least open (the member with the fewest tickets not resolved or
closed), or manual (the team only)."""
import re
import secrets

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from addons.crm_contacts import normalise
from addons.crm_contacts.models import Contact, Customer
from addons.crm_service.models import (DONE_STATES, RoutingRule, ServiceTeam, Ticket,
                                       TicketAttachment, TicketMessage)
from core import files, notifications, outbox, workflow
from core.db import db
from core.models import Team, User, team_members, utcnow

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
# "[T2026-000012]" (ours) or "[#T2026-0007]" (how some desks write it) in a subject.
NUMBER_IN_SUBJECT = re.compile(r"\[#?T(\d{4})-(\d{1,9})\]", re.IGNORECASE)
NUMBER_TYPED = re.compile(r"^#?T(\d{4})-(\d{1,9})$", re.IGNORECASE)
REFERENCES_KEPT = 10        # the References header of a reply names at most these
CHANNEL_EMAIL = "email"

# A ticket's files stay in the core's store as long as a message names them.
files.register_reference(TicketAttachment.sha256)


class TicketRefused(Exception):
    """Something that cannot be done with a ticket now; str() says why, for the user."""


# -- who the customer is --------------------------------------------------------------------

def find_requester(email=None, phone=None):
    """(customer, contact) known by an e-mail address or a phone number, each None when
    not found. A contact's e-mail or phone wins (it names the person too); else a
    customer's own. Everyone's records: the application looks, not a user."""
    contact = customer = None
    key = normalise.email(email) if email else ""
    if key:
        contact = db.session.scalar(select(Contact).where(
            Contact.email.in_({email.strip(), key})).order_by(Contact.id).limit(1))
        if contact is None:
            customer = db.session.scalar(select(Customer).where(
                Customer.email_key == key).order_by(Customer.id).limit(1))
    digits = normalise.phone(phone) if phone else ""
    if contact is None and customer is None and digits:
        typed = {phone.strip(), digits, "0" + digits}
        contact = db.session.scalar(select(Contact).where(or_(
            Contact.phone.in_(typed), Contact.mobile.in_(typed))).order_by(Contact.id).limit(1))
        if contact is None:
            customer = db.session.scalar(select(Customer).where(
                Customer.phone_key == digits).order_by(Customer.id).limit(1))
    if contact is not None:
        customer = contact.customer
    return customer, contact


# -- who gets it -----------------------------------------------------------------------------

def matching_rule(ticket):
    """The first routing rule, by order, whose conditions all hold (an empty condition
    holds for every ticket)."""
    grade = ticket.customer.grade if ticket.customer is not None else None
    product_id = ticket.product.id if ticket.product is not None else ticket.product_id
    rules = db.session.scalars(select(RoutingRule).order_by(
        RoutingRule.sequence, RoutingRule.id))
    for rule in rules:
        if (rule.kind in (None, ticket.kind) and rule.product_id in (None, product_id)
                and rule.grade in (None, grade)):
            return rule
    return None


def team_by_address(addresses):
    """The team whose service address is one of ``addresses`` (To and Cc), or None."""
    wanted = {a.strip().lower() for a in addresses if a and a.strip()}
    if not wanted:
        return None
    return db.session.scalar(select(Team).join(ServiceTeam, ServiceTeam.team_id == Team.id)
                             .where(func.lower(ServiceTeam.email).in_(wanted))
                             .order_by(ServiceTeam.id).limit(1))


def team_members_in_order(team_id):
    """The team's active members' ids, in user-id order."""
    return list(db.session.scalars(
        select(User.id).join(team_members, team_members.c.user_id == User.id)
        .where(team_members.c.team_id == team_id, User.active.is_(True)).order_by(User.id)))


def next_in_turn(service_team, members):
    """Round robin: the member after the one given the last ticket."""
    later = [member for member in members if member > (service_team.last_assigned_id or 0)]
    return (later or members)[0]


def least_loaded(members):
    """The member with the fewest tickets not resolved or closed (the lowest id of equals)."""
    counts = dict(db.session.execute(
        select(Ticket.owner_id, func.count()).where(Ticket.owner_id.in_(members),
                                                    Ticket.state.not_in(DONE_STATES))
        .group_by(Ticket.owner_id)).all())
    return min(members, key=lambda member: (counts.get(member, 0), member))


def member_for(team_id):
    """Whom the team's method gives a new ticket to, or None (manual, no members, or a
    team with no service settings). The team's row is locked, so two tickets arriving
    at once do not go to the same person in turn."""
    service_team = db.session.scalar(select(ServiceTeam).where(
        ServiceTeam.team_id == team_id).with_for_update())
    if service_team is None or service_team.assignment == "manual":
        return None
    members = team_members_in_order(team_id)
    if not members:
        return None
    if service_team.assignment == "round robin":
        chosen = next_in_turn(service_team, members)
        service_team.last_assigned_id = chosen
        return chosen
    return least_loaded(members)


def assign(ticket, to=()):
    """Give a new ticket its team and assignee, unless it has them already."""
    with db.session.no_autoflush:
        rule = matching_rule(ticket)
        if ticket.team_id is None and ticket.team is None:
            team = rule.team if rule is not None else team_by_address(to)
            ticket.team = team
        if ticket.owner_id is None and ticket.owner is None:
            if rule is not None and rule.user_id is not None:
                ticket.owner_id = rule.user_id
            elif ticket.team is not None:
                chosen = member_for(ticket.team.id)
                if chosen is not None:
                    ticket.owner = db.session.get(User, chosen)


# -- opening ---------------------------------------------------------------------------------

def open_ticket(*, subject, body_text, channel, kind="inquiry", body_html=None,
                requester_name=None, requester_email=None, requester_phone=None,
                customer=None, contact=None, product=None, priority="normal",
                message_id=None, attachments=(), author=None, to=()):
    """A new ticket with its first message (the customer's request), its customer and
    contact found from the e-mail or phone when not given, and assigned. ``to``: the
    addresses an e-mail was sent to (which team's). Added to the session, not committed."""
    ticket = Ticket(subject=(subject or "").strip()[:250] or _("(no subject)"),
                    description=body_text or "", channel=channel, kind=kind,
                    priority=priority, state="new", customer=customer, contact=contact,
                    product=product, requester_name=requester_name,
                    requester_email=requester_email, requester_phone=requester_phone)
    db.session.add(ticket)
    settle_new_ticket(ticket, to)
    first_message(ticket, body_text, body_html=body_html, message_id=message_id,
                  attachments=attachments, author=author)
    return ticket


def settle_new_ticket(ticket, to=()):
    """What every new ticket gets, however it is opened (e-mail, form, import, the
    self-service page): its requester's details tidied, its customer and contact found
    from them when not given, the key of its follow-up link, its team and assignee."""
    with db.session.no_autoflush:
        email = (ticket.requester_email or "").strip().lower()
        ticket.requester_email = email[:254] or None
        ticket.requester_phone = (ticket.requester_phone or "").strip()[:40] or None
        ticket.requester_name = (ticket.requester_name or "").strip()[:120] or None
        if ticket.contact is None:
            customer, contact = find_requester(email, ticket.requester_phone)
            if contact is not None and ticket.customer in (None, contact.customer):
                ticket.contact = contact
            ticket.customer = ticket.customer or customer
        ticket.customer = ticket.customer or (ticket.contact.customer
                                              if ticket.contact is not None else None)
        if ticket.requester_name is None and ticket.contact is not None:
            ticket.requester_name = ticket.contact.name
        ticket.access_key = ticket.access_key or secrets.token_hex(16)
    assign(ticket, to)


def first_message(ticket, body_text, body_html=None, message_id=None, attachments=(),
                  author=None):
    """The customer's request, as the conversation's first message (typed by ``author``
    when it came by phone or at a visit)."""
    message = TicketMessage(ticket=ticket, kind="incoming", author=author,
                            from_name=ticket.requester_name,
                            from_address=ticket.requester_email, body_text=body_text or "",
                            body_html=body_html, message_id=message_id and message_id[:250])
    db.session.add(message)
    keep_attachments(message, attachments)
    ticket.last_customer_message_at = message.created_at = utcnow()
    return message


# -- the conversation ------------------------------------------------------------------------

def customer_message(ticket, *, body_text, body_html=None, from_name=None, from_address=None,
                     message_id=None, attachments=()):
    """The customer wrote again: a resolved or closed ticket opens again, one waiting
    for the customer goes back to open (the workflow's reopen and resume)."""
    message = TicketMessage(ticket=ticket, kind="incoming", from_name=from_name and from_name[:120],
                            from_address=from_address and from_address[:254],
                            body_text=body_text or "", body_html=body_html,
                            message_id=message_id and message_id[:250])
    db.session.add(message)
    keep_attachments(message, attachments)
    ticket.last_customer_message_at = message.created_at = utcnow()
    if ticket.state in DONE_STATES:
        workflow.move(ticket, "reopen")
    elif ticket.state == "waiting for customer":
        workflow.move(ticket, "resume")
    return message


def recipient_of(ticket):
    """Where replies go: the address the ticket came from, else its contact's or
    customer's."""
    for address in (ticket.requester_email,
                    ticket.contact.email if ticket.contact is not None else None,
                    ticket.customer.email if ticket.customer is not None else None):
        if address and "@" in address:
            return address.strip()
    return None


def customer_language(ticket):
    """The language the customer wrote in: Chinese when the subject or request has
    Chinese characters, English when it has Latin letters only; else the site's
    default."""
    written = f"{ticket.subject or ''} {ticket.description or ''}"
    if CJK.search(written):
        return "zh_Hans_CN"
    if LATIN.search(written):
        return "en"
    return notifications.language_of(None)


def mail_subject(ticket):
    """The subject of every e-mail about the ticket: its number first, so that an
    answer finds it again even without threading headers."""
    return f"[{ticket.number}] {ticket.subject}"[:255]


def thread_headers(ticket):
    """In-Reply-To the customer's latest e-mail, References the conversation's last."""
    ids = [value for value in db.session.scalars(
        select(TicketMessage.message_id).where(TicketMessage.ticket_id == ticket.id,
                                               TicketMessage.message_id.is_not(None))
        .order_by(TicketMessage.id.desc()).limit(REFERENCES_KEPT))]
    latest_incoming = db.session.scalar(
        select(TicketMessage.message_id).where(TicketMessage.ticket_id == ticket.id,
                                               TicketMessage.kind == "incoming",
                                               TicketMessage.message_id.is_not(None))
        .order_by(TicketMessage.id.desc()).limit(1))
    headers = {}
    if latest_incoming:
        headers["In-Reply-To"] = f"<{latest_incoming}>"
    if ids:
        headers["References"] = " ".join(f"<{value}>" for value in reversed(ids))
    return headers


def _queue_email(ticket, text, attachments=()):
    """The e-mail to the customer through the outbox, threaded; the Message-ID it will
    carry is returned, for the conversation."""
    recipient = recipient_of(ticket)
    if recipient is None:
        raise TicketRefused(_("This ticket has no e-mail address to reply to: add one to "
                              "its requester, contact or customer."))
    db.session.flush()   # the ticket's number and id, for the subject and the headers
    sent = outbox.send_email([recipient], mail_subject(ticket), text,
                             attachments=[(a[0], a[1], a[2]) for a in attachments],
                             related=ticket, headers=thread_headers(ticket))
    db.session.flush()
    domain = outbox.mail_settings()["sender"].rpartition("@")[2] or "localhost"
    return sent, outbox.message_id_header(sent, domain).strip("<>")


def reply(ticket, user, body_text, attachments=()):
    """Send ``body_text`` to the customer (through the outbox, threaded under their last
    e-mail, with the link to follow the ticket) and keep it in the conversation.
    ``attachments``: (name, bytes, content type). Raises TicketRefused."""
    body_text = (body_text or "").strip()
    if not body_text:
        raise TicketRefused(_("Write the reply first."))
    from addons.crm_service import public
    link = public.ticket_link(ticket)
    text = body_text + "\n\n-- \n" + _("Follow this ticket and answer it online: %(link)s",
                                       link=link)
    sent, message_id = _queue_email(ticket, text, attachments)
    message = TicketMessage(ticket=ticket, kind="reply", author=user,
                            from_name=user.full_name or user.username if user else None,
                            body_text=body_text, message_id=message_id,
                            outbox_message_id=sent.id)
    db.session.add(message)
    keep_attachments(message, attachments)
    now = message.created_at = utcnow()
    ticket.first_response_at = ticket.first_response_at or now
    ticket.last_reply_at = now
    if ticket.state == "new":
        workflow.move(ticket, "start")
    return message


def note(ticket, user, body_text):
    """An internal note: the team reads it, the customer never does."""
    body_text = (body_text or "").strip()
    if not body_text:
        raise TicketRefused(_("Write the note first."))
    message = TicketMessage(ticket=ticket, kind="note", author=user,
                            from_name=user.full_name or user.username if user else None,
                            body_text=body_text, created_at=utcnow())
    db.session.add(message)
    return message


def acknowledge(ticket):
    """The e-mail that tells a customer their e-mailed request was received, with its
    number, in the language they wrote in."""
    from addons.crm_service import public
    with force_locale(customer_language(ticket)):
        text = _("We have received your request and opened ticket %(number)s. We will "
                 "answer as soon as we can. To add to your request, reply to this e-mail "
                 "and keep the number in the subject.", number=ticket.number)
    return _queue_email(ticket, f"{text}\n\n{public.ticket_link(ticket)}")


def keep_attachments(message, attachments):
    """Store the files in the core's store and list them on the message. A file whose
    content is not what its name says is kept as plain bytes under its name; an empty
    one is left out."""
    for attachment in attachments:
        name, data, content_type = _parts(attachment)
        if not data:
            continue
        try:
            stored = files.save_bytes(data, name)
        except files.FileRefused:
            try:
                stored = files.save_bytes(data, name + ".bin")
                stored.kind = files.BINARY
            except files.FileRefused:
                continue
        message.attachments.append(TicketAttachment(
            name=stored.name if stored.kind is not files.BINARY else name,
            sha256=stored.sha256, size=stored.size, kind=stored.kind.name))


def _parts(attachment):
    """(name, bytes, content type) of a mailgate Attachment or of a tuple."""
    if isinstance(attachment, (tuple, list)):
        return attachment[0], attachment[1], attachment[2] if len(attachment) > 2 else ""
    return attachment.name, attachment.data, attachment.content_type


# -- finding the ticket an e-mail answers ----------------------------------------------------

def ticket_answered(incoming):
    """The ticket an e-mail answers, or None: the record our e-mail it answers was sent
    from (the gateway found it), a message of the conversation it names in In-Reply-To or
    References, or the ticket number in its subject."""
    if incoming.replied_to and incoming.replied_to[0] == "Ticket":
        found = db.session.get(Ticket, incoming.replied_to[1])
        if found is not None:
            return found
    ids = [value[:250] for value in [*incoming.in_reply_to, *incoming.references] if value]
    if ids:
        found = db.session.scalar(
            select(Ticket).join(TicketMessage, TicketMessage.ticket_id == Ticket.id)
            .where(TicketMessage.message_id.in_(ids)).order_by(TicketMessage.id.desc())
            .limit(1))
        if found is not None:
            return found
    match = NUMBER_IN_SUBJECT.search(incoming.subject or "")
    if match:
        return db.session.scalar(select(Ticket).where(Ticket.number == number_of(match)))
    return None


def number_of(match):
    """The ticket number a match of NUMBER_IN_SUBJECT or NUMBER_TYPED names, written in
    full: T2026-12 is T2026-000012."""
    return f"T{match.group(1)}-{int(match.group(2)):06d}"


def typed_number(text):
    """The full ticket number ``text`` is (as typed in a search box), or None."""
    match = NUMBER_TYPED.match((text or "").strip())
    return number_of(match) if match else None
