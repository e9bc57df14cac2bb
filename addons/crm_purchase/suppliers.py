"""Suppliers and their prices.

A supplier is a customer record (crm_customer, flagged ``is_supplier``) with the terms
of buying from it beside it (pur_supplier): one company is one record whichever way the
goods go. Its prices (pur_supplier_price) say what it charges for a product from a
quantity on, between two dates; among one supplier's prices valid on a day, the lowest
for the quantity is the one an order takes (``price_for_quantity``), and among
suppliers the price of lowest priority number is the preferred one.

The 360° panels of a supplier's page (open orders, receipts, bills, balance) come from
hooks.py; this file gives the screens and the price rules."""
import re
from datetime import date
from decimal import Decimal

from flask import render_template, request, url_for
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import event, func, inspect, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload
from wtforms.validators import ValidationError

from addons.crm_contacts.models import Customer
from addons.crm_contacts.views import prefill_customer
from addons.crm_sales.lines import LARGEST_AMOUNT, LARGEST_QUANTITY, ActiveProductLoader
from addons.crm_sales.models import Product
from core import company, layout, permissions
from core.admin import ModelView, ScopedAjaxLoader
from core.db import db
from core.models import Group, User
from core.util import int_ids

from .models import PurchaseOrder, Supplier, SupplierBill, SupplierPrice

PRICE_PANEL_ROWS = 100          # prices shown on a supplier's page; the list has them all
PURCHASE_GROUPS = ("purchase_user", "purchase_manager")


# -- the price rules ------------------------------------------------------------------------

def valid_on(on):
    """The condition: a supplier price valid on the day ``on`` (a missing start or end
    leaves that side open)."""
    return (or_(SupplierPrice.valid_from.is_(None), SupplierPrice.valid_from <= on)
            & or_(SupplierPrice.valid_to.is_(None), SupplierPrice.valid_to >= on))


def price_tiers(session, supplier_id, product_ids, on):
    """{product id: [(minimum quantity, price), ...]} of the supplier's prices valid on
    ``on`` for those products, in one query."""
    product_ids = sorted({pid for pid in product_ids if pid is not None})
    if supplier_id is None or not product_ids:
        return {}
    rows = session.execute(
        select(SupplierPrice.product_id, SupplierPrice.min_quantity, SupplierPrice.price)
        .where(SupplierPrice.supplier_id == supplier_id,
               SupplierPrice.product_id.in_(product_ids), valid_on(on))
        .order_by(SupplierPrice.product_id, SupplierPrice.min_quantity, SupplierPrice.price))
    tiers = {}
    for product_id, minimum, price in rows:
        tiers.setdefault(product_id, []).append((Decimal(str(minimum)), Decimal(str(price))))
    return tiers


def price_for_quantity(tiers, quantity):
    """The best (lowest) price of ``tiers`` whose minimum quantity ``quantity`` reaches,
    or None when none does."""
    quantity = Decimal(str(quantity))
    prices = [price for minimum, price in tiers if minimum <= quantity]
    return min(prices) if prices else None


def purchase_price(session, supplier_id, product, quantity, on):
    """What one unit of ``product`` costs from the supplier for ``quantity`` on ``on``:
    its best valid price for that quantity, else the product's cost."""
    tiers = price_tiers(session, supplier_id, [product.id], on).get(product.id, [])
    found = price_for_quantity(tiers, quantity)
    return found if found is not None else Decimal(str(product.cost or 0))


# -- look-ups for forms -----------------------------------------------------------------------

class SupplierLoader(ScopedAjaxLoader):
    """Suppliers by code or by their company's name, active ones only (a record keeps
    an inactive supplier it has)."""

    def get_query(self):
        return super().get_query().join(Supplier.customer).options(
            contains_eager(Supplier.customer))

    def get_list(self, term, offset=0, limit=10):
        pattern = f"%{term}%"
        return (self.get_query().filter(Supplier.active.is_(True))
                .filter(or_(Supplier.code.ilike(pattern), Customer.name.ilike(pattern)))
                .order_by(Supplier.code).offset(offset).limit(limit).all())


def supplier_loader(parent_model):
    return SupplierLoader("supplier", db, parent_model, {"fields": ["code"], "page_size": 10})


class PurchaserLoader(ScopedAjaxLoader):
    """The people who buy: active members of the purchase groups. (The users' list is
    an administrator's; a buyer still picks a colleague as a supplier's purchaser.)"""

    def get_query(self):
        return db.session.query(User).filter(
            User.active.is_(True), User.groups.any(Group.code.in_(PURCHASE_GROUPS)))

    def get_list(self, term, offset=0, limit=10):
        pattern = f"%{term}%"
        return (self.get_query().filter(or_(User.username.ilike(pattern),
                                            User.full_name.ilike(pattern)))
                .order_by(User.username).offset(offset).limit(limit).all())


# -- the customer's flag -------------------------------------------------------------------------

@event.listens_for(Session, "before_flush")
def _flag_supplier_customers(session, _context, _instances):
    """A customer with a supplier record is flagged ``is_supplier``; one that loses it
    (the record deleted, or given to another company) is not. Here rather than in the
    screen, so that every way of saving (form, import, API, demo data) keeps it true."""
    with session.no_autoflush:
        for record in list(session.new) + list(session.dirty):
            if isinstance(record, Supplier):
                _set_flag(session, record.customer, record.customer_id, True)
                history = inspect(record).attrs.customer_id.history
                for old_id in history.deleted or ():
                    if old_id is not None and old_id != record.customer_id:
                        _set_flag(session, None, old_id, False)
        for record in session.deleted:
            if isinstance(record, Supplier):
                _set_flag(session, None, record.customer_id, False)


def _set_flag(session, customer, customer_id, value):
    customer = customer if customer is not None else (
        session.get(Customer, customer_id) if customer_id is not None else None)
    if customer is not None and customer.is_supplier != value:
        customer.is_supplier = value


# -- checks ----------------------------------------------------------------------------------------
# Messages are raised as text (Flask-Admin shows only errors that are strings).

def not_negative(form, field):
    if field.data is not None and field.data < 0:
        raise ValidationError(_("Cannot be negative."))


def currency_code(form, field):
    if not re.fullmatch(r"[A-Z]{3}", field.data or ""):
        raise ValidationError(_("A three-letter code, such as CNY."))


def one_supplier_a_company(form, field):
    """A company has one supplier record (the database refuses a second)."""
    customer = field.data
    if customer is None or customer.id is None:
        return
    editing = int_ids([request.args.get("id", "")]) if request.endpoint and \
        request.endpoint.endswith(".edit_view") else []
    statement = select(Supplier.code).where(Supplier.customer_id == customer.id)
    if editing:
        statement = statement.where(Supplier.id != editing[0])
    existing = db.session.scalar(statement.limit(1))
    if existing is not None:
        raise ValidationError(_("This company is a supplier already (%(code)s).",
                                code=existing))


def price_problems(price, minimum, valid_from, valid_to, sequence):
    """{field name: message} of what is wrong with one supplier price."""
    problems = {}
    if price is None:
        problems["price"] = _("Enter a price.")
    elif price < 0:
        problems["price"] = _("A price cannot be negative.")
    elif price > LARGEST_AMOUNT:
        problems["price"] = _("At most %(limit)s.", limit=f"{LARGEST_AMOUNT:,}")
    elif price.as_tuple().exponent < -2:
        problems["price"] = _("At most %(places)d decimal places.", places=2)
    if minimum is None or minimum <= 0:
        problems["min_quantity"] = _("The minimum quantity must be more than 0.")
    elif minimum > LARGEST_QUANTITY:
        problems["min_quantity"] = _("At most %(limit)s.", limit=f"{LARGEST_QUANTITY:,}")
    elif minimum.as_tuple().exponent < -3:
        problems["min_quantity"] = _("At most %(places)d decimal places.", places=3)
    if valid_from and valid_to and valid_to < valid_from:
        problems["valid_to"] = _("The end of validity is before its start.")
    if sequence is not None and sequence < 0:
        problems["sequence"] = _("Cannot be negative.")
    return problems


def as_decimal(value):
    """A form's number as a Decimal (an empty field may come as the integer 0)."""
    return None if value is None else Decimal(str(value))


def check_price_form(form):
    """Put price_problems on the fields of one price form (a row of the supplier's
    form, or the price's own form). True when fine."""
    problems = price_problems(as_decimal(form.price.data), as_decimal(form.min_quantity.data),
                              form.valid_from.data, form.valid_to.data, form.sequence.data)
    for name, message in problems.items():
        add_error(getattr(form, name), message)
    return not problems


def add_error(field, message):
    """A message on a field, once (a field left unchecked has its errors as a tuple)."""
    if message not in field.errors:
        field.errors = [*field.errors, message]


PRICE_FIELDS = ["product", "supplier_product_code", "price", "min_quantity", "valid_from",
                "valid_to", "sequence"]


class PriceInline(InlineFormAdmin):
    """The supplier's prices on its form, a row each (posted as prices-0-product...)."""

    form_columns = ["id", *PRICE_FIELDS]

    def __init__(self):
        super().__init__(SupplierPrice, form_ajax_refs={
            "product": ActiveProductLoader("product", db, SupplierPrice,
                                           {"fields": ["code", "name"], "page_size": 10})})


# -- the screens ---------------------------------------------------------------------------------

def amount(value):
    return f"{Decimal(str(value or 0)):,.2f}"


def quantity(value):
    """1000.000 -> "1,000", 2.500 -> "2.5"."""
    value = Decimal(str(value or 0))
    return f"{value.normalize():,f}" if value else "0"


class SupplierView(ModelView):
    """Suppliers: the company (a customer record), its terms, its prices inline."""

    column_list = ["code", "customer", "currency", "payment_days", "lead_time_days",
                   "purchaser", "active"]
    column_labels = {"customer.name": _l("Company"), "purchaser.username": _l("Purchaser")}
    column_searchable_list = ["code", "customer.name"]
    column_filters = ["code", "customer.name", "currency", "payment_days", "lead_time_days",
                      "active", "purchaser.username"]
    column_sortable_list = ["code", ("customer", "customer.name"), "currency", "payment_days",
                            "lead_time_days", "active"]
    column_default_sort = ("code", False)
    column_details_list = ["code", "customer", "payment_days", "payment_terms",
                           "lead_time_days", "currency", "purchaser", "active", "notes"]
    details_sections = [
        (None, ["code", "customer", "currency", "purchaser", "payment_days", "payment_terms",
                "lead_time_days", "active"]),
        (_l("Notes"), ["notes"]),
    ]
    state_field = False
    column_export_list = ["code", "customer", "payment_days", "payment_terms",
                          "lead_time_days", "currency", "purchaser", "active", "notes"]
    form_columns = ["customer", "code", "payment_days", "payment_terms", "lead_time_days",
                    "currency", "purchaser", "active", "notes", "prices"]
    form_ajax_refs = {
        "customer": {"fields": ["name", "code"], "page_size": 10},
        "purchaser": PurchaserLoader("purchaser", db, Supplier,
                                     {"fields": ["username"], "page_size": 10}),
    }
    form_args = {
        "customer": {"validators": [one_supplier_a_company]},
        "payment_days": {"validators": [not_negative]},
        "lead_time_days": {"validators": [not_negative]},
        "currency": {"filters": [lambda text: (text or "").strip().upper()],
                     "validators": [currency_code]},
    }
    inline_models = [PriceInline()]

    def get_query(self):
        return super().get_query().options(joinedload(Supplier.customer),
                                           joinedload(Supplier.purchaser))

    def create_form(self, obj=None):
        """?customer=ID (from a customer's page) fills in the company."""
        form = prefill_customer(super().create_form(obj))
        if request.method == "GET" and not form.currency.data:
            form.currency.data = company.currency()
        return form

    def validate_form(self, form):
        if not hasattr(form, "prices") or request.method != "POST":
            return super().validate_form(form)
        fine = form.validate()
        for entry in form.prices.entries:
            if not form.prices.should_delete(entry):
                fine = check_price_form(entry.form) and fine
            elif not permissions.permits(current_user, "SupplierPrice", "d"):
                # The prices have access letters of their own: the supplier's form
                # deletes none for a user who may not delete prices.
                add_error(entry.form.price, _("You may not delete supplier prices: end their "
                                              "validity instead."))
                fine = False
        return fine and super().validate_form(form)

    def on_model_delete(self, supplier):
        # Orders and bills keep their supplier: an old supplier is made inactive.
        for model in (PurchaseOrder, SupplierBill):
            if db.session.scalar(select(model.id).where(model.supplier_id == supplier.id)
                                 .limit(1)) is not None:
                raise ValidationError(_("%(supplier)s has purchase orders or bills: untick "
                                        "Active instead.", supplier=supplier))

    # -- the record page --------------------------------------------------------------------

    def detail_buttons(self, supplier):
        buttons = []
        if supplier.active and permissions.permits(current_user, "PurchaseOrder", "c"):
            buttons.append({"label": _("New purchase order"), "icon": "fa-shopping-basket",
                            "url": url_for("purchase_order.create_view", supplier=supplier.id),
                            "style": "btn-primary"})
        return buttons

    def detail_panels(self, supplier):
        if not permissions.permits(current_user, "SupplierPrice", "r"):
            return super().detail_panels(supplier)   # (the warehouse sees no prices)
        prices = db.session.scalars(
            select(SupplierPrice).join(SupplierPrice.product)
            .where(SupplierPrice.supplier_id == supplier.id)
            .options(contains_eager(SupplierPrice.product))
            .order_by(Product.code, SupplierPrice.min_quantity, SupplierPrice.sequence,
                      SupplierPrice.id)
            .limit(PRICE_PANEL_ROWS + 1)).all()
        more = len(prices) > PRICE_PANEL_ROWS
        total = db.session.scalar(select(func.count()).where(
            SupplierPrice.supplier_id == supplier.id)) if more else len(prices)
        own = [{"title": _("Prices"), "order": 0, "width": "col-12",
                "html": Markup(render_template(
                    "crm_purchase/supplier_prices.html", prices=prices[:PRICE_PANEL_ROWS],
                    total=total, more=more, today=date.today(), amount=amount,
                    quantity=quantity, currency=supplier.currency,
                    hidden=layout.hidden_here(SupplierPrice.__name__),
                    list_url=url_for("supplier_price.index_view", search=supplier.code)))}]
        return own + super().detail_panels(supplier)


class SupplierPriceView(ModelView):
    """Every supplier's prices in one list: compare suppliers of a product, find the
    prices about to expire."""

    column_list = ["supplier", "product", "supplier_product_code", "price", "min_quantity",
                   "valid_from", "valid_to", "sequence"]
    column_labels = {"supplier.code": _l("Supplier"), "product.code": _l("Product"),
                     "product.name": _l("Product name")}
    column_searchable_list = ["supplier.code", "product.code", "product.name",
                              "supplier_product_code"]
    column_filters = ["supplier.code", "product.code", "product.name", "price",
                      "min_quantity", "valid_from", "valid_to", "sequence"]
    column_sortable_list = [("supplier", "supplier.code"), ("product", "product.code"),
                            "supplier_product_code", "price", "min_quantity", "valid_from",
                            "valid_to", "sequence"]
    column_default_sort = [("sequence", False), ("id", False)]
    column_details_list = ["supplier", *PRICE_FIELDS]
    column_export_list = ["supplier", *PRICE_FIELDS]
    form_columns = ["supplier", *PRICE_FIELDS]
    form_ajax_refs = {
        "supplier": supplier_loader(SupplierPrice),
        "product": ActiveProductLoader("product", db, SupplierPrice,
                                       {"fields": ["code", "name"], "page_size": 10}),
    }
    column_formatters = {
        "price": lambda view, context, price, name: amount(price.price),
        "min_quantity": lambda view, context, price, name: quantity(price.min_quantity),
    }
    column_formatters_detail = column_formatters

    def get_query(self):
        return super().get_query().options(
            joinedload(SupplierPrice.supplier).joinedload(Supplier.customer),
            joinedload(SupplierPrice.product))

    def create_form(self, obj=None):
        """?supplier=ID fills in the supplier."""
        form = super().create_form(obj)
        ids = int_ids([request.args.get("supplier", "")])
        if request.method == "GET" and ids:
            form.supplier.data = supplier_loader(SupplierPrice).get_one(ids[0])
        return form

    def validate_form(self, form):
        if request.method != "POST" or not hasattr(form, "price"):
            return super().validate_form(form)
        fine = form.validate()
        fine = check_price_form(form) and fine
        return fine and super().validate_form(form)
