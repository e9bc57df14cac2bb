"""Products and price lists, and the price one customer pays for one product on a day."""
from datetime import date

from flask import abort, jsonify, request, url_for
from flask_admin import expose
from flask_admin.model.widgets import InlineFieldListWidget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import case, or_, select
from wtforms.validators import Optional, StopValidation, ValidationError

from addons.crm_contacts.models import Customer
from addons.crm_sales.models import (OrderLine, PriceList, PriceListItem,
                                     Product, QuoteLine)
from core import company
from core.admin import ModelView, scoped_query
from core.db import db
from core.util import int_ids


def price_for(session, product, customer, on=None):
    """The price (a Decimal) of ``product`` for ``customer`` on ``on`` (default today).

    An active price list of the customer's own, valid on that day, wins; else an active
    list for the customer's grade valid on that day; else the product's price. A list
    without a start or an end date is open on that side. Where two lists of the same
    kind qualify, the one that started last wins (a new promotion over the year's list),
    then the newest. ``customer`` may be None (no customer chosen yet): the product's
    price. One query."""
    return priced(session, product, customer, on)[0]


def priced(session, product, customer, on=None):
    """(price, name of the price list it comes from or None), by price_for's rules:
    the line editor tells the user which list gave the price."""
    whose = []
    if customer is not None and customer.id is not None:
        whose.append(PriceList.customer_id == customer.id)
    if customer is not None and customer.grade:
        whose.append(PriceList.customer_id.is_(None) & (PriceList.grade == customer.grade))
    if not whose or product.id is None:
        return product.price, None
    on = on or date.today()
    statement = (
        select(PriceListItem.price, PriceList.name)
        .join(PriceList, PriceListItem.price_list_id == PriceList.id)
        .where(PriceListItem.product_id == product.id, PriceList.active.is_(True),
               or_(PriceList.valid_from.is_(None), PriceList.valid_from <= on),
               or_(PriceList.valid_to.is_(None), PriceList.valid_to >= on),
               or_(*whose))
        .order_by(case((PriceList.customer_id.is_(None), 1), else_=0),
                  PriceList.valid_from.desc().nulls_last(), PriceList.id.desc())
        .limit(1))
    row = session.execute(statement).first()
    return (product.price, None) if row is None else (row.price, row.name)


# -- what a line editor asks while the user types ----------------------------------------

def in_reach(model, parent_model, value):
    """The ``model`` record of id ``value`` that a form of ``parent_model`` may offer
    (the record rules), else 404: the same answer for "none" and "not yours"."""
    ids = int_ids([value or ""])
    record = scoped_query(model, parent_model).filter(model.id == ids[0]).one_or_none() \
        if ids else None
    if record is None:
        abort(404)
    return record


def plain_number(value):
    """13.00 -> "13", 6.50 -> "6.5": as a person types a rate."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class LinePricing:
    """For a screen with priced lines: ``./line-price/?product=ID&customer=ID&on=DATE``
    answers, as JSON, what a line takes from its product (price after the customer's
    price list on that day, tax rate, name) for the line editor in crm.js to fill in
    as soon as a product is picked. It needs the screen's read access (a GET), and sees
    only the products and customers the screen's forms may offer: anything else, or an
    unknown id, is a 404. The line is priced again by the same rules when saved."""

    @expose("/line-price/")
    def line_price(self):
        product = in_reach(Product, self.model, request.args.get("product"))
        customer = in_reach(Customer, self.model, request.args.get("customer")) \
            if (request.args.get("customer") or "").strip() else None
        try:
            on = date.fromisoformat((request.args.get("on") or "").strip()[:10])
        except ValueError:
            on = None   # not (yet) a date: today's prices
        price, price_list = priced(db.session, product, customer, on)
        return jsonify(
            product=product.id, price=f"{price:.2f}", tax_rate=plain_number(product.tax_rate),
            description=product.name, unit=product.unit,
            currency=company.currency(),
            price_list=price_list,
            note=_("Price from price list %(name)s", name=price_list) if price_list else "")


# -- the screens ----------------------------------------------------------------------

class OptionalKeepingErrors(Optional):
    """wtforms' Optional, except that the errors of the validators before it stay: a
    check that looks at other fields ("a grade or a customer") can then sit on a field
    that may be left empty. (Optional clears them; its presence also stops Flask-Admin
    from adding one.)"""

    def __call__(self, form, field):
        if not field.raw_data or not str(field.raw_data[0]).strip():
            raise StopValidation()


def not_negative(form, field):
    if field.data is not None and field.data < 0:
        raise ValidationError(_("Cannot be negative."))


def percent(form, field):
    if field.data is not None and not 0 <= field.data <= 100:
        raise ValidationError(_("Between 0 and 100."))


class ProductView(ModelView):
    column_list = ["code", "name", "category", "kind", "unit", "price", "tax_rate", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["code", "name", "category.name", "kind", "unit", "price", "tax_rate",
                      "active"]
    column_sortable_list = ["code", "name", ("category", "category.name"), "unit", "price",
                            "tax_rate", "active"]
    column_default_sort = [("code", False)]
    form_columns = ["code", "name", "category", "kind", "unit", "price", "cost", "tax_rate",
                    "active", "description"]
    column_details_list = form_columns
    form_args = {"price": {"validators": [not_negative]},
                 "cost": {"validators": [not_negative]},
                 "tax_rate": {"validators": [percent]}}

    def on_model_delete(self, model):
        # Quotes, orders and price lists keep pointing at their products.
        for line in (PriceListItem, QuoteLine, OrderLine):
            if db.session.scalar(select(line.id).where(line.product_id == model.id).limit(1)):
                raise ValidationError(_("%(product)s is used in price lists, quotes or "
                                        "orders: untick Active instead.", product=model))
        super().on_model_delete(model)


def items_list(_view, _context, price_list, _name):
    """The prices of a list on its details page, one product a line (escaped)."""
    return Markup("<br>").join(f"{item.product}: {item.price}" for item in price_list.items)


def for_grade_or_customer(form, field):
    """A price list is for the customers of one grade, or for one customer: exactly one
    of the two (an error on the customer field)."""
    grade = form.grade.data or None
    if grade is None and field.data is None:
        raise ValidationError(_("Choose a customer grade or a customer."))
    if grade is not None and field.data is not None:
        raise ValidationError(_("Choose a customer grade or a customer, not both."))


def ends_after_start(form, field):
    start = form.valid_from.data
    if field.data is not None and start is not None and field.data < start:
        raise ValidationError(_("The end of validity is before its start."))


class PriceItemsEditor(InlineFieldListWidget):
    """A price list's prices as Flask-Admin lays them out, made a line editor of crm.js:
    a picked product brings its own price to start from."""

    def __call__(self, field, **kwargs):
        fields = Markup(super().__call__(field, **kwargs))   # (rendered by a template)
        return Markup('<div data-line-editor data-price-url="{}" data-line-product="product" '
                      'data-line-price="price" data-line-row=".inline-field-list > '
                      '.inline-field">{}</div>').format(url_for(".line_price"), fields)


class PriceListView(LinePricing, ModelView):
    column_list = ["name", "grade", "customer", "valid_from", "valid_to", "active"]
    column_searchable_list = ["name"]
    column_filters = ["name", "grade", "customer.name", "valid_from", "valid_to", "active"]
    column_sortable_list = ["name", "grade", ("customer", "customer.name"), "valid_from",
                            "valid_to", "active"]
    column_default_sort = [("name", False)]
    form_columns = ["name", "grade", "customer", "valid_from", "valid_to", "active", "items"]
    column_details_list = ["name", "grade", "customer", "valid_from", "valid_to", "active",
                           "items"]
    column_labels = {"items": _l("Prices")}
    column_formatters_detail = {"items": items_list}
    form_args = {"customer": {"validators": [for_grade_or_customer, OptionalKeepingErrors()]},
                 "valid_to": {"validators": [ends_after_start]},
                 "items": {"widget": PriceItemsEditor()}}
    inline_models = [(PriceListItem, {"form_columns": ["id", "product", "price"],
                                      "form_args": {"price": {"validators": [not_negative]}}})]

    def on_model_change(self, form, model, is_created):
        # The database refuses a product twice in one list; say which, on the form.
        seen = set()
        for item in model.items:
            product_id = item.product.id if item.product is not None else item.product_id
            if product_id in seen:
                raise ValidationError(_("%(product)s is listed twice.", product=item.product))
            seen.add(product_id)
        super().on_model_change(form, model, is_created)
