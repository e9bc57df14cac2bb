"""Sales orders, deliveries, returns, payments and balances.

Every figure derived from other documents (what was returned or paid on an order, a
customer's balance) is worked out in SQL, within the record rules of each model summed:
a user sees the amounts of the deliveries, returns and payments they may read, and
never a total that includes a record they cannot open. Documents made from an order
belong, by default, to the order's owner, so a salesperson's own orders add up."""
from collections import namedtuple
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, case, exists, func, literal, select, union, update
from sqlalchemy.orm import joinedload, selectinload
from wtforms.validators import ValidationError

from addons.crm_contacts.models import Customer
from addons.crm_contacts.views import prefill_customer
from addons.crm_sales import money
from addons.crm_sales.money import amount_text
from addons.crm_sales.models import (CustomerReturn, Delivery, DeliveryLine, OrderLine,
                                     Payment, ReturnLine, SalesOrder)
from addons.crm_sales.lines import (LineInline, LinesFormMixin, LinesTable, check_lines,
                                    drop_deleted_lines, fill_line_defaults, lines_panel)
from core import exporting, hooks, permissions
from core.admin import FormWarning, ModelView, scoped_query
from core.db import db
from core.i18n import label, lazy_label, mark
from core.util import int_ids

# How far an order has been delivered, as shown in lists (stored nowhere: derived from
# its lines' delivered quantities).
NOT_DELIVERED, PARTLY, FULLY = mark("not delivered"), mark("partly delivered"), \
    mark("fully delivered")
# A sum of Numeric columns comes back from SQLite as a float: 0.1 + 0.2 - 0.3 is not 0
# there. Half a cent is the smallest amount that counts as "still due".
HALF_CENT = Decimal("0.005")
QUANTUM = Decimal("0.001")   # quantities carry three decimals
PANEL_ROWS = 20              # documents listed on an order's page, per kind
PICKER_ROWS = 50             # orders offered on the page that starts a delivery or return
LONG_TEXT = 5000             # characters kept of a note typed on those pages


# -- formatting ---------------------------------------------------------------------------

def quantity_text(value):
    """10.000 -> '10', 2.500 -> '2.5'."""
    value = money.to_decimal(value or 0)
    return f"{value.normalize():f}" if value else "0"


def line_label(line, position):
    """How an order line is named in messages: '2. Widget'."""
    text = line.description or (line.product.name if line.product else "")
    return f"{position}. {text}".strip()


# -- figures in SQL, within the record rules of what is summed -----------------------------

def returned_total(order_id, user=None):
    """The credited amount of the returns on ``order_id`` the user may read, as a
    correlated scalar subquery (0 without any)."""
    statement = select(func.coalesce(func.sum(CustomerReturn.amount), 0)).where(
        CustomerReturn.order_id == order_id)
    return permissions.apply_rules(statement, CustomerReturn, user).scalar_subquery()


def paid_total(order_id, user=None, excluding_payment=None):
    statement = select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.order_id == order_id)
    if excluding_payment is not None:
        statement = statement.where(Payment.id != excluding_payment)
    return permissions.apply_rules(statement, Payment, user).scalar_subquery()


def amount_due(user=None, excluding_payment=None):
    """An order's amount due: total - returns - payments (nothing on a cancelled
    order), for use in a statement over SalesOrder."""
    return case((SalesOrder.state == "cancelled", literal(Decimal(0))),
                else_=SalesOrder.total - returned_total(SalesOrder.id, user)
                - paid_total(SalesOrder.id, user, excluding_payment))


def delivery_state(delivered, open_lines):
    if not delivered:
        return NOT_DELIVERED
    return PARTLY if open_lines else FULLY


Figures = namedtuple("Figures", "returned paid due delivery")


def order_figures(ids):
    """{order id: Figures} for the given orders, in one statement; kept for the rest of
    the request, so a list page and its formatters ask once."""
    cache = g.setdefault("sales_order_figures", {})
    missing = [i for i in ids if i not in cache]
    if missing:
        delivered = select(func.coalesce(func.sum(OrderLine.delivered), 0)).where(
            OrderLine.order_id == SalesOrder.id).scalar_subquery()
        open_lines = select(func.count()).where(
            OrderLine.order_id == SalesOrder.id,
            OrderLine.delivered < OrderLine.quantity).scalar_subquery()
        rows = db.session.execute(select(
            SalesOrder.id, returned_total(SalesOrder.id), paid_total(SalesOrder.id),
            amount_due(), delivered, open_lines).where(SalesOrder.id.in_(missing)))
        for order_id, returned, paid, due, delivered_sum, open_count in rows:
            cache[order_id] = Figures(money.cents(returned), money.cents(paid),
                                      money.cents(due), delivery_state(delivered_sum, open_count))
    return {i: cache[i] for i in ids if i in cache}


def figures_of(order):
    return order_figures([order.id])[order.id]


def due_of(order, excluding_payment=None):
    """The amount due on one order, as the user may see it."""
    return money.cents(db.session.scalar(
        select(amount_due(excluding_payment=excluding_payment))
        .where(SalesOrder.id == order.id)) or 0)


def recompute_delivered(line_ids, excluding_delivery=None):
    """OrderLine.delivered = the sum of its delivery lines, in SQL, in the caller's
    transaction (every delivery counts, whoever owns it: this is the goods' state)."""
    condition = DeliveryLine.order_line_id == OrderLine.id
    if excluding_delivery is not None:
        condition = and_(condition, DeliveryLine.delivery_id != excluding_delivery)
    total = select(func.coalesce(func.sum(DeliveryLine.quantity), 0)).where(condition)
    _update_lines(line_ids, delivered=total.scalar_subquery())


def recompute_returned(line_ids, excluding_return=None):
    condition = ReturnLine.order_line_id == OrderLine.id
    if excluding_return is not None:
        condition = and_(condition, ReturnLine.return_id != excluding_return)
    total = select(func.coalesce(func.sum(ReturnLine.quantity), 0)).where(condition)
    _update_lines(line_ids, returned=total.scalar_subquery())


def _update_lines(line_ids, **values):
    if not line_ids:
        return
    db.session.flush()
    db.session.execute(update(OrderLine).where(OrderLine.id.in_(list(line_ids))).values(**values)
                       .execution_options(synchronize_session=False))
    for line in db.session.identity_map.values():
        if isinstance(line, OrderLine) and line.id in line_ids:
            db.session.expire(line, list(values))


def credit_of(order_line, quantity):
    """What returning ``quantity`` of a line credits: its share of the line's total
    (net, with tax), rounded half-up to cents. Worked out per line as quantity x total /
    ordered, so returning all of a line credits exactly its total."""
    ordered = money.to_decimal(order_line.quantity)
    if not ordered:
        return Decimal("0.00")
    return money.cents(money.to_decimal(quantity) * money.to_decimal(order_line.total) / ordered)


# -- balances ---------------------------------------------------------------------------------

def balance_statement(user=None, customer_id=None, only_outstanding=False, search=None):
    """One row per customer: customer_id, name, orders_total, returns, paid,
    outstanding, oldest_unpaid; all by GROUP BY, each model within its record rules.

    Orders total: the user's readable orders that are not cancelled; returns: the
    readable returns on such orders; paid: every readable payment of the customer, on
    an order or on account. Oldest unpaid: the date of the oldest readable order with
    an amount still due (payments on account are not allotted to orders)."""
    live = SalesOrder.state != "cancelled"
    returns_by_order = permissions.apply_rules(
        select(CustomerReturn.order_id, func.sum(CustomerReturn.amount).label("amount"))
        .group_by(CustomerReturn.order_id), CustomerReturn, user).subquery()
    paid_by_order = permissions.apply_rules(
        select(Payment.order_id, func.sum(Payment.amount).label("amount"))
        .where(Payment.order_id.is_not(None)).group_by(Payment.order_id), Payment, user).subquery()
    due = (SalesOrder.total - func.coalesce(returns_by_order.c.amount, 0)
           - func.coalesce(paid_by_order.c.amount, 0))
    orders = permissions.apply_rules(
        select(SalesOrder.customer_id,
               func.sum(SalesOrder.total).label("total"),
               func.min(case((due > HALF_CENT, SalesOrder.order_date))).label("oldest"))
        .outerjoin(returns_by_order, returns_by_order.c.order_id == SalesOrder.id)
        .outerjoin(paid_by_order, paid_by_order.c.order_id == SalesOrder.id)
        .where(live).group_by(SalesOrder.customer_id), SalesOrder, user).subquery()
    returns = permissions.apply_rules(
        select(SalesOrder.customer_id, func.sum(CustomerReturn.amount).label("amount"))
        .join(CustomerReturn.order).where(live).group_by(SalesOrder.customer_id),
        CustomerReturn, user).subquery()
    payments = permissions.apply_rules(
        select(Payment.customer_id, func.sum(Payment.amount).label("amount"))
        .group_by(Payment.customer_id), Payment, user).subquery()
    keys = union(select(orders.c.customer_id), select(returns.c.customer_id),
                 select(payments.c.customer_id)).subquery()
    orders_total = func.coalesce(orders.c.total, 0)
    returned = func.coalesce(returns.c.amount, 0)
    paid = func.coalesce(payments.c.amount, 0)
    outstanding = orders_total - returned - paid
    statement = (select(Customer.id.label("customer_id"), Customer.name.label("name"),
                        orders_total.label("orders_total"), returned.label("returns"),
                        paid.label("paid"), outstanding.label("outstanding"),
                        orders.c.oldest.label("oldest_unpaid"))
                 .select_from(keys)
                 .join(Customer, Customer.id == keys.c.customer_id)
                 .outerjoin(orders, orders.c.customer_id == keys.c.customer_id)
                 .outerjoin(returns, returns.c.customer_id == keys.c.customer_id)
                 .outerjoin(payments, payments.c.customer_id == keys.c.customer_id))
    if customer_id is not None:
        statement = statement.where(Customer.id == customer_id)
    if only_outstanding:
        statement = statement.where(outstanding > HALF_CENT)
    if search:
        statement = statement.where(Customer.name.contains(search, autoescape=True))
    return statement


Balance = namedtuple("Balance", "customer_id name orders_total returns paid outstanding "
                                "oldest_unpaid")


def as_balance(row):
    return Balance(row.customer_id, row.name, money.cents(row.orders_total),
                   money.cents(row.returns), money.cents(row.paid),
                   money.cents(row.outstanding), _as_date(row.oldest_unpaid))


def _as_date(value):
    # min() over a CASE loses the column type on SQLite, which then answers text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def customer_balance(customer_id, user=None):
    row = db.session.execute(balance_statement(user, customer_id=customer_id)).first()
    return as_balance(row) if row else None


# -- form checks --------------------------------------------------------------------------
# Messages are given lazily (module level) and raised as text: Flask-Admin shows a
# field's error only when it is a str.

def more_than_zero(message):
    def check(form, field):
        if field.data is not None and field.data <= 0:
            raise ValidationError(str(message))
    return check


# A quantity column holds 9 digits before the point (Numeric(12, 3)).
LARGEST_QUANTITY = Decimal(10) ** 9


def parse_quantity(text):
    """(Decimal or None, error text or None) from what a user typed; blank is None."""
    text = (text or "").strip()
    if not text:
        return None, None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, _("Not a number.")
    if not value.is_finite():
        return None, _("Not a number.")
    if abs(value) >= LARGEST_QUANTITY:
        return None, _("That quantity is too large.")
    if value != value.quantize(QUANTUM):
        return None, _("At most three decimals.")
    return value, None


# -- filters of the order list -------------------------------------------------------------

class ConditionFilter(BaseSQLAFilter):
    """A list filter whose options each stand for an SQL condition on the order.
    ``url_name`` names it in links (flt0_delivery_is=fully) in every language."""

    def __init__(self, url_name, name, label, conditions):
        self.url_name = url_name
        self.conditions = conditions   # {option value: function() -> condition}
        super().__init__(SalesOrder.id, name, options=[(key, label_) for key, (label_, _f)
                                                       in conditions.items()])
        self.label = label

    def apply(self, query, value, alias=None):
        _label, condition = self.conditions.get(value, (None, None))
        return query.filter(condition()) if condition else query

    def operation(self):
        return self.label

    def clean(self, value):
        return value


def _lines(*conditions):
    return exists().where(OrderLine.order_id == SalesOrder.id, *conditions)


DELIVERY_CONDITIONS = {
    "none": (lazy_label(NOT_DELIVERED), lambda: ~_lines(OrderLine.delivered > 0)),
    "partly": (lazy_label(PARTLY), lambda: and_(
        _lines(OrderLine.delivered > 0), _lines(OrderLine.delivered < OrderLine.quantity))),
    "fully": (lazy_label(FULLY), lambda: and_(
        _lines(OrderLine.delivered > 0), ~_lines(OrderLine.delivered < OrderLine.quantity))),
}
DUE_CONDITIONS = {
    "yes": (_l("yes"), lambda: amount_due() > HALF_CENT),
    "no": (_l("no"), lambda: amount_due() <= HALF_CENT),
}


# -- orders ------------------------------------------------------------------------------------

def keep_an_owner(record):
    """A form whose owner was emptied gives the record to the user saving it, as on
    creation: a record without an owner would fall out of everyone's own scope."""
    if record.owner is None:
        record.owner = current_user._get_current_object()


def one_visible(query, model, record_id):
    """The record of ``query`` (already within the rules) with that id, else 404."""
    ids = int_ids([record_id])
    record = query.filter(model.id == ids[0]).one_or_none() if ids else None
    if record is None:
        abort(404)
    return record


def cancel_condition(order, _target):
    """The workflow's condition on "cancel": why the order cannot be cancelled, or
    None. Deliveries and payments count whoever recorded them: the order's goods and
    money are real either way."""
    if db.session.scalar(select(func.count()).where(OrderLine.order_id == order.id,
                                                    OrderLine.delivered > 0)):
        return _("Goods of this order have been delivered: it cannot be cancelled.")
    if db.session.scalar(select(func.count()).where(Payment.order_id == order.id)):
        return _("This order has payments: it cannot be cancelled.")
    return None


def lines_locked(order):
    """Why an order's lines cannot change any more, or None."""
    if order.state != "open":
        return _("The order is %(state)s: its lines can no longer be changed.",
                 state=label(order.state))
    if any(line.delivered for line in order.lines):
        return _("Goods of this order have been delivered: its lines can no longer be "
                 "changed. Return goods with a customer return instead.")
    return None


class OrderView(LinesFormMixin, ModelView):
    """Sales orders: made from an accepted quote, or entered directly. The detail page
    shows what was delivered, returned and paid, and what is due."""

    column_list = ["number", "customer", "order_date", "state", "total", "delivery",
                   "amount_due", "owner"]
    column_labels = {"delivery": _l("Delivery status"), "amount_due": _l("Amount due"),
                     "returned_amount": _l("Returned amount"), "paid": _l("Paid")}
    column_sortable_list = ["number", ("customer", "customer.name"), "order_date", "state",
                            "total", ("owner", "owner.username")]
    column_searchable_list = ["number", "customer.name"]
    column_filters = ["number", "customer.name", "order_date", "state", "total",
                      "owner.username",
                      ConditionFilter("delivery_is", _l("Delivery status"), _l("is"),
                                      DELIVERY_CONDITIONS),
                      ConditionFilter("due_remains", _l("Amount due"), _l("remains"),
                                      DUE_CONDITIONS)]
    column_export_list = ["number", "customer", "order_date", "state", "currency", "subtotal",
                          "tax", "total", "owner"]
    column_details_list = ["number", "customer", "quote", "order_date", "state", "currency",
                           "subtotal", "tax", "total", "returned_amount", "paid",
                           "amount_due", "owner", "notes", "created_at"]
    form_columns = ["customer", "order_date", "currency", "notes", "owner", "lines"]
    column_default_sort = ("id", True)

    form_args = {"lines": {"widget": LinesTable("order_date")}}
    inline_models = [LineInline(OrderLine)]

    # -- the list: the page's figures in one query ------------------------------------------

    def get_filter_arg(self, index, flt):
        if isinstance(flt, ConditionFilter):
            return flt.url_name
        return super().get_filter_arg(index, flt)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute, page_size=page_size)
        if execute and rows:
            order_figures([row.id for row in rows])
        return count, rows

    def get_query(self):
        return super().get_query().options(joinedload(SalesOrder.customer),
                                           joinedload(SalesOrder.owner))

    def get_one(self, id):
        """One order with its lines and their products (the detail page shows them)."""
        return one_visible(self.get_query().options(
            selectinload(SalesOrder.lines).joinedload(OrderLine.product)), SalesOrder, id)

    column_formatters = {
        "total": lambda view, context, order, name: amount_text(order.total),
        "delivery": lambda view, context, order, name: label(figures_of(order).delivery),
        "amount_due": lambda view, context, order, name: amount_text(figures_of(order).due),
    }
    column_formatters_detail = {
        **column_formatters,
        "subtotal": lambda view, context, order, name: amount_text(order.subtotal),
        "tax": lambda view, context, order, name: amount_text(order.tax),
        "returned_amount": lambda view, context, order, name:
            amount_text(figures_of(order).returned),
        "paid": lambda view, context, order, name: amount_text(figures_of(order).paid),
    }

    # -- the form: lines checked, defaults filled, locked once delivered ----------------

    def create_form(self, obj=None):
        """?customer=ID (the customer page's "New order") fills in the customer."""
        return prefill_customer(super().create_form(obj))

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        reason = lines_locked(obj) if obj is not None else None
        if reason:
            # No lines in the form: nothing the browser posts can change them.
            del form.lines
            if request.method == "GET":
                flash(reason, "info")
        return form

    def validate_form(self, form):
        order = self.edited_record()
        if getattr(form, "lines", None) is None and order is not None and any(
                key.startswith("lines-") for key in request.form):
            flash(lines_locked(order) or _("The lines cannot be changed."), "error")
            return False
        if not super().validate_form(form):
            return False
        return getattr(form, "lines", None) is None or check_lines(form)   # (None: locked)

    def on_model_change(self, form, model, is_created):
        drop_deleted_lines(db.session, model)
        fill_line_defaults(db.session, model.lines, model.customer, model.order_date)
        keep_an_owner(model)

    def on_model_delete(self, model):
        if model.deliveries.count() or model.returns.count() or model.payments.count():
            raise ValidationError(_("This order has deliveries, returns or payments; "
                                    "cancel it instead of deleting it."))

    # -- the detail page ----------------------------------------------------------------------

    def detail_buttons(self, order):
        figures = figures_of(order)
        remaining = any(line.quantity > line.delivered for line in order.lines)
        returnable = any(line.delivered > line.returned for line in order.lines)
        buttons = []
        if order.state == "open" and remaining and permissions.permits(
                current_user, "Delivery", "c"):
            buttons.append({"label": _("Deliver"), "icon": "fa-truck",
                            "url": url_for("delivery.create_view", order=order.id)})
        if order.state != "cancelled" and figures.due > 0 and permissions.permits(
                current_user, "Payment", "c"):
            buttons.append({"label": _("Register payment"), "icon": "fa-money",
                            "url": url_for("payment.create_view", order=order.id)})
        if order.state != "cancelled" and returnable and permissions.permits(
                current_user, "CustomerReturn", "c"):
            buttons.append({"label": _("Customer return"), "icon": "fa-undo",
                            "url": url_for("customer_return.create_view", order=order.id)})
        # Mark done and Cancel are the workflow's (the manifest's), shown by the base view.
        return buttons

    def detail_panels(self, order):
        deliveries = permissions.apply_rules(
            order.deliveries.order_by(Delivery.delivery_date.desc(), Delivery.id.desc()),
            Delivery).limit(PANEL_ROWS).all()
        returns = permissions.apply_rules(
            order.returns.order_by(CustomerReturn.return_date.desc(), CustomerReturn.id.desc()),
            CustomerReturn).limit(PANEL_ROWS).all()
        payments = permissions.apply_rules(
            order.payments.order_by(Payment.payment_date.desc(), Payment.id.desc()),
            Payment).limit(PANEL_ROWS).all()
        own = [
            lines_panel(order, 1, empty=_("No lines."), quantities=[
                {"heading": _("Delivered"), "value": lambda line: line.delivered,
                 "css": "crm-delivered"},
                {"heading": _("Returned"), "value": lambda line: line.returned,
                 "css": "crm-returned"},
                {"heading": _("To deliver"), "css": "crm-remaining",
                 "value": lambda line: max(line.quantity - line.delivered, 0)}]),
            {"title": _("Deliveries, returns and payments"), "order": 2, "width": "col-12",
             "html": Markup(render_template(
                 "crm_sales/order_detail_documents.html", order=order, deliveries=deliveries,
                 returns=returns, payments=payments, figures=figures_of(order),
                 amount=amount_text))},
        ]
        return own + super().detail_panels(order)


# -- deliveries and returns: documents of one order, with quantities per line ---------------

class OrderDocumentView(ModelView):
    """What deliveries and returns share: they are made on a page that lists an order's
    lines with the quantity each may still take; saving checks every line, writes the
    document and its lines, and recomputes the order lines' totals, all at once."""

    # A document is made from an order's lines, on its own page: a file of documents
    # without their lines would make nothing that page allows.
    allow_import = False
    line_model = None           # DeliveryLine or ReturnLine
    # Core hooks called in the transaction that saves or deletes a document, so that
    # another addon (Purchase's stock) writes with it or refuses it (hooks.Refused).
    posted_hook = None          # "sales.delivery_posted" or "sales.return_posted"
    deleted_hook = None         # "sales.delivery_deleted" or "sales.return_deleted"
    date_field = None           # "delivery_date" or "return_date"
    text_fields = ()            # (name, label, longest) of the header's text fields
    form_template = "crm_sales/order_lines_form.html"
    column_default_sort = ("id", True)

    # What a subclass says about its lines.
    def available(self, line):
        """How much of an order line this kind of document may still take."""
        raise NotImplementedError

    def too_much(self, line, available):
        raise NotImplementedError

    def order_allows(self, order):
        """Why the order takes no document of this kind now, or None."""
        raise NotImplementedError

    def recompute(self, line_ids, excluding=None):
        raise NotImplementedError

    def finish(self, document):
        """Last touches before saving (the credited amount of a return)."""

    def get_query(self):
        return super().get_query().options(
            joinedload(self.model.order).joinedload(SalesOrder.customer),
            joinedload(self.model.owner))

    def get_one(self, id):
        return one_visible(self.get_query().options(
            selectinload(self.model.lines).joinedload(self.line_model.order_line)
            .joinedload(OrderLine.product)), self.model, id)

    column_formatters = {
        "customer": lambda view, context, record, name: record.order.customer,
    }
    column_formatters_detail = {
        "lines": lambda view, context, record, name: Markup(render_template(
            "crm_sales/order_document_lines.html", lines=record.lines,
            quantity=quantity_text)),
    }

    # -- the page that makes a document ---------------------------------------------------

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        order_id = next(iter(int_ids([request.values.get("order", "")])), None)
        if order_id is None:
            return self._order_picker()
        order = self._visible_order(order_id, lock=request.method == "POST")
        refusal = self.order_allows(order)
        if refusal:
            flash(refusal, "error")
            return redirect(url_for("sales_order.details_view", id=order.id))
        values = {self.date_field: date.today().isoformat(), **{
            name: "" for name, _label, _size in self.text_fields}}
        quantities = {line.id: quantity_text(self.available(line)) for line in order.lines}
        errors = {}
        if request.method == "POST":
            values, quantities, errors = self._read_form(order)
            if not errors:
                try:
                    document = self._save(order, values, quantities)
                except hooks.Refused as refused:   # by another addon: nothing is kept
                    errors["lines"] = str(refused)
                else:
                    flash(_("%(document)s saved.", document=document.number), "success")
                    return redirect(url_for("sales_order.details_view", id=order.id))
            db.session.rollback()
            flash(_("Nothing was saved: correct the marked fields."), "error")
        return self.render(self.form_template, order=order, values=values,
                           quantities=quantities, errors=errors,
                           lines=list(enumerate(order.lines, start=1)),
                           available=self.available, quantity=quantity_text,
                           date_field=self.date_field, text_fields=self.text_fields,
                           is_return=self.line_model is ReturnLine)

    def _order_picker(self):
        """No order chosen: the user types its number or picks a recent one."""
        number = request.args.get("number", "").strip()
        if number:
            found = permissions.apply_rules(select(SalesOrder.id).where(
                SalesOrder.number == number), SalesOrder)
            order_id = db.session.scalar(found)
            if order_id is not None:
                return redirect(self.get_url(".create_view", order=order_id))
            flash(_("No order %(number)s that you may see.", number=number), "error")
        candidates = db.session.scalars(
            permissions.apply_rules(select(SalesOrder), SalesOrder)
            .where(self.candidate_condition())
            .options(joinedload(SalesOrder.customer))
            .order_by(SalesOrder.id.desc()).limit(PICKER_ROWS)).all()
        return self.render(self.form_template, order=None, candidates=candidates,
                           number=number, is_return=self.line_model is ReturnLine)

    def _visible_order(self, order_id, lock=False):
        statement = permissions.apply_rules(select(SalesOrder), SalesOrder).where(
            SalesOrder.id == order_id).options(selectinload(SalesOrder.lines)
                                               .joinedload(OrderLine.product))
        if lock:
            # Two people delivering the same order at once: the second waits here and
            # then checks against what the first delivered (PostgreSQL; SQLite writes
            # one at a time anyway).
            statement = statement.with_for_update(of=SalesOrder)
        order = db.session.scalars(statement).one_or_none()
        if order is None:
            abort(404)
        return order

    def _read_form(self, order):
        """(values, quantities, errors) from the posted form; errors keyed by field
        name or order line id."""
        errors = {}
        values = {name: request.form.get(name, "").strip()[:size]
                  for name, _label, size in self.text_fields}
        values[self.date_field] = request.form.get(self.date_field, "").strip()
        try:
            date.fromisoformat(values[self.date_field])
        except ValueError:
            errors[self.date_field] = _("Enter a date as YYYY-MM-DD.")
        quantities = {}
        for position, line in enumerate(order.lines, start=1):
            raw = request.form.get(f"quantity-{line.id}", "")
            value, problem = parse_quantity(raw)
            quantities[line.id] = raw.strip()
            available = self.available(line)
            if problem is None and value is not None:
                if value < 0:
                    problem = _("The quantity cannot be negative.")
                elif value > available:
                    problem = self.too_much(line_label(line, position), available)
            if problem:
                errors[line.id] = problem
        if not errors and not any(parse_quantity(q)[0] for q in quantities.values()):
            errors["lines"] = _("Enter a quantity on at least one line.")
        return values, quantities, errors

    def _save(self, order, values, quantities):
        document = self.model(order=order, **{
            name: value or None for name, value in values.items() if name != self.date_field})
        setattr(document, self.date_field, date.fromisoformat(values[self.date_field]))
        with db.session.no_autoflush:
            document.owner = permissions.assignable(current_user, self.model, order.owner) \
                or current_user
        by_id = {line.id: line for line in order.lines}
        for line_id, text in quantities.items():
            value, _problem = parse_quantity(text)
            if value:
                document.lines.append(self.line_model(order_line=by_id[line_id],
                                                      quantity=value))
        self.finish(document)
        db.session.add(document)
        db.session.flush()
        self.recompute({line.order_line_id for line in document.lines})
        self.call_hook(self.posted_hook, document)
        db.session.commit()
        return document

    @staticmethod
    def call_hook(name, document):
        """Let enabled addons act on ``document`` in this transaction; raises
        hooks.Refused when one refuses (the caller rolls back)."""
        current_app.extensions["crm"].hooks.call(name, document)

    def refused_delete(self, document):
        """The deleting hook's handlers, their refusal as the form's error."""
        try:
            self.call_hook(self.deleted_hook, document)
        except hooks.Refused as refused:
            raise ValidationError(str(refused)) from None

    def on_model_change(self, form, model, is_created):
        keep_an_owner(model)

    # -- deleting recomputes the order lines, and may not leave them inconsistent --------

    def on_model_delete(self, model):
        line_ids = {line.order_line_id for line in model.lines}
        self.recompute(line_ids, excluding=model.id)
        problem = db.session.scalar(select(func.count()).where(
            OrderLine.id.in_(line_ids), OrderLine.returned > OrderLine.delivered))
        if problem:
            raise ValidationError(_("Goods of this delivery have been returned: delete "
                                    "the return first."))
        self.refused_delete(model)


class DeliveryView(OrderDocumentView):
    """Deliveries: all of an order, or part of it (more deliveries follow)."""

    line_model = DeliveryLine
    posted_hook, deleted_hook = "sales.delivery_posted", "sales.delivery_deleted"
    date_field = "delivery_date"
    text_fields = (("carrier", _l("Carrier"), 100), ("tracking", _l("Tracking number"), 100),
                   ("notes", _l("Notes"), LONG_TEXT))
    column_list = ["number", "order", "customer", "delivery_date", "carrier", "tracking",
                   "owner"]
    column_labels = {"customer": _l("Customer")}
    column_sortable_list = ["number", "delivery_date", "carrier", ("owner", "owner.username")]
    column_searchable_list = ["number", "tracking"]
    column_filters = ["number", "delivery_date", "carrier", "tracking", "order.number",
                      "owner.username"]
    column_details_list = ["number", "order", "delivery_date", "carrier", "tracking", "lines",
                           "owner", "notes", "created_at"]
    form_columns = ["delivery_date", "carrier", "tracking", "notes", "owner"]
    column_export_list = ["number", "order", "delivery_date", "carrier", "tracking", "owner"]

    def available(self, line):
        return max(line.quantity - line.delivered, Decimal(0))

    def too_much(self, label, available):
        return _("Line %(line)s: only %(left)s left to deliver.", line=label,
                 left=quantity_text(available))

    def order_allows(self, order):
        if order.state != "open":
            return _("Order %(number)s is %(state)s: nothing more can be delivered.",
                     number=order.number, state=label(order.state))
        return None

    def candidate_condition(self):
        return and_(SalesOrder.state == "open",
                    _lines(OrderLine.delivered < OrderLine.quantity))

    def recompute(self, line_ids, excluding=None):
        recompute_delivered(line_ids, excluding_delivery=excluding)


class ReturnView(OrderDocumentView):
    """Goods a customer sends back: at most what was delivered and not yet returned;
    their value (with tax) is credited to the order."""

    line_model = ReturnLine
    posted_hook, deleted_hook = "sales.return_posted", "sales.return_deleted"
    date_field = "return_date"
    text_fields = (("reason", _l("Reason"), LONG_TEXT),)
    column_list = ["number", "order", "customer", "return_date", "amount", "owner"]
    column_labels = {"customer": _l("Customer")}
    column_sortable_list = ["number", "return_date", "amount", ("owner", "owner.username")]
    column_searchable_list = ["number"]
    column_filters = ["number", "return_date", "amount", "order.number", "owner.username"]
    column_details_list = ["number", "order", "return_date", "amount", "lines", "reason",
                           "owner", "created_at"]
    form_columns = ["return_date", "reason", "owner"]
    column_export_list = ["number", "order", "return_date", "amount", "reason", "owner"]
    column_formatters = {**OrderDocumentView.column_formatters,
                         "amount": lambda view, context, record, name: amount_text(record.amount)}
    column_formatters_detail = {**OrderDocumentView.column_formatters_detail,
                                "amount": column_formatters["amount"]}

    def available(self, line):
        return max(line.delivered - line.returned, Decimal(0))

    def too_much(self, label, available):
        return _("Line %(line)s: only %(left)s delivered and not yet returned.", line=label,
                 left=quantity_text(available))

    def order_allows(self, order):
        if order.state == "cancelled":
            return _("Order %(number)s is cancelled.", number=order.number)
        return None

    def candidate_condition(self):
        return and_(SalesOrder.state != "cancelled",
                    _lines(OrderLine.delivered > OrderLine.returned))

    def recompute(self, line_ids, excluding=None):
        recompute_returned(line_ids, excluding_return=excluding)

    def finish(self, document):
        document.amount = sum((credit_of(line.order_line, line.quantity)
                               for line in document.lines), Decimal("0.00"))

    def on_model_delete(self, model):
        self.recompute({line.order_line_id for line in model.lines}, excluding=model.id)
        self.refused_delete(model)


# -- payments ---------------------------------------------------------------------------------

def order_of_customer(form, field):
    """A payment's order must be one of its customer's, and not cancelled."""
    order, customer = field.data, form.customer.data
    if order is None:
        return
    if customer is not None and order.customer_id != customer.id:
        raise ValidationError(_("Order %(number)s belongs to another customer.",
                                number=order.number))
    if order.state == "cancelled":
        raise ValidationError(_("Order %(number)s is cancelled.", number=order.number))


class PaymentView(ModelView):
    """Money received: on one order (partial payments add up) or on account."""

    column_list = ["number", "payment_date", "customer", "order", "amount", "method",
                   "reference", "owner"]
    column_sortable_list = ["number", "payment_date", ("customer", "customer.name"), "amount",
                            "method", ("owner", "owner.username")]
    column_searchable_list = ["number", "reference", "customer.name"]
    column_filters = ["number", "payment_date", "amount", "method", "customer.name",
                      "order.number", "owner.username"]
    column_details_list = ["number", "customer", "order", "payment_date", "amount", "method",
                           "reference", "notes", "owner", "created_at"]
    form_columns = ["customer", "order", "payment_date", "amount", "method", "reference",
                    "notes", "owner"]
    form_ajax_refs = {"customer": {"fields": ["name"], "page_size": 10},
                      "order": {"fields": ["number"], "page_size": 10},
                      "owner": {"fields": ["username"], "page_size": 10}}
    form_args = {"amount": {"validators": [more_than_zero(
                     _l("The amount must be more than 0."))]},
                 "order": {"validators": [order_of_customer]}}
    column_default_sort = ("id", True)
    column_formatters = {"amount": lambda view, context, payment, name:
                         amount_text(payment.amount)}
    column_formatters_detail = column_formatters

    def create_form(self, obj=None):
        """?order=ID (the order's "Register payment"): its customer, and its amount due;
        ?customer=ID: that customer, for a payment on account."""
        form = super().create_form(obj)
        if request.method != "GET":
            return form
        order_id = next(iter(int_ids([request.args.get("order", "")])), None)
        customer_id = next(iter(int_ids([request.args.get("customer", "")])), None)
        if order_id is not None:
            order = scoped_query(SalesOrder, Payment).filter(
                SalesOrder.id == order_id).one_or_none()
            if order is not None:
                form.order.data = order
                form.customer.data = order.customer
                due = due_of(order)
                if due > 0:
                    form.amount.data = due
        elif customer_id is not None:
            form.customer.data = scoped_query(Customer, Payment).filter(
                Customer.id == customer_id).one_or_none()
        return form

    def form_warnings(self, form, record_id):
        warnings = super().form_warnings(form, record_id)
        order, amount = form.order.data, form.amount.data
        if order is not None and amount is not None:
            due = due_of(order, excluding_payment=record_id)
            if amount > due:
                warnings.append(FormWarning(_(
                    "This payment of %(amount)s is more than the %(due)s due on order "
                    "%(number)s.", amount=amount_text(amount), due=amount_text(due),
                    number=order.number)))
        return warnings

    def on_model_change(self, form, model, is_created):
        # A payment on an order belongs, by default, to whoever looks after the order.
        with db.session.no_autoflush:
            owner = model.order.owner if model.order is not None else None
            if is_created and model.owner is None:
                model.owner = permissions.assignable(current_user, Payment, owner)
        keep_an_owner(model)


# -- balances ---------------------------------------------------------------------------------

class BalanceView(ModelView):
    """What each customer owes: orders less returns less payments, by SQL GROUP BY, over
    the orders, returns and payments the user may read."""

    allow_create = allow_edit = allow_delete = allow_import = False
    can_view_details = False

    def _query_args(self):
        return {"outstanding": request.args.get("outstanding") == "1",
                "search": request.args.get("search", "").strip()[:100]}

    @expose("/")
    def index_view(self):
        args = self._query_args()
        page = max(next(iter(int_ids([request.args.get("page", "")])), 0), 0)
        statement = balance_statement(only_outstanding=args["outstanding"],
                                      search=args["search"] or None)
        rows = statement.subquery()
        totals = db.session.execute(select(
            func.count(), func.coalesce(func.sum(rows.c.orders_total), 0),
            func.coalesce(func.sum(rows.c.returns), 0), func.coalesce(func.sum(rows.c.paid), 0),
            func.coalesce(func.sum(rows.c.outstanding), 0))).one()
        count = totals[0]
        balances = [as_balance(row) for row in db.session.execute(
            statement.order_by(largest_first(statement), Customer.name, Customer.id)
            .limit(self.page_size).offset(page * self.page_size))]
        pages = max((count + self.page_size - 1) // self.page_size, 1)
        return self.render(
            "crm_sales/balance.html", balances=balances, count=count, page=page, pages=pages,
            totals=[money.cents(value) for value in totals[1:]], amount=amount_text,
            outstanding=args["outstanding"], search=args["search"],
            page_url=lambda number: self.get_url(".index_view", page=number, **self._link_args()),
            export_url=self.get_url(".export", export_type="csv", **self._link_args()),
            can_export=self.permits("x"),
            customer_link=permissions.permits(current_user, "Customer", "r"))

    def _link_args(self):
        args = self._query_args()
        return {key: value for key, value in (("outstanding", "1" if args["outstanding"] else ""),
                                              ("search", args["search"])) if value}

    @expose("/export/<export_type>/")
    def export(self, export_type):
        """The balances as CSV or XLSX (needs the export letter, like any list)."""
        if export_type not in ("csv", "xlsx"):
            abort(404)
        args = self._query_args()
        statement = balance_statement(only_outstanding=args["outstanding"],
                                      search=args["search"] or None)
        statement = statement.order_by(largest_first(statement), Customer.name, Customer.id)
        headers = [_("Customer"), _("Orders"), _("Returns"), _("Paid"), _("Outstanding"),
                   _("Oldest unpaid order")]
        rows = ([b.name, b.orders_total, b.returns, b.paid, b.outstanding, b.oldest_unpaid]
                for b in map(as_balance, db.session.execute(statement)))
        return exporting.response(export_type, f"balances_{date.today().isoformat()}.{export_type}",
                                  headers, rows)


def largest_first(statement):
    """ORDER BY the statement's outstanding column, largest first."""
    return statement.selected_columns.outstanding.desc()
