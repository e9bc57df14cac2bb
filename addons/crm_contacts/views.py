"""The screens of customer management."""
from flask import request
from flask_login import current_user
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from addons.crm_contacts import duplicates
from addons.crm_contacts.labels import LabelActions
from addons.crm_contacts.models import Contact, Customer
from core import permissions
from core.admin import FormWarning, ModelView, scoped_query
from core.db import db
from core.util import int_ids

class CustomerView(LabelActions, ModelView):
    """Customers. The detail page is the 360° page: other addons add their panels to it
    through the ``details.Customer`` hook."""

    allow_merge = True
    column_list = ["code", "name", "grade", "stage", "phone", "city", "owner"]
    column_searchable_list = ["name", "code", "phone", "email"]
    column_filters = ["name", "code", "phone", "email", "grade", "stage", "is_key",
                      "is_supplier", "kind", "province", "city",
                      "region.name", "industry.name", "source.name", "tags.name",
                      "owner.username", "created_at"]
    column_sortable_list = ["code", "name", "grade", "stage", "city", ("owner", "owner.username")]
    form_columns = ["kind", "name", "code", "grade", "is_key", "stage", "source", "industry",
                    "region", "tags", "credit_limit", "phone", "email", "website", "country",
                    "province", "city", "district", "street", "postcode", "is_supplier",
                    "owner", "notes"]
    # Who it is first, then how it is classified, then how to reach it.
    column_details_list = ["code", "name", "kind", "grade", "is_key", "stage", "owner",
                           "source", "industry", "region", "tags", "credit_limit", "phone",
                           "email", "website", "country", "province", "city", "district",
                           "street", "postcode", "is_supplier", "notes", "created_at",
                           "updated_at"]
    details_sections = [
        (None, ["code", "name", "kind", "grade", "is_key", "stage", "owner", "source",
                "industry", "region", "tags", "credit_limit", "is_supplier"]),
        (_l("Contact details"), ["phone", "email", "website", "country", "province", "city",
                                 "district", "street", "postcode"]),
        (_l("Notes"), ["notes"]),
    ]

    def _apply_search(self, query, count_query, joins, count_joins, search):
        # The list's search box finds what the quick search finds (Customer.matching),
        # through the same indexed keys.
        condition = self.with_custom_search(
            Customer.matching(search, self.restricted()[0]), search)
        return (query.filter(condition), count_query.filter(condition)
                if count_query is not None else None, joins, count_joins)

    def form_warnings(self, form, record_id):
        hidden = self.restricted()[0]   # (not found by what the user may not see)
        found = duplicates.candidates(
            db.session, *[None if name in hidden else form[name].data
                          for name in ("name", "phone", "email")],
            exclude_id=record_id, limit=50)
        if not found:
            return []
        visible = {c.id for c in self.get_query().filter(
            Customer.id.in_([c.id for c, _m in found]))}
        links = [(f"{customer} · {', '.join(str(duplicates.LABELS[m]) for m in matched)}",
                  self.get_url(".details_view", id=customer.id))
                 for customer, matched in found if customer.id in visible]
        hidden = len(found) - len(links)
        if not links:   # nothing to check above: say so, and that it is someone else's
            text = ngettext("Possible duplicate: another user has a customer with the same "
                            "name, phone or email.", "Possible duplicate: other users have "
                            "%(num)d customers with the same name, phone or email.", hidden)
        else:
            text = _("Possible duplicate: customers with the same name, phone or email exist.")
            if hidden:
                text += " " + ngettext("One more belongs to another user.",
                                       "%(num)d more belong to other users.", hidden)
        return [FormWarning(text, links)]


class ContactView(ModelView):
    column_list = ["name", "customer", "title", "phone", "mobile", "email", "is_primary"]
    column_searchable_list = ["name", "phone", "mobile", "email"]
    column_filters = ["customer.name", "is_primary", "birthday", "department", "name"]
    form_columns = ["customer", "name", "title", "department", "phone", "mobile", "email",
                    "birthday", "is_primary", "owner", "notes"]

    def create_form(self, obj=None):
        """?customer=ID (the link on the customer's page) fills in the customer."""
        form = super().create_form(obj)
        return prefill_customer(form)

    def on_model_change(self, form, model, is_created):
        # A contact belongs, by default, to whoever looks after the customer. (No
        # autoflush: it would stamp the signed-in user as owner before this runs.)
        with db.session.no_autoflush:
            owner = model.customer.owner if model.customer is not None else None
        if is_created and model.owner is None:
            model.owner = permissions.assignable(current_user, Contact, owner)


def prefill_customer(form):
    """Set the form's customer from ?customer=ID on a GET, if the user may see it."""
    ids = int_ids([request.args.get("customer", "")])
    if request.method == "GET" and ids and hasattr(form, "customer"):
        form.customer.data = scoped_query(Customer, Customer).filter(
            Customer.id == ids[0]).one_or_none()
    return form


class CompetitorView(ModelView):
    column_list = ["name", "website", "customers"]
    form_columns = ["name", "website", "strengths", "weaknesses", "products", "customers"]
    form_ajax_refs = {"customers": {"fields": ["name", "code"], "page_size": 10}}


class RegionView(ModelView):
    column_list = ["name", "parent"]
    column_filters = ["name", "parent.name"]
