"""The ticket screen: the list agents work from, the new-ticket form for phone calls and
visits, and the ticket's page with its SLA figures, the conversation, the reply and
internal-note forms, and the knowledge-base picker.

The list loads a page's customers, assignees and teams with the tickets (the base
view joins the many-to-one columns), so a page of 100 tickets costs the same few
queries as a page of 10; the SLA column is the ticket's next deadline (sla_due_at),
already on the row."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import filters
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError
from wtforms.validators import ValidationError

from addons.crm_contacts.views import prefill_customer
from addons.crm_service import complaints, sla, tickets
from addons.crm_service.models import DONE_STATES, Ticket, TicketAttachment, TicketMessage
from core import files, mailgate, workflow
from core.admin import ModelView
from core.db import db
from core.models import User, utcnow
from core.record import choice_text, text_of

MESSAGE_STYLES = {"incoming": "border-info", "reply": "border-success",
                  "note": "border-warning crm-ticket-note"}
MESSAGE_MAX_CHARACTERS = 20000
REPLY_FILES_MAX = 10


class AssignedFilter(filters.BaseSQLAFilter):
    """"Assigned: to me / to nobody": the agent's own queue and the unclaimed one."""

    def __init__(self):
        super().__init__(Ticket.owner_id, _l("Assigned"),
                         options=(("me", _l("to me")), ("nobody", _l("to nobody"))))
        self.crm_url_name = "assigned"   # the link's name, in every language

    def apply(self, query, value, alias=None):
        if value == "me":
            return query.filter(Ticket.owner_id == current_user.id)
        return query.filter(Ticket.owner_id.is_(None))

    def operation(self):
        return _l("is")


def sla_due_text(view, context, ticket, name):
    """The next SLA deadline, red once it has passed (the list shows what the escalation
    job reads: no SLA computation per row)."""
    due = ticket.sla_due_at
    if due is None or ticket.state in DONE_STATES:
        return ""
    late = due < utcnow()
    return Markup('<span class="{}">{}</span>').format("text-danger" if late else "",
                                                       text_of(due))


class TicketView(ModelView):
    column_list = ["number", "subject", "customer", "kind", "priority", "state", "owner",
                   "team", "sla_due_at"]
    column_searchable_list = ["number", "subject", "requester_email", "requester_phone"]
    column_filters = ["state", "kind", "priority", "channel", "team.name", "owner.username",
                      "customer.name", "product.name", "created_at", AssignedFilter()]
    column_sortable_list = ["number", "subject", "kind", "priority", "state", "sla_due_at",
                            ("customer", "customer.name"), ("owner", "owner.username"),
                            ("team", "team.name")]
    column_default_sort = ("id", True)
    # Previous / next, no count: an agent's rule (own, teammates', teams' tickets) cannot
    # be counted from an index, and counting 100,000 visible tickets costs twenty times
    # the page (BENCHMARKS.md, issue 18).
    simple_list_pager = True
    column_labels = {"owner": _l("Assignee"), "owner.username": _l("Assignee"),
                     "customer.name": _l("Customer"), "team.name": _l("Team"),
                     "product.name": _l("Product"), "sla_due_at": _l("SLA due"),
                     "sla_policy": _l("SLA policy")}
    column_formatters = {"sla_due_at": sla_due_text}
    column_details_list = ["number", "subject", "customer", "contact", "requester_name",
                           "requester_email", "requester_phone", "product", "kind",
                           "channel", "priority", "state", "owner", "team", "sla_policy",
                           "first_response_at", "resolved_at", "closed_at", "created_at"]
    details_sections = [
        (None, ["customer", "contact", "requester_name", "requester_email",
                "requester_phone", "product", "kind", "channel", "priority", "owner",
                "team"]),
        (_l("Service level"), ["sla_policy", "first_response_at", "resolved_at",
                               "closed_at"]),
    ]
    state_field = "state"
    details_template = "crm_service/ticket_details.html"
    form_columns = ["channel", "kind", "priority", "customer", "contact", "requester_name",
                    "requester_phone", "requester_email", "product", "subject",
                    "description", "team", "owner"]
    form_args = {"description": {"label": _l("The customer's request")}}
    form_ajax_refs = {
        "customer": {"fields": ["name", "code"], "page_size": 10},
        "contact": {"fields": ["name", "phone", "mobile"], "page_size": 10},
        "product": {"fields": ["name", "code"], "page_size": 10},
        "team": {"fields": ["name"], "page_size": 10},
        "owner": {"fields": ["username", "full_name"], "page_size": 10},
    }
    # Complaints' fields have their own screen (complaints.py).
    import_columns = ["channel", "kind", "priority", "customer", "contact",
                      "requester_name", "requester_phone", "requester_email", "product",
                      "subject", "description", "team", "owner"]

    def _apply_search(self, query, count_query, joins, count_joins, text):
        # A ticket number is looked up in its unique index, not matched inside texts.
        number = tickets.typed_number(text)
        if number:
            condition = Ticket.number == number
            return (query.filter(condition),
                    count_query.filter(condition) if count_query is not None else None,
                    joins, count_joins)
        return super()._apply_search(query, count_query, joins, count_joins, text)

    # -- the form --------------------------------------------------------------------------

    def create_form(self, obj=None):
        """?customer=ID (the button on a customer's page) fills in who calls."""
        return prefill_customer(super().create_form(obj))

    def on_model_change(self, form, ticket, is_created):
        customer, contact = ticket.customer, ticket.contact
        if customer is not None and contact is not None and contact.customer_id != customer.id:
            form.contact.errors.append(_("This contact works for another customer."))
            raise ValidationError(_("This contact works for another customer."))
        if not is_created:
            return
        tickets.settle_new_ticket(ticket)
        if not self.importing():
            # A phone call or a visit: what the customer asked is the conversation's
            # first message, typed by the agent. (An import keeps it as the description.)
            tickets.first_message(ticket, ticket.description, author=current_user)

    # -- the page --------------------------------------------------------------------------

    def detail_buttons(self, ticket):
        """A complaint's corrective action is kept on the Complaints screen."""
        if ticket.kind != complaints.COMPLAINT:
            return []
        return [{"label": _("Corrective action"), "icon": "fa-exclamation-triangle",
                 "url": url_for("complaint.details_view", id=ticket.id)}]

    def detail_panels(self, ticket):
        own = [{"title": _("Conversation"), "order": 0, "width": "col-12",
                "html": self._conversation(ticket)}]
        blocker = close_blocker(ticket)
        if blocker:
            own.insert(0, {"title": _("Complaint"), "order": -2, "width": "col-12",
                           "html": blocker})
        figures = sla_figures(ticket)
        if figures:
            own.insert(0, {"title": _("Service level"), "order": -1, "width": "col-12",
                           "html": Markup(render_template(
                               "crm_service/ticket_sla.html", figures=figures, when=text_of,
                               describe=sla.describe, tone=sla.tone))})
        return own + super().detail_panels(ticket)

    def _conversation(self, ticket):
        messages = db.session.scalars(
            select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
            .options(selectinload(TicketMessage.attachments),
                     selectinload(TicketMessage.author).lazyload(User.groups))
            .order_by(TicketMessage.created_at, TicketMessage.id)).all()
        may_write = self.permits("w")
        return Markup(render_template(
            "crm_service/ticket_conversation.html", ticket=ticket, messages=messages,
            styles=MESSAGE_STYLES, kind_text=choice_text, when=text_of,
            size_text=files.size_text, may_write=may_write,
            recipient=tickets.recipient_of(ticket),
            reply_url=self.get_url(".reply", id=ticket.id),
            note_url=self.get_url(".ticket_note", id=ticket.id),
            file_url=lambda attachment: self.get_url(".attachment", id=ticket.id,
                                                     attachment_id=attachment.id),
            insertable_url=insertable_url() if may_write else None,
            max_characters=MESSAGE_MAX_CHARACTERS, user_name=_author_name,
            shown_html=shown_html))

    # -- what can be done on the page -------------------------------------------------------

    def _back(self, ticket, anchor="#conversation"):
        return redirect(self.get_url(".details_view", id=ticket.id) + anchor)

    def _text(self):
        text = request.form.get("body", "").strip()
        if len(text) > MESSAGE_MAX_CHARACTERS:
            raise tickets.TicketRefused(_("A message may have at most %(num)d characters.",
                                          num=MESSAGE_MAX_CHARACTERS))
        return text

    @expose("/reply/", methods=("POST",))
    def reply(self):
        """Send the reply to the customer and keep it in the conversation: one
        transaction (the e-mail goes out with it, or nothing is kept)."""
        ticket = self.locked_record()
        try:
            tickets.reply(ticket, current_user, self._text(), attachments=uploaded_files())
            db.session.commit()
        except (tickets.TicketRefused, workflow.Refused, files.FileRefused) as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return self._back(ticket)
        flash(_("Reply queued for %(to)s.", to=tickets.recipient_of(ticket)), "success")
        return self._back(ticket)

    @expose("/internal-note/", methods=("POST",))
    def ticket_note(self):
        ticket = self.locked_record()
        try:
            tickets.note(ticket, current_user, self._text())
            db.session.commit()
        except tickets.TicketRefused as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return self._back(ticket)
        flash(_("Internal note added."), "success")
        return self._back(ticket)

    @expose("/attachment/<int:attachment_id>/")
    def attachment(self, attachment_id):
        """A file of the conversation, for whoever may read the ticket (404 otherwise)."""
        ticket = self.get_one(request.args.get("id", ""))
        found = db.session.scalar(
            select(TicketAttachment).join(TicketMessage)
            .where(TicketAttachment.id == attachment_id, TicketMessage.ticket_id == ticket.id))
        if found is None:
            abort(404)
        kind = files.kind_named(found.kind)
        return files.response(found.sha256, found.name, kind, inline=kind.inline,
                              size=found.size)


def shown_html(html):
    """An e-mail's HTML for the page. The gateway sanitised it when it came in; it is
    cleaned again here, so that a row written any other way (an import, a restore of an
    older version) cannot put markup of its own on the page."""
    return Markup(mailgate.sanitise_html(html))


def _author_name(message):
    """Who wrote it: the customer's words are theirs even when an agent took them down
    on the phone or at a visit (the agent is named after them)."""
    agent = message.author and (message.author.full_name or message.author.username)
    if message.kind != "incoming" and agent:
        return agent
    if message.from_name and message.from_address:
        customer = f"{message.from_name} <{message.from_address}>"
    else:
        customer = message.from_name or message.from_address or _("Customer")
    if agent:
        return _("%(customer)s (taken down by %(agent)s)", customer=customer, agent=agent)
    return customer


def close_blocker(ticket):
    """Why a resolved complaint has no Close button, with the way to what is missing
    (the workflow hides a transition its condition refuses)."""
    if ticket.state != "resolved":
        return None
    reason = complaints.close_condition(ticket, "closed")
    if reason is None:
        return None
    return Markup('<p class="mb-1">{}</p><a class="btn btn-sm btn-outline-primary" '
                  'href="{}"><i class="fa fa-exclamation-triangle"></i> {}</a>').format(
        reason, url_for("complaint.details_view", id=ticket.id), _("Corrective action"))


def sla_figures(ticket):
    """[(target label, figures)] of the ticket's SLA (sla.ticket_sla), in the order of
    the targets; [] without a policy."""
    found = sla.ticket_sla(ticket) or {}
    return [(choice_text(target), figures) for target, figures in found.items()]


def insertable_url():
    """Where the knowledge-base picker asks for articles (knowledge.py), or None while
    the knowledge base offers none."""
    try:
        return url_for("kb_article.insertable")
    except BuildError:
        return None


def uploaded_files():
    """The files chosen on the reply form, as (name, bytes, content type), each within
    the upload limit."""
    chosen = [f for f in request.files.getlist("files") if f and f.filename][:REPLY_FILES_MAX]
    limit = files.max_bytes()
    found = []
    for upload in chosen:
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise files.FileRefused(_("The file is larger than %(size)s MB.",
                                      size=limit // 2 ** 20))
        found.append((files.clean_name(upload.filename), data,
                      upload.mimetype or "application/octet-stream"))
    return found
