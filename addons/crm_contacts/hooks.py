"""What customer management adds to the core's pages: the panels of the 360° customer
page, and customers and contacts in the quick search."""
from flask import render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from addons.crm_contacts.models import Activity, Contact, Customer
from core import hooks, permissions
from core.db import db

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
    query = permissions.apply_rules(select(Customer), Customer).where(Customer.matching(text))
    found = first_found(query, Customer, Customer.name, limit)
    return {"title": _("Customers"), "order": 10,
            "items": [{"title": str(c), "detail": " · ".join(filter(None, [c.phone, c.city])),
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
