"""Receipts of goods against purchase-order lines, and returns to the supplier.

A receipt takes, for each line of one purchase order, what arrived: it is saved with
its lines, one stock move in per line (at the line's net unit price) and the order
lines' received quantities, and moves the order to "partly received" or "received",
all in one transaction, under a lock on the order row so that two receipts of the same
order wait for each other.

What is left to receive on a line is ``quantity - received``. ``received`` is gross: a
return to the supplier counts in ``returned`` and does not re-open the order (a new
delivery of replaced goods is ordered anew). A receipt may take up to the setting
``receipt_tolerance_percent`` more than ordered.

A return is made against one receipt: each line sends back at most what that receipt
line received and has not returned yet, and leaves stock at that receipt line's unit
cost (not at the average), so the value taken out of stock is what was paid.

Both are entries of the append-only stock ledger: once saved, their quantities never
change and they are never deleted; only their notes may be edited."""
from collections import namedtuple
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from addons.crm_contacts.models import Customer
from addons.crm_sales import money
from addons.crm_sales.money import amount_text
from addons.crm_sales.orders import line_label, parse_quantity, quantity_text
from core import options, permissions, workflow
from core.admin import ModelView
from core.db import db
from core.record import link_to, url_of
from core.util import int_ids

from . import stock
from .models import (PurchaseOrder, PurchaseOrderLine, Receipt, ReceiptLine, Supplier,
                     SupplierReturn, SupplierReturnLine, Warehouse)

ADDON = "crm_purchase"
COST_PLACES = Decimal("0.0001")
QUANTITY_PLACES = Decimal("0.001")
HUNDRED = Decimal(100)
# Orders that may take goods: approved and not yet all received (nor closed).
RECEIVABLE_STATES = ("approved", "sent", "partly received")
PICKER_ROWS = 50     # documents offered on the page that starts a receipt or a return
PANEL_ROWS = 20      # returns listed on a receipt's page
LONG_TEXT = 5000     # characters kept of a note typed on those pages


# -- figures ------------------------------------------------------------------------------

def unit_cost_of(order_line):
    """What one unit of an order line cost: its net amount (after discount, before
    tax) over its quantity, to four places."""
    quantity = money.to_decimal(order_line.quantity)
    if not quantity:
        return Decimal("0.0000")
    return (money.to_decimal(order_line.subtotal) / quantity).quantize(
        COST_PLACES, rounding=ROUND_HALF_UP)


def tolerance_percent():
    """How many percent more than ordered a line may receive (the setting; never
    below 0)."""
    return max(int(options.get(ADDON, "receipt_tolerance_percent") or 0), 0)


def left_to_receive(line):
    """What is still expected of an order line: ordered - received (returns do not
    re-open it). Never below 0, even when more than ordered came in."""
    return max(money.to_decimal(line.quantity) - money.to_decimal(line.received), Decimal(0))


def receivable(line, percent):
    """The most a receipt may still take of an order line: what is left plus the
    tolerance on the ordered quantity (rounded down to the thousandth)."""
    ceiling = (money.to_decimal(line.quantity) * (HUNDRED + percent) / HUNDRED).quantize(
        QUANTITY_PLACES, rounding=ROUND_DOWN)
    return max(ceiling - money.to_decimal(line.received), Decimal(0))


def returnable(receipt_line):
    """What a receipt line may still send back: received on it - returned from it."""
    return max(money.to_decimal(receipt_line.quantity)
               - money.to_decimal(receipt_line.returned), Decimal(0))


def cost_text(value):
    """A unit cost as people read it: 10 -> '10.00', 16.66666 -> '16.6667'."""
    value = money.to_decimal(value or 0).quantize(COST_PLACES, rounding=ROUND_HALF_UP)
    text = f"{value:,.4f}"
    return text[:-2] + text[-2:].rstrip("0") if text.endswith("0") else text


def order_refusal(order):
    """Why ``order`` takes no receipt now, or None."""
    if order.state in RECEIVABLE_STATES:
        return None
    if order.state == "cancelled":
        return _("Purchase order %(number)s is cancelled: nothing can be received against it.",
                 number=order.number)
    if order.state == "closed":
        return _("Purchase order %(number)s is closed: nothing more is expected on it.",
                 number=order.number)
    if order.state == "received":
        return _("Everything ordered on %(number)s has been received.", number=order.number)
    return _("Purchase order %(number)s is not approved yet: nothing can be received "
             "against it.", number=order.number)


def _add_to(model, column, amounts):
    """column += amount for each {id: amount}, in SQL, in the caller's transaction: the
    order lines and receipt lines change only by what this document adds (on
    PostgreSQL an UPDATE re-reads the row it waited for, so nothing is lost)."""
    db.session.flush()
    if amounts:
        table = model.__table__
        db.session.execute(
            update(table).where(table.c.id == bindparam("row_id"))
            .values({column: table.c[column] + bindparam("amount")}),
            [{"row_id": record_id, "amount": amount} for record_id, amount in amounts.items()])
    for record in list(db.session.identity_map.values()):
        if isinstance(record, model) and record.id in amounts:
            db.session.expire(record, [column])


# -- list filters on related records ---------------------------------------------------------

class ContainsFilter(BaseSQLAFilter):
    """A text filter whose condition reaches through relations (a receipt's supplier is
    its order's): ``condition(text)`` gives the SQL condition. ``url_name`` names it in
    links (flt0_supplier_contains=acme) in every language."""

    def __init__(self, column, url_name, name, condition):
        super().__init__(column, name)
        self.crm_url_name = url_name
        self.condition = condition

    def apply(self, query, value, alias=None):
        return query.filter(self.condition(value)) if value else query

    def operation(self):
        return _l("contains")

    def clean(self, value):
        return (value or "").strip().lower()[:100]


def _contains(column, text):
    return func.lower(column).contains(text, autoescape=True)


def orders_of_supplier(text):
    """A select of the ids of the orders whose supplier's name or code holds ``text``."""
    return (select(PurchaseOrder.id).join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .join(Customer, Customer.id == Supplier.customer_id)
            .where(or_(_contains(Customer.name, text), _contains(Supplier.code, text))))


def orders_numbered(text):
    return select(PurchaseOrder.id).where(_contains(PurchaseOrder.number, text))


def warehouses_named(text):
    return select(Warehouse.id).where(or_(_contains(Warehouse.name, text),
                                          _contains(Warehouse.code, text)))


# -- what receipts and returns share -------------------------------------------------------------

class LedgerDocumentView(ModelView):
    """A document of the stock ledger, made on its own page from the lines of another
    (an order's lines, a receipt's lines) with the quantity each may still take. Saving
    checks every line, writes the document, its lines and their stock moves, and adds
    to the source's figures, all at once; nothing is written when any line is wrong.
    Once saved it is never deleted and its quantities never change."""

    allow_import = False    # made from another document's lines, on its own page only
    allow_delete = False    # the ledger is append-only
    column_default_sort = ("id", True)
    source_model = None     # PurchaseOrder or Receipt
    source_arg = None       # "order" or "receipt": the page's ?order= or ?receipt=
    date_field = None
    form_template = None

    # What a subclass says.
    def source_lines(self, source):
        raise NotImplementedError

    def source_options(self):
        """Loader options of the source and its lines, for the page."""
        raise NotImplementedError

    def source_refusal(self, source):
        return None

    def available(self, line):
        raise NotImplementedError

    def too_much(self, label_, available):
        raise NotImplementedError

    def candidate_condition(self):
        raise NotImplementedError

    def read_header(self, source, values, errors):
        """Check the header's own fields (besides the date), adding to ``errors``."""

    def save(self, source, values, quantities):
        """Write the document; raise LineProblem or workflow.Refused to refuse."""
        raise NotImplementedError

    # -- the page that makes a document ----------------------------------------------------

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        source_id = next(iter(int_ids([request.values.get(self.source_arg, "")])), None)
        if source_id is None:
            return self._picker()
        source = self._visible_source(source_id, lock=request.method == "POST")
        refusal = self.source_refusal(source)
        if refusal:
            flash(refusal, "error")
            return redirect(self.get_url(".create_view"))
        values, quantities, errors = self.defaults(source), self.default_quantities(source), {}
        if request.method == "POST":
            values, quantities, errors = self._read_form(source)
            if not errors:
                try:
                    document = self.save(source, values, quantities)
                except LineProblem as problem:
                    errors[problem.line_id] = problem.message
                except (workflow.Refused, stock.StockError) as refused:
                    errors["lines"] = str(refused)
                else:
                    db.session.commit()
                    flash(_("%(document)s saved.", document=document.number), "success")
                    return redirect(self.get_url(".details_view", id=document.id))
            db.session.rollback()
            source = self._visible_source(source_id)
            flash(_("Nothing was saved: correct the marked fields."), "error")
        return self.render(self.form_template, source=source, values=values,
                           quantities=quantities, errors=errors,
                           lines=list(enumerate(self.source_lines(source), start=1)),
                           available=self.available, quantity=quantity_text, cost=cost_text,
                           **self.page_context(source))

    def page_context(self, source):
        return {}

    def defaults(self, source):
        return {self.date_field: date.today().isoformat()}

    def default_quantities(self, source):
        return {}

    def _picker(self):
        """No source chosen: the user types its number or picks a recent one."""
        number = request.args.get("number", "").strip()[:20]
        if number:
            found = db.session.scalar(permissions.apply_rules(
                select(self.source_model.id).where(self.source_model.number == number),
                self.source_model))
            if found is not None:
                return redirect(self.get_url(".create_view", **{self.source_arg: found}))
            flash(_("No document %(number)s that you may see.", number=number), "error")
        candidates = db.session.scalars(
            permissions.apply_rules(select(self.source_model), self.source_model)
            .where(self.candidate_condition()).options(*self.picker_options())
            .order_by(self.source_model.id.desc()).limit(PICKER_ROWS)).unique().all()
        return self.render(self.form_template, source=None, candidates=candidates,
                           number=number)

    def picker_options(self):
        return ()

    def _visible_source(self, source_id, lock=False):
        statement = permissions.apply_rules(select(self.source_model), self.source_model).where(
            self.source_model.id == source_id).options(*self.source_options())
        if lock:
            # Two people receiving (returning) the same document at once: the second
            # waits here and then checks against what the first saved (PostgreSQL;
            # SQLite writes one at a time anyway).
            statement = statement.with_for_update(of=self.source_model)
        source = db.session.scalars(statement.execution_options(populate_existing=True)) \
            .unique().one_or_none()
        if source is None:
            abort(404)
        return source

    def _read_form(self, source):
        """(values, quantities, errors) from the posted form; errors keyed by field
        name or line id."""
        errors = {}
        values = {name: request.form.get(name, "").strip()[:size]
                  for name, size in self.text_fields}
        values[self.date_field] = request.form.get(self.date_field, "").strip()[:20]
        try:
            date.fromisoformat(values[self.date_field])
        except ValueError:
            errors[self.date_field] = _("Enter a date as YYYY-MM-DD.")
        self.read_header(source, values, errors)
        quantities, wanted = {}, False
        for position, line in enumerate(self.source_lines(source), start=1):
            raw = request.form.get(f"quantity-{line.id}", "").strip()[:40]
            quantities[line.id] = raw
            problem = self.line_problem(line, position, raw)
            if problem:
                errors[line.id] = problem
            wanted = wanted or bool(raw)
        if not errors and not wanted:
            errors["lines"] = _("Enter a quantity on at least one line.")
        return values, quantities, errors

    def line_problem(self, line, position, raw):
        """What is wrong with the quantity typed on one line (blank: the line is left
        out), or None."""
        value, problem = parse_quantity(raw)
        if problem or value is None:
            return problem
        if value <= 0:
            return _("Enter a quantity more than 0, or leave the line empty.")
        available = self.available(line)
        if value > available:
            return self.too_much(self.line_name(line, position), available)
        return None

    def line_name(self, line, position):
        return line_label(line, position)


class LineProblem(Exception):
    """A line refused while saving (stock would go below zero): shown on that line."""

    def __init__(self, line_id, message):
        super().__init__(message)
        self.line_id, self.message = line_id, message


def posted_quantities(quantities):
    """{line id: Decimal} of the lines given a quantity (checked already)."""
    found = {}
    for line_id, text in quantities.items():
        value, _problem = parse_quantity(text)
        if value:
            found[line_id] = value
    return found


# One stock move to post for one line of a document: ``page_line_id`` is the line of
# the page it came from (an order line, a receipt line), where a refusal is shown.
Posting = namedtuple("Posting", "line page_line_id product warehouse_id quantity unit_cost "
                                "corrects_id")


def post_together(postings, kind, document, move_date, user):
    """One move per Posting, all in one call of the ledger (its levels locked at once,
    in one order); a move refused (stock below zero) raises LineProblem on its line.
    Returns {document line: StockMove}. (Services are not posted: they are not kept in
    stock.)"""
    if not postings:
        return {}
    try:
        rows = stock.post_moves(
            [stock.Move(posting.product.id, posting.warehouse_id, kind, posting.quantity,
                        unit_cost=posting.unit_cost, move_date=move_date, origin=document,
                        corrects_id=posting.corrects_id) for posting in postings],
            user=user, product_names={p.product.id: str(p.product) for p in postings})
    except stock.StockError as refused:
        line_id = postings[refused.move].page_line_id if refused.move is not None else None
        raise LineProblem(line_id, str(refused)) from None
    return {posting.line: row for posting, row in zip(postings, rows)}


def supplier_of(view, context, record, name):
    """The supplier of a receipt or a return (its order's), as text (exports)."""
    order = record.order if isinstance(record, Receipt) else record.receipt.order
    return str(order.supplier) if order is not None else ""


def supplier_link(view, context, record, name):
    order = record.order if isinstance(record, Receipt) else record.receipt.order
    return link_to(order.supplier) if order is not None else ""


# -- receipts ----------------------------------------------------------------------------------

class ReceiptView(LedgerDocumentView):
    """Goods received against a purchase order: all of it or part (the rest stays
    expected: the backorder), into a warehouse, at the order lines' net prices."""

    source_model = PurchaseOrder
    source_arg = "order"
    date_field = "receipt_date"
    text_fields = (("delivery_note", 100), ("notes", LONG_TEXT))
    form_template = "crm_purchase/receipt_form.html"

    column_list = ["number", "order", "supplier", "receipt_date", "warehouse",
                   "delivery_note", "owner"]
    column_labels = {"supplier": _l("Supplier")}
    column_sortable_list = ["number", "receipt_date", ("warehouse", "warehouse.name"),
                            "delivery_note", ("owner", "owner.username")]
    column_searchable_list = ["number", "delivery_note"]
    column_filters = [
        "number", "receipt_date",
        ContainsFilter(Receipt.id, "supplier", _l("Supplier"),
                       lambda text: Receipt.order_id.in_(orders_of_supplier(text))),
        ContainsFilter(Receipt.id, "order", _l("Purchase order"),
                       lambda text: Receipt.order_id.in_(orders_numbered(text))),
        ContainsFilter(Receipt.id, "warehouse", _l("Warehouse"),
                       lambda text: Receipt.warehouse_id.in_(warehouses_named(text))),
        "delivery_note", "owner.username"]
    column_details_list = ["number", "order", "supplier", "receipt_date", "warehouse",
                           "delivery_note", "lines", "owner", "notes", "created_at"]
    # The lines across the page: in the two-column grid their numbers wrapped mid-digit.
    details_sections = [
        (None, ["number", "order", "supplier", "receipt_date", "warehouse", "delivery_note",
                "owner"]),
        (_l("Lines"), ["lines"]),
        (_l("Notes"), ["notes"]),
    ]
    column_export_list = ["number", "order", "supplier", "receipt_date", "warehouse",
                          "delivery_note", "owner"]
    # Only what the supplier's papers say may be corrected; quantities and costs never.
    form_columns = ["delivery_note", "notes"]

    column_formatters = {
        "order": lambda view, context, record, name: link_to(record.order),
        "supplier": supplier_link,
    }
    column_formatters_detail = {
        "supplier": supplier_link,
        "lines": lambda view, context, record, name: Markup(render_template(
            "crm_purchase/receipt_lines.html", lines=record.lines, quantity=quantity_text,
            cost=cost_text, amount=amount_text)),
    }
    column_formatters_export = {"order": lambda view, context, record, name: record.order.number,
                                "supplier": supplier_of}

    def get_query(self):
        return super().get_query().options(
            joinedload(Receipt.order).joinedload(PurchaseOrder.supplier)
            .joinedload(Supplier.customer),
            joinedload(Receipt.warehouse), joinedload(Receipt.owner))

    def get_one(self, id):
        ids = int_ids([id])
        record = self.get_query().options(
            selectinload(Receipt.lines).joinedload(ReceiptLine.order_line)
            .joinedload(PurchaseOrderLine.product)).filter(
                Receipt.id == (ids[0] if ids else 0)).one_or_none()
        if record is None:
            abort(404)
        return record

    # -- the page ---------------------------------------------------------------------------

    def source_lines(self, order):
        return order.lines

    def source_options(self):
        return (joinedload(PurchaseOrder.supplier).joinedload(Supplier.customer),
                selectinload(PurchaseOrder.lines).joinedload(PurchaseOrderLine.product))

    def picker_options(self):
        return (joinedload(PurchaseOrder.supplier).joinedload(Supplier.customer),)

    def source_refusal(self, order):
        return order_refusal(order)

    def candidate_condition(self):
        return PurchaseOrder.state.in_(RECEIVABLE_STATES) & exists().where(
            PurchaseOrderLine.order_id == PurchaseOrder.id,
            PurchaseOrderLine.received < PurchaseOrderLine.quantity)

    def available(self, line):
        return receivable(line, self._tolerance())

    def _tolerance(self):
        if "crm_receipt_tolerance" not in g:
            g.crm_receipt_tolerance = tolerance_percent()
        return g.crm_receipt_tolerance

    def too_much(self, label_, available):
        if self._tolerance():
            return _("Line %(line)s: at most %(left)s more can be received, the tolerance "
                     "included.", line=label_, left=quantity_text(available))
        return _("Line %(line)s: only %(left)s left to receive.", line=label_,
                 left=quantity_text(available))

    def defaults(self, order):
        return {"receipt_date": date.today().isoformat(), "delivery_note": "", "notes": "",
                "warehouse": str(order.warehouse_id)}

    def default_quantities(self, order):
        return {line.id: quantity_text(left_to_receive(line)) if left_to_receive(line) else ""
                for line in order.lines}

    def page_context(self, order):
        warehouses = db.session.scalars(select(Warehouse).where(
            or_(Warehouse.active.is_(True), Warehouse.id == order.warehouse_id))
            .order_by(Warehouse.name)).all()
        return {"warehouses": warehouses, "left": left_to_receive, "unit_cost": unit_cost_of,
                "tolerance": self._tolerance(), "order_url": url_of(order)}

    def read_header(self, order, values, errors):
        # Not posted at all (a script, a form without the choice): the order's.
        values["warehouse"] = request.form.get("warehouse", str(order.warehouse_id)).strip()[:20]
        warehouse_id = next(iter(int_ids([values["warehouse"]])), None)
        allowed = warehouse_id is not None and db.session.scalar(select(Warehouse.id).where(
            Warehouse.id == warehouse_id,
            or_(Warehouse.active.is_(True), Warehouse.id == order.warehouse_id)))
        if not allowed:
            errors["warehouse"] = _("Choose a warehouse.")

    def save(self, order, values, quantities):
        receipt = Receipt(order=order, warehouse_id=int(values["warehouse"]),
                          receipt_date=date.fromisoformat(values["receipt_date"]),
                          delivery_note=values["delivery_note"] or None,
                          notes=values["notes"] or None)
        with db.session.no_autoflush:
            receipt.owner = permissions.assignable(current_user, Receipt, order.owner) \
                or current_user
        wanted = posted_quantities(quantities)
        by_id = {line.id: line for line in order.lines}
        for line_id, quantity in wanted.items():
            receipt.lines.append(ReceiptLine(order_line=by_id[line_id], quantity=quantity,
                                             unit_cost=unit_cost_of(by_id[line_id])))
        # Settled before the lines change: the order's lines as locked and read.
        complete = all(money.to_decimal(line.received) + wanted.get(line.id, 0)
                       >= money.to_decimal(line.quantity) for line in order.lines)
        db.session.add(receipt)
        db.session.flush()
        moves = post_together(
            [Posting(line, line.order_line_id, line.order_line.product, receipt.warehouse_id,
                     line.quantity, line.unit_cost, None) for line in receipt.lines
             if line.order_line.product.kind == "goods"],
            "receipt", receipt, receipt.receipt_date, current_user)
        for line, move in moves.items():
            line.move_id = move.id
        _add_to(PurchaseOrderLine, "received", wanted)
        workflow.move(order, "receive_all" if complete else "receive_part", user=None)
        db.session.flush()
        return receipt

    # -- the record page ----------------------------------------------------------------------

    def detail_buttons(self, receipt):
        buttons = []
        if any(returnable(line) for line in receipt.lines) and permissions.permits(
                current_user, "SupplierReturn", "c"):
            buttons.append({"label": _("Return to supplier"), "icon": "fa-undo",
                            "url": url_for("supplier_return.create_view",
                                           receipt=receipt.id)})
        if order_refusal(receipt.order) is None and self.can_create:
            buttons.append({"label": _("Receive more of this order"), "icon": "fa-truck",
                            "url": self.get_url(".create_view", order=receipt.order_id)})
        return buttons

    def detail_panels(self, receipt):
        returns = db.session.scalars(permissions.apply_rules(
            select(SupplierReturn).where(SupplierReturn.receipt_id == receipt.id)
            .order_by(SupplierReturn.return_date.desc(), SupplierReturn.id.desc())
            .limit(PANEL_ROWS), SupplierReturn)).all()
        own = [{"title": _("Returns to the supplier"), "order": 1, "width": "col-12",
                "html": Markup(render_template("crm_purchase/receipt_returns.html",
                                               returns=returns, amount=amount_text))}]
        return own + super().detail_panels(receipt)


# -- returns to the supplier -------------------------------------------------------------------

class SupplierReturnView(LedgerDocumentView):
    """Goods sent back against one receipt: each line at most what that receipt line
    received and has not returned yet, leaving stock at the receipt's unit cost."""

    source_model = Receipt
    source_arg = "receipt"
    date_field = "return_date"
    text_fields = (("reason", LONG_TEXT),)
    form_template = "crm_purchase/return_form.html"

    column_list = ["number", "receipt", "order", "supplier", "return_date", "amount", "owner"]
    column_labels = {"supplier": _l("Supplier"), "order": _l("Purchase order"),
                     "warehouse": _l("Warehouse")}
    column_sortable_list = ["number", "return_date", "amount", ("owner", "owner.username")]
    column_searchable_list = ["number"]
    column_filters = [
        "number", "return_date", "amount",
        ContainsFilter(SupplierReturn.id, "supplier", _l("Supplier"),
                       lambda text: SupplierReturn.receipt_id.in_(
                           select(Receipt.id).where(Receipt.order_id.in_(
                               orders_of_supplier(text))))),
        ContainsFilter(SupplierReturn.id, "order", _l("Purchase order"),
                       lambda text: SupplierReturn.receipt_id.in_(
                           select(Receipt.id).where(Receipt.order_id.in_(
                               orders_numbered(text))))),
        ContainsFilter(SupplierReturn.id, "warehouse", _l("Warehouse"),
                       lambda text: SupplierReturn.receipt_id.in_(
                           select(Receipt.id).where(Receipt.warehouse_id.in_(
                               warehouses_named(text))))),
        ContainsFilter(SupplierReturn.id, "receipt", _l("Receipt"),
                       lambda text: SupplierReturn.receipt_id.in_(
                           select(Receipt.id).where(_contains(Receipt.number, text)))),
        "owner.username"]
    column_details_list = ["number", "receipt", "order", "supplier", "warehouse",
                           "return_date", "amount", "lines", "reason", "owner", "created_at"]
    details_sections = [
        (None, ["number", "receipt", "order", "supplier", "warehouse", "return_date", "amount",
                "owner"]),
        (_l("Lines"), ["lines"]),
        (_l("Reason"), ["reason"]),
    ]
    column_export_list = ["number", "receipt", "order", "supplier", "return_date", "amount",
                          "reason", "owner"]
    form_columns = ["reason"]

    column_formatters = {
        "receipt": lambda view, context, record, name: link_to(record.receipt),
        "order": lambda view, context, record, name: link_to(record.receipt.order),
        "supplier": supplier_link,
        "amount": lambda view, context, record, name: amount_text(record.amount),
    }
    column_formatters_detail = {
        **column_formatters,
        "warehouse": lambda view, context, record, name: link_to(record.receipt.warehouse),
        "lines": lambda view, context, record, name: Markup(render_template(
            "crm_purchase/return_lines.html", lines=record.lines, quantity=quantity_text,
            cost=cost_text, amount=amount_text)),
    }
    column_formatters_export = {
        "receipt": lambda view, context, record, name: record.receipt.number,
        "order": lambda view, context, record, name: record.receipt.order.number,
        "supplier": supplier_of,
    }

    def get_query(self):
        return super().get_query().options(
            joinedload(SupplierReturn.receipt).joinedload(Receipt.order)
            .joinedload(PurchaseOrder.supplier).joinedload(Supplier.customer),
            joinedload(SupplierReturn.receipt).joinedload(Receipt.warehouse),
            joinedload(SupplierReturn.owner))

    def get_one(self, id):
        ids = int_ids([id])
        record = self.get_query().options(
            selectinload(SupplierReturn.lines).joinedload(SupplierReturnLine.receipt_line)
            .joinedload(ReceiptLine.order_line).joinedload(PurchaseOrderLine.product)).filter(
                SupplierReturn.id == (ids[0] if ids else 0)).one_or_none()
        if record is None:
            abort(404)
        return record

    # -- the page ---------------------------------------------------------------------------

    def source_lines(self, receipt):
        return receipt.lines

    def source_options(self):
        return (joinedload(Receipt.order).joinedload(PurchaseOrder.supplier)
                .joinedload(Supplier.customer),
                joinedload(Receipt.warehouse),
                selectinload(Receipt.lines).joinedload(ReceiptLine.order_line)
                .joinedload(PurchaseOrderLine.product))

    def picker_options(self):
        return (joinedload(Receipt.order).joinedload(PurchaseOrder.supplier)
                .joinedload(Supplier.customer),)

    def candidate_condition(self):
        return exists().where(ReceiptLine.receipt_id == Receipt.id,
                              ReceiptLine.returned < ReceiptLine.quantity)

    def source_refusal(self, receipt):
        if not any(returnable(line) for line in receipt.lines):
            return _("Everything received on %(number)s has been returned already.",
                     number=receipt.number)
        return None

    def available(self, line):
        return returnable(line)

    def too_much(self, label_, available):
        return _("Line %(line)s: only %(left)s received on this receipt and not yet "
                 "returned.", line=label_, left=quantity_text(available))

    def line_name(self, line, position):
        return line_label(line.order_line, position)

    def page_context(self, receipt):
        return {"order_link": link_to(receipt.order)}

    def defaults(self, receipt):
        return {"return_date": date.today().isoformat(), "reason": ""}

    def save(self, receipt, values, quantities):
        document = SupplierReturn(receipt=receipt,
                                  return_date=date.fromisoformat(values["return_date"]),
                                  reason=values["reason"] or None)
        with db.session.no_autoflush:
            document.owner = permissions.assignable(current_user, SupplierReturn,
                                                    receipt.owner) or current_user
        wanted = posted_quantities(quantities)
        by_id = {line.id: line for line in receipt.lines}
        for line_id, quantity in wanted.items():
            document.lines.append(SupplierReturnLine(
                receipt_line=by_id[line_id], quantity=quantity,
                unit_cost=by_id[line_id].unit_cost))
        document.amount = money.cents(sum(
            (money.to_decimal(line.quantity) * money.to_decimal(line.unit_cost)
             for line in document.lines), Decimal(0)))
        db.session.add(document)
        db.session.flush()
        moves = post_together(
            [Posting(line, line.receipt_line_id, line.receipt_line.order_line.product,
                     receipt.warehouse_id, -line.quantity, line.unit_cost,
                     line.receipt_line.move_id) for line in document.lines
             if line.receipt_line.move_id is not None],
            "supplier return", document, document.return_date, current_user)
        for line, move in moves.items():
            line.move_id = move.id
        _add_to(ReceiptLine, "returned", wanted)
        by_order_line = {}
        for line_id, quantity in wanted.items():
            order_line_id = by_id[line_id].order_line_id
            by_order_line[order_line_id] = by_order_line.get(order_line_id, 0) + quantity
        _add_to(PurchaseOrderLine, "returned", by_order_line)
        db.session.flush()
        return document

