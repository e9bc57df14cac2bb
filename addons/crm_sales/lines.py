"""Priced lines, as quotes, sales orders, purchase orders and bills share them: the line
form under the document's form (a table, a row a line), its checks, the defaults a blank
field takes from the product, the copy of lines from one document to another, and the
lines' panel on the document's page."""
from decimal import Decimal

from flask import render_template, request, url_for
from flask_admin.form.widgets import RenderTemplateWidget
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, StringField
from markupsafe import Markup
from wtforms.validators import Length, Optional, StopValidation, ValidationError

from addons.crm_sales import money
from addons.crm_sales.models import Product
from addons.crm_sales.products import LinePricing, price_for
from core import company, security
from core.admin import ScopedAjaxLoader
from core.db import db

LARGEST_AMOUNT = Decimal("999999999999.99")   # what a MONEY column (14, 2) holds
LARGEST_QUANTITY = Decimal("999999999.999")   # QUANTITY (12, 3)
LINE_FIELDS = ("product", "description", "quantity", "unit_price", "discount", "tax_rate")


# -- checks of one field -------------------------------------------------------------------
# Messages are translated when a form is checked, and given as plain text: Flask-Admin
# shows only errors that are strings (a lazy translation would be dropped silently).

def at_most_places(places):
    def check(form, field):
        if field.data is not None and field.data.as_tuple().exponent < -places:
            raise ValidationError(_("At most %(places)d decimal places.", places=places))
    return check


def within(low, high, message, low_included=True):
    """The value (when given) lies between low and high (None: no upper bound)."""
    def check(form, field):
        value = field.data
        if value is None:
            return
        if value < low or (not low_included and value == low) \
                or (high is not None and value > high):
            raise ValidationError(str(message))
    return check


def at_most(high):
    """No more than the column holds (a database error otherwise)."""
    def check(form, field):
        if field.data is not None and field.data > high:
            raise ValidationError(_("At most %(limit)s.", limit=f"{high:,}"))
    return check


def stripped(text):
    return text.strip() if isinstance(text, str) else text


def required(message):
    def check(form, field):
        if not field.raw_data or not str(field.raw_data[0]).strip():
            field.errors[:] = []
            raise StopValidation(str(message))
    return check


# -- the line form ---------------------------------------------------------------------------

class LineInline(InlineFormAdmin):
    """The lines under a document's form (posted as lines-0-product, lines-0-quantity...).
    Price, tax rate and description may be left blank: the product's apply."""

    form_columns = ["id", *LINE_FIELDS]
    form_args = {"product": {"label": _l("Product")}}

    def __init__(self, line_model):
        super().__init__(line_model, form_ajax_refs={
            "product": ActiveProductLoader("product", db, line_model,
                                           {"fields": ["code", "name"], "page_size": 10})})

    def postprocess_form(self, form_class):
        form_class.description = StringField(
            _l("Description"), filters=[stripped], validators=[Optional(), Length(max=500)],
            description=_l("Blank: the product's name."))
        form_class.quantity = DecimalField(_l("Quantity"), default=1, validators=[
            required(_l("Enter a quantity.")),
            within(0, None, _l("The quantity must be more than 0."), low_included=False),
            at_most(LARGEST_QUANTITY), at_most_places(3)])
        form_class.unit_price = DecimalField(
            _l("Unit price"), description=_l("Blank: the product's price for this customer."),
            validators=[Optional(), within(0, None, _l("A price cannot be negative.")),
                        at_most(LARGEST_AMOUNT), at_most_places(2)])
        form_class.discount = DecimalField(_l("Discount %"), default=0, validators=[
            Optional(), within(0, 100, _l("A discount is between 0 and 100 %.")),
            at_most_places(2)])
        form_class.tax_rate = DecimalField(
            _l("Tax rate %"), description=_l("Blank: the product's tax rate."), validators=[
                Optional(), within(0, 100, _l("A tax rate is between 0 and 100 %.")),
                at_most_places(2)])
        return form_class


class LinesTable(RenderTemplateWidget):
    """The lines as a table, a row each, instead of Flask-Admin's stacked boxes; its
    "Add line" script carries the page's CSP nonce. The table is a line editor of
    crm.js: it fills a picked product's price (the customer's price list on the
    document's ``date_field``) and tax rate, and shows the amounts as the user types.
    The screen is a LinePricing one (its ./line-price/ answers the editor, given the
    party of ``party_field``); ``hint``, the text under the table, says where a price
    comes from."""

    def __init__(self, date_field, party_field="customer", hint=None):
        super().__init__("crm_sales/lines_form.html")
        self.date_field, self.party_field, self.hint = date_field, party_field, hint

    def __call__(self, field, **kwargs):
        return super().__call__(field, nonce=security.csp_nonce(),
                                price_url=url_for(".line_price"), date_field=self.date_field,
                                party_field=self.party_field, hint=self.hint, **kwargs)


class ActiveProductLoader(ScopedAjaxLoader):
    """Look-ups offer active products only; a line keeps an inactive product it has."""

    def get_list(self, term, offset=0, limit=10):
        query = self.get_query().filter(Product.active.is_(True))
        pattern = f"%{term}%"
        query = query.filter(Product.code.ilike(pattern) | Product.name.ilike(pattern))
        return query.order_by(Product.code).offset(offset).limit(limit).all()


def check_lines(form):
    """What the line fields cannot check alone; errors go on the line's fields. True
    when every line is fine. (A price taken from the product is checked by the column:
    product prices are no larger than a line's.)"""
    fine = True
    total = Decimal(0)
    for entry in form.lines.entries:
        if form.lines.should_delete(entry):
            continue
        line = entry.form
        if line.product.data is None:
            if line.unit_price.data is None:
                line.unit_price.errors.append(_("Give a price or choose a product."))
                fine = False
            if not (line.description.data or "").strip():
                line.description.errors.append(_("Describe the line or choose a product."))
                fine = False
        if line.errors or line.quantity.data is None or line.unit_price.data is None:
            continue
        total += money.line_amounts(line.quantity.data, line.unit_price.data,
                                    line.discount.data or 0, line.tax_rate.data or 0)[2]
        if total > LARGEST_AMOUNT:   # more than the totals' columns hold
            line.quantity.errors.append(_("The total would be too large."))
            return False
    return fine


class LinesFormMixin(LinePricing):
    """For the screen of a document with lines: saving runs without autoflush, from the
    form's values to the commit, so that a query on the way (the owner check, the price
    list) neither writes a line that still lacks its price nor wipes the history that
    tells which lines changed. Its line editor asks ./line-price/ (LinePricing)."""

    def create_form(self, obj=None):
        """A new document is in the company's currency (Settings > Company)."""
        form = super().create_form(obj)
        if request.method == "GET" and "currency" in form:
            form.currency.data = company.currency()
        return form

    def create_model(self, form):
        with db.session.no_autoflush:
            return super().create_model(form)

    def update_model(self, form, model):
        with db.session.no_autoflush:
            return super().update_model(form, model)


# -- the lines of a saved document ---------------------------------------------------------------

def drop_deleted_lines(session, document):
    """Lines removed on the form are deleted, but still in the collection until the
    flush: out of it now, so that neither the totals nor anything else counts them."""
    for line in [line for line in document.lines if line in session.deleted]:
        document.lines.remove(line)


def fill_line_defaults(session, lines, customer, on):
    """What a line left blank takes from its product: price (the customer's price list
    on the date ``on``), tax rate and name; lines numbered in their order. Runs before
    the flush, which needs every amount."""
    for index, line in enumerate(lines, start=1):
        line.sequence = index * 10
        product = line.product
        if line.unit_price is None and product is not None:
            line.unit_price = price_for(session, product, customer, on=on)
        if line.tax_rate is None:
            line.tax_rate = product.tax_rate if product is not None else 0
        if line.discount is None:
            line.discount = 0
        if not (line.description or "").strip() and product is not None:
            line.description = product.name
        if line.description is None:
            line.description = ""


def copied_lines(lines, line_model):
    """New ``line_model`` rows with the same product, text, quantity and prices."""
    return [line_model(sequence=line.sequence, product=line.product,
                       description=line.description, quantity=line.quantity,
                       unit_price=line.unit_price, discount=line.discount,
                       tax_rate=line.tax_rate) for line in lines]


def lines_panel(document, order=0, quantities=(), empty="", css=""):
    """The "Lines" panel of a document's page (ModelView.detail_panels): each line
    priced, and the totals. ``quantities``: what became of a line's quantity, shown
    after it: [{"heading", "value": line -> number, "css"}]; ``empty``: said when there
    are no lines."""
    return {"title": _("Lines"), "order": order, "width": "col-12",
            "html": Markup(render_template(
                "crm_sales/lines_panel.html", document=document, quantities=quantities,
                empty=empty, css=css, number=money.number_text, amount=money.amount_text))}
