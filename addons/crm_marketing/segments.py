"""Segments: customers chosen with the customer list's own filters (a marketing user
filters the list, then "Save as segment"), or static lists of people imported from a
file or added by hand. A filter segment is evaluated when a mailing is sent: whoever
matches then is reached.

``audience`` turns a segment into addresses (a select of customer id, contact id, name,
e-mail): a customer's contacts, its primary contacts, or its own address."""
from urllib.parse import parse_qsl

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.validators import InputRequired, Optional, ValidationError
from markupsafe import Markup
from sqlalchemy import and_, func, null, select

from addons.crm_contacts.models import Contact, Customer
from addons.crm_marketing.models import Segment, SegmentMember, email_key
from core import outbox, permissions
from core.admin import ModelView
from core.db import db

CUSTOMER_LIST = "customer"     # the endpoint of crm_contacts' customer list


def customer_list():
    """The customer list's screen, whose filters segments use."""
    admin = current_app.extensions["admin"][0]
    return next(view for view in admin._views if getattr(view, "endpoint", None) == CUSTOMER_LIST)


def customer_ids(segment):
    """A select of the ids of the customers a filter segment holds now."""
    if segment.kind != "filter":
        return select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment.id,
                                                       SegmentMember.customer_id.is_not(None))
    return customer_list().matching(segment.rules)


def _has_address(column, channel):
    if channel == "SMS":
        return and_(column.is_not(None), func.length(func.trim(column)) >= 5)
    return and_(column.is_not(None), column.like("%_@_%._%"))


def audience(segment, who="contacts", channel="e-mail"):
    """A select of (customer_id, contact_id, name, address) of the people ``segment``
    reaches with an address for ``channel``: an e-mail address, or a mobile number for
    SMS (maybe several rows for one address)."""
    sms = channel == "SMS"
    if segment.kind != "filter":
        member = SegmentMember
        column = member.phone if sms else member.email
        return _labelled(member.customer_id, member.contact_id, member.name, column) \
            .where(member.segment_id == segment.id, _has_address(column, channel))
    ids = customer_ids(segment)
    if who == "customers":
        column = Customer.phone if sms else Customer.email
        return _labelled(Customer.id, null(), Customer.name, column).where(
            Customer.id.in_(ids), _has_address(column, channel))
    column = Contact.mobile if sms else Contact.email
    query = _labelled(Contact.customer_id, Contact.id, Contact.name, column).where(
        Contact.customer_id.in_(ids), _has_address(column, channel))
    return query.where(Contact.is_primary.is_(True)) if who == "primary contacts" else query


def _labelled(customer_id, contact_id, name, address):
    return select(customer_id.label("customer_id"), contact_id.label("contact_id"),
                  name.label("name"), address.label("address"))


def counts(segment, who="contacts", channel="e-mail"):
    """(customers, addresses): how many customers a segment holds now and how many
    distinct addresses it reaches (mobile numbers for SMS, as written)."""
    customers = db.session.scalar(select(func.count()).select_from(
        customer_ids(segment).subquery()))
    people = audience(segment, who, channel).subquery()
    addresses = db.session.scalar(select(func.count(func.distinct(
        func.lower(func.trim(people.c.address))))))
    return customers or 0, addresses or 0


def filters_text(segment):
    """The segment's filters as the customer list would show them: "Grade equals A;
    Province equals 广东"."""
    view = customer_list()
    parts = []
    for key, value in parse_qsl(segment.rules or ""):
        name = key[3:].partition("_")[2] if key.startswith("flt") else None
        if name and name in (view._filter_args or {}):
            flt = view._filter_args[name][1]
            parts.append(f"{flt.name} {flt.operation()} {value}")
        elif key == "search":
            parts.append(_("Search: %(text)s", text=value))
    return "; ".join(str(part) for part in parts)


class SegmentView(ModelView):
    column_list = ["name", "kind", "description", "owner"]
    column_searchable_list = ["name"]
    column_filters = ["kind", "owner.username"]
    form_columns = ["name", "kind", "description"]
    column_details_list = ["name", "kind", "description", "owner", "created_at"]
    form_args = {"kind": {"description": _l(
        "A filter segment holds the customers who match its filters at each send; "
        "a static list holds the people put on it.")}}

    def detail_panels(self, segment):
        customers, addresses = counts(segment)
        html = render_template(
            "crm_marketing/segment_panel.html", segment=segment, customers=customers,
            addresses=addresses, filters=filters_text(segment) if segment.kind == "filter" else "",
            list_url=url_for(f"{CUSTOMER_LIST}.index_view") + (
                "?" + segment.rules if segment.rules else ""),
            members_url=url_for("segment_member.index_view",
                                flt0_segment_mkt_segment_name_equals=segment.name))
        return [{"title": _("Who it reaches now"), "order": 10, "html": Markup(html)}] + \
            super().detail_panels(segment)

    @expose("/from-list/", methods=("POST",))
    def from_list(self):
        """"Save as segment" on the customer list: a new filter segment, or the filters
        of the one of that name replaced."""
        if not self.can_create:
            abort(403)
        name = request.form.get("name", "").strip()[:200]
        rules = ModelView.list_args(request.form.get("query"))
        back = url_for(f"{CUSTOMER_LIST}.index_view") + ("?" + rules if rules else "")
        if not name:
            flash(_("Give the segment a name."), "error")
            return redirect(back)
        segment = db.session.scalar(select(Segment).where(Segment.name == name))
        if segment is not None and (segment.kind != "filter" or not self.can_edit):
            flash(_("A segment named %(name)s exists already.", name=name), "error")
            return redirect(back)
        segment = segment or Segment(name=name, kind="filter", owner_id=current_user.id)
        segment.rules = rules
        db.session.add(segment)
        db.session.commit()
        flash(_("Segment %(name)s saved.", name=name), "success")
        return redirect(url_for(".details_view", id=segment.id))


def may_save_segments():
    return permissions.permits(current_user, "Segment", "c")


def an_email_address(form, field):
    if not outbox.EMAIL.match((field.data or "").strip()):
        raise ValidationError(_("Enter an e-mail address."))


class MemberView(ModelView):
    """The people on static lists: added one by one or imported from a file (columns
    segment, name, email, mobile)."""
    column_list = ["segment", "name", "email", "phone", "customer", "contact"]
    column_searchable_list = ["name", "email"]
    column_filters = ["segment.name", "customer.name"]
    form_columns = ["segment", "name", "email", "phone", "customer", "contact"]
    form_ajax_refs = {
        "customer": {"fields": ["name", "code"], "page_size": 10},
        "contact": {"fields": ["name", "email", "mobile"], "page_size": 10},
    }
    form_args = {"segment": {"validators": [InputRequired()]},
                 "email": {"validators": [Optional(), an_email_address]}}

    def validate_form(self, form):
        valid = super().validate_form(form)
        segment = form.segment.data if "segment" in form else None
        if valid and segment is not None and segment.kind != "static list":
            form.segment.errors = [_("Only a static list has members; %(name)s is a filter "
                                     "segment.", name=segment.name)]
            return False
        return valid

    def on_model_change(self, form, model, is_created):
        model.email_key = email_key(model.email)
        if model.contact is not None:
            model.customer = model.customer or model.contact.customer
            model.name = model.name or model.contact.name
            model.email = model.email or model.contact.email
            model.email_key = email_key(model.email)
        super().on_model_change(form, model, is_created)
