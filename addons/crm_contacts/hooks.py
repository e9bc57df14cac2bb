"""What customer management adds to the core's pages: the panels of the 360° customer
page, and customers and contacts in the quick search."""
from flask import render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from addons.crm_contacts import normalise
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


@hooks.connect("search.quick")
def search_customers(text, limit):
    """Customers by code, phone, email or any part of the name (in any order of words,
    in either width, with or without the company suffix)."""
    conditions = [Customer.code == text.strip().upper()]
    words = [normalise.name(word) for word in text.split()]
    if any(words):
        conditions.append(db.and_(*[Customer.name_key.contains(word, autoescape=True)
                                    for word in words if word]))
    digits = normalise.phone(text)
    if len(digits) >= 5 and digits == "".join(ch for ch in text if ch.isdigit()).lstrip("0"):
        conditions.append(Customer.phone_key.contains(digits, autoescape=True))
    if "@" in text:
        conditions.append(Customer.email_key == normalise.email(text))
    query = permissions.apply_rules(select(Customer), Customer).where(or_(*conditions))
    found = db.session.scalars(query.order_by(Customer.name).limit(limit)).all()
    return {"title": _("Customers"), "order": 10,
            "items": [{"title": str(c), "detail": " · ".join(filter(None, [c.phone, c.city])),
                       "link": url_for("customer.details_view", id=c.id)} for c in found]}


@hooks.connect("search.quick")
def search_contacts(text, limit):
    pattern = text.strip()
    query = permissions.apply_rules(select(Contact), Contact).where(or_(
        Contact.name.contains(pattern, autoescape=True),
        Contact.phone == pattern, Contact.mobile == pattern,
        Contact.email == pattern.lower())).options(selectinload(Contact.customer))
    found = db.session.scalars(query.order_by(Contact.name).limit(limit)).all()
    return {"title": _("Contacts"), "order": 20,
            "items": [{"title": c.name, "detail": str(c.customer),
                       "link": url_for("contact.details_view", id=c.id)} for c in found]}
