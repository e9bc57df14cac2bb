"""What customer management adds to the core's pages: the panels of the 360° customer
page, and customers and contacts in the quick search."""
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from addons.crm_contacts.models import Activity, Contact, Customer
from core import hooks, layout, permissions
from core import record as record_page
from core.record import FeedItem, choice_text
from core.db import db
from core.models import User

PANEL_ROWS = 20


@hooks.connect("details.Customer")
def contacts_panel(customer):
    query = permissions.apply_rules(select(Contact), Contact).where(
        Contact.customer_id == customer.id).order_by(Contact.is_primary.desc(), Contact.name)
    contacts = db.session.scalars(query.limit(PANEL_ROWS)).all()
    return {"title": _("Contacts"), "order": 10,
            "link": url_for("contact.index_view", flt0_customer_crm_customer_name_equals=customer.name),
            "html": Markup(render_template("crm_contacts/panel_contacts.html", customer=customer,
                                    contacts=contacts))}


@hooks.connect("details.Customer")
def activities_panel(customer):
    query = permissions.apply_rules(select(Activity), Activity).where(
        Activity.customer_id == customer.id).options(
        selectinload(Activity.owner), selectinload(Activity.contact))
    activities = db.session.scalars(query.order_by(Activity.start_at.desc())
                                    .limit(PANEL_ROWS)).all()
    return {"title": _("Activities"), "order": 20,
            "link": url_for("activity.index_view", flt0_customer_crm_customer_name_equals=customer.name),
            "html": Markup(render_template("crm_contacts/panel_activities.html", customer=customer,
                                    activities=activities))}


def first_found(query, model, order, limit, *options):
    """The first ``limit`` records that ``query`` finds, in ``order``: their ids first,
    then those rows. The ids of one owner's records come from an index alone (the
    owner's index carries the searched columns), so a search of two Chinese characters,
    which no trigram index can answer, does not read every row the user owns."""
    ids = db.session.scalars(query.with_only_columns(model.id).order_by(order, model.id)
                             .limit(limit)).all()
    if not ids:
        return []
    return db.session.scalars(select(model).where(model.id.in_(ids)).options(*options)
                              .order_by(order, model.id)).all()


@hooks.connect("search.quick")
def search_customers(text, limit):
    """Customers by code, phone, email or any part of the name (Customer.matching)."""
    hidden = layout.hidden_here(Customer.__name__)
    query = permissions.apply_rules(select(Customer), Customer).where(
        Customer.matching(text, hidden))
    found = first_found(query, Customer, Customer.name, limit)
    shown = [name for name in ("phone", "city") if name not in hidden]
    return {"title": _("Customers"), "order": 10,
            "items": [{"title": str(c), "detail": " · ".join(
                filter(None, [getattr(c, name) for name in shown])),
                       "link": url_for("customer.details_view", id=c.id)} for c in found]}


@hooks.connect("search.quick")
def search_contacts(text, limit):
    pattern = text.strip()
    query = permissions.apply_rules(select(Contact), Contact).where(or_(
        Contact.name.contains(pattern, autoescape=True),
        Contact.phone == pattern, Contact.mobile == pattern,
        Contact.email == pattern.lower()))
    found = first_found(query, Contact, Contact.name, limit, selectinload(Contact.customer))
    return {"title": _("Contacts"), "order": 20,
            "items": [{"title": c.name, "detail": str(c.customer),
                       "link": url_for("contact.details_view", id=c.id)} for c in found]}


# -- activities on the page of any record -------------------------------------------------

def _activities_of(model_name, record):
    """The condition "activities about this record": a customer's are those with it as
    their customer; any other record's, those logged from its page."""
    if model_name == "Customer":
        return Activity.customer_id == record.id
    return and_(Activity.record_model == model_name, Activity.record_id == record.id)


def _may(letter):
    return permissions.permits(current_user, "Activity", letter)


@hooks.connect("record.feed")
def activities_in_feed(model_name, record, limit):
    """The record's activities in its feed, by their time (a planned call comes first)."""
    if not _may("r") or model_name == "Activity":
        return None
    found = db.session.scalars(
        permissions.apply_rules(select(Activity), Activity)
        .where(_activities_of(model_name, record))
        .options(selectinload(Activity.owner).lazyload(User.groups))
        .order_by(Activity.start_at.desc(), Activity.id.desc()).limit(limit)).all()
    return [FeedItem(at=activity.start_at, kind="activity",
                     title=f"{choice_text(activity.kind)}: {activity.subject}",
                     user=record_page.user_name(activity.owner),
                     body=activity.outcome, state=choice_text(activity.status),
                     style={"done": "success", "cancelled": "secondary"}.get(
                         activity.status, "warning"),
                     link=url_for("activity.details_view", id=activity.id))
            for activity in found]


@hooks.connect("record.actions")
def log_activity_button(model_name, record):
    """"Log activity" on every record that has a customer, and on customers."""
    if not _may("c") or model_name == "Activity":
        return None
    if model_name == "Customer":
        arguments = {"customer": record.id}
    elif isinstance(getattr(record, "customer", None), Customer):
        arguments = {"regarding": record_page.reference(record)}
    else:
        return None
    return [{"label": _("Log activity"), "icon": "fa-calendar-plus-o",
             "style": "btn-outline-primary",
             "url": url_for("activity.create_view", url=request.full_path, **arguments)}]


@hooks.connect("record.panels")
def activities_of_record_panel(model_name, record):
    """The activities logged on a deal, a quote, an order... (a customer's own panel
    is above)."""
    if not _may("r") or model_name in ("Customer", "Activity") or not isinstance(
            getattr(record, "customer", None), Customer):
        return None
    activities = db.session.scalars(
        permissions.apply_rules(select(Activity), Activity)
        .where(_activities_of(model_name, record))
        .options(selectinload(Activity.owner).lazyload(User.groups),
                 selectinload(Activity.contact))
        .order_by(Activity.start_at.desc()).limit(PANEL_ROWS)).all()
    return {"title": _("Activities"), "order": 20,
            "html": Markup(render_template("crm_contacts/panel_activities.html",
                                           customer=record.customer, activities=activities,
                                           regarding=record_page.reference(record)))}
