"""Reorder rules, the daily reorder suggestions and the low-stock digest (库存提醒).

A rule keeps a product between a minimum and a maximum in a warehouse. Every day (the
manifest's job "crm_purchase.reorder", or "Compute now" on the suggestions list) each
active rule is weighed in one set-based statement:

    projected = on hand + incoming - outgoing

- on hand: stock_level;
- incoming: what is left to receive (quantity - received) on every purchase order not
  cancelled, closed or fully received, whatever its expected date: an order due in two
  months is still a commitment (Odoo forgot confirmed orders due later, odoo#69635).
  Drafts count too, so that the drafts made from yesterday's suggestions are never
  proposed a second time;
- outgoing: what is left to deliver (quantity - delivered) on open sales orders. Sales
  knows no warehouse and delivers from the default one (stock.py), so outgoing counts
  against the default warehouse only.

When projected is below the minimum, the suggestion is maximum - projected, rounded up
to the rule's multiple (a multiple of 0 or less counts as 1). The open suggestions are
replaced by the new ones in the same transaction (one DELETE, one bulk INSERT); those
ordered or dismissed stay as they were.

Then each purchaser gets ONE digest a day (a reminder under the bell and an email): the
supplier's purchaser, or, for products without one, every active purchase manager."""
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from flask import abort, current_app, flash, g, redirect, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, case, delete, false, func, literal, or_, select, text, true
from sqlalchemy.orm import aliased, joinedload
from werkzeug.routing import BuildError
from wtforms.validators import ValidationError

from addons.crm_sales.models import OrderLine, Product, SalesOrder
from core import notifications, options, permissions
from core.admin import ModelView
from core.db import db, insert_many
from core.i18n import label
from core.models import Group, User
from core.record import link_to
from core.util import int_ids

from .models import (PurchaseOrder, PurchaseOrderLine, ReorderRule, ReorderSuggestion,
                     StockLevel, Supplier, SupplierPrice, Warehouse)
from .suppliers import price_for_quantity, price_tiers, valid_on

ADDON = "crm_purchase"
# Orders whose open quantities are no longer expected.
NOT_EXPECTED = ("cancelled", "closed", "received")
QUANTUM = Decimal("0.001")
DIGEST_LINES = 20          # products named in a digest; the rest are counted
LINKED_ORDERS = 10         # orders linked in the flash after "Create purchase orders"
# Taken for the whole computation on PostgreSQL: two runs at once (the scheduler and
# "Compute now") would each delete the open suggestions and insert theirs.
REORDER_LOCK = 2026061101
MANAGERS = "purchase_manager"
COMPUTERS = ("purchase_manager", "stock_user")   # who may press "Compute now"


# -- numbers in words ---------------------------------------------------------------------

def quantity_text(value):
    """10.000 -> '10', 2.500 -> '2.5', 12000 -> '12,000'."""
    value = Decimal(value or 0).quantize(QUANTUM).normalize()
    return f"{value:,f}" if value else "0"


def multiple_of(rule_multiple):
    multiple = Decimal(rule_multiple or 0)
    return multiple if multiple > 0 else Decimal(1)


def rule_text(rule):
    """"min 10, max 50, ×6" (the multiple left out when it is 1)."""
    if rule is None:
        return ""
    words = _("min %(minimum)s, max %(maximum)s", minimum=quantity_text(rule.minimum),
              maximum=quantity_text(rule.maximum))
    if multiple_of(rule.multiple) != 1:
        words = _("%(rule)s, ×%(multiple)s", rule=words,
                  multiple=quantity_text(multiple_of(rule.multiple)))
    return words


def reason_text(suggestion):
    """"On hand 4 + incoming 10 − outgoing 12 = 2, below the minimum 10: order 48 to
    reach 50". Made of the stored figures, so it adds up even after the rule changed."""
    on_hand, incoming, outgoing = (Decimal(suggestion.on_hand), Decimal(suggestion.incoming),
                                   Decimal(suggestion.outgoing))
    projected = on_hand + incoming - outgoing
    rule = suggestion.rule
    words = _("On hand %(on_hand)s + incoming %(incoming)s − outgoing %(outgoing)s = "
              "%(projected)s, below the minimum %(minimum)s: order %(quantity)s to reach "
              "%(target)s",
              on_hand=quantity_text(on_hand), incoming=quantity_text(incoming),
              outgoing=quantity_text(outgoing), projected=quantity_text(projected),
              minimum=quantity_text(rule.minimum if rule is not None else 0),
              quantity=quantity_text(suggestion.quantity),
              target=quantity_text(projected + Decimal(suggestion.quantity)))
    if rule is not None and multiple_of(rule.multiple) != 1:
        words = _("%(reason)s (in multiples of %(multiple)s)", reason=words,
                  multiple=quantity_text(multiple_of(rule.multiple)))
    return words


# -- the computation: one statement for every rule -----------------------------------------

def _left_positive(quantity, done):
    """What is left of a line (never below zero: a line over-received expects nothing)."""
    left = quantity - done
    return case((left > 0, left), else_=literal(0))


def incoming_quantities():
    """(product_id, warehouse_id, quantity) still to receive on purchase orders."""
    return (select(PurchaseOrderLine.product_id, PurchaseOrder.warehouse_id,
                   func.sum(_left_positive(PurchaseOrderLine.quantity,
                                           PurchaseOrderLine.received)).label("quantity"))
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
            .where(PurchaseOrder.state.not_in(NOT_EXPECTED))
            .group_by(PurchaseOrderLine.product_id, PurchaseOrder.warehouse_id)
            .subquery("incoming"))


def outgoing_quantities():
    """(product_id, quantity) still to deliver on open sales orders."""
    return (select(OrderLine.product_id,
                   func.sum(_left_positive(OrderLine.quantity, OrderLine.delivered))
                   .label("quantity"))
            .join(SalesOrder, SalesOrder.id == OrderLine.order_id)
            .where(SalesOrder.state == "open", OrderLine.product_id.is_not(None))
            .group_by(OrderLine.product_id)
            .subquery("outgoing"))


def preferred_suppliers(today):
    """(product_id, supplier_id): each product's preferred supplier, that of the active
    supplier's price valid today with the lowest priority number (then the cheapest)."""
    ranked = (select(SupplierPrice.product_id, SupplierPrice.supplier_id,
                     func.row_number().over(
                         partition_by=SupplierPrice.product_id,
                         order_by=(SupplierPrice.sequence, SupplierPrice.price,
                                   SupplierPrice.id)).label("position"))
              .join(Supplier, Supplier.id == SupplierPrice.supplier_id)
              .where(Supplier.active.is_(True), valid_on(today))
              .subquery("ranked"))
    return (select(ranked.c.product_id, ranked.c.supplier_id)
            .where(ranked.c.position == 1).subquery("preferred"))


def default_warehouse_id():
    return db.session.scalar(select(Warehouse.id).where(Warehouse.is_default.is_(True))
                             .order_by(Warehouse.id).limit(1))


def below_minimum(today):
    """Every active rule of an active product whose projected quantity is below its
    minimum, with its figures and supplier: one statement, however many rules."""
    rule = ReorderRule
    incoming, outgoing = incoming_quantities(), outgoing_quantities()
    preferred = preferred_suppliers(today)
    on_hand = func.coalesce(StockLevel.quantity, 0)
    coming = func.coalesce(incoming.c.quantity, 0)
    default_id = default_warehouse_id()
    going = case((rule.warehouse_id == default_id, func.coalesce(outgoing.c.quantity, 0)),
                 else_=literal(0)) if default_id is not None else literal(0)
    return (select(rule.id.label("rule_id"), rule.product_id, rule.warehouse_id,
                   rule.minimum, rule.maximum, rule.multiple,
                   func.coalesce(rule.supplier_id, preferred.c.supplier_id).label("supplier_id"),
                   on_hand.label("on_hand"), coming.label("incoming"),
                   going.label("outgoing"))
            .select_from(rule)
            .join(Product, Product.id == rule.product_id)
            .outerjoin(StockLevel, and_(StockLevel.product_id == rule.product_id,
                                        StockLevel.warehouse_id == rule.warehouse_id))
            .outerjoin(incoming, and_(incoming.c.product_id == rule.product_id,
                                      incoming.c.warehouse_id == rule.warehouse_id))
            .outerjoin(outgoing, outgoing.c.product_id == rule.product_id)
            .outerjoin(preferred, preferred.c.product_id == rule.product_id)
            .where(rule.active.is_(True), Product.active.is_(True),
                   on_hand + coming - going < rule.minimum)
            .order_by(rule.product_id, rule.warehouse_id))


def suggested_quantity(minimum, maximum, multiple, projected):
    """maximum - projected rounded up to the multiple; None when nothing is needed."""
    if projected >= minimum:
        return None
    needed = maximum - projected
    if needed <= 0:   # a maximum below the minimum: at least the minimum's shortfall
        needed = minimum - projected
    multiple = multiple_of(multiple)
    return ((needed / multiple).to_integral_value(rounding=ROUND_CEILING) * multiple) \
        .quantize(QUANTUM)


def _quantized(value):
    return Decimal(str(value or 0)).quantize(QUANTUM)


def suggestion_row(row, today):
    """The stock_reorder_suggestion row for a rule below its minimum, or None (SQLite
    adds its floats: the figures are checked again in Decimal)."""
    on_hand, incoming, outgoing = (_quantized(row.on_hand), _quantized(row.incoming),
                                   _quantized(row.outgoing))
    quantity = suggested_quantity(_quantized(row.minimum), _quantized(row.maximum),
                                  _quantized(row.multiple), on_hand + incoming - outgoing)
    if quantity is None:
        return None
    return {"rule_id": row.rule_id, "product_id": row.product_id,
            "warehouse_id": row.warehouse_id, "supplier_id": row.supplier_id,
            "on_hand": on_hand, "incoming": incoming, "outgoing": outgoing,
            "quantity": quantity, "computed_on": today, "state": "open", "order_id": None}


def lock_computation():
    """One computation at a time: on PostgreSQL a lock held to the transaction's end; on
    SQLite the DELETE that follows takes the database's write lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REORDER_LOCK})


def compute_suggestions(today=None):
    """Replace the open suggestions by today's, in the caller's transaction; returns how
    many there are. A constant number of statements, whatever the number of rules."""
    today = today or date.today()
    lock_computation()
    db.session.execute(delete(ReorderSuggestion).where(ReorderSuggestion.state == "open")
                       .execution_options(synchronize_session=False))
    rows = [found for found in (suggestion_row(row, today)
                                for row in db.session.execute(below_minimum(today)))
            if found is not None]
    insert_many(db.session.connection(), ReorderSuggestion.__table__, rows)
    return len(rows)


# -- the low-stock digest ---------------------------------------------------------------------

def low_stock_lines(limit=DIGEST_LINES):
    """The open suggestions by purchaser (None: the supplier has no active purchaser, or
    there is no supplier): {purchaser id: (count, [(code, name, warehouse, quantity)])},
    at most ``limit`` lines each; one statement."""
    buyer = aliased(User)
    purchaser = buyer.id
    ranked = (select(purchaser.label("purchaser_id"), Product.code, Product.name,
                     Warehouse.name.label("warehouse"), ReorderSuggestion.quantity,
                     func.row_number().over(partition_by=purchaser, order_by=(
                         Product.code, Warehouse.name, ReorderSuggestion.id))
                     .label("position"),
                     func.count().over(partition_by=purchaser).label("total"))
              .join(Product, Product.id == ReorderSuggestion.product_id)
              .join(Warehouse, Warehouse.id == ReorderSuggestion.warehouse_id)
              .outerjoin(Supplier, Supplier.id == ReorderSuggestion.supplier_id)
              .outerjoin(buyer, and_(buyer.id == Supplier.purchaser_id,
                                     buyer.active.is_(True)))
              .where(ReorderSuggestion.state == "open")
              .subquery("ranked"))
    found = {}
    for row in db.session.execute(select(ranked).where(ranked.c.position <= limit)
                                  .order_by(ranked.c.purchaser_id, ranked.c.position)):
        total, lines = found.setdefault(row.purchaser_id, (row.total, []))
        lines.append((row.code, row.name, label(row.warehouse), row.quantity))
    return found


def active_managers():
    return db.session.scalars(select(User).where(
        User.active.is_(True), User.groups.any(Group.code == MANAGERS)).order_by(User.id)).all()


def digests(found, managers, limit=DIGEST_LINES):
    """{user: (count, lines, whose)}: a purchaser's own products; a manager's, those no
    one buys; both for a manager who is a purchaser too (one message, never two)."""
    users = {user.id: user for user in db.session.scalars(select(User).where(
        User.id.in_([key for key in found if key is not None])))} if found else {}
    result = {}
    for user_id, (total, lines) in found.items():
        if user_id is not None:
            result[users[user_id]] = (total, list(lines), "me")
    unassigned = found.get(None)
    if unassigned:
        for manager in managers:
            total, lines, _whose = result.get(manager, (0, [], None))
            whose = "nobody" if not lines else "mine"
            result[manager] = (total + unassigned[0], (lines + unassigned[1])[:limit], whose)
    return result


def suggestions_link(whose):
    """The suggestions list, open ones of the purchaser's (a path; None without it)."""
    try:
        return current_app.url_map.bind("localhost").build(
            "reorder_suggestion.index_view",
            {"flt0_state_is": "open", "flt1_purchaser_is": whose})
    except BuildError:
        return None


def digest_reminder(user, total, lines, whose, today):
    """(users, title, body, link, key) for notifications.notify_many: the key makes it
    once per user and day, however often the job runs."""
    def title():
        return ngettext("Low stock: %(num)d product to reorder",
                        "Low stock: %(num)d products to reorder", total)

    def body():
        text_lines = [ngettext(
            "%(num)d product is below its minimum and needs ordering:",
            "%(num)d products are below their minimum and need ordering:", total)]
        text_lines += [_("• %(code)s %(name)s, %(warehouse)s: order %(quantity)s",
                         code=code, name=name, warehouse=warehouse,
                         quantity=quantity_text(quantity))
                       for code, name, warehouse, quantity in lines]
        if total > len(lines):
            text_lines.append(ngettext("…and %(num)d more.", "…and %(num)d more.",
                                       total - len(lines)))
        text_lines.append(_("Open the reorder suggestions to make the purchase orders."))
        return "\n".join(text_lines)

    return ([user], title, body, suggestions_link(whose),
            f"{ADDON}.low_stock:{today.isoformat()}")


def send_digests(today=None):
    """One digest per purchaser and day (a reminder, and its email); returns how many
    were written now (none the second time the same day)."""
    today = today or date.today()
    found = low_stock_lines()
    if not found:
        return 0
    managers = active_managers() if None in found else []
    reminders = [digest_reminder(user, total, lines, whose, today)
                 for user, (total, lines, whose) in digests(found, managers).items()]
    return notifications.notify_many(reminders, email=True)


def daily(today=None):
    """The manifest's job: today's suggestions, then the digests."""
    today = today or date.today()
    computed = compute_suggestions(today)
    db.session.commit()
    sent = send_digests(today)
    db.session.commit()
    return ", ".join((ngettext("%(num)d reorder suggestion", "%(num)d reorder suggestions",
                               computed),
                      ngettext("%(num)d low-stock digest", "%(num)d low-stock digests", sent)))


# -- purchase orders from suggestions ----------------------------------------------------------

class Refused(Exception):
    """Suggestions that cannot become orders; str() says why, for the user."""


def unit_price(tiers, suggestion):
    """The supplier's best price for the suggested quantity, else the product's cost
    (as on a purchase order's line: suppliers.purchase_price)."""
    found = price_for_quantity(tiers.get(suggestion.product_id, []), suggestion.quantity)
    return found if found is not None else suggestion.product.cost


def make_orders(suggestions, user, today=None):
    """Draft purchase orders for open ``suggestions``: one per supplier and warehouse,
    a line per suggestion; the suggestions marked ordered. Returns the orders (flushed,
    numbered). Raises Refused, having changed nothing, for suggestions without a
    supplier."""
    today = today or date.today()
    missing = [s for s in suggestions if s.supplier_id is None]
    if missing:
        raise Refused(_("These products have no supplier: %(products)s. Choose one on "
                        "their reorder rule, or give the product a supplier price.",
                        products=", ".join(str(s.product) for s in missing)))
    terms = options.get(ADDON, "purchase_terms") or None
    groups = defaultdict(list)
    for suggestion in suggestions:
        groups[(suggestion.supplier_id, suggestion.warehouse_id)].append(suggestion)
    orders = []
    for (_supplier_id, _warehouse_id), members in sorted(groups.items()):
        supplier = members[0].supplier
        tiers = price_tiers(db.session, supplier.id, [s.product_id for s in members], today)
        order = PurchaseOrder(
            supplier=supplier, warehouse=members[0].warehouse, owner=user,
            order_date=today, expected_date=today + timedelta(days=supplier.lead_time_days or 0),
            currency=supplier.currency, terms=terms)
        order.lines = [PurchaseOrderLine(
            sequence=10 * (index + 1), product=s.product, description=s.product.name,
            quantity=s.quantity, unit_price=unit_price(tiers, s), discount=0,
            tax_rate=s.product.tax_rate) for index, s in enumerate(members)]
        db.session.add(order)
        for suggestion in members:
            suggestion.state, suggestion.order = "ordered", order
        orders.append(order)
    db.session.flush()
    return orders


# -- the screens ----------------------------------------------------------------------------

def in_groups(user, codes):
    return user.is_admin or any(group.code in codes for group in user.groups)


def not_negative(form, field):
    if field.data is not None and field.data < 0:
        raise ValidationError(_("Cannot be negative."))


def at_least_minimum(form, field):
    minimum = form.minimum.data if "minimum" in form else None
    if field.data is not None and minimum is not None and field.data < minimum:
        raise ValidationError(_("The maximum cannot be below the minimum."))


def refuse(form, name, message):
    """A message on the form's field (or an import row's column), and the save refused."""
    if name in form:
        form[name].errors.append(message)
    raise ValidationError(message)


def _id_of(record, relation):
    related = getattr(record, relation)
    return related.id if related is not None else getattr(record, f"{relation}_id")


class RuleView(ModelView):
    column_list = ["product", "warehouse", "minimum", "maximum", "multiple", "supplier",
                   "active"]
    column_searchable_list = ["product.code", "product.name"]
    column_filters = ["product.code", "product.name", "warehouse.name", "supplier.code",
                      "minimum", "maximum", "active"]
    column_sortable_list = [("product", "product.code"), ("warehouse", "warehouse.name"),
                            "minimum", "maximum", "multiple", ("supplier", "supplier.code"),
                            "active"]
    column_default_sort = [("id", True)]
    column_labels = {"product.code": _l("Product code"), "product.name": _l("Product"),
                     "warehouse.name": _l("Warehouse"), "supplier.code": _l("Supplier")}
    form_columns = ["product", "warehouse", "minimum", "maximum", "multiple", "supplier",
                    "active"]
    column_details_list = form_columns
    column_export_list = form_columns
    form_args = {"minimum": {"validators": [not_negative]},
                 "maximum": {"validators": [not_negative, at_least_minimum]},
                 "multiple": {"validators": [not_negative],
                              "description": _l("Order in packs of this many; 0 or 1 for "
                                                "any quantity.")},
                 "supplier": {"description": _l("Empty: the product's preferred supplier "
                                                "(its supplier price of lowest priority).")}}
    form_ajax_refs = {"product": {"fields": ["code", "name"], "page_size": 10},
                      "supplier": {"fields": ["code"], "page_size": 10},
                      "warehouse": {"fields": ["code", "name"], "page_size": 10}}
    column_formatters = {
        name: (lambda view, context, rule, column: quantity_text(getattr(rule, column)))
        for name in ("minimum", "maximum", "multiple")}

    def get_query(self):
        return super().get_query().options(
            joinedload(ReorderRule.product), joinedload(ReorderRule.warehouse),
            joinedload(ReorderRule.supplier).joinedload(Supplier.customer))

    def on_model_change(self, form, rule, is_created):
        """One rule per product and warehouse: said on the form, or on the import's row
        (a file that names the pair twice too), before the database refuses it."""
        pair = (_id_of(rule, "product"), _id_of(rule, "warehouse"))
        if None not in pair:
            if self.importing():
                # The rows of one check are the fields of one RowForm: its pairs so far.
                seen = g.setdefault("reorder_import_pairs", {}).setdefault(id(form), set())
                if pair in seen:
                    refuse(form, "product", self.duplicate_message(rule))
                seen.add(pair)
            with db.session.no_autoflush:   # the new rule itself is not in the table yet
                existing = db.session.scalar(select(ReorderRule.id).where(
                    ReorderRule.product_id == pair[0], ReorderRule.warehouse_id == pair[1],
                    ReorderRule.id != (rule.id or 0)).limit(1))
            if existing is not None:
                refuse(form, "product", self.duplicate_message(rule))
        super().on_model_change(form, rule, is_created)

    @staticmethod
    def duplicate_message(rule):
        return _("%(product)s already has a reorder rule for %(warehouse)s: change that "
                 "rule instead.", product=rule.product, warehouse=rule.warehouse)


class SuggestionFilter(BaseSQLAFilter):
    """A filter of the suggestions list whose link reads the same in every language
    (the digest links to it)."""

    def operation(self):
        return _l("is")

    def clean(self, value):
        return value


class StateFilter(SuggestionFilter):
    crm_url_name = "state"

    def __init__(self):
        super().__init__(ReorderSuggestion.state, _l("State"),
                         options=(("open", _l("open")), ("ordered", _l("ordered")),
                                  ("dismissed", _l("dismissed"))))

    def apply(self, query, value, alias=None):
        return query.filter(ReorderSuggestion.state == value)


class WarehouseFilter(SuggestionFilter):
    crm_url_name = "warehouse"

    def __init__(self):
        super().__init__(ReorderSuggestion.warehouse_id, _l("Warehouse"))

    @staticmethod
    def choices():
        return [(str(key), label(name)) for key, name in db.session.execute(
            select(Warehouse.id, Warehouse.name).order_by(Warehouse.name).limit(200))]

    def apply(self, query, value, alias=None):
        ids = int_ids([value])
        return query.filter(ReorderSuggestion.warehouse_id == ids[0] if ids else false())


class SupplierFilter(SuggestionFilter):
    """A supplier by its code or its company's name (part of either)."""

    crm_url_name = "supplier"

    def __init__(self):
        super().__init__(ReorderSuggestion.supplier_id, _l("Supplier"))

    def apply(self, query, value, alias=None):
        from addons.crm_contacts.models import Customer
        words = f"%{(value or '').strip()}%"
        matching = (select(Supplier.id).join(Customer, Customer.id == Supplier.customer_id)
                    .where(or_(Supplier.code.ilike(words), Customer.name.ilike(words))))
        return query.filter(ReorderSuggestion.supplier_id.in_(matching))

    def operation(self):
        return _l("contains")


class PurchaserFilter(SuggestionFilter):
    """Whose the suggestions are: the supplier's purchaser ("me"); no one's (no
    supplier, or no active purchaser: the managers'); or both, as a digest lists them."""

    crm_url_name = "purchaser"

    def __init__(self):
        super().__init__(ReorderSuggestion.supplier_id, _l("Purchaser"),
                         options=(("me", _l("me")), ("nobody", _l("nobody")),
                                  ("mine", _l("me or nobody"))))

    def apply(self, query, value, alias=None):
        mine = ReorderSuggestion.supplier_id.in_(
            select(Supplier.id).where(Supplier.purchaser_id == current_user.id))
        assigned = select(Supplier.id).join(User, User.id == Supplier.purchaser_id) \
            .where(User.active.is_(True))
        nobody = or_(ReorderSuggestion.supplier_id.is_(None),
                     ReorderSuggestion.supplier_id.not_in(assigned))
        condition = {"me": mine, "nobody": nobody, "mine": or_(mine, nobody)}.get(value)
        return query.filter(condition if condition is not None else true())


def _quantity_column(name):
    return lambda view, context, suggestion, column: quantity_text(getattr(suggestion, name))


class SuggestionView(ModelView):
    """The day's suggestions, why each, and what became of them; turned into draft
    purchase orders (or dismissed) from the list."""

    allow_create = allow_edit = allow_delete = allow_import = False
    list_template = "crm_purchase/reorder_suggestion_list.html"
    state_field = "state"
    column_list = ["product", "warehouse", "supplier", "on_hand", "incoming", "outgoing",
                   "rule", "quantity", "reason", "state", "order"]
    column_details_list = ["product", "warehouse", "supplier", "on_hand", "incoming",
                           "outgoing", "rule", "quantity", "reason", "computed_on", "state",
                           "order"]
    column_export_list = column_details_list
    column_searchable_list = ["product.code", "product.name"]
    column_filters = [StateFilter(), WarehouseFilter(), SupplierFilter(), PurchaserFilter(),
                      "computed_on"]
    column_sortable_list = [("product", "product.code"), ("warehouse", "warehouse.name"),
                            ("supplier", "supplier.code"), "on_hand", "incoming", "outgoing",
                            "quantity", "state", "computed_on"]
    column_default_sort = [("computed_on", True), ("id", False)]
    column_labels = {"rule": _l("Rule"), "reason": _l("Why"), "incoming": _l("Incoming"),
                     "outgoing": _l("Outgoing"), "quantity": _l("Suggested quantity"),
                     "product.code": _l("Product code"), "product.name": _l("Product")}
    column_descriptions = {
        "incoming": _l("Still to receive on purchase orders not cancelled, closed or "
                       "fully received, drafts included, whatever their expected date."),
        "outgoing": _l("Still to deliver on open sales orders; sales deliver from the "
                       "default warehouse, so only its suggestions count them.")}
    column_formatters = {
        **{name: _quantity_column(name)
           for name in ("on_hand", "incoming", "outgoing", "quantity")},
        "rule": lambda view, context, suggestion, name: rule_text(suggestion.rule),
        "reason": lambda view, context, suggestion, name: reason_text(suggestion),
        "order": lambda view, context, suggestion, name:
            link_to(suggestion.order) if suggestion.order is not None else "",
    }
    column_formatters_detail = column_formatters
    column_formatters_export = {
        **column_formatters,
        "order": lambda view, context, suggestion, name:
            suggestion.order.number if suggestion.order is not None else ""}

    def get_query(self):
        return super().get_query().options(
            joinedload(ReorderSuggestion.product), joinedload(ReorderSuggestion.warehouse),
            joinedload(ReorderSuggestion.rule), joinedload(ReorderSuggestion.order),
            joinedload(ReorderSuggestion.supplier).joinedload(Supplier.customer))

    def _get_filter_groups(self):
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                if isinstance(self._filters[item["index"]], WarehouseFilter):
                    item["options"] = WarehouseFilter.choices()
        return groups

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["may_compute"] = self.may_compute()
        return super().render(template, **kwargs)

    def may_compute(self):
        return self.permits("w") and in_groups(current_user, COMPUTERS)

    @expose("/compute/", methods=("POST",))
    def compute_view(self):
        """"Compute now": today's suggestions at once, as the daily job makes them (the
        digests stay the job's: a click does not mail colleagues)."""
        if not self.may_compute():
            abort(403)
        count = compute_suggestions()
        db.session.commit()
        flash(ngettext("%(num)d reorder suggestion computed.",
                       "%(num)d reorder suggestions computed.", count), "success")
        return redirect(self.get_url(".index_view", flt0_state_is="open"))

    def is_action_allowed(self, name):
        if name == "create_orders" and not permissions.permits(
                current_user, "PurchaseOrder", "c"):
            return False
        return super().is_action_allowed(name)

    def locked_open(self, ids):
        """The chosen suggestions still open, locked until the transaction ends (a
        second click, or the job, waits and then finds them ordered)."""
        if not ids:
            return []
        return db.session.scalars(
            select(ReorderSuggestion).where(ReorderSuggestion.id.in_(ids),
                                            ReorderSuggestion.state == "open")
            .order_by(ReorderSuggestion.id).with_for_update(of=ReorderSuggestion)
            .options(joinedload(ReorderSuggestion.product),
                     joinedload(ReorderSuggestion.warehouse),
                     joinedload(ReorderSuggestion.supplier))).unique().all()

    def _back(self):
        return redirect(get_redirect_target() or self.get_url(".index_view",
                                                               flt0_state_is="open"))

    @action("create_orders", _l("Create purchase orders"),
            _l("Make draft purchase orders of the selected suggestions, one per supplier "
               "and warehouse?"))
    def action_create_orders(self, ids):
        if not permissions.permits(current_user, "PurchaseOrder", "c"):
            abort(403)
        suggestions = self.locked_open(ids)
        if not suggestions:
            flash(_("None of the selected suggestions is open any more."), "error")
            return self._back()
        try:
            orders = make_orders(suggestions, current_user._get_current_object())
            db.session.commit()
        except Refused as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self._back()
        flash(self.orders_made_message(orders, len(suggestions)), "success")
        return self._back()

    @staticmethod
    def orders_made_message(orders, count):
        links = Markup(", ").join(
            Markup('<a href="{}">{}</a>').format(
                url_for("purchase_order.details_view", id=order.id), order.number)
            for order in orders[:LINKED_ORDERS])
        more = len(orders) - LINKED_ORDERS
        if more > 0:
            links += Markup(" ") + ngettext("and %(num)d more", "and %(num)d more", more)
        return Markup(ngettext(
            "%(num)d draft purchase order made from %(count)s: %(orders)s. Check and "
            "confirm it.",
            "%(num)d draft purchase orders made from %(count)s: %(orders)s. Check and "
            "confirm them.", len(orders),
            count=ngettext("%(num)d suggestion", "%(num)d suggestions", count),
            orders=links))

    @action("dismiss", _l("Dismiss"), _l("Dismiss the selected suggestions? They are "
                                         "proposed again tomorrow if still needed."))
    def action_dismiss(self, ids):
        suggestions = self.locked_open(ids)
        for suggestion in suggestions:
            suggestion.state = "dismissed"
        db.session.commit()
        flash(ngettext("%(num)d suggestion dismissed.", "%(num)d suggestions dismissed.",
                       len(suggestions)), "success" if suggestions else "error")
        return self._back()
