"""Contracts: the screen, the printed contract, and renewal.

A contract runs from its start to its end date. Its status moves by the manifest's
workflow: activated when signed, terminated early, renewed or expired. "Renew" makes
the next contract of the same length, starting the day after the end, and marks the old
one "renewed". The daily job (jobs.py) reminds owners of contracts about to end, and
ends or renews those whose end date has passed."""
import calendar
from datetime import timedelta

from flask import current_app, flash, has_app_context, redirect, render_template, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from wtforms.validators import ValidationError

from addons.crm_sales import money
from addons.crm_sales.models import Contract, Quote, SalesOrder
from addons.crm_sales.money import amount_text
from addons.crm_sales.quotes import address_of, company_letterhead, person
from core import pdf, workflow
from core.admin import ModelView, scoped_query
from core.db import db
from core.util import int_ids

# -- dates ------------------------------------------------------------------------------

def add_months(day, months):
    """The same day ``months`` later, or the month's last day when it has no such day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def whole_months(start, end):
    """How many whole months [start, end] spans (1 Jan - 31 Dec: 12), or None when it is
    not a whole number of months."""
    after_end = end + timedelta(days=1)
    months = (after_end.year - start.year) * 12 + after_end.month - start.month
    return months if months > 0 and add_months(start, months) == after_end else None


def renewal_period(start, end):
    """The next period of the same length, from the day after ``end``: whole months stay
    whole months (a year from 1 Jan 2027 ends on 31 Dec 2028 even in a leap year),
    anything else keeps its number of days."""
    new_start = end + timedelta(days=1)
    months = whole_months(start, end)
    if months:
        return new_start, add_months(new_start, months) - timedelta(days=1)
    return new_start, new_start + (end - start)


def renewal_of(contract, status):
    """The contract that follows ``contract``: same customer, terms and value."""
    start, end = renewal_period(contract.start_date, contract.end_date)
    return Contract(title=contract.title, customer=contract.customer, quote=contract.quote,
                    order=contract.order, start_date=start, end_date=end,
                    value=contract.value, currency=contract.currency,
                    payment_terms=contract.payment_terms, status=status,
                    auto_renew=contract.auto_renew, terms=contract.terms,
                    owner=contract.owner, renewal_of=contract)


def renew_condition(contract, _target):
    """The workflow's condition on "renew": the next period starts after the end."""
    if contract.end_date is None:
        return _("Only a contract with an end date can be renewed.")
    return None


def renew(session, contract, status, user=None):
    """Renew now, for ``user`` (None: the daily job): the new contract is added to the
    session, the old one is renewed. Raises workflow.Refused."""
    workflow.move(contract, "renew", user)
    following = renewal_of(contract, status)
    session.add(following)
    return following


# -- the printed contract ----------------------------------------------------------------

def contract_document(contract):
    """The plain data contract.html prints."""
    customer = contract.customer
    return {
        "company": company_letterhead(),
        "number": contract.number, "title": contract.title,
        "start": contract.start_date.isoformat(),
        "end": contract.end_date.isoformat() if contract.end_date else "",
        "signed_on": contract.signed_on.isoformat() if contract.signed_on else "",
        "value": amount_text(contract.value, contract.currency),
        "value_in_words": money.in_chinese_words(contract.value)
        if contract.currency == "CNY" else "",
        "payment_terms": contract.payment_terms or "",
        "auto_renew": contract.auto_renew,
        "quote": contract.quote.title if contract.quote else "",
        "order": contract.order.number if contract.order else "",
        "renewal_of": contract.renewal_of.number if contract.renewal_of else "",
        "customer": {"name": customer.name, "address": address_of(customer),
                     "phone": customer.phone or "", "email": customer.email or ""},
        "owner": person(contract.owner),
        "terms": contract.terms or "",
    }


def contract_context(contracts):
    """What contract.html gets (of the first of ``contracts``): for the PDF and for a
    template editor's preview (manifest key ``pdf``)."""
    return {"contract": contract_document(contracts[0])}


def contract_pdf(contract):
    return pdf.render("crm_sales/contract.html", **contract_context([contract]))


@event.listens_for(Session, "before_flush")
def issue_signed(session, _context, _instances):
    """A contract that becomes active has been signed: its PDF, as signed, is kept where
    an addon keeps issued documents (crm_docs), whichever path activated it (its
    button, a bulk action, the form, an import). Printed only when someone keeps it."""
    if not has_app_context() or "crm" not in current_app.extensions \
            or not current_app.extensions["crm"].hooks.handlers("document.issued"):
        return
    for contract in [record for record in session.dirty if isinstance(record, Contract)]:
        before = inspect(contract).attrs.status.history.deleted
        if contract.status == "active" and before and before[0] != "active":
            pdf.issue(contract, "contract", contract_pdf(contract), f"{contract.number}.pdf",
                      event="signed")


# -- the form's checks --------------------------------------------------------------------

def end_not_before_start(form, field):
    start = form.start_date.data
    if field.data is not None and start is not None and field.data < start:
        raise ValidationError(_("A contract cannot end before it starts."))


def not_negative(form, field):
    if field.data is not None and field.data < 0:
        raise ValidationError(_("The value cannot be negative."))


def belongs_to_customer(form, field):
    """The quote or order chosen is the contract's customer's."""
    customer = form.customer.data
    if field.data is not None and customer is not None and field.data.customer_id != customer.id:
        raise ValidationError(_("This document is another customer's."))


# -- the screen ---------------------------------------------------------------------------

class ContractView(ModelView):
    column_list = ["number", "title", "customer", "start_date", "end_date", "value", "status",
                   "owner"]
    column_searchable_list = ["number", "title", "customer.name"]
    column_filters = ["status", "start_date", "end_date", "signed_on", "auto_renew", "value",
                      "currency", "number", "title", "customer.name", "owner.username"]
    column_sortable_list = ["number", "title", "start_date", "end_date", "value", "status",
                            ("customer", "customer.name"), ("owner", "owner.username")]
    column_labels = {"customer": _l("Customer"), "quote": _l("Quote"), "order": _l("Order"),
                     "owner": _l("Owner"), "renewal_of": _l("Renewal of"),
                     "customer.name": _l("Customer"), "owner.username": _l("Owner")}
    column_formatters = {
        "value": lambda view, context, contract, name: amount_text(contract.value,
                                                                   contract.currency)}
    column_details_list = ["number", "title", "status", "customer", "quote", "order",
                           "start_date", "end_date", "signed_on", "value", "currency",
                           "payment_terms", "auto_renew", "renewal_of", "terms", "owner",
                           "created_at", "updated_at"]
    form_columns = ["title", "customer", "quote", "order", "start_date", "end_date",
                    "signed_on", "value", "currency", "payment_terms", "status", "auto_renew",
                    "terms", "owner"]
    form_ajax_refs = {
        "customer": {"fields": ["name", "code"], "page_size": 10},
        "quote": {"fields": ["number"], "page_size": 10},
        "order": {"fields": ["number"], "page_size": 10},
        "owner": {"fields": ["username", "full_name"], "page_size": 10},
    }
    form_args = {
        "end_date": {"validators": [end_not_before_start]},
        "value": {"validators": [not_negative]},
        "quote": {"validators": [belongs_to_customer]},
        "order": {"validators": [belongs_to_customer]},
        "currency": {"filters": [lambda text: (text or "").strip().upper()]},
    }

    def create_form(self, obj=None):
        """?quote=ID or ?order=ID (links from those pages) fill in the contract."""
        form = super().create_form(obj)
        if request.method == "GET":
            self._prefill_from(form, "quote", Quote)
            self._prefill_from(form, "order", SalesOrder)
        return form

    def _prefill_from(self, form, name, model):
        ids = int_ids([request.args.get(name, "")])
        document = scoped_query(model, Contract).filter(model.id == ids[0]).one_or_none() \
            if ids else None
        if document is None:
            return
        getattr(form, name).data = document
        form.customer.data = document.customer
        form.value.data = document.total
        form.currency.data = document.currency
        if name == "quote":
            form.terms.data = document.terms

    def detail_buttons(self, contract):
        buttons = [{"label": _("Print PDF"), "url": self.get_url(".print_pdf", id=contract.id),
                    "icon": "fa-file-pdf-o", "style": "btn-outline-secondary"}]
        renewal = workflow.of(Contract).transitions["renew"]
        if self.permits("c") and workflow.refusal(contract, renewal, current_user) is None:
            buttons.append({"label": _("Renew"), "url": self.get_url(".renew", id=contract.id),
                            "post": True, "icon": "fa-refresh",
                            "confirm": _("Make the next contract, from the day after this "
                                         "one ends?")})
        return buttons

    def detail_panels(self, contract):
        chain = self._renewals(contract)
        own = []
        if len(chain) > 1:
            own.append({"title": _("Renewals"), "order": 0, "width": "col-lg-6",
                        "html": Markup(render_template("crm_sales/contract_renewals.html",
                                                       contract=contract, chain=chain,
                                                       amount_text=amount_text))})
        return own + super().detail_panels(contract)

    def _renewals(self, contract):
        """The contracts before and after this one, oldest first, as far as the user
        may see them."""
        chain = [contract]
        previous = contract.renewal_of
        while previous is not None and len(chain) < 50:
            chain.insert(0, previous)
            previous = previous.renewal_of
        following = contract
        while len(chain) < 50:
            following = self.get_query().filter(Contract.renewal_of_id == following.id) \
                .order_by(Contract.id).first()
            if following is None:
                break
            chain.append(following)
        visible = {row.id for row in self.get_query().filter(
            Contract.id.in_([c.id for c in chain]))}
        return [c for c in chain if c.id in visible]

    @expose("/pdf/")
    def print_pdf(self):
        contract = self.get_one(request.args.get("id", ""))
        return pdf.response(contract_pdf(contract), f"{contract.number}.pdf")

    @expose("/renew/", methods=("POST",))
    def renew(self):
        contract = self.get_one(request.args.get("id", ""))
        db.session.refresh(contract, with_for_update=True)   # one renewal per click
        back = redirect(self.get_url(".details_view", id=contract.id))
        if not self.permits("c"):
            db.session.rollback()
            flash(_("You may not create contracts."), "error")
            return back
        try:
            following = renew(db.session, contract, "draft", current_user)
        except workflow.Refused as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return back
        db.session.commit()
        flash(_("Contract %(new)s made from %(start)s to %(end)s; sign it and make it "
                "active.", new=following.number, start=following.start_date.isoformat(),
                end=following.end_date.isoformat()), "success")
        return redirect(self.get_url(".edit_view", id=following.id))
