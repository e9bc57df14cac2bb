"""E-mail into tickets: the handler the core's mail gateway (core/mailgate.py) offers
every incoming message to.

An answer to a ticket (our e-mail it replies to, a message of the conversation in its
In-Reply-To or References, or the ticket number in its subject) joins that ticket and
opens it again; any other message a person wrote opens a new ticket, acknowledged by
e-mail when the setting says so. Automatic messages (out-of-office replies, lists,
delivery reports) never open a ticket and are never answered, so that two systems
cannot answer each other for ever: one that answers a ticket is kept on it as a note."""
import logging

from flask_babel import gettext as _

from addons.crm_service import tickets
from core import hooks, options
from core.db import db

log = logging.getLogger(__name__)
ADDON = "crm_service"


@hooks.connect("mail.received")
def file_service_mail(incoming):
    """("Ticket", id) of the ticket the message went to, or None when it is not ours."""
    ticket = tickets.ticket_answered(incoming)
    if ticket is not None:
        if incoming.automatic:
            keep_automatic(ticket, incoming)
        else:
            tickets.customer_message(
                ticket, body_text=incoming.text, body_html=incoming.html,
                from_name=incoming.from_name, from_address=incoming.from_address,
                message_id=incoming.message_id, attachments=incoming.attachments)
        return ("Ticket", ticket.id)
    if incoming.automatic or incoming.replied_to is not None:
        # An automatic message about nothing of ours; or an answer to another record's
        # e-mail (a quote), which that record's addon takes.
        return None
    if not incoming.from_address:
        log.warning("incoming mail %s has no sender address: no ticket opened",
                    incoming.message_id)
        return None
    ticket = tickets.open_ticket(
        subject=incoming.subject, body_text=incoming.text, body_html=incoming.html,
        channel=tickets.CHANNEL_EMAIL, requester_name=incoming.from_name or None,
        requester_email=incoming.from_address, message_id=incoming.message_id,
        attachments=incoming.attachments, to=incoming.to)
    if options.get(ADDON, "auto_reply"):
        tickets.acknowledge(ticket)
    db.session.flush()   # the ticket's id, for the gateway's log
    return ("Ticket", ticket.id)


def keep_automatic(ticket, incoming):
    """An automatic answer to a ticket, as a note: the team sees it, nothing changes
    state and nothing answers it."""
    text = _("Automatic reply received (%(reason)s):", reason=incoming.automatic)
    message = tickets.note(ticket, None, f"{text}\n\n{incoming.text or incoming.subject or '-'}")
    message.from_name = (incoming.from_name or "")[:120] or None
    message.from_address = (incoming.from_address or "")[:254] or None
    message.message_id = incoming.message_id[:250]
    return message
