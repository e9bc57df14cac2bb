"""Payables: supplier bills made from a purchase order's lines, payments made, each
supplier's balance and the aged payables.

A bill takes, by default, what was received and not yet billed of each order line
(received - returned - billed); on the ordered basis, what was ordered and not yet
billed. Saving checks every line against that, writes the bill and its lines and
recomputes the order lines' billed quantities, in one transaction, the order's row
locked so that two bills at once cannot bill the same goods twice.

A payment settles its bill in the same transaction: the bill's paid amount is the sum
of its payments (whoever recorded them: it is a fact of the bill), and its state
follows through the workflow's transitions (open, partly paid, paid). A payment above
what is open on its bill is refused.

Figures over many bills (a supplier's balance, the aged payables) are SQL aggregates
within the record rules of the bills and payments on account the user may read."""
from collections import namedtuple
from datetime import date, timedelta
from decimal import Decimal

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, case, exists, func, literal, or_, select, union, update
from sqlalchemy.orm import joinedload, selectinload
from wtforms.validators import ValidationError

from addons.crm_contacts.models import Customer
from addons.crm_purchase.models import (PurchaseOrder, PurchaseOrderLine, Supplier,
                                        SupplierBill, SupplierBillLine, SupplierPayment)
from addons.crm_sales import money
from addons.crm_sales.lines import LARGEST_AMOUNT, at_most, lines_panel
from addons.crm_sales.money import amount_text
from addons.crm_sales.orders import (HALF_CENT, keep_an_owner, line_label, more_than_zero,
                                     one_visible, parse_quantity, quantity_text)
from core import exporting, permissions, workflow
from core.admin import ModelView, scoped_query
from core.db import db
from core.i18n import label, mark
from core.util import int_ids

# The workflow's words (the manifest's), for the catalog.
WORKFLOW_TEXT = (mark("Partly paid"), mark("Paid"), mark("Open"), mark("Cancel bill"),
                 mark("Cancel this bill? Its quantities can be billed again."))

# ?basis= of the new bill page -> the stored basis.
BASES = {"received": "received quantities", "ordered": "ordered quantities"}
# An order is billed once approved; a closed one still takes the bill for what came.
BILLABLE_ORDER_STATES = ("approved", "sent", "partly received", "received", "closed")
UNPAID_STATES = ("open", "partly paid")
# The transition that brings a bill to each state its payments give it.
SETTLING = {"open": "reopen", "partly paid": "pay_part", "paid": "pay_all"}
ZERO = Decimal("0.00")
PANEL_ROWS = 20       # payments listed on a bill's page
PICKER_ROWS = 50      # orders offered on the page that starts a bill
LONG_TEXT = 5000      # characters kept of a note typed on that page
AGE_LIMITS = (30, 60, 90)   # days past due that close the buckets 0-30, 31-60, 61-90


# -- order lines: what is left to bill ---------------------------------------------------------

def available(line, basis):
    """How much of an order line a bill on ``basis`` may still take."""
    if basis == BASES["ordered"]:
        left = money.to_decimal(line.quantity) - money.to_decimal(line.billed)
    else:
        left = (money.to_decimal(line.received) - money.to_decimal(line.returned)
                - money.to_decimal(line.billed))
    return max(left, Decimal(0))


def too_much(line_text, basis, left):
    if basis == BASES["ordered"]:
        return _("Line %(line)s: only %(left)s ordered and not yet billed.", line=line_text,
                 left=quantity_text(left))
    return _("Line %(line)s: only %(left)s received and not yet billed.", line=line_text,
             left=quantity_text(left))


def order_allows(order):
    """Why the order takes no bill now, or None."""
    if order.state == "cancelled":
        return _("Order %(number)s is cancelled: it cannot be billed.", number=order.number)
    if order.state not in BILLABLE_ORDER_STATES:
        return _("Order %(number)s is %(state)s: it can be billed once approved.",
                 number=order.number, state=label(order.state))
    return None


def recompute_billed(line_ids, excluding_bill=None):
    """PurchaseOrderLine.billed = its lines on bills not cancelled, in SQL, in the
    caller's transaction (every bill counts, whoever entered it: it is the goods')."""
    if not line_ids:
        return
    conditions = [SupplierBillLine.order_line_id == PurchaseOrderLine.id,
                  SupplierBill.state != "cancelled"]
    if excluding_bill is not None:
        conditions.append(SupplierBill.id != excluding_bill)
    total = (select(func.coalesce(func.sum(SupplierBillLine.quantity), 0))
             .join(SupplierBill, SupplierBill.id == SupplierBillLine.bill_id)
             .where(*conditions).scalar_subquery())
    db.session.flush()
    db.session.execute(update(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(list(line_ids)))
                       .values(billed=total).execution_options(synchronize_session=False))
    for record in db.session.identity_map.values():
        if isinstance(record, PurchaseOrderLine) and record.id in line_ids:
            db.session.expire(record, ["billed"])


# -- the workflow's condition and effect on "cancel" ----------------------------------------------

def cancel_condition(bill, _target):
    if db.session.scalar(select(func.count()).where(SupplierPayment.bill_id == bill.id)):
        return _("This bill has payments: it cannot be cancelled.")
    return None


def release_order_lines(bill, _user):
    """A cancelled bill's quantities may be billed again."""
    recompute_billed({line.order_line_id for line in bill.lines if line.order_line_id})


# -- payments settle their bill ----------------------------------------------------------------

def open_amount(bill):
    """What is still to pay on a bill (nothing on a cancelled one)."""
    if bill.state == "cancelled":
        return ZERO
    return money.cents(money.to_decimal(bill.total) - money.to_decimal(bill.paid))


def paid_on(bill_id, excluding_payment=None):
    """The sum of every payment on a bill, in SQL."""
    statement = select(func.coalesce(func.sum(SupplierPayment.amount), 0)).where(
        SupplierPayment.bill_id == bill_id)
    if excluding_payment is not None:
        statement = statement.where(SupplierPayment.id != excluding_payment)
    return money.cents(db.session.scalar(statement))


def state_for(total, paid):
    if paid < HALF_CENT:
        return "open"
    return "paid" if paid >= money.to_decimal(total) - HALF_CENT else "partly paid"


def settle_bill(bill, excluding_payment=None):
    """The bill's paid amount from its payments, and the state that follows, moved
    by the application's transitions. The caller commits."""
    bill.paid = paid_on(bill.id, excluding_payment)
    target = state_for(bill.total, bill.paid)
    if bill.state != "cancelled" and bill.state != target:
        workflow.move(bill, SETTLING[target])


def locked_bill(bill_id):
    """The bill, its row locked (PostgreSQL) and read again: two payments at once wait
    for each other, and the second sees what the first paid."""
    return db.session.scalars(
        select(SupplierBill).where(SupplierBill.id == bill_id).with_for_update()
        .execution_options(populate_existing=True)).one()


# -- bills ----------------------------------------------------------------------------------------

class BillCondition(BaseSQLAFilter):
    """A list filter whose options each stand for an SQL condition on the bill;
    ``url_name`` names it in links (flt1_payment_is=unpaid) in every language."""

    def __init__(self, url_name, name, operation_text, conditions):
        self.url_name = url_name
        self.conditions = conditions   # {option value: (label, function() -> condition)}
        super().__init__(SupplierBill.id, name, options=[
            (key, text) for key, (text, _function) in conditions.items()])
        self.operation_text = operation_text

    def apply(self, query, value, alias=None):
        _text, condition = self.conditions.get(value, (None, None))
        return query.filter(condition()) if condition else query

    def operation(self):
        return self.operation_text

    def clean(self, value):
        return value


def due_day():
    """A bill's due date; its date when it has none."""
    return func.coalesce(SupplierBill.due_date, SupplierBill.bill_date)


PAYMENT_CONDITIONS = {
    "unpaid": (_l("not fully paid"), lambda: SupplierBill.state.in_(UNPAID_STATES)),
    "overdue": (_l("overdue"), lambda: and_(SupplierBill.state.in_(UNPAID_STATES),
                                            due_day() < date.today())),
}


def bills_url(supplier_code, unpaid=True):
    """The bill list of one supplier (by its code, which is unique)."""
    args = {"flt0_supplier_pur_supplier_code_equals": supplier_code}
    if unpaid:
        args["flt1_payment_is"] = "unpaid"
    return url_for("supplier_bill.index_view", **args)


def _amount(name):
    return lambda view, context, record, _name: amount_text(getattr(record, name))


class BillView(ModelView):
    """Supplier bills: made on their own page from a purchase order's lines; the form
    edits only the header (the supplier's invoice number, dates, notes, owner)."""

    allow_import = False   # a bill is made from order lines, on its page
    column_list = ["number", "supplier", "order", "supplier_invoice", "bill_date", "due_date",
                   "state", "total", "open_amount", "owner"]
    column_labels = {"open_amount": _l("Open amount")}
    column_sortable_list = ["number", "bill_date", "due_date", "state", "total",
                            ("supplier", "supplier.code"), ("owner", "owner.username")]
    column_searchable_list = ["number", "supplier_invoice", "supplier.code"]
    column_filters = ["number", "supplier.code", "order.number", "supplier_invoice",
                      "bill_date", "due_date", "state", "total", "owner.username",
                      BillCondition("payment_is", _l("Payment"), _l("is"), PAYMENT_CONDITIONS)]
    column_details_list = ["number", "supplier", "order", "supplier_invoice", "bill_date",
                           "due_date", "basis", "state", "subtotal", "tax", "total", "paid",
                           "open_amount", "owner", "notes", "created_at"]
    column_export_list = ["number", "supplier", "order", "supplier_invoice", "bill_date",
                          "due_date", "basis", "state", "subtotal", "tax", "total", "paid",
                          "owner"]
    form_columns = ["supplier_invoice", "bill_date", "due_date", "notes", "owner"]
    form_ajax_refs = {"owner": {"fields": ["username"], "page_size": 10}}
    column_default_sort = ("id", True)
    column_formatters = {
        "total": _amount("total"),
        "open_amount": lambda view, context, bill, name: amount_text(open_amount(bill)),
    }
    column_formatters_detail = {
        **column_formatters,
        "subtotal": _amount("subtotal"), "tax": _amount("tax"), "paid": _amount("paid"),
    }

    def get_filter_arg(self, index, flt):
        if isinstance(flt, BillCondition):
            return flt.url_name
        return super().get_filter_arg(index, flt)

    def get_query(self):
        return super().get_query().options(
            joinedload(SupplierBill.supplier).joinedload(Supplier.customer),
            joinedload(SupplierBill.order), joinedload(SupplierBill.owner))

    def get_one(self, id):
        return one_visible(self.get_query().options(
            selectinload(SupplierBill.lines).joinedload(SupplierBillLine.product)),
            SupplierBill, id)

    # -- the record page ------------------------------------------------------------------

    def detail_buttons(self, bill):
        if bill.state in UNPAID_STATES and open_amount(bill) > 0 and permissions.permits(
                current_user, "SupplierPayment", "c"):
            return [{"label": _("Register payment"), "icon": "fa-money",
                     "url": url_for("supplier_payment.create_view", bill=bill.id,
                                    url=request.full_path)}]
        return []

    def detail_panels(self, bill):
        payments = permissions.apply_rules(
            bill.payments.order_by(SupplierPayment.payment_date.desc(),
                                   SupplierPayment.id.desc()),
            SupplierPayment).limit(PANEL_ROWS).all()
        own = [
            lines_panel(bill, 1, css="crm-bill-lines"),
            {"title": _("Payments"), "order": 2, "width": "col-12", "html": Markup(
                render_template("crm_purchase/bill_payments.html", bill=bill,
                                payments=payments, open=open_amount(bill),
                                amount=amount_text))},
        ]
        return own + super().detail_panels(bill)

    # -- the header form ---------------------------------------------------------------------

    def validate_form(self, form):
        if not super().validate_form(form):
            return False
        if "bill_date" not in form or "due_date" not in form:   # the delete form
            return True
        bill_date, due_date = form.bill_date.data, form.due_date.data
        if bill_date and due_date and due_date < bill_date:
            form.due_date.errors.append(_("The due date cannot be before the bill date."))
            return False
        return True

    def on_model_change(self, form, model, is_created):
        keep_an_owner(model)

    def on_model_delete(self, bill):
        if db.session.scalar(select(func.count()).where(SupplierPayment.bill_id == bill.id)):
            raise ValidationError(_("This bill has payments: delete them first."))
        recompute_billed({line.order_line_id for line in bill.lines if line.order_line_id},
                         excluding_bill=bill.id)

    # -- the page that makes a bill from an order ----------------------------------------------

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        order_id = next(iter(int_ids([request.values.get("order", "")])), None)
        if order_id is None:
            return self._order_picker()
        order = self._visible_order(order_id, lock=request.method == "POST")
        refusal = order_allows(order)
        if refusal:
            flash(refusal, "error")
            return redirect(self.get_url(".create_view"))
        basis = BASES.get(request.values.get("basis"), BASES["received"])
        values = {"bill_date": date.today().isoformat(), "due_date": "",
                  "supplier_invoice": "", "notes": ""}
        quantities = {line.id: quantity_text(available(line, basis)) for line in order.lines}
        errors = {}
        if request.method == "POST":
            values, quantities, errors = self._read_form(order, basis)
            if not errors:
                bill = self._save(order, basis, values, quantities)
                flash(_("%(document)s saved.", document=bill.number), "success")
                return redirect(self.get_url(".details_view", id=bill.id))
            db.session.rollback()
            flash(_("Nothing was saved: correct the marked fields."), "error")
        return self.render(
            "crm_purchase/bill_create.html", order=order, basis=basis, bases=BASES,
            values=values, quantities=quantities, errors=errors,
            lines=list(enumerate(order.lines, start=1)),
            left=lambda line: available(line, basis), quantity=quantity_text,
            amount=amount_text,
            default_due=self._default_due(order, date.today()),
            payment_days=order.supplier.payment_days)

    def _order_picker(self):
        """No order chosen: the user types its number or picks a recent one with
        something left to bill (?supplier=ID: that supplier's)."""
        number = request.args.get("number", "").strip()
        if number:
            found = db.session.scalar(permissions.apply_rules(
                select(PurchaseOrder.id).where(PurchaseOrder.number == number), PurchaseOrder))
            if found is not None:
                return redirect(self.get_url(".create_view", order=found))
            flash(_("No order %(number)s that you may see.", number=number), "error")
        left_to_bill = exists().where(
            PurchaseOrderLine.order_id == PurchaseOrder.id,
            or_(PurchaseOrderLine.quantity > PurchaseOrderLine.billed,
                PurchaseOrderLine.received - PurchaseOrderLine.returned
                > PurchaseOrderLine.billed))
        statement = permissions.apply_rules(select(PurchaseOrder), PurchaseOrder).where(
            PurchaseOrder.state.in_(BILLABLE_ORDER_STATES), left_to_bill)
        supplier_id = next(iter(int_ids([request.args.get("supplier", "")])), None)
        if supplier_id is not None:
            statement = statement.where(PurchaseOrder.supplier_id == supplier_id)
        candidates = db.session.scalars(
            statement.options(joinedload(PurchaseOrder.supplier).joinedload(Supplier.customer))
            .order_by(PurchaseOrder.id.desc()).limit(PICKER_ROWS)).all()
        return self.render("crm_purchase/bill_create.html", order=None, candidates=candidates,
                           number=number)

    def _visible_order(self, order_id, lock=False):
        statement = permissions.apply_rules(select(PurchaseOrder), PurchaseOrder).where(
            PurchaseOrder.id == order_id).options(
            selectinload(PurchaseOrder.lines).joinedload(PurchaseOrderLine.product),
            joinedload(PurchaseOrder.supplier).joinedload(Supplier.customer))
        if lock:
            # Two bills of one order at once: the second waits here, then checks
            # against what the first billed (PostgreSQL; SQLite writes one at a time).
            statement = statement.with_for_update(of=PurchaseOrder).execution_options(
                populate_existing=True)
        order = db.session.scalars(statement).unique().one_or_none()
        if order is None:
            abort(404)
        return order

    @staticmethod
    def _default_due(order, bill_date):
        return bill_date + timedelta(days=order.supplier.payment_days or 0)

    def _read_form(self, order, basis):
        """(values, quantities, errors) from the posted form; errors keyed by field
        name or order line id."""
        errors = {}
        values = {"supplier_invoice": request.form.get("supplier_invoice", "").strip()[:60],
                  "notes": request.form.get("notes", "").strip()[:LONG_TEXT],
                  "bill_date": request.form.get("bill_date", "").strip(),
                  "due_date": request.form.get("due_date", "").strip()}
        dates = {}
        for name in ("bill_date", "due_date"):
            if not values[name] and name == "due_date":
                continue
            try:
                dates[name] = date.fromisoformat(values[name])
            except ValueError:
                errors[name] = _("Enter a date as YYYY-MM-DD.")
        if "bill_date" in dates and dates.get("due_date") and \
                dates["due_date"] < dates["bill_date"]:
            errors["due_date"] = _("The due date cannot be before the bill date.")
        quantities = {}
        for position, line in enumerate(order.lines, start=1):
            raw = request.form.get(f"quantity-{line.id}", "")
            value, problem = parse_quantity(raw)
            quantities[line.id] = raw.strip()
            if problem is None and value is not None:
                left = available(line, basis)
                if value < 0:
                    problem = _("The quantity cannot be negative.")
                elif value > left:
                    problem = too_much(line_label(line, position), basis, left)
            if problem:
                errors[line.id] = problem
        if not any(isinstance(key, int) for key in errors) and \
                not any(parse_quantity(q)[0] for q in quantities.values()):
            errors["lines"] = _("Enter a quantity on at least one line.")
        return values, quantities, errors

    def _save(self, order, basis, values, quantities):
        bill_date = date.fromisoformat(values["bill_date"])
        due_date = date.fromisoformat(values["due_date"]) if values["due_date"] \
            else self._default_due(order, bill_date)
        bill = SupplierBill(order=order, supplier=order.supplier, basis=basis,
                            bill_date=bill_date, due_date=due_date,
                            supplier_invoice=values["supplier_invoice"] or None,
                            notes=values["notes"] or None)
        with db.session.no_autoflush:
            bill.owner = permissions.assignable(current_user, SupplierBill, order.owner) \
                or current_user._get_current_object()
        for line in order.lines:
            value, _problem = parse_quantity(quantities.get(line.id))
            if value:
                bill.lines.append(SupplierBillLine(
                    order_line=line, product=line.product, sequence=line.sequence,
                    description=line.description or (line.product.name if line.product else ""),
                    quantity=value, unit_price=line.unit_price, discount=line.discount,
                    tax_rate=line.tax_rate))
        db.session.add(bill)
        db.session.flush()
        recompute_billed({line.order_line_id for line in bill.lines})
        db.session.commit()
        return bill


# -- payments made ------------------------------------------------------------------------------

def in_cents(form, field):
    """An amount of whole cents (an empty field holds the column's default, an int)."""
    if field.data is not None and money.to_decimal(field.data) != money.cents(field.data):
        raise ValidationError(_("At most two decimals."))


def refuse(field, message):
    """Mark the form's field and stop the save (Flask-Admin rolls back)."""
    field.errors.append(message)
    raise ValidationError(message)


class PaymentView(ModelView):
    """Money paid to a supplier: against one bill (partial payments add up, never more
    than is open on it) or on account. Each save settles the bills it touches."""

    allow_import = False   # each payment settles its bill on this screen
    column_list = ["number", "payment_date", "supplier", "bill", "amount", "method",
                   "reference", "owner"]
    column_sortable_list = ["number", "payment_date", ("supplier", "supplier.code"), "amount",
                            "method", ("owner", "owner.username")]
    column_searchable_list = ["number", "reference", "supplier.code"]
    column_filters = ["number", "payment_date", "amount", "method", "supplier.code",
                      "bill.number", "owner.username"]
    column_details_list = ["number", "supplier", "bill", "payment_date", "amount", "method",
                           "reference", "notes", "owner", "created_at"]
    form_columns = ["supplier", "bill", "payment_date", "amount", "method", "reference",
                    "notes", "owner"]
    form_ajax_refs = {"supplier": {"fields": ["code"], "page_size": 10},
                      "bill": {"fields": ["number", "supplier_invoice"], "page_size": 10},
                      "owner": {"fields": ["username"], "page_size": 10}}
    form_args = {"amount": {"validators": [
        more_than_zero(_l("The amount must be more than 0.")), in_cents,
        at_most(LARGEST_AMOUNT)]}}
    column_default_sort = ("id", True)
    column_formatters = {"amount": _amount("amount")}
    column_formatters_detail = column_formatters

    def get_query(self):
        return super().get_query().options(
            joinedload(SupplierPayment.supplier).joinedload(Supplier.customer),
            joinedload(SupplierPayment.bill), joinedload(SupplierPayment.owner))

    def create_form(self, obj=None):
        """?bill=ID (a bill's "Register payment"): its supplier and what is open on it;
        ?supplier=ID: that supplier, for a payment on account."""
        form = super().create_form(obj)
        if request.method != "GET":
            return form
        bill_id = next(iter(int_ids([request.args.get("bill", "")])), None)
        supplier_id = next(iter(int_ids([request.args.get("supplier", "")])), None)
        if bill_id is not None:
            bill = scoped_query(SupplierBill, SupplierPayment).filter(
                SupplierBill.id == bill_id).one_or_none()
            if bill is not None:
                form.bill.data, form.supplier.data = bill, bill.supplier
                if open_amount(bill) > 0:
                    form.amount.data = open_amount(bill)
        elif supplier_id is not None:
            form.supplier.data = scoped_query(Supplier, SupplierPayment).filter(
                Supplier.id == supplier_id).one_or_none()
        return form

    def update_model(self, form, model):
        # The bill before the form changes it: it is settled again too.
        g.payables_previous_bill = model.bill_id
        return super().update_model(form, model)

    def on_model_change(self, form, payment, is_created):
        previous = None if is_created else g.pop("payables_previous_bill", None)
        with db.session.no_autoflush:
            if payment.amount is None or payment.amount <= 0:
                refuse(form.amount, _("The amount must be more than 0."))
            bill = self._checked_bill(form, payment)
            if is_created and payment.owner is None:
                payment.owner = permissions.assignable(
                    current_user, SupplierPayment, bill.owner if bill is not None else None)
        keep_an_owner(payment)
        db.session.flush()
        if bill is not None:
            settle_bill(bill)
        if previous is not None and (bill is None or previous != bill.id):
            settle_bill(locked_bill(previous))

    def _checked_bill(self, form, payment):
        """The payment's bill, locked, once the payment fits it; None on account."""
        if payment.bill is None:
            return None
        bill = locked_bill(payment.bill.id)
        if payment.supplier is not None and bill.supplier_id != payment.supplier.id:
            refuse(form.bill, _("Bill %(number)s belongs to another supplier.",
                                number=bill.number))
        if bill.state == "cancelled":
            refuse(form.bill, _("Bill %(number)s is cancelled.", number=bill.number))
        left = money.cents(money.to_decimal(bill.total) - paid_on(bill.id, payment.id))
        if money.to_decimal(payment.amount) > left:
            refuse(form.amount, _(
                "This payment of %(amount)s is more than the %(open)s still open on bill "
                "%(number)s.", amount=amount_text(payment.amount), open=amount_text(left),
                number=bill.number))
        return bill

    def on_model_delete(self, payment):
        if payment.bill_id is not None:
            settle_bill(locked_bill(payment.bill_id), excluding_payment=payment.id)


# -- balances and aged payables -------------------------------------------------------------------

Payables = namedtuple("Payables", "supplier_id code name current days_31_60 days_61_90 "
                                  "over_90 open on_account billed paid balance")


def payables_statement(user=None, as_of=None, supplier_id=None, search=None, only_open=False):
    """One row per supplier: the open amount of its bills by days past due (0-30, not
    yet due included; 31-60; 61-90; over 90) and in all, its payments on account,
    what was billed and paid, and the balance (billed - paid); all by GROUP BY.

    Bills: those the user may read, not cancelled, each open for its total less every
    payment on it. Payments on account: those the user may read. ``as_of``: the day
    the ages count from; bills and payments after it are left out (None: today, all)."""
    day = as_of or date.today()
    on_bills = [SupplierPayment.bill_id.is_not(None)]
    on_account_only = [SupplierPayment.bill_id.is_(None)]
    bill_conditions = [SupplierBill.state != "cancelled"]
    if as_of is not None:
        on_bills.append(SupplierPayment.payment_date <= as_of)
        on_account_only.append(SupplierPayment.payment_date <= as_of)
        bill_conditions.append(SupplierBill.bill_date <= as_of)
    paid_by_bill = (select(SupplierPayment.bill_id, func.sum(SupplierPayment.amount)
                           .label("amount"))
                    .where(*on_bills).group_by(SupplierPayment.bill_id).subquery())
    paid = func.coalesce(paid_by_bill.c.amount, 0)
    left = SupplierBill.total - paid
    due = due_day()
    limits = [day - timedelta(days=days) for days in AGE_LIMITS]

    def aged(*conditions):
        return func.sum(case((and_(*conditions), left), else_=literal(0)))

    bills = permissions.apply_rules(
        select(SupplierBill.supplier_id.label("supplier_id"),
               aged(due >= limits[0]).label("current"),
               aged(due < limits[0], due >= limits[1]).label("days_31_60"),
               aged(due < limits[1], due >= limits[2]).label("days_61_90"),
               aged(due < limits[2]).label("over_90"),
               func.sum(left).label("open"), func.sum(SupplierBill.total).label("billed"),
               func.sum(paid).label("paid"))
        .outerjoin(paid_by_bill, paid_by_bill.c.bill_id == SupplierBill.id)
        .where(*bill_conditions).group_by(SupplierBill.supplier_id), SupplierBill, user).subquery()
    on_account = permissions.apply_rules(
        select(SupplierPayment.supplier_id.label("supplier_id"),
               func.sum(SupplierPayment.amount).label("amount"))
        .where(*on_account_only).group_by(SupplierPayment.supplier_id),
        SupplierPayment, user).subquery()
    keys = union(select(bills.c.supplier_id), select(on_account.c.supplier_id)).subquery()

    def zero_if_none(column):
        return func.coalesce(column, 0)

    open_total = zero_if_none(bills.c.open)
    account = zero_if_none(on_account.c.amount)
    billed, paid_total = zero_if_none(bills.c.billed), zero_if_none(bills.c.paid) + account
    statement = (
        select(Supplier.id.label("supplier_id"), Supplier.code.label("code"),
               Customer.name.label("name"),
               *(zero_if_none(bills.c[name]).label(name)
                 for name in ("current", "days_31_60", "days_61_90", "over_90")),
               open_total.label("open"), account.label("on_account"), billed.label("billed"),
               paid_total.label("paid"), (billed - paid_total).label("balance"))
        .select_from(keys)
        .join(Supplier, Supplier.id == keys.c.supplier_id)
        .join(Customer, Customer.id == Supplier.customer_id)
        .outerjoin(bills, bills.c.supplier_id == keys.c.supplier_id)
        .outerjoin(on_account, on_account.c.supplier_id == keys.c.supplier_id))
    if supplier_id is not None:
        statement = statement.where(Supplier.id == supplier_id)
    if only_open:
        statement = statement.where(or_(open_total > HALF_CENT, account > HALF_CENT))
    if search:
        statement = statement.where(or_(Customer.name.icontains(search, autoescape=True),
                                        Supplier.code.icontains(search, autoescape=True)))
    return statement


def as_payables(row):
    return Payables(row.supplier_id, row.code, row.name,
                    *(money.cents(getattr(row, name)) for name in Payables._fields[3:]))


def supplier_payables(supplier_id, user=None):
    """A supplier's row of payables_statement, or None without bills or payments."""
    row = db.session.execute(payables_statement(user, supplier_id=supplier_id)).first()
    return as_payables(row) if row else None


def largest_first(statement):
    columns = statement.selected_columns
    return columns["open"].desc(), columns["name"], columns["supplier_id"]


class AgedPayablesView(ModelView):
    """What the company owes each supplier, by how long it is past due: one SQL GROUP
    BY over the bills (and payments on account) the user may read, largest first."""

    allow_create = allow_edit = allow_delete = allow_import = False
    can_view_details = False

    def _query_args(self):
        """(as of date or None, its text, search text, error or None)."""
        text = request.args.get("as_of", "").strip()[:10]
        as_of, error = None, None
        if text:
            try:
                as_of = date.fromisoformat(text)
            except ValueError:
                error = _("Enter a date as YYYY-MM-DD.")
        return as_of, text, request.args.get("search", "").strip()[:100], error

    def _link_args(self):
        as_of, text, search, error = self._query_args()
        return {key: value for key, value in (("as_of", text if not error else ""),
                                              ("search", search)) if value}

    def _statement(self):
        as_of, _text, search, _error = self._query_args()
        return payables_statement(as_of=as_of, search=search or None, only_open=True)

    @expose("/")
    def index_view(self):
        as_of, as_of_text, search, error = self._query_args()
        if error:
            flash(error, "error")
        page = max(next(iter(int_ids([request.args.get("page", "")])), 0), 0)
        statement = self._statement()
        rows = statement.subquery()
        totals = db.session.execute(select(func.count(), *(
            func.coalesce(func.sum(rows.c[name]), 0) for name in Payables._fields[3:]))).one()
        count = totals[0]
        found = [as_payables(row) for row in db.session.execute(
            statement.order_by(*largest_first(statement))
            .limit(self.page_size).offset(page * self.page_size))]
        pages = max((count + self.page_size - 1) // self.page_size, 1)
        return self.render(
            "crm_purchase/payables_aged.html", rows=found, count=count, page=page,
            pages=pages, totals=Payables(None, None, None,
                                         *(money.cents(value) for value in totals[1:])),
            amount=amount_text, as_of=as_of_text, day=(as_of or date.today()).isoformat(),
            search=search, bills_url=bills_url,
            page_url=lambda number: self.get_url(".index_view", page=number,
                                                 **self._link_args()),
            export_urls={fmt: self.get_url(".export", export_type=fmt, **self._link_args())
                         for fmt in ("csv", "xlsx")},
            can_export=self.permits("x"),
            supplier_link=permissions.permits(current_user, "Supplier", "r"))

    @expose("/export/<export_type>/")
    def export(self, export_type):
        """The aged payables as CSV or XLSX (needs the export letter, like any list)."""
        if export_type not in ("csv", "xlsx"):
            abort(404)
        as_of = self._query_args()[0] or date.today()   # the file is named for its day
        statement = self._statement()
        statement = statement.order_by(*largest_first(statement))
        headers = [_("Supplier code"), _("Supplier"), _("0-30 days"), _("31-60 days"),
                   _("61-90 days"), _("Over 90 days"), _("Open bills"), _("Paid on account"),
                   _("Balance")]
        rows = ([p.code, p.name, p.current, p.days_31_60, p.days_61_90, p.over_90, p.open,
                 p.on_account, p.balance]
                for p in map(as_payables, db.session.execute(statement)))
        return exporting.response(
            export_type, f"aged_payables_{as_of.isoformat()}.{export_type}", headers,
            rows)
