"""Stock screens: what is on hand (read-only), the ledger of moves (read-only and
append-only, with the page that posts an adjustment), warehouses; and the command
`python run.py stock check`.

Stock changes only through moves (stock.post_moves): no screen writes a level or
changes a move. A move's reference links to the document that made it when the user
may open that document; the document's screen is found by its model's name among the
registered screens, so this file names no other addon's model."""
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import click
from flask import current_app, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import inspect, select
from wtforms import fields, validators
from wtforms.validators import ValidationError

from addons.crm_sales.models import Product, ProductCategory
from addons.crm_sales.money import amount_text
from addons.crm_sales.orders import quantity_text
from core import dates, merge
from core.admin import AdminForm, ModelView, StrictAjaxSelectField, shown_name
from core.db import db
from core.i18n import label

from . import stock
from .models import StockLevel, StockMove, Warehouse

NOTE_LENGTH = 300            # StockMove.note


def cost_text(value):
    """A unit cost as people read it: 12.5 -> '12.50', 3.3333 -> '3.3333'."""
    value = Decimal(str(value or 0)).quantize(stock.COST_PLACES, rounding=ROUND_HALF_UP)
    whole, decimals = f"{value:,.4f}".split(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"


def admin_screens():
    return [view for view in current_app.extensions["admin"][0]._views
            if isinstance(view, ModelView)]


def move_screen():
    """The ledger's screen of this app, when the user may read it."""
    found = next((view for view in admin_screens() if isinstance(view, MoveView)), None)
    return found if found is not None and found.permits("r") else None


# -- on hand ------------------------------------------------------------------------------

def _product_cell(view, context, level, name):
    """The product, linking to its moves in that warehouse."""
    text = str(level.product)
    url = moves_url(level.product, level.warehouse)
    return Markup('<a href="{}" title="{}">{}</a>').format(url, _("Stock moves"), text) \
        if url else text


def _links_cell(view, context, level, name):
    screen = move_screen()
    if screen is None or not screen.can_create:
        return ""
    url = url_for(f"{screen.endpoint}.create_view", product=level.product_id,
                  warehouse=level.warehouse_id)
    return Markup('<a href="{}" class="crm-stock-adjust">{}</a>').format(url, _("Adjust"))


def moves_url(product, warehouse=None):
    """The ledger's list of one product's moves (in one warehouse), or None when the
    user may not read it."""
    screen = move_screen()
    if screen is None:
        return None
    return screen.filtered_url(**{"product.code": product.code,
                                  **({"warehouse.code": warehouse.code} if warehouse else {})})


class CategoryFilter(BaseSQLAFilter):
    """Levels of the products of one category, chosen by name (a subquery on the
    products: the list joins nothing more for it)."""

    url_name = "category_is"    # the same in every language: flt0_category_is=Cables

    def __init__(self):
        super().__init__(StockLevel.product_id, _l("Category"))

    def apply(self, query, value, alias=None):
        return query.filter(StockLevel.product_id.in_(
            select(Product.id).join(Product.category).where(ProductCategory.name == value)))

    def operation(self):
        return _l("is")


def _category_options():
    return [(name, str(label(name))) for name in db.session.scalars(
        select(ProductCategory.name).order_by(ProductCategory.name))]


class StockLevelView(ModelView):
    """What is on hand, per product and warehouse, with its value at the moving average
    cost. Read-only: stock changes only through moves."""

    allow_create = allow_edit = allow_delete = allow_import = False
    # A level per product and warehouse: counting them all for each page cost more than
    # the page itself on a large catalogue, so the pager says previous / next.
    simple_list_pager = True
    column_list = ["product", "warehouse", "quantity", "average_cost", "value",
                   "last_move_at", "links"]
    column_labels = {"links": ""}
    column_sortable_list = [("product", "product.code"), ("warehouse", "warehouse.code"),
                            "quantity", "average_cost", "value", "last_move_at"]
    column_searchable_list = ["product.code", "product.name"]
    column_filters = ["warehouse.name", "product.code", "product.name", CategoryFilter(),
                      "quantity", "value", "last_move_at"]
    column_export_list = ["product", "warehouse", "quantity", "average_cost", "value",
                          "last_move_at"]
    column_details_list = ["product", "warehouse", "quantity", "average_cost", "value",
                           "last_move_at"]
    column_default_sort = ("id", True)
    column_formatters = {
        "product": _product_cell,
        "links": _links_cell,
        "quantity": lambda view, context, level, name: quantity_text(level.quantity),
        "average_cost": lambda view, context, level, name: cost_text(level.average_cost),
        "value": lambda view, context, level, name: amount_text(level.value),
    }
    column_formatters_detail = column_formatters

    def get_filter_arg(self, index, flt):
        if isinstance(flt, CategoryFilter):
            return flt.url_name
        return super().get_filter_arg(index, flt)

    def _get_filter_groups(self):
        """The categories to choose from, as they are now (Flask-Admin reads a filter's
        options once, when the screen is built)."""
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                if item["arg"] == CategoryFilter.url_name:
                    item["options"] = _category_options()
        return groups


# -- the ledger ---------------------------------------------------------------------------

def details_screen(model_name):
    """The screen of records of ``model_name`` with a record page the user may open."""
    return next((view for view in admin_screens() if view.model.__name__ == model_name
                 and view.can_view_details and view.is_accessible()), None)


def origin_urls(moves):
    """{(model name, id): url} of the documents behind ``moves`` that the user may open
    (their screen's record rules): one query per kind of document."""
    wanted = defaultdict(set)
    for move in moves:
        if move.origin and move.origin_id:
            wanted[move.origin].add(move.origin_id)
    found = {}
    for name, ids in wanted.items():
        screen = details_screen(name)
        if screen is None:
            continue
        visible = screen.get_query().filter(screen.model.id.in_(ids)) \
            .with_entities(screen.model.id)
        for (record_id,) in visible:
            found[(name, record_id)] = url_for(f"{screen.endpoint}.details_view",
                                               id=record_id)
    return found


def _reference_cell(view, context, move, name):
    urls = g.get("stock_origin_urls")
    if urls is None:   # the record page: this move alone
        urls = origin_urls([move])
    url = urls.get((move.origin, move.origin_id))
    text = move.reference or ""
    return Markup('<a href="{}">{}</a>').format(url, text) if url and text else text


class MoveView(ModelView):
    """The stock ledger, newest first: read-only and append-only. "Create" is the page
    that posts an adjustment (the create right on stock moves)."""

    allow_edit = allow_delete = allow_import = False
    column_list = ["move_date", "posted_at", "kind", "product", "warehouse", "quantity",
                   "unit_cost", "value", "reference", "user", "note"]
    column_sortable_list = ["move_date", "posted_at", "kind", ("product", "product.code"),
                            ("warehouse", "warehouse.code"), "quantity", "value",
                            "reference"]
    column_searchable_list = ["reference", "note"]
    column_filters = ["move_date", "posted_at", "kind", "product.code", "product.name",
                      "warehouse.code", "warehouse.name", "reference", "user.username",
                      "quantity", "value"]
    column_details_list = ["move_date", "posted_at", "kind", "product", "warehouse",
                           "quantity", "unit_cost", "value", "reference", "corrects",
                           "user", "note"]
    column_export_list = ["move_date", "posted_at", "kind", "product", "warehouse",
                          "quantity", "unit_cost", "value", "reference", "user", "note"]
    column_default_sort = ("id", True)
    form_ajax_refs = {"product": {"fields": ["code", "name"], "page_size": 10}}
    column_formatters = {
        "quantity": lambda view, context, move, name: quantity_text(move.quantity),
        "unit_cost": lambda view, context, move, name: cost_text(move.unit_cost),
        "value": lambda view, context, move, name: amount_text(move.value),
        "reference": _reference_cell,
    }
    column_formatters_detail = column_formatters

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute, page_size=page_size)
        if execute:
            g.stock_origin_urls = origin_urls(rows)
        return count, rows

    def filtered_url(self, **values):
        """This list filtered on related columns being equal to values, e.g.
        filtered_url(**{"product.code": "P1"})."""
        args = {}
        for position, (path, value) in enumerate(values.items()):
            arg = self._equal_filter_arg(path)
            if arg is not None:
                args[f"flt{position}_{arg}"] = value
        return url_for(f"{self.endpoint}.index_view", **args)

    def _equal_filter_arg(self, path):
        relation, _dot, column = path.partition(".")
        target = getattr(inspect(StockMove).relationships[relation].mapper.class_, column)
        for arg, (_index, flt) in (self._filter_args or {}).items():
            if isinstance(flt, FilterEqual) and flt.column is target.property.columns[0]:
                return arg
        return None

    # -- the adjustment page --------------------------------------------------------------

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Post an adjustment: stock found or lost, with why. A date in the past posts a
        new move with that date; nothing before it is rewritten or revalued."""
        form = self._restrict_form(   # (fields hidden or read-only for the user: core.layout)
            self.adjustment_form()(request.form if request.method == "POST" else None), None)
        if request.method == "GET":
            self._prefill(form)
        elif form.validate():
            move = self._post_adjustment(form)
            if move is not None:
                flash(_("Adjustment posted: %(quantity)s of %(product)s in %(warehouse)s.",
                        quantity=quantity_text(move.quantity), product=str(move.product),
                        warehouse=shown_name(move.warehouse)), "success")
                return redirect(moves_url(move.product, move.warehouse))
        else:
            flash(_("Nothing was posted: correct the marked fields."), "error")
        return self.render("crm_purchase/stock_adjustment.html", form=form,
                           return_url=self.get_url(".index_view"))

    def _post_adjustment(self, form):
        """The adjustment's move, committed; or None, nothing written, the refusal on
        the quantity field."""
        quantity = form.quantity.data
        try:
            move, = stock.post_moves([stock.Move(
                form.product.data.id, form.warehouse.data.id, "adjustment", quantity,
                unit_cost=form.unit_cost.data if quantity > 0 else None,
                move_date=form.move_date.data, note=form.note.data.strip())],
                user=current_user, product_names={form.product.data.id: str(form.product.data)})
        except stock.StockError as refused:
            db.session.rollback()
            form.quantity.errors.append(str(refused))
            flash(str(refused), "error")
            return None
        db.session.commit()
        return move

    def _prefill(self, form):
        """?product=&warehouse= (an on-hand row's "Adjust"): both chosen, and the unit
        cost at their current average."""
        product_id = request.args.get("product", type=int)
        warehouse_id = request.args.get("warehouse", type=int)
        if product_id:
            form.product.data = form.product.loader.get_one(product_id)
        if warehouse_id:
            form.warehouse.data = next((w for w in form.warehouse.query_factory()
                                        if w.id == warehouse_id), form.warehouse.data)
        if form.product.data is not None and form.warehouse.data is not None:
            level = db.session.scalar(select(StockLevel).where(
                StockLevel.product_id == form.product.data.id,
                StockLevel.warehouse_id == form.warehouse.data.id))
            if level is not None and level.average_cost:
                form.unit_cost.data = level.average_cost

    def adjustment_form(self):
        """The form class of the adjustment page (its product look-up is this screen's,
        so it sees what the user may read)."""
        if getattr(self, "_adjustment_form", None) is None:
            self._adjustment_form = _adjustment_form(self._form_ajax_refs["product"])
        return self._adjustment_form


def _default_warehouse():
    return db.session.scalar(select(Warehouse).where(
        Warehouse.is_default.is_(True), Warehouse.active.is_(True)).order_by(Warehouse.id))


def _adjustment_form(product_loader):
    class AdjustmentForm(AdminForm):
        product = StrictAjaxSelectField(product_loader, label=_l("Product"))
        warehouse = QuerySelectField(
            _l("Warehouse"), default=_default_warehouse, allow_blank=False,
            query_factory=lambda: db.session.scalars(select(Warehouse).where(
                Warehouse.active.is_(True)).order_by(Warehouse.code)).all(),
            get_label=shown_name)
        quantity = fields.DecimalField(
            _l("Quantity"), places=3, validators=[validators.InputRequired()],
            description=_l("Positive: stock found or brought in. Negative: stock lost, "
                           "damaged or taken out."))
        unit_cost = fields.DecimalField(
            _l("Unit cost"), places=4, validators=[validators.Optional()],
            description=_l("For stock coming in; empty: the current average cost. Stock "
                           "going out always leaves at the average cost."))
        move_date = dates.DateField(_l("Date"), default=date.today,
                                    validators=[validators.InputRequired()])
        note = fields.TextAreaField(
            _l("Why"), validators=[validators.InputRequired(),
                                   validators.Length(max=NOTE_LENGTH)],
            description=_l("Required: what happened (found in a count, broken, "
                           "a correction of a wrong receipt...)."))

        def validate_product(self, field):
            if field.data is None:
                raise ValidationError(_("Choose a product."))

        def validate_quantity(self, field):
            if field.data is None:
                return
            if field.data == 0:
                raise ValidationError(_("Enter a quantity other than zero: positive "
                                        "for stock in, negative for stock out."))
            if field.data != field.data.quantize(stock.QUANTITY_PLACES):
                raise ValidationError(_("At most three decimals."))

        def validate_unit_cost(self, field):
            if field.data is not None and field.data < 0:
                raise ValidationError(_("A unit cost cannot be negative."))

        def validate_move_date(self, field):
            if field.data is not None and field.data > date.today():
                raise ValidationError(_("A move cannot be dated in the future."))

        def validate_note(self, field):
            if not (field.data or "").strip():
                raise ValidationError(_("Say why stock is adjusted."))

    return AdjustmentForm


# -- warehouses ---------------------------------------------------------------------------

class WarehouseView(ModelView):
    """Warehouses, one of them the default for deliveries (Sales' deliveries and returns
    move stock there). Setting a default clears the others in the same save."""

    column_list = ["code", "name", "address", "is_default", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["code", "name", "is_default", "active"]
    form_columns = ["code", "name", "address", "is_default", "active"]
    column_default_sort = "code"

    def on_model_change(self, form, model, is_created):
        with db.session.no_autoflush:
            if model.is_default:
                if not model.active:
                    raise ValidationError(_("The default warehouse for deliveries must be "
                                            "active."))
                self._clear_other_defaults(model)
            elif not is_created and _was_default(model):
                raise ValidationError(_("One warehouse must stay the default for "
                                        "deliveries: make another one the default "
                                        "instead."))

    @staticmethod
    def _clear_other_defaults(model):
        """Exactly one default: the others' flags cleared (audited like any change)."""
        others = db.session.scalars(select(Warehouse).where(
            Warehouse.is_default.is_(True)).with_for_update()).all()
        for other in others:
            if other is not model:
                other.is_default = False

    def on_model_delete(self, model):
        if db.session.scalar(select(StockMove.id).where(
                StockMove.warehouse_id == model.id).limit(1)) is not None:
            raise ValidationError(_("%(warehouse)s has stock moves: it cannot be deleted. "
                                    "Make it inactive instead.", warehouse=model.name))
        if model.is_default:
            raise ValidationError(_("%(warehouse)s is the default for deliveries: make "
                                    "another warehouse the default first.",
                                    warehouse=model.name))
        used = [f"{reference} ({rows})" for reference, rows in merge.counts(
            db.session, Warehouse, [model.id])[model.id].items() if rows]
        if used:
            raise ValidationError(_("%(warehouse)s is still named on %(records)s: it cannot "
                                    "be deleted. Make it inactive instead.",
                                    warehouse=model.name, records=", ".join(used)))


def _was_default(model):
    return True in inspect(model).attrs.is_default.history.deleted


# -- python run.py stock check -----------------------------------------------------------

@click.group("stock")
def stock_cli():
    """Stock: check the levels against the ledger."""


@stock_cli.command("check")
def stock_check():
    """Compare every stock level with the sums of its moves; list each difference and
    exit 1 when there is one."""
    from core.cli import app_context, fail   # (the core's command line, at run time)
    with app_context():
        found = stock.differences()
        checked = stock.levels_count()
        codes = _codes(found)
        for product_id, warehouse_id, quantity, ledger, value, ledger_value in found:
            product, warehouse = codes[0].get(product_id), codes[1].get(warehouse_id)
            click.echo(f"{product or product_id}\t{warehouse or warehouse_id}\t"
                       f"on hand {quantity:f}, ledger {ledger:f} "
                       f"(difference {quantity - ledger:f})\t"
                       f"value {value:f}, ledger {ledger_value:f} "
                       f"(difference {value - ledger_value:f})")
        db.session.rollback()
        if found:
            fail(f"{len(found)} of {checked} stock levels differ from the ledger")
        click.echo(f"Stock matches the ledger: {checked} levels checked.")


def _codes(found):
    """({product id: code}, {warehouse id: code}) of the differences found."""
    products = {row[0] for row in found}
    warehouses = {row[1] for row in found}
    return (dict(db.session.execute(select(Product.id, Product.code).where(
                Product.id.in_(products))).all()) if products else {},
            dict(db.session.execute(select(Warehouse.id, Warehouse.code).where(
                Warehouse.id.in_(warehouses))).all()) if warehouses else {})

