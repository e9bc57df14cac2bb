"""Complaints: the tickets of kind "complaint", with the root cause (from the list
administrators keep), the corrective action, who does it and by when.

A complaint closes only once its action is done: ``close_condition`` is the workflow's
condition on "close", so the record page, bulk actions, the daily closing job and any
other path through core.workflow.move refuse it alike. The daily job
``remind_due_actions`` reminds the action's owner on and after its due date, and the
team leader once it is overdue, once per complaint and day."""
from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import String, and_, cast, literal, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound
from wtforms.validators import ValidationError

from addons.crm_contacts.jobs import SLOT, in_users_language
from addons.crm_service.models import RootCause, Ticket
from core import permissions
from core.admin import ModelView
from core.db import db
from core.models import Team, User, utcnow
from core.notifications import notify_from_select
from core.util import int_ids

COMPLAINT = "complaint"
LINK = "/admin/complaint/details/?id="


def close_condition(ticket, _target):
    """Why ``ticket`` cannot be closed yet, or None: a complaint needs its root cause,
    its corrective action, and that action done."""
    if ticket.kind != COMPLAINT:
        return None
    if ticket.root_cause_id is None and ticket.root_cause is None:
        return _("Give the complaint its root cause before closing it.")
    if not (ticket.corrective_action or "").strip():
        return _("Describe the corrective action before closing the complaint.")
    if ticket.action_done_at is None:
        return _("The complaint closes once its corrective action is done.")
    return None


def active_root_causes():
    return db.session.query(RootCause).filter(RootCause.active.is_(True)).order_by(RootCause.name)


class ComplaintView(ModelView):
    """The complaints among the tickets: their cause and corrective action. A complaint
    is opened as a ticket of kind "complaint" (the Tickets screen, mail, the web); its
    conversation and state are the ticket's, its record page here adds the action."""

    allow_create = allow_delete = allow_import = False
    column_list = ["number", "subject", "customer", "root_cause", "action_owner",
                   "action_due", "action_done_at", "state", "owner"]
    column_labels = {"owner": _l("Assignee")}
    column_sortable_list = ["number", "subject", "action_due", "action_done_at", "state",
                            ("customer", "customer.name"), ("root_cause", "root_cause.name")]
    column_searchable_list = ["number", "subject", "customer.name"]
    column_filters = ["state", "priority", "action_due", "action_done_at", "root_cause.name",
                      "action_owner.username", "customer.name", "owner.username"]
    column_details_list = ["number", "subject", "customer", "contact", "product", "priority",
                           "state", "owner", "team", "description", "root_cause",
                           "corrective_action", "action_owner", "action_due",
                           "action_done_at"]
    column_export_list = ["number", "subject", "customer", "priority", "state", "owner",
                          "root_cause", "corrective_action", "action_owner", "action_due",
                          "action_done_at"]
    details_sections = [
        (None, ["number", "subject", "customer", "contact", "product", "priority", "state",
                "owner", "team"]),
        (_l("Description"), ["description"]),
        (_l("Corrective action"), ["root_cause", "action_owner", "action_due",
                                   "action_done_at", "corrective_action"]),
    ]
    column_default_sort = ("id", True)
    form_columns = ["root_cause", "corrective_action", "action_owner", "action_due"]
    form_ajax_refs = {"action_owner": {"fields": ["username", "full_name"], "page_size": 10}}
    form_args = {"root_cause": {"query_factory": active_root_causes}}

    def get_query(self):
        return super().get_query().filter(Ticket.kind == COMPLAINT).options(
            joinedload(Ticket.customer), joinedload(Ticket.root_cause),
            joinedload(Ticket.action_owner), joinedload(Ticket.owner))

    def get_count_query(self):
        return super().get_count_query().filter(Ticket.kind == COMPLAINT)

    def get_one(self, id):
        """A complaint; a ticket of another kind (its kind changed since a link to it
        was sent) is shown on the Tickets screen instead."""
        try:
            return super().get_one(id)
        except NotFound:
            ids = int_ids([id])
            other = ids and db.session.scalar(permissions.apply_rules(
                select(Ticket.id).where(Ticket.id == ids[0]), Ticket))
            if not other:
                raise
            page = "ticket.edit_view" if request.endpoint == f"{self.endpoint}.edit_view" \
                else "ticket.details_view"
            abort(redirect(url_for(page, id=other)))

    def on_model_change(self, form, model, is_created):
        """A corrective action needs someone to do it and a date to do it by: the
        reminders go to them from that date."""
        if (model.corrective_action or "").strip() and (
                model.action_owner is None or model.action_due is None):
            raise ValidationError(_("Give the corrective action an owner and a due date."))

    # -- the record page ------------------------------------------------------------------

    def detail_buttons(self, ticket):
        buttons = [{"label": _("Open the ticket"), "icon": "fa-life-ring",
                    "url": url_for("ticket.details_view", id=ticket.id)}]
        if ticket.action_done_at is None and (ticket.corrective_action or "").strip() \
                and self.can_edit:
            buttons.insert(0, {"label": _("Mark the action done"), "icon": "fa-check-square-o",
                               "style": "btn-success", "post": True,
                               "url": self.get_url(".action_done", id=ticket.id),
                               "confirm": _("Is the corrective action done?")})
        return buttons

    @expose("/action-done/", methods=("POST",))
    def action_done(self):
        """The corrective action is done (now, by the user): the complaint may close."""
        ticket = self.locked_record()
        if ticket.action_done_at is not None:
            flash(_("The corrective action was done already."), "info")
        elif not (ticket.corrective_action or "").strip():
            flash(_("Describe the corrective action first."), "error")
        else:
            ticket.action_done_at = utcnow()
            db.session.commit()
            flash(_("Corrective action done: %(complaint)s may now be closed.",
                    complaint=ticket.number), "success")
        return redirect(self.get_url(".details_view", id=ticket.id,
                                     url=request.args.get("url") or None))


# -- the daily reminder ---------------------------------------------------------------------------

def remind_due_actions():
    """Daily: the owner of each corrective action due today or earlier and not done is
    reminded; once it is overdue, the leader of the complaint's team too. The key holds
    the day: one reminder per complaint, person and day, however often this runs."""
    today = date.today()
    due = notify_from_select(_due_for_owners(today))
    overdue = notify_from_select(_overdue_for_leaders(today))
    db.session.commit()
    return _("%(owners)s, %(leaders)s",
             owners=ngettext("%(num)d action owner reminded", "%(num)d action owners reminded",
                             due),
             leaders=ngettext("%(num)d team leader told of an overdue action",
                              "%(num)d team leaders told of overdue actions", overdue))


def _pending(today):
    return and_(Ticket.kind == COMPLAINT, Ticket.action_done_at.is_(None),
                Ticket.action_due <= today, Ticket.state != "closed")


def _reminder(recipient, message, key, today, *joins):
    """(user, title, body, link, due, key) per pending complaint, for the active user
    ``recipient`` names (reached through ``joins``)."""
    ticket_id = cast(Ticket.id, String)
    title = in_users_language(message, Ticket.number + literal(" ") + Ticket.subject)
    body = in_users_language(lambda: _("Due on %(date)s.", date=SLOT),
                             cast(Ticket.action_due, String))
    statement = select(recipient, title, body, literal(LINK) + ticket_id, literal(utcnow()),
                       literal("complaint:") + ticket_id
                       + literal(f":{key}:{today.isoformat()}")).select_from(Ticket)
    for target, condition in joins:
        statement = statement.join(target, condition)
    return statement.join(User, and_(User.id == recipient, User.active.is_(True))) \
        .where(_pending(today))


def _due_for_owners(today):
    return _reminder(Ticket.action_owner_id,
                     lambda: _("Corrective action due: %(complaint)s", complaint=SLOT),
                     "action", today)


def _overdue_for_leaders(today):
    return _reminder(Team.leader_id,
                     lambda: _("Corrective action overdue: %(complaint)s", complaint=SLOT),
                     "overdue", today, (Team, Team.id == Ticket.team_id)).where(
        Ticket.action_due < today,
        Team.leader_id.is_distinct_from(Ticket.action_owner_id))
