"""Purchase orders: lines priced from the supplier, totals, approval above an amount,
the PDF, sending by email.

The states are the manifest's workflow (core/workflow.py): a draft is confirmed
("submit"); the core's approval engine then approves it at once, or, when a policy
covers it (by default a total above 50,000, Settings > Approvals), waits for a purchase
manager. An approved order is sent (marked by hand, or emailed from its "Send by email"
page with its PDF); receipts (receipts.py) move it to partly received and received;
it is closed, or cancelled while nothing of it was received.

Lines change only in a draft. A line's unit price left blank or 0 takes the supplier's
best price valid on the order date for the line's quantity (suppliers.py), else the
product's cost; totals are money.compute's, in Decimal rounded half-up, as quotes'."""
from datetime import date, timedelta
from decimal import Decimal

from flask import flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import DecimalField
from wtforms.validators import Optional, ValidationError

from addons.crm_sales import money, sending
from addons.crm_sales.lines import (LARGEST_AMOUNT, LineInline, LinesFormMixin, LinesTable,
                                    at_most, at_most_places, check_lines, drop_deleted_lines,
                                    lines_panel, within)
from addons.crm_sales.models import Product
from addons.crm_sales.orders import keep_an_owner, one_visible
from addons.crm_sales.products import in_reach, plain_number
from addons.crm_sales.money import amount_text, number_text
from addons.crm_sales.quotes import address_of, person, printed_amounts
from addons.crm_sales.sending import SendByEmail
from core import company, options, pdf, permissions, workflow
from core.admin import ModelView
from core.db import db
from core.i18n import label
from core.models import utcnow
from core.util import int_ids

from . import payables, receipts
from .models import (PurchaseOrder, PurchaseOrderLine, Receipt, Supplier, SupplierBill,
                     SupplierPrice, Warehouse)
from .suppliers import price_for_quantity, price_tiers, supplier_loader

ADDON = "crm_purchase"
DRAFT = "draft"
# A form may change an order in these states: everything in a draft, the rest only
# the dates, references, terms and notes (DRAFT_ONLY fields are taken off the form).
EDITABLE = ("draft", "waiting for approval", "approved", "sent")
DRAFT_ONLY = ("supplier", "warehouse", "order_date", "lines")
SENDABLE = ("approved", "sent")      # a sent order may be emailed again
NOT_APPROVED = ("draft", "waiting for approval")


# -- the workflow's conditions and effects (named in the manifest) -------------------------

def submit_condition(order, _target):
    """An order is confirmed with lines, each for more than nothing."""
    if not order.lines:
        return _("Add at least one line before confirming the order.")
    for position, line in enumerate(order.lines, start=1):
        if line.quantity is None or money.to_decimal(line.quantity) <= 0:
            return _("Line %(line)d has no quantity: enter a quantity above 0.", line=position)
    return None


def cancel_condition(order, _target):
    """An order with goods received (or billed) is closed, not cancelled: the goods and
    the bills are real, whoever recorded them."""
    received = db.session.scalar(select(
        exists().where(PurchaseOrderLine.order_id == order.id, PurchaseOrderLine.received > 0)
        | exists().where(Receipt.order_id == order.id)))
    if received:
        return _("Goods of this order have been received: it cannot be cancelled. Close it "
                 "instead.")
    if db.session.scalar(select(exists().where(SupplierBill.order_id == order.id))):
        return _("This order has supplier bills: it cannot be cancelled.")
    return None


def set_sent_at(order, _user):
    """The effect of "send" (and of emailing a sent order again)."""
    order.sent_at = utcnow()


def is_draft(order):
    """A draft, or a new order (its state is set when written)."""
    return (order.state or DRAFT) == DRAFT


def lines_locked(order):
    """Why the order's lines (and supplier, warehouse, date) cannot change, or None."""
    if not is_draft(order):
        return _("Purchase order %(number)s is %(state)s: only its expected date, "
                 "references, terms and notes can change.", number=order.number,
                 state=label(order.state))
    return None


# -- defaults ------------------------------------------------------------------------------

def default_warehouse():
    """The warehouse marked default for deliveries, else the first active one."""
    return db.session.scalar(select(Warehouse).where(Warehouse.active.is_(True)).order_by(
        Warehouse.is_default.desc(), Warehouse.id).limit(1))


def fill_lines(session, order):
    """What a line left blank takes: the unit price (left blank or 0) from the
    supplier's best price valid on the order date for its quantity, else the product's
    cost; tax rate and name from the product. Lines numbered in their order. One query
    for the prices of all lines."""
    supplier = order.supplier
    products = [line.product for line in order.lines if line.product is not None]
    tiers = price_tiers(session, supplier.id if supplier is not None else None,
                        [product.id for product in products], order.order_date or date.today())
    for index, line in enumerate(order.lines, start=1):
        line.sequence = index * 10
        product = line.product
        if not line.unit_price and product is not None:
            found = price_for_quantity(tiers.get(product.id, []), line.quantity or 0)
            line.unit_price = found if found is not None else money.cents(product.cost or 0)
        if line.unit_price is None:
            line.unit_price = Decimal(0)
        if line.tax_rate is None:
            line.tax_rate = product.tax_rate if product is not None else 0
        if line.discount is None:
            line.discount = 0
        if not (line.description or "").strip() and product is not None:
            line.description = product.name
        if line.description is None:
            line.description = ""


# -- the printed order ------------------------------------------------------------------------

def payment_terms_text(supplier):
    if supplier.payment_terms:
        return supplier.payment_terms
    return _("%(num)d days from the invoice date", num=supplier.payment_days or 0)


def supplier_codes(order):
    """{product id: the supplier's own code of it} (from its price of lowest priority
    number that has one): printed so that the supplier knows its goods. One query."""
    product_ids = {line.product_id for line in order.lines if line.product_id is not None}
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(SupplierPrice.product_id, SupplierPrice.supplier_product_code)
        .where(SupplierPrice.supplier_id == order.supplier_id,
               SupplierPrice.product_id.in_(product_ids),
               SupplierPrice.supplier_product_code.is_not(None),
               SupplierPrice.supplier_product_code != "")
        .order_by(SupplierPrice.sequence.desc(), SupplierPrice.id.desc()))
    return dict(rows.all())   # the last row of a product (lowest sequence) wins


def order_document(order):
    """The plain data purchase_order.html prints (strings, not database records)."""
    supplier, warehouse = order.supplier, order.warehouse
    customer = supplier.customer
    notes = {product_id: _("your code %(code)s", code=code)
             for product_id, code in supplier_codes(order).items()}
    return {
        "company": company.letterhead(),
        "number": order.number, "date": order.order_date.isoformat(),
        "expected_date": order.expected_date.isoformat() if order.expected_date else "",
        "currency": order.currency, "draft": order.state in NOT_APPROVED,
        "supplier_reference": order.supplier_reference or "",
        "supplier": {
            "name": customer.name, "code": supplier.code, "address": address_of(customer),
            "phone": customer.phone or "", "email": customer.email or "",
            "payment_terms": payment_terms_text(supplier),
        },
        "deliver_to": {"name": label(warehouse.name) if warehouse else "",
                       "address": (warehouse.address or "") if warehouse else ""},
        "buyer": person(order.owner),
        **printed_amounts(order, notes),
        "terms": order.terms or "",
    }


# What printing an order reads, loaded with it.
PRINTED = (joinedload(PurchaseOrder.supplier).joinedload(Supplier.customer),
           joinedload(PurchaseOrder.warehouse), joinedload(PurchaseOrder.owner),
           selectinload(PurchaseOrder.lines).joinedload(PurchaseOrderLine.product))


def order_context(orders):
    """What purchase_order.html gets (of the first order of ``orders``): for the PDF and
    for a template editor's preview (manifest key ``pdf``)."""
    return {"order": order_document(orders[0])}


def order_pdf(order):
    return pdf.render("crm_purchase/purchase_order.html", **order_context([order]))


def pdf_filename(order):
    return f"{order.number}.pdf"


# -- sending ------------------------------------------------------------------------------

def sending_problem(order):
    """Why the current user cannot send the order now, or None: an approved order goes
    through the "send" transition; a sent one may be emailed again."""
    if order.state == "sent":
        return None
    if order.state != "approved":
        return _("Purchase order %(number)s is %(state)s: only an approved order is sent to "
                 "the supplier.", number=order.number, state=label(order.state))
    return workflow.refusal(order, workflow.of(PurchaseOrder).transitions["send"],
                            current_user)


# -- the line form -------------------------------------------------------------------------

class PurchaseLineInline(LineInline):
    """crm_sales' priced lines, with the purchase meaning of a blank price."""

    def postprocess_form(self, form_class):
        form_class = super().postprocess_form(form_class)
        form_class.unit_price = DecimalField(
            _l("Unit price"),
            description=_l("Blank or 0: the supplier's price for this quantity, else the "
                           "product's cost."),
            validators=[Optional(), within(0, None, _l("A price cannot be negative.")),
                        at_most(LARGEST_AMOUNT), at_most_places(2)])
        return form_class


def check_order(form):
    """The goods are expected on or after the order date. True when so."""
    expected = form.expected_date.data if "expected_date" in form else None
    ordered = form.order_date.data if "order_date" in form else None
    if expected and ordered and expected < ordered:
        form.expected_date.errors.append(_("The goods cannot be expected before the order "
                                           "date."))
        return False
    return True


def tier_text(tiers):
    return ", ".join(_("%(price)s from %(quantity)s", price=amount_text(price),
                       quantity=number_text(minimum)) for minimum, price in tiers)


# -- the screen ----------------------------------------------------------------------------

def formatted_amount(view, context, order, name):
    return amount_text(getattr(order, name), order.currency)


class PurchaseOrderView(SendByEmail, LinesFormMixin, ModelView):
    """Purchase orders: lines from the supplier's prices, approval, PDF and sending."""

    # An order is made with its lines, on its form: a file of headers would make orders
    # without lines, which cannot be confirmed.
    allow_import = False
    column_list = ["number", "supplier", "order_date", "expected_date", "state", "total",
                   "owner"]
    column_labels = {"supplier.code": _l("Supplier"), "supplier.customer.name": _l("Company"),
                     "warehouse.name": _l("Deliver to"), "owner.username": _l("Buyer"),
                     "owner": _l("Buyer")}
    column_searchable_list = ["number", "supplier.code", "supplier_reference"]
    column_filters = ["number", "state", "order_date", "expected_date", "total",
                      "supplier.code", "warehouse.name", "owner.username"]
    column_sortable_list = ["number", "order_date", "expected_date", "state", "total",
                            ("supplier", "supplier.code"), ("owner", "owner.username")]
    column_default_sort = ("id", True)
    column_details_list = ["number", "state", "supplier", "warehouse", "order_date",
                           "expected_date", "currency", "supplier_reference", "subtotal",
                           "tax", "total", "sent_at", "owner", "terms", "notes", "created_at",
                           "updated_at"]
    details_sections = [
        (None, ["number", "supplier", "warehouse", "order_date", "expected_date",
                "supplier_reference", "owner", "currency", "subtotal", "tax", "total",
                "sent_at"]),
        (_l("Terms"), ["terms"]),
        (_l("Internal notes"), ["notes"]),
    ]
    state_field = "state"
    column_export_list = ["number", "supplier", "warehouse", "order_date", "expected_date",
                          "state", "currency", "subtotal", "tax", "total", "supplier_reference",
                          "owner"]
    column_formatters = {
        "subtotal": formatted_amount, "tax": formatted_amount, "total": formatted_amount,
        "sent_at": lambda view, context, order, name: sending.sent_text(order),
    }
    form_columns = ["supplier", "warehouse", "order_date", "expected_date",
                    "supplier_reference", "terms", "notes", "owner", "lines"]
    form_ajax_refs = {
        "supplier": supplier_loader(PurchaseOrder),
        "owner": {"fields": ["username", "full_name"], "page_size": 10},
    }
    form_args = {
        "expected_date": {"description": _l("Blank: the order date plus the supplier's lead "
                                            "time.")},
        "lines": {"widget": LinesTable("order_date", party_field="supplier", hint=_l(
            "Choosing a product fills in the supplier's price and the product's tax rate. "
            "A price left blank or 0 takes, when the order is saved, the supplier's price "
            "valid on the order date for the line's quantity, else the product's cost."))},
    }
    inline_models = [PurchaseLineInline(PurchaseOrderLine)]

    def get_query(self):
        return super().get_query().options(
            joinedload(PurchaseOrder.supplier).joinedload(Supplier.customer),
            joinedload(PurchaseOrder.owner))

    def get_one(self, id):
        """One order with its lines, their products, and what its page shows."""
        return one_visible(self.get_query().options(
            joinedload(PurchaseOrder.warehouse),
            selectinload(PurchaseOrder.lines).joinedload(PurchaseOrderLine.product)),
            PurchaseOrder, id)

    # -- the form ---------------------------------------------------------------------------

    def create_form(self, obj=None):
        """Defaults: the default warehouse, today, the terms from the settings;
        ?supplier=ID (the supplier's "New purchase order") fills in the supplier."""
        form = super().create_form(obj)
        if request.method == "GET":
            form.warehouse.data = default_warehouse()
            form.order_date.data = date.today()
            form.terms.data = options.get(ADDON, "purchase_terms")
            ids = int_ids([request.args.get("supplier", "")])
            if ids:
                form.supplier.data = supplier_loader(PurchaseOrder).get_one(ids[0])
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        reason = lines_locked(obj) if obj is not None else None
        if reason:
            # Off the form: nothing the browser posts can change them.
            for name in DRAFT_ONLY:
                if name in form:
                    delattr(form, name)
            if request.method == "GET":
                flash(reason, "info")
        return form

    def validate_form(self, form):
        if request.method != "POST" or not hasattr(form, "notes"):
            return super().validate_form(form)
        order = self.edited_record()
        if "lines" not in form and order is not None and any(
                key.startswith("lines-") for key in request.form):
            flash(lines_locked(order) or _("The lines cannot be changed."), "error")
            return False
        # The checks across fields at once (each message on its field), then the base's.
        fine = form.validate()
        fine = check_order(form) and fine
        if "lines" in form:
            fine = check_lines(form) and fine
        return fine and super().validate_form(form)

    def on_model_change(self, form, order, is_created):
        drop_deleted_lines(db.session, order)
        with db.session.no_autoflush:
            if order.warehouse is None:
                order.warehouse = default_warehouse()
            supplier = order.supplier
            if is_draft(order) and supplier is not None:
                order.currency = supplier.currency   # its prices are in its currency
            if order.expected_date is None and supplier is not None and order.order_date:
                order.expected_date = order.order_date + timedelta(
                    days=supplier.lead_time_days or 0)
            if is_draft(order):
                fill_lines(db.session, order)
        money.compute(order)   # now: the approval engine compares the totals
        keep_an_owner(order)

    def on_model_delete(self, order):
        if not is_draft(order):
            raise ValidationError(_("Only a draft purchase order can be deleted: cancel it "
                                    "instead."))

    def edit_refusal(self, order):
        if order.state not in EDITABLE:
            return _("Purchase order %(number)s is %(state)s and can no longer be changed.",
                     number=order.number, state=label(order.state))
        return None

    @expose("/line-price/")
    def line_price(self):
        """What a line takes when a product is picked, as JSON for the line editor of
        crm.js: ?product=ID&customer=ID (the supplier: the editor names the document's
        party so)&on=DATE. A supplier price that depends on the quantity (which the
        editor does not send) is left blank, to be set for the quantity on save."""
        product = in_reach(Product, self.model, request.args.get("product"))
        supplier_id = (request.args.get("supplier") or request.args.get("customer") or "").strip()
        supplier = in_reach(Supplier, self.model, supplier_id) if supplier_id else None
        try:
            on = date.fromisoformat((request.args.get("on") or "").strip()[:10])
        except ValueError:
            on = date.today()
        tiers = price_tiers(db.session, supplier.id, [product.id], on).get(product.id, []) \
            if supplier is not None else []
        if not tiers:
            price = f"{money.cents(product.cost or 0):.2f}"
            note = _("The product's cost: this supplier has no price for it on this day.") \
                if supplier is not None else ""
        elif all(minimum <= 1 for minimum, _price in tiers):
            price = f"{min(p for _m, p in tiers):.2f}"
            note = _("The supplier's price.")
        else:
            price = ""
            note = _("The supplier's price depends on the quantity (%(tiers)s): it is set "
                     "for the line's quantity when the order is saved.", tiers=tier_text(tiers))
        return jsonify(product=product.id, price=price, tax_rate=plain_number(product.tax_rate),
                       description=product.name, unit=product.unit,
                       currency=supplier.currency if supplier is not None else company.currency(),
                       price_list=None, note=note)

    # -- the detail page ----------------------------------------------------------------

    def detail_buttons(self, order):
        buttons = [{"label": _("Print PDF"), "url": self.get_url(".print_pdf", id=order.id),
                    "icon": "fa-file-pdf-o", "style": "btn-outline-secondary"}]
        if self.permits("w") and order.state in SENDABLE and sending_problem(order) is None:
            buttons.append({"label": _("Send by email"), "url": self.get_url(".send", id=order.id),
                            "icon": "fa-envelope-o", "style": "btn-primary"})
        # The next steps of an order under way: receive the goods, enter the bill.
        if receipts.order_refusal(order) is None and permissions.permits(
                current_user, "Receipt", "c"):
            buttons.append({"label": _("Receive goods"), "icon": "fa-truck",
                            "url": url_for("receipt.create_view", order=order.id),
                            "style": "btn-primary"})
        if payables.order_allows(order) is None and permissions.permits(
                current_user, "SupplierBill", "c") and any(
                payables.available(line, "received quantities") for line in order.lines):
            buttons.append({"label": _("Enter bill"), "icon": "fa-file-text-o",
                            "url": url_for("supplier_bill.create_view", order=order.id),
                            "style": "btn-outline-primary"})
        # Confirm, Approve, Mark as sent, Close and Cancel are the workflow's buttons.
        return buttons

    def detail_panels(self, order):
        received = [
            {"heading": _("Received"), "value": lambda line: line.received,
             "css": "crm-received"},
            {"heading": _("Returned"), "value": lambda line: line.returned,
             "css": "crm-returned"},
            {"heading": _("To receive"), "css": "crm-to-receive",
             "value": lambda line: max(line.quantity - line.received, 0)},
            {"heading": _("Billed"), "value": lambda line: line.billed, "css": "crm-billed"}]
        return [lines_panel(order, quantities=received, css="crm-purchase-lines",
                            empty=_("No lines yet: edit the order to add them."))
                ] + super().detail_panels(order)

    # -- printing and sending ----------------------------------------------------------------

    def _order(self, lock=True, printing=False):
        """The order of ?id=, locked unless ``lock`` is false; with what the PDF
        prints, in a few queries whatever the number of lines, when ``printing``."""
        return self.requested_record(lock, PRINTED if printing else ())

    def _back(self, order):
        return redirect(self.get_url(".details_view", id=order.id))

    def _refuse(self, order, message):
        db.session.rollback()
        flash(message, "error")
        return self._back(order)

    @expose("/pdf/")
    def print_pdf(self):
        order = self._order(lock=False, printing=True)
        return pdf.response(order_pdf(order), pdf_filename(order))

    # -- sending by email (sending.SendByEmail) ---------------------------------------------

    pdf_kind = "purchase_order"
    sent_effect = staticmethod(set_sent_at)
    document_pdf = staticmethod(order_pdf)
    pdf_filename = staticmethod(pdf_filename)
    sending_problem = staticmethod(sending_problem)

    def _printed(self, lock):
        return self._order(lock=lock, printing=True)

    def sending_texts(self, order):
        return {
            "heading": _("Send purchase order %(number)s by email", number=order.number),
            "intro": _("The order is queued in the outbox with its PDF and marked sent; its "
                       "page then shows whether the email was delivered, and you are told "
                       "if it fails."),
            "no_address": _("The supplier has no email address: enter the address to send "
                            "to."),
            "missing": _("Enter the supplier's email address."),
            "queued": lambda to: _("Purchase order %(number)s queued for %(to)s: its page "
                                   "shows when it is delivered, and you are told if it "
                                   "fails.", number=order.number, to=to),
        }

    def email_defaults(self, order):
        sender = company.letterhead()["name"]
        buyer = person(order.owner)["name"] or sender
        when = order.expected_date.isoformat() if order.expected_date else "-"
        text = "\n\n".join([
            _("Dear supplier,"),
            _("Please find attached our purchase order %(number)s. Please deliver by "
              "%(date)s and confirm the order.", number=order.number, date=when),
            _("Kind regards,") + "\n" + buyer + "\n" + sender])
        return {"to": order.supplier.customer.email or "",
                "subject": _("Purchase order %(number)s from %(company)s",
                             number=order.number, company=sender),
                "text": text}
