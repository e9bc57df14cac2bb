"""Quotes: lines, totals, versions, approval, PDF, sending, the order they become.

A quote changes only while it is a draft. Sending it (by email, or marking it sent by
hand) freezes it; the customer's answer accepts or rejects it; the daily job expires it
when its validity date passes. "Revise" makes the next version (same number, version
+ 1) as a new draft and keeps the old one, marked "revised". Each of these is a
transition of the manifest's workflow (core/workflow.py). A quote that an approval
policy covers (by default: a line discount above 15 %, Settings > Approvals) needs its
approval before it can be sent (core/approvals.py); its lines are locked while the
approval is pending, and changing them after it starts it again. Totals are worked out
by money.compute on every save (models.py), never typed in."""
import re
from datetime import date, timedelta
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from wtforms.validators import ValidationError

from addons.crm_contacts.labels import looks_chinese
from addons.crm_contacts.views import prefill_customer
from addons.crm_sales import money, sending
from addons.crm_sales.money import amount_text, number_text
from addons.crm_sales.lines import (LineInline, LinesFormMixin, LinesTable, check_lines,
                                    copied_lines, drop_deleted_lines, fill_line_defaults,
                                    lines_panel)
from addons.crm_sales.models import Opportunity, OrderLine, Quote, QuoteLine, SalesOrder
from addons.crm_sales.sending import SendByEmail
from core import approvals, company, options, pdf, permissions, workflow
from core.admin import ModelView, scoped_query
from core.db import db
from core.i18n import label
from core.models import utcnow
from core.util import int_ids

ADDON = "crm_sales"
SENDABLE = ("draft", "sent")          # a sent quote may be emailed again


# -- rules of the quote's life ------------------------------------------------------------

def needs_approval(quote):
    """Does an approval policy cover the quote as it is (its largest discount)?"""
    return approvals.policy_for(quote) is not None


def send_condition(quote, _target):
    """The workflow's condition on "send": a quote has lines."""
    if not quote.lines:
        return _("Add at least one line before sending the quote.")
    return None


def set_sent_at(quote, _user):
    """The workflow's effect of "send" (and of emailing a sent quote again)."""
    quote.sent_at = utcnow()


def lines_changed(session, quote):
    """Did this save add, change or remove any of the quote's lines?"""
    for line in quote.lines:
        state = inspect(line)
        if state.transient or state.pending or session.is_modified(line):
            return True
    return any(isinstance(record, QuoteLine) and record.quote_id == quote.id
               for record in session.deleted)


def settle_approval(quote, changed):
    """After the lines were saved: a refusal was for other lines, so once they changed
    (or need no approval any more) approval may be requested again. The engine does
    the rest: it refuses changes while an approval is pending, and starts an approval
    given for other lines again."""
    if quote.approval == "refused" and (changed or not needs_approval(quote)):
        quote.approval = "not needed"


def approval_text(quote):
    """The approval as shown: "not needed" on a draft a policy covers reads "to be
    requested"."""
    if quote.approval == "not needed" and quote.state == "draft" and needs_approval(quote):
        return _("to be requested")
    return label(quote.approval)


def next_version(session, quote):
    """A new draft: the same number, the next version, the same lines."""
    latest = session.scalar(select(func.max(Quote.version)).where(Quote.number == quote.number))
    today = date.today()
    revision = Quote(
        number=quote.number, version=latest + 1, previous=quote, customer=quote.customer,
        contact=quote.contact, opportunity=quote.opportunity, quote_date=today,
        valid_until=today + timedelta(days=options.get(ADDON, "quote_validity_days")),
        currency=quote.currency, terms=quote.terms, notes=quote.notes, owner=quote.owner,
        state="draft", approval="not needed")
    revision.lines = copied_lines(quote.lines, QuoteLine)
    return revision


def order_from_quote(quote):
    """A sales order for an accepted quote: its customer, currency, owner and lines."""
    order = SalesOrder(customer=quote.customer, quote=quote, currency=quote.currency,
                       owner=quote.owner, order_date=date.today(),
                       notes=_("From quote %(quote)s", quote=quote.title))
    order.lines = copied_lines(quote.lines, OrderLine)
    return order


# -- the printed quote --------------------------------------------------------------------

def join_places(parts):
    """Chinese places run together (广东省深圳市); Latin ones take a comma."""
    return "".join(parts) if all(looks_cjk(part) for part in parts) else ", ".join(parts)


def looks_cjk(text):
    return bool(re.search("[\u3400-\u9fff]", text))


def address_of(customer):
    """The customer's address as printed under its name, in its country's order."""
    def field(name):
        return (getattr(customer, name, None) or "").strip()
    if looks_chinese(customer):
        places = []
        for name in ("province", "city", "district", "street"):
            if field(name) and field(name) not in places:   # 北京市北京市 once
                places.append(field(name))
        lines = [join_places(places) if places else "", field("postcode")]
        if field("country") and field("country").lower() not in ("中国", "china", "cn"):
            lines.append(field("country"))
    else:
        lines = [field("street"), field("district"),
                 " ".join(filter(None, (field("city"), field("province"), field("postcode")))),
                 field("country").upper()]
    return [line for line in lines if line]


def company_letterhead():
    """The company's details from Settings > Company (see core.company.letterhead)."""
    return company.letterhead()


def person(user):
    if user is None:
        return {"name": "", "email": ""}
    return {"name": user.full_name or user.username, "email": user.email or ""}


def printed_amounts(document, notes=None):
    """The lines and totals a printed document shows (quote_pdf_parts.html's ``lines``
    and ``totals``), of any record with LineMixin lines and totals: a quote, a purchase
    order. ``notes``: {product id: text} printed after a line's description."""
    notes = notes or {}
    tax_by_rate = {}
    for line in document.lines:
        rate = money.to_decimal(line.tax_rate)
        tax_by_rate[rate] = tax_by_rate.get(rate, Decimal(0)) + money.to_decimal(line.tax)
    return {
        "lines": [{
            "no": index,
            "code": line.product.code if line.product else "",
            "description": line.description,
            "note": notes.get(line.product_id, ""),
            "quantity": number_text(line.quantity),
            "unit": line.product.unit if line.product else "",
            "unit_price": amount_text(line.unit_price),
            "discount": number_text(line.discount),
            "tax_rate": number_text(line.tax_rate),
            "amount": amount_text(line.subtotal),
        } for index, line in enumerate(document.lines, start=1)],
        "subtotal": amount_text(document.subtotal),
        "taxes": [{"rate": number_text(rate), "amount": amount_text(amount)}
                  for rate, amount in sorted(tax_by_rate.items())],
        "tax": amount_text(document.tax),
        "total": amount_text(document.total, document.currency),
        "total_in_words": money.in_chinese_words(document.total)
        if document.currency == "CNY" else "",
    }


def quote_document(quote):
    """The plain data quote.html prints (strings, not database records)."""
    contact = quote.contact
    return {
        "company": company_letterhead(),
        "number": quote.number, "version": quote.version, "title": quote.title,
        "date": quote.quote_date.isoformat(),
        "valid_until": quote.valid_until.isoformat() if quote.valid_until else "",
        "currency": quote.currency,
        "customer": {
            "name": quote.customer.name, "code": quote.customer.code or "",
            "address": address_of(quote.customer),
            "phone": quote.customer.phone or "", "email": quote.customer.email or "",
            "contact": contact.name if contact else "",
            "contact_phone": (contact.mobile or contact.phone or "") if contact else "",
            "contact_email": (contact.email or "") if contact else "",
        },
        "salesperson": person(quote.owner),
        **printed_amounts(quote),
        "terms": quote.terms or "",
    }


# What printing a quote reads, loaded with it.
PRINTED = (joinedload(Quote.customer), joinedload(Quote.contact), joinedload(Quote.owner),
           selectinload(Quote.lines).joinedload(QuoteLine.product))


def quote_context(quotes):
    """What quote.html gets (of the first quote of ``quotes``): for the PDF and for a
    template editor's preview (manifest key ``pdf``)."""
    return {"quote": quote_document(quotes[0])}


def quote_pdf(quote):
    return pdf.render("crm_sales/quote.html", **quote_context([quote]))


def pdf_filename(quote):
    """Q2026-00042.pdf; later versions Q2026-00042-v2.pdf, so that two versions a
    customer received do not bear the same name."""
    suffix = f"-v{quote.version}" if quote.version > 1 else ""
    return f"{quote.number}{suffix}.pdf"


# -- the line form -----------------------------------------------------------------------

def currency_code(form, field):
    if not re.fullmatch(r"[A-Z]{3}", field.data or ""):
        raise ValidationError(_("A three-letter code, such as CNY."))


def check_quote(form):
    """The contact and the opportunity are the customer's; the validity follows the
    date. True when so."""
    fine = True
    customer = form.customer.data
    for name, message in (("contact", _("This contact works for another customer.")),
                          ("opportunity", _("This opportunity is another customer's."))):
        field = getattr(form, name)
        if field.data is not None and customer is not None \
                and field.data.customer_id != customer.id:
            field.errors.append(message)
            fine = False
    valid_until, quote_date = form.valid_until.data, form.quote_date.data
    if valid_until and quote_date and valid_until < quote_date:
        form.valid_until.errors.append(_("A quote cannot expire before its date."))
        fine = False
    return fine


# -- the screen ---------------------------------------------------------------------------

def formatted_amount(view, context, quote, name):
    return amount_text(getattr(quote, name), quote.currency)


class QuoteView(SendByEmail, LinesFormMixin, ModelView):
    column_list = ["number", "customer", "opportunity", "state", "total", "valid_until",
                   "owner"]
    column_searchable_list = ["number", "customer.name"]
    column_filters = ["state", "approval", "quote_date", "valid_until", "total", "currency",
                      "number", "customer.name", "opportunity.name", "owner.username"]
    column_sortable_list = ["number", "state", "total", "valid_until", "quote_date",
                            ("customer", "customer.name"), ("owner", "owner.username")]
    column_default_sort = ("id", True)
    column_labels = {"number": _l("Number"), "customer": _l("Customer"),
                     "contact": _l("Contact"), "opportunity": _l("Opportunity"),
                     "owner": _l("Owner"), "approved_by": _l("Approved by"),
                     "previous": _l("Previous version"), "lines": _l("Lines"),
                     "customer.name": _l("Customer"), "opportunity.name": _l("Opportunity"),
                     "owner.username": _l("Owner")}
    column_details_list = ["number", "version", "state", "customer", "contact", "opportunity",
                           "quote_date", "valid_until", "currency", "subtotal", "tax", "total",
                           "approval", "approved_by", "approved_at", "sent_at", "previous",
                           "terms", "notes", "owner", "created_at", "updated_at"]
    details_sections = [
        (None, ["number", "customer", "contact", "opportunity", "quote_date", "valid_until",
                "owner", "currency", "subtotal", "tax", "total", "previous"]),
        (_l("Approval and sending"), ["approval", "approved_by", "approved_at", "sent_at"]),
        (_l("Terms"), ["terms"]),
        (_l("Internal notes"), ["notes"]),
    ]
    state_field = "state"
    column_formatters = {
        "number": lambda view, context, quote, name: quote.title,
        "subtotal": formatted_amount, "tax": formatted_amount, "total": formatted_amount,
        "approval": lambda view, context, quote, name: approval_text(quote),
        "sent_at": lambda view, context, quote, name: sending.sent_text(quote),
    }
    form_columns = ["customer", "contact", "opportunity", "quote_date", "valid_until",
                    "currency", "terms", "notes", "owner", "lines"]
    form_ajax_refs = {
        "customer": {"fields": ["name", "code"], "page_size": 10},
        "contact": {"fields": ["name"], "page_size": 10},
        "opportunity": {"fields": ["name"], "page_size": 10},
        "owner": {"fields": ["username", "full_name"], "page_size": 10},
    }
    form_args = {
        "currency": {"filters": [lambda text: (text or "").strip().upper()],
                     "validators": [currency_code]},
        "lines": {"widget": LinesTable("quote_date")},
    }
    inline_models = [LineInline(QuoteLine)]

    # -- forms ---------------------------------------------------------------------------

    def create_form(self, obj=None):
        """Defaults from the settings; ?customer=ID or ?opportunity=ID (links from those
        pages) fill in who the quote is for."""
        form = prefill_customer(super().create_form(obj))
        if request.method == "GET":
            form.valid_until.data = date.today() + timedelta(
                days=options.get(ADDON, "quote_validity_days"))
            form.terms.data = options.get(ADDON, "quote_terms")
            ids = int_ids([request.args.get("opportunity", "")])
            opportunity = scoped_query(Opportunity, Quote).filter(
                Opportunity.id == ids[0]).one_or_none() if ids else None
            if opportunity is not None:
                form.opportunity.data = opportunity
                form.customer.data = opportunity.customer
                form.contact.data = opportunity.contact
                form.currency.data = opportunity.currency
        return form

    def validate_form(self, form):
        # The quote's own form, when posted: the checks across fields first, all at once
        # (each message on its field), then the base's (warnings).
        if not hasattr(form, "lines") or request.method != "POST":
            return super().validate_form(form)
        fine = form.validate()
        fine = check_quote(form) and fine
        fine = check_lines(form) and fine
        return fine and super().validate_form(form)

    def on_model_change(self, form, quote, is_created):
        changed = is_created or lines_changed(db.session, quote)
        drop_deleted_lines(db.session, quote)   # (nor may the approval count them)
        fill_line_defaults(db.session, quote.lines, quote.customer, quote.quote_date)
        # The totals now (not only when saved): the approval engine compares the lines
        # with those it was asked about, and keeps them when it starts again.
        money.compute(quote)
        settle_approval(quote, changed)

    def on_model_delete(self, quote):
        if quote.state != "draft":
            raise ValidationError(_("Only a draft quote can be deleted."))

    def edit_refusal(self, quote):
        """Only a draft may be changed; a sent quote is revised into a new version."""
        if quote.state != "draft":
            return _("Quote %(quote)s is %(state)s and can no longer be changed: revise it "
                     "to make a new version.", quote=quote.title, state=label(quote.state))
        return None

    # -- the detail page -------------------------------------------------------------------

    def detail_buttons(self, quote):
        buttons = []
        writable = self.permits("w")

        def add(label, endpoint, icon, post=True, style="btn-outline-primary", confirm=None):
            buttons.append({"label": label, "url": self.get_url(endpoint, id=quote.id),
                            "post": post, "icon": icon, "style": style,
                            "confirm": confirm})

        add(_("Print PDF"), ".print_pdf", "fa-file-pdf-o", post=False,
            style="btn-outline-secondary")
        if not writable:
            return buttons
        # Accept and Reject, and Request approval, are the workflow's buttons (the base
        # view's); sending and revising have pages and work of their own.
        state = quote.state
        awaiting_approval = state == "draft" and approvals.blocking(quote) is not None
        if state in SENDABLE and not awaiting_approval:
            add(_("Send by email"), ".send", "fa-envelope-o", post=False, style="btn-primary")
        if state == "draft" and not awaiting_approval:
            add(_("Mark as sent"), ".mark_sent", "fa-paper-plane-o",
                confirm=_("Mark this quote as sent to the customer?"))
        if workflow.refusal(quote, workflow.of(Quote).transitions["revise"], current_user) is None:
            add(_("Revise"), ".revise", "fa-files-o",
                confirm=_("Make a new version of this quote?"))
        if state == "accepted":
            order = next(iter(self._orders(quote)), None)
            if order is None:
                add(_("Create order"), ".create_order", "fa-shopping-cart", style="btn-success")
            else:
                buttons.append({"label": _("Open order %(order)s", order=order.number),
                                "url": url_for("sales_order.details_view", id=order.id),
                                "icon": "fa-shopping-cart", "style": "btn-outline-success"})
            if permissions.permits(current_user, "Contract", "c"):
                buttons.append({"label": _("Create contract"), "icon": "fa-pencil-square-o",
                                "url": url_for("contract.create_view", quote=quote.id),
                                "style": "btn-outline-primary"})
        return buttons

    def _orders(self, quote):
        """The orders made from the quote that the user may see."""
        query = permissions.apply_rules(select(SalesOrder), SalesOrder).where(
            SalesOrder.quote_id == quote.id).order_by(SalesOrder.id)
        return db.session.scalars(query).all()

    def detail_panels(self, quote):
        versions = self.get_query().filter(Quote.number == quote.number).order_by(
            Quote.version.desc()).all()
        own = [
            lines_panel(quote, empty=_("No lines yet: edit the quote to add them.")),
            {"title": _("Versions"), "order": 1, "width": "col-lg-6",
             "html": Markup(render_template("crm_sales/quote_versions.html", quote=quote,
                                            versions=versions, amount_text=amount_text))},
        ]
        found = self._orders(quote)
        if found:
            own.append({"title": _("Orders"), "order": 2, "width": "col-lg-6",
                        "html": Markup(render_template("crm_sales/quote_orders.html",
                                                       orders=found, amount_text=amount_text))})
        return own + super().detail_panels(quote)

    # -- what can be done with a quote ------------------------------------------------------

    def _quote(self, lock=True, printing=False):
        """The quote of ?id=, locked (two clicks at once wait for each other) unless
        ``lock`` is false; with what the PDF prints, in three queries whatever the
        number of lines, when ``printing``."""
        return self.requested_record(lock, PRINTED if printing else ())

    def _back(self, quote):
        return redirect(self.get_url(".details_view", id=quote.id))

    def _refuse(self, quote, message):
        db.session.rollback()
        flash(message, "error")
        return self._back(quote)

    def _done(self, quote, message):
        db.session.commit()
        flash(message, "success")
        return self._back(quote)

    @expose("/pdf/")
    def print_pdf(self):
        quote = self._quote(lock=False, printing=True)
        return pdf.response(quote_pdf(quote), pdf_filename(quote))

    @expose("/mark-sent/", methods=("POST",))
    def mark_sent(self):
        quote = self._quote()
        if quote.state == "sent":
            return self._refuse(quote, _("This quote was sent already."))
        try:
            workflow.move(quote, "send", current_user)
        except workflow.Refused as refused:
            return self._refuse(quote, str(refused))
        return self._done(quote, _("Quote %(quote)s marked as sent.", quote=quote.title))

    # -- sending by email (sending.SendByEmail) ---------------------------------------------

    pdf_kind = "quote"
    sent_effect = staticmethod(set_sent_at)
    document_pdf = staticmethod(quote_pdf)
    pdf_filename = staticmethod(pdf_filename)

    def _printed(self, lock):
        return self._quote(lock=lock, printing=True)

    def sending_problem(self, quote):
        """A draft goes through the "send" transition (its state, the user, the approval,
        the lines); a sent quote may be emailed again."""
        if quote.state == "sent":
            return None
        return workflow.refusal(quote, workflow.of(Quote).transitions["send"], current_user)

    def sending_texts(self, quote):
        return {
            "heading": _("Send quote %(quote)s by email", quote=quote.title),
            "intro": _("The quote is queued in the outbox with its PDF and marked sent; its "
                       "page then shows whether the email was delivered, and you are told "
                       "if it fails."),
            "no_address": _("Neither the contact nor the customer has an email address: "
                            "enter the address to send to."),
            "missing": _("Enter the customer's email address."),
            "queued": lambda to: _("Quote %(quote)s queued for %(to)s: its page shows when "
                                   "it is delivered, and you are told if it fails.",
                                   quote=quote.title, to=to),
        }

    def email_defaults(self, quote):
        contact_email = quote.contact.email if quote.contact is not None else ""
        sender = company_letterhead()["name"]
        greeting = _("Dear %(name)s,", name=quote.contact.name) if quote.contact is not None \
            else _("Dear customer,")
        text = "\n\n".join([
            greeting,
            _("Please find attached our quotation %(quote)s, valid until %(date)s.",
              quote=quote.title,
              date=quote.valid_until.isoformat() if quote.valid_until else "-"),
            _("Kind regards,") + "\n" + (person(quote.owner)["name"] or sender) + "\n" + sender])
        return {"to": contact_email or quote.customer.email or "",
                "subject": _("Quotation %(quote)s from %(company)s", quote=quote.title,
                             company=sender),
                "text": text}

    @expose("/revise/", methods=("POST",))
    def revise(self):
        quote = self._quote()
        try:
            workflow.move(quote, "revise", current_user)
        except workflow.Refused as refused:
            return self._refuse(quote, str(refused))
        revision = next_version(db.session, quote)
        db.session.add(revision)
        try:
            db.session.commit()
        except IntegrityError:   # someone revised it at the same moment
            return self._refuse(quote, _("This quote has just been revised by someone else."))
        flash(_("Version %(version)d of %(number)s made; the previous one is kept.",
                version=revision.version, number=revision.number), "success")
        return redirect(self.get_url(".edit_view", id=revision.id))

    @expose("/create-order/", methods=("POST",))
    def create_order(self):
        """One order per quote: a second click opens the order the first one made."""
        quote = self._quote()
        existing = db.session.scalar(select(SalesOrder).where(SalesOrder.quote_id == quote.id)
                                     .order_by(SalesOrder.id).limit(1))
        if existing is not None:
            db.session.rollback()
            flash(_("Quote %(quote)s became order %(order)s already.", quote=quote.title,
                    order=existing.number), "info")
            return redirect(url_for("sales_order.details_view", id=existing.id))
        if quote.state != "accepted":
            return self._refuse(quote, _("Only an accepted quote becomes an order."))
        if not permissions.permits(current_user, "SalesOrder", "c"):
            return self._refuse(quote, _("You may not create sales orders."))
        with db.session.no_autoflush:   # the order is complete before it is written
            order = order_from_quote(quote)
        db.session.add(order)
        db.session.commit()
        flash(_("Order %(order)s created from quote %(quote)s.", order=order.number,
                quote=quote.title), "success")
        return redirect(url_for("sales_order.details_view", id=order.id))
