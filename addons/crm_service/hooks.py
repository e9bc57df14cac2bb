"""What customer service adds to other pages: the open tickets and the satisfaction
ratings on the 360° customer page, an agent's open tickets on the Today page, and
tickets by number in the quick search.

Each reads tickets within the user's record rules (an agent sees their own and their
teams'), in a fixed number of queries, and is left out for users who may not read
tickets at all."""
from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from addons.crm_service import tickets
from addons.crm_service.models import DONE_STATES, SatisfactionRating, Ticket
from core import hooks, permissions
from core.db import db
from core.models import User
from core.record import choice_text, text_of

PANEL_ROWS = 10
TODAY_ROWS = 15


def _readable(model_name, user=None):
    return permissions.permits(user or current_user, model_name, "r")


def open_tickets(user=None):
    """The tickets not resolved or closed that the user may read (a select)."""
    return permissions.apply_rules(select(Ticket).where(Ticket.state.not_in(DONE_STATES)),
                                   Ticket, user)


@hooks.connect("details.Customer")
def tickets_panel(customer):
    """The customer's open tickets, the next SLA deadline first, and how many."""
    if not _readable("Ticket"):
        return None
    query = open_tickets().where(Ticket.customer_id == customer.id)
    found = db.session.scalars(
        query.options(selectinload(Ticket.owner).lazyload(User.groups))
        .order_by(Ticket.sla_due_at.is_(None), Ticket.sla_due_at, Ticket.id.desc())
        .limit(PANEL_ROWS)).all()
    count = db.session.scalar(select(func.count()).select_from(query.subquery())) \
        if len(found) == PANEL_ROWS else len(found)
    html = render_template("crm_service/panel_tickets.html", tickets=found, count=count,
                           state_text=choice_text, when=text_of,
                           new_url=url_for("ticket.create_view", customer=customer.id)
                           if permissions.permits(current_user, "Ticket", "c") else None)
    return {"title": _("Open tickets") + (f" ({count})" if count else ""), "order": 60,
            "link": url_for("ticket.index_view",
                            flt0_customer_crm_customer_name_equals=customer.name),
            "html": Markup(html)}


@hooks.connect("details.Customer")
def ratings_panel(customer):
    """The customer's satisfaction: the average, how many rated, the latest ratings."""
    if not _readable("SatisfactionRating") or not _readable("Ticket"):
        return None
    rated = permissions.apply_rules(
        select(SatisfactionRating).join(Ticket, Ticket.id == SatisfactionRating.ticket_id)
        .where(Ticket.customer_id == customer.id, SatisfactionRating.score.is_not(None)),
        Ticket)
    count, average = db.session.execute(
        select(func.count(), func.avg(rated.subquery().c.score))).one()
    if not count:
        return None
    latest = db.session.scalars(rated.options(selectinload(SatisfactionRating.ticket))
                                .order_by(SatisfactionRating.rated_at.desc(),
                                          SatisfactionRating.id.desc()).limit(5)).all()
    html = render_template("crm_service/panel_ratings.html", count=count,
                           average=float(average or 0), ratings=latest, when=text_of)
    return {"title": _("Satisfaction"), "order": 65, "html": Markup(html)}


@hooks.connect("today.sections")
def my_open_tickets(user):
    """The user's own open tickets, the next SLA deadline first."""
    if not _readable("Ticket", user):
        return None
    found = db.session.scalars(
        open_tickets(user).where(Ticket.owner_id == user.id)
        .order_by(Ticket.sla_due_at.is_(None), Ticket.sla_due_at, Ticket.id)
        .limit(TODAY_ROWS)).all()
    return {"title": _("My open tickets"), "empty": _("No open tickets assigned to you."),
            "items": [{"title": str(ticket),
                       "link": url_for("ticket.details_view", id=ticket.id),
                       "when": ticket.sla_due_at.strftime("%m-%d %H:%M")
                       if ticket.sla_due_at else choice_text(ticket.state)}
                      for ticket in found]}


@hooks.connect("search.quick")
def search_tickets(text, limit):
    """A ticket by its number (T2026-000012, or T2026-12), or by the requester's
    e-mail address."""
    if not _readable("Ticket"):
        return None
    text = text.strip()
    number = tickets.typed_number(text)
    if number:
        condition = Ticket.number == number
    elif "@" in text:
        condition = Ticket.requester_email == text.lower()
    else:
        return None
    found = db.session.scalars(permissions.apply_rules(select(Ticket).where(condition), Ticket)
                               .order_by(Ticket.id.desc()).limit(limit)).all()
    return {"title": _("Tickets"), "order": 40,
            "items": [{"title": str(ticket), "detail": choice_text(ticket.state),
                       "link": url_for("ticket.details_view", id=ticket.id)}
                      for ticket in found]}
