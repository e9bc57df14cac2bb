"""Address labels and envelopes for selected customers: bulk actions of the customer
screen (``class CustomerView(LabelActions, ModelView)``)."""
import re

from flask import current_app, flash
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from addons.crm_contacts.models import Contact, Customer
from core import pdf, permissions
from core.admin import reading
from core.db import db

LABELS_PER_SHEET = 14   # A4, 2 columns x 7 rows (Avery L7163); the template lays them out
CHINA = {"中国", "中华人民共和国", "china", "cn", "prc", "p.r. china",
         "people's republic of china"}
# Han ideographs (with extensions), kana and hangul: addresses in these scripts are
# written from the largest place to the smallest, postcode first.
CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
                 "\U00020000-\U0003134f]")
ADDRESS_FIELDS = ("country", "province", "city", "district", "street")


def _field(customer, name):
    return (getattr(customer, name, None) or "").strip()


def looks_chinese(customer):
    """A domestic address (no country, or China) or one written in Chinese characters."""
    country = _field(customer, "country")
    return (not country or country.lower() in CHINA
            or any(CJK.search(_field(customer, name)) for name in ADDRESS_FIELDS))


def _join_places(parts):
    """Chinese places run together (广东省深圳市); a space only next to Latin text
    (上海市 Century Avenue 100)."""
    text = ""
    for part in parts:
        if text and not (CJK.match(text[-1]) and CJK.match(part[0])):
            text += " "
        text += part
    return text


def address_lines(customer, contact_name=None):
    """The lines of a customer's postal address, in the order of its country's post.

    Chinese: postcode; the place from province to street; the company; the person it
    is for, marked 收 ("to be received by"). Western: name, "Attn:" person, street,
    city with province and postcode, country. "Attn:" and 收 are postal conventions
    of the address's own country, so they are not translated into the user's language.
    """
    name = _field(customer, "name")
    contact = (contact_name or "").strip()
    if looks_chinese(customer):
        country = _field(customer, "country")
        places = [] if not country or country.lower() in CHINA else [country]
        for field in ("province", "city", "district", "street"):
            value = _field(customer, field)
            if value and (not places or value != places[-1]):   # 北京市北京市 once
                places.append(value)
        recipient = [name, f"{contact} 收"] if contact else [f"{name} 收"]
        lines = [_field(customer, "postcode"), _join_places(places)] + recipient
    else:
        city_line = " ".join(filter(None, (_field(customer, f)
                                           for f in ("city", "province", "postcode"))))
        lines = [name, f"Attn: {contact}" if contact else "", _field(customer, "street"),
                 _field(customer, "district"), city_line, _field(customer, "country").upper()]
    return [line for line in lines if line.strip()]


def primary_contacts(customer_ids):
    """{customer id: name of its primary contact}, among the contacts the user may
    read: a label must not show a name the screen would hide."""
    query = (select(Contact.customer_id, Contact.name)
             .where(Contact.customer_id.in_(customer_ids), Contact.is_primary.is_(True))
             .order_by(Contact.id))
    found = {}
    for customer_id, name in db.session.execute(permissions.apply_rules(query, Contact)):
        found.setdefault(customer_id, name)   # the first marked primary, if several are
    return found


def recipients(customers):
    """Plain data for the templates (they never see database records)."""
    contacts = primary_contacts([customer.id for customer in customers])
    return [{"lines": address_lines(customer, contacts.get(customer.id)),
             "chinese": looks_chinese(customer)} for customer in customers]


def labels_context(customers):
    """What labels.html gets: for printing, and for a template editor's preview."""
    return {"labels": recipients(customers), "per_sheet": LABELS_PER_SHEET}


def envelopes_context(customers):
    """What envelopes.html gets: for printing, and for a template editor's preview."""
    return {"envelopes": recipients(customers),
            "sender": current_app.extensions["crm"].settings.site_name}


class LabelActions:
    """*With selected > Print address labels / Print envelopes* on the customer list.

    The base view has already narrowed ``ids`` to the rows the user may see."""

    @action("print_labels", _l("Print address labels"))
    @reading
    def action_print_labels(self, ids):
        customers = self._customers_to_print(ids)
        if not customers:
            return None
        document = pdf.render("crm_contacts/labels.html", **labels_context(customers))
        return pdf.response(document, _("Address labels") + ".pdf")

    @action("print_envelopes", _l("Print envelopes"))
    @reading
    def action_print_envelopes(self, ids):
        customers = self._customers_to_print(ids)
        if not customers:
            return None
        document = pdf.render("crm_contacts/envelopes.html", **envelopes_context(customers))
        return pdf.response(document, _("Envelopes") + ".pdf")

    def _customers_to_print(self, ids):
        customers = (self.get_query().filter(Customer.id.in_(ids))
                     .order_by(Customer.name, Customer.id).all()) if ids else []
        if not customers:   # None returned: Flask-Admin goes back to the list
            flash(_("Select the customers to print."), "error")
        return customers
