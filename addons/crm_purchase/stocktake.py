"""Stock-takes (库存盘点): count a warehouse, whole or for chosen products (a cycle
count), then post what differs from the books as adjustments.

- Making the sheet: a line per product with ``expected`` = what the books said at that
  moment (the level's quantity) and ``unit_cost`` = the level's average cost (the
  product's cost where it never had one here); ``counted`` starts empty.
- Counting: the quantities are typed on the stock-take's page, or the sheet is exported
  to XLSX, filled in and imported back. A file is checked whole first: every bad row is
  named (row and column, as the spreadsheet numbers them) and nothing changes.
- Variance per line: counted - expected, and its value (variance x unit cost, in
  cents); the take's ``variance_value`` is their sum, kept on every change of counts.
- Submitting (the workflow's "submit") asks for approval (the manifest's "stock_take"
  policy: a purchasing manager); the lines are locked from then on (the engine locks
  what the policy covers while it is pending; this page takes counts only while
  "counting"). A refusal brings the take back to counting.
- Posting ("post", once approved): every line that differs becomes one "adjustment"
  move, all through one stock.post_moves call, in the transaction of the click. When
  one is refused (stock would go below zero), nothing is posted and the user reads why.

The count is relative to the books as they were when the sheet was made: a line posts
counted - expected, even if goods moved in or out since then (a receipt during the count
is on the shelf and in the books alike, so the difference stays the count's own finding).
The alternative, setting the level to the counted quantity at posting time, would undo
every move made between printing the sheet and posting it."""
import zipfile
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask import abort, flash, g, redirect, render_template, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from openpyxl import load_workbook
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.validators import ValidationError

from addons.crm_sales.models import Product, ProductCategory
from addons.crm_sales.money import amount_text, number_text
from addons.crm_sales.quotes import company_letterhead
from core import (company, exporting, pdf, permissions, transfer, uploads,
                  workflow)
from core.admin import ModelView, import_limits, scoped_query
from core.db import db
from core.i18n import label
from core.models import utcnow
from core.record import choice_text
from core.util import folded, int_ids

from . import stock
from .models import StockLevel, StockTake, StockTakeLine, Warehouse

CENT = Decimal("0.01")
QUANTUM = Decimal("0.001")          # quantities carry three decimals
LARGEST_COUNT = Decimal("999999999.999")   # QUANTITY is Numeric(12, 3)
MAX_LINES = 20000                   # lines of one take: split a larger count
MAX_PROBLEMS_SHOWN = 30             # problems of a file listed in the message
LONG_TEXT = 5000                    # characters kept of notes typed on the create page
COUNTABLE = "counting"              # the only state whose counts may change
FILE_TYPES = ("xlsx",)


# -- figures as people read them ------------------------------------------------------------

def plain_quantity(value):
    """A quantity without useless zeros, as a number (for XLSX cells and inputs)."""
    if value is None:
        return None
    value = Decimal(value)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() \
        else value.normalize()


def input_text(value):
    """A quantity as an input shows it: "12", "2.5", "" when not counted."""
    return "" if value is None else f"{plain_quantity(value):f}"


def signed_text(value):
    """A variance: "+2", "-1.5", "0"; "" when not counted."""
    if value is None:
        return ""
    text = number_text(value)
    return f"+{text}" if value > 0 else text


def cost_text(value):
    """A unit cost: cents, or four decimals where the average has them."""
    value = Decimal(value or 0)
    return f"{value:,.2f}" if value == value.quantize(CENT) else f"{value.normalize():,f}"


def cost_number(value):
    """A unit cost as an XLSX number: cents, or the four decimals the average has."""
    value = Decimal(value or 0)
    return value.quantize(CENT) if value == value.quantize(CENT) \
        else value.quantize(Decimal("0.0001")).normalize()


def cents(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# -- variance ------------------------------------------------------------------------------------

def variance(line):
    """counted - expected, or None while the line is not counted."""
    if line.counted is None:
        return None
    return Decimal(line.counted) - Decimal(line.expected)


def variance_value(line):
    """The variance at the line's unit cost, in cents; None while not counted."""
    found = variance(line)
    return None if found is None else cents(found * Decimal(line.unit_cost or 0))


def compute_variance(take):
    """The take's total variance value: the sum of its lines' (each in cents)."""
    take.variance_value = sum((variance_value(line) or Decimal(0) for line in take.lines),
                              Decimal(0))
    return take.variance_value


def uncounted(take):
    return sum(1 for line in take.lines if line.counted is None)


def lines_of(take):
    """The take's lines with their products, in two queries whatever their number."""
    return db.session.scalars(
        select(StockTakeLine).where(StockTakeLine.take_id == take.id)
        .options(joinedload(StockTakeLine.product)).order_by(StockTakeLine.id)).all()


# -- making the sheet ------------------------------------------------------------------------------

def in_warehouse_condition():
    """Every product with a level in the warehouse; one retired (inactive) with nothing
    on hand is left out: there is nothing to count."""
    return and_(StockLevel.id.is_not(None),
                or_(StockLevel.quantity != 0, Product.active.is_(True)))


def chosen_condition(codes, category_id, search):
    """The products a cycle count names: those of the codes listed, and the active ones
    of the category and matching the search (both, when both are given)."""
    conditions = []
    if codes:
        conditions.append(Product.code.in_(codes))
    narrowing = [Product.active.is_(True)]
    if category_id is not None:
        narrowing.append(Product.category_id == category_id)
    if search:
        narrowing.append(or_(Product.code.icontains(search, autoescape=True),
                             Product.name.icontains(search, autoescape=True)))
    if len(narrowing) > 1:
        conditions.append(and_(*narrowing))
    return or_(false(), *conditions)


def sheet_query(warehouse_id, condition):
    """(product id, product cost, level quantity, level average cost) of the products
    meeting ``condition``, by product code: what the lines of a new take are made of."""
    level = and_(StockLevel.product_id == Product.id, StockLevel.warehouse_id == warehouse_id)
    statement = (select(Product.id, Product.cost, StockLevel.quantity,
                        StockLevel.average_cost)
                 .select_from(Product).outerjoin(StockLevel, level)
                 .where(condition).order_by(Product.code))
    return permissions.apply_rules(statement, Product)


def sheet_lines(rows):
    """New StockTakeLines: expected = on hand now, unit cost = the average cost (the
    product's cost where the warehouse never had it, so that a find is valued)."""
    lines = []
    for product_id, product_cost, quantity, average in rows:
        cost = Decimal(average or 0)
        if not cost:
            cost = Decimal(product_cost or 0)
        lines.append(StockTakeLine(product_id=product_id, expected=Decimal(quantity or 0),
                                   unit_cost=cost, counted=None))
    return lines


def categories_query():
    """The categories of the products the user may read (a keeper may read products,
    and so their categories' names, without the catalogue's own screens)."""
    readable = permissions.apply_rules(select(Product.category_id), Product)
    return select(ProductCategory).where(ProductCategory.id.in_(readable)) \
        .order_by(ProductCategory.name)


def unknown_codes(codes):
    """The codes listed that name no product."""
    if not codes:
        return []
    found = set(db.session.scalars(select(Product.code).where(Product.code.in_(codes))))
    return [code for code in codes if code not in found]


def split_codes(text):
    """Codes typed one per line, or separated by commas, semicolons or spaces."""
    for separator in ",;，；\t\r":
        text = text.replace(separator, "\n")
    codes = [part.strip() for chunk in text.split("\n") for part in chunk.split(" ")]
    return list(dict.fromkeys(code for code in codes if code))


# -- the workflow's hooks (manifest) -------------------------------------------------------------------

def submit_condition(take, _target):
    """"Submit the count": every line counted (0 where nothing was found)."""
    if not take.lines:
        return _("This stock-take has no lines to count.")
    missing = uncounted(take)
    if missing:
        return ngettext(
            "%(num)d line has no counted quantity yet: count it, or enter 0 where nothing "
            "was found.",
            "%(num)d lines have no counted quantity yet: count them, or enter 0 where "
            "nothing was found.", missing)
    return None


def adjustment_moves(take):
    """One adjustment per line that differs (none for a line counted as expected): in
    at the line's unit cost, out at the average (as every move out); dated the count's
    day (today for a count dated ahead)."""
    moves = []
    for line in take.lines:
        difference = variance(line)
        if difference is None:
            raise workflow.Refused(submit_condition(take, None))
        if difference == 0:
            continue
        moves.append(stock.Move(
            line.product_id, take.warehouse_id, "adjustment", difference,
            unit_cost=Decimal(line.unit_cost) if difference > 0 else None,
            move_date=min(take.take_date, date.today()), origin=take))
    return moves


def post_adjustments(take, user):
    """The effect of "Post adjustments": all differences in one call of the ledger, in
    the caller's transaction. Raises Refused (nothing written) when the ledger refuses
    one of them."""
    try:   # (a refusal names its product: the ledger reads that one)
        stock.post_moves(adjustment_moves(take), user=user)
    except stock.StockError as refused:
        raise workflow.Refused(_("Nothing was posted: %(reason)s", reason=str(refused))) \
            from None
    compute_variance(take)
    take.posted_at = utcnow()


# -- counts typed or imported ---------------------------------------------------------------------------

def shown_value(value, longest=40):
    text = str(value).strip()
    return text if len(text) <= longest else text[:longest] + "…"


def parse_count(value):
    """(Decimal or None, problem or None) of a counted cell or input: blank is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    shown = shown_value(value)
    if isinstance(value, bool):
        return None, _("'%(value)s' is not a number", value=shown)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(
            value if isinstance(value, (int, Decimal)) else str(value).strip())
    except InvalidOperation:
        return None, _("'%(value)s' is not a number", value=shown)
    if not number.is_finite():
        return None, _("'%(value)s' is not a number", value=shown)
    if number < 0:
        return None, _("'%(value)s' is negative: a count is zero or more", value=shown)
    if number != number.quantize(QUANTUM):
        return None, _("'%(value)s' has more than three decimals", value=shown)
    if number > LARGEST_COUNT:
        return None, _("'%(value)s' is too large", value=shown)
    return number, None


def cell_text(value):
    """A product code as the spreadsheet may hold it (1001.0 for a code typed as a
    number) as text."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_sheet(path, limits):
    """[(row number, cells)] of the first sheet's rows that are not blank, numbered as
    the spreadsheet numbers them; within the import's limits (rows, columns, the size
    unpacked). Raises transfer.ImportRefused."""
    not_readable = transfer.ImportRefused(_("The file is not a readable XLSX workbook."))
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(part.file_size for part in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise not_readable from None
    if unpacked > limits.unpacked_mb * 2**20:
        raise transfer.ImportRefused(_("The workbook unpacks to more than %(count)d MB: "
                                       "split it or save it as CSV.", count=limits.unpacked_mb))
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:   # openpyxl raises many kinds for a damaged file
        raise not_readable from None
    rows = []
    try:
        for number, cells in enumerate(book.worksheets[0].iter_rows(values_only=True), 1):
            if number > limits.rows + 1:
                raise transfer.ImportRefused(_("The file has more than %(count)d rows: "
                                               "split it.", count=limits.rows))
            if len(cells) > limits.columns:
                raise transfer.ImportRefused(_("Row %(row)d has more than %(count)d columns.",
                                               row=number, count=limits.columns))
            if any(cell is not None and str(cell).strip() for cell in cells):
                rows.append((number, list(cells)))
    except transfer.ImportRefused:
        raise
    except Exception:
        raise not_readable from None
    finally:
        book.close()
    return rows


def count_columns(header):
    """(index of the product code, index of the counted quantity, and the two columns'
    names as the file spells them) in a header row, the columns named as the exported
    sheet names them, in either language."""
    wanted = [_l("Product code"), _l("Counted")]
    spellings = transfer.in_every_language(wanted)
    spelled = [folded(cell_text(cell)) for cell in header]
    found = []
    for names in spellings:
        names = {folded(name) for name in names}
        found.append(next((index for index, cell in enumerate(spelled) if cell in names), None))
    missing = [str(text) for text, index in zip(wanted, found) if index is None]
    if missing:
        raise transfer.ImportRefused(_(
            "The file needs the columns %(columns)s in its first row, as the exported count "
            "sheet has them.", columns=", ".join(missing)))
    return found[0], found[1], cell_text(header[found[0]]), cell_text(header[found[1]])


def counts_from_rows(lines, rows):
    """({line: counted}, [problem text]) from the rows of a file (the first is its
    header), for ``lines`` (of one take, with their products). A row with no counted
    quantity changes nothing; a row with neither a product code nor a count is skipped
    (the total)."""
    if not rows:
        raise transfer.ImportRefused(_("The file is empty."))
    header, body = rows[0][1], rows[1:]
    code_at, counted_at, code_name, counted_name = count_columns(header)
    lines = {line.product.code: line for line in lines}
    counts, problems, seen = {}, [], {}

    def problem(number, column, text):
        problems.append(_("Row %(row)d, %(column)s: %(problem)s", row=number, column=column,
                          problem=text))

    for number, cells in body:
        code = cell_text(cells[code_at] if code_at < len(cells) else None)
        raw = cells[counted_at] if counted_at < len(cells) else None
        value, trouble = parse_count(raw)
        if not code:
            if value is not None or trouble:
                problem(number, code_name, _("no product code"))
            continue
        line = lines.get(code)
        if line is None:
            problem(number, code_name, _("no product %(code)s on this count",
                                         code=shown_value(code)))
        elif code in seen:
            problem(number, code_name, _("%(code)s is counted twice in the file (also row "
                                         "%(row)d)", code=code, row=seen[code]))
        seen.setdefault(code, number)
        if trouble:
            problem(number, counted_name, trouble)
        elif line is not None and value is not None:
            counts[line] = value
    return counts, problems


def counts_from_form(take, form):
    """({line: counted or None}, {line id: problem}) from the page's form: an empty
    input clears the line's count; a line without an input is left as it is."""
    counts, errors = {}, {}
    for line in take.lines:
        if f"counted-{line.id}" not in form:
            continue
        value, trouble = parse_count(form.get(f"counted-{line.id}", ""))
        if trouble:
            errors[line.id] = trouble
        else:
            counts[line] = value
    return counts, errors


def problems_text(problems):
    shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    if more > 0:
        shown += " " + ngettext("… and %(num)d more problem.", "… and %(num)d more problems.",
                                more)
    return _("Nothing was imported: %(problems)s", problems=shown)


# -- the count sheet: PDF, XLSX ------------------------------------------------------------------------

SHEET_LOAD = (joinedload(StockTake.warehouse), joinedload(StockTake.owner),
              selectinload(StockTake.lines).joinedload(StockTakeLine.product))


def sheet_document(take):
    """The plain data count_sheet.html prints (strings, not records)."""
    counted = all(line.counted is not None for line in take.lines) and bool(take.lines)
    return {
        "company": company_letterhead(),
        "number": take.number, "date": take.take_date.isoformat(),
        "warehouse": take.warehouse.name if take.warehouse else "",
        "warehouse_code": take.warehouse.code if take.warehouse else "",
        "state": choice_text(take.state), "currency": company.currency(),
        "notes": take.notes or "",
        "lines": [{
            "no": index, "code": line.product.code, "name": line.product.name,
            "unit": line.product.unit or "", "expected": number_text(line.expected),
            "counted": "" if line.counted is None else number_text(line.counted),
            "variance": signed_text(variance(line)),
            "value": "" if line.counted is None else amount_text(variance_value(line)),
        } for index, line in enumerate(take.lines, start=1)],
        "counted": counted,
        "variance_value": amount_text(take.variance_value) if counted else "",
    }


def sheet_context(takes):
    """What count_sheet.html gets (of the first take of ``takes``): for the PDF and for
    a template editor's preview (manifest key ``pdf``)."""
    return {"sheet": sheet_document(takes[0])}


def sheet_headers():
    return [_("Product code"), _("Product name"), _("Unit"), _("On the books"),
            _("Counted"), _("Variance"), _("Unit cost"), _("Variance value")]


def sheet_rows(take):
    """The XLSX rows: one per line, and the total variance value last (a row the import
    skips: no product code, nothing counted)."""
    for line in take.lines:
        found = variance(line)
        yield [line.product.code, line.product.name, line.product.unit or "",
               plain_quantity(line.expected), plain_quantity(line.counted),
               plain_quantity(found), cost_number(line.unit_cost), variance_value(line)]
    yield ["", _("Total"), "", None, None, None, None, cents(take.variance_value or 0)]


# -- the screen ------------------------------------------------------------------------------------

def formatted_amount(_view, _context, take, name):
    return amount_text(getattr(take, name))


class StockTakeView(ModelView):
    """Stock-takes: a page of their own to make one (warehouse, or chosen products), the
    lines with their counts on the record page, the sheet as PDF and XLSX, and the
    import of counted quantities."""

    allow_import = False     # counts come back through the take's own upload
    column_list = ["number", "warehouse", "take_date", "state", "variance_value",
                   "posted_at", "owner"]
    column_searchable_list = ["number", "warehouse.name"]
    column_filters = ["state", "take_date", "posted_at", "variance_value", "number",
                      "warehouse.name", "owner.username"]
    column_sortable_list = ["number", "take_date", "state", "variance_value", "posted_at",
                            ("warehouse", "warehouse.name"), ("owner", "owner.username")]
    column_default_sort = ("id", True)
    column_labels = {"warehouse.name": _l("Warehouse"), "owner.username": _l("Owner")}
    column_details_list = ["number", "warehouse", "take_date", "state", "variance_value",
                           "posted_at", "notes", "owner", "created_at", "updated_at"]
    details_sections = [
        (None, ["number", "warehouse", "take_date", "owner", "variance_value", "posted_at"]),
        (_l("Notes"), ["notes"]),
    ]
    state_field = "state"
    column_formatters = {"variance_value": formatted_amount}
    form_columns = ["take_date", "notes"]

    # -- making a take --------------------------------------------------------------------

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        warehouses = self._warehouses()
        categories = db.session.scalars(categories_query()).all()
        values = {"warehouse": request.args.get("warehouse", ""),
                  "take_date": date.today().isoformat(), "scope": "warehouse", "codes": "",
                  "category": "", "search": "", "notes": ""}
        errors = {}
        if request.method == "POST":
            values = {key: request.form.get(key, "").strip() for key in values}
            take, errors = self._new_take(values, warehouses)
            if take is not None:
                db.session.add(take)
                db.session.flush()
                compute_variance(take)
                db.session.commit()
                flash(ngettext("Stock-take %(number)s made with %(num)d line.",
                               "Stock-take %(number)s made with %(num)d lines.",
                               len(take.lines), number=take.number), "success")
                return redirect(self.get_url(".details_view", id=take.id))
            db.session.rollback()
            flash(_("Nothing was saved: correct the marked fields."), "error")
        return self.render("crm_purchase/stocktake_create.html", values=values, errors=errors,
                           warehouses=warehouses, categories=categories,
                           max_lines=MAX_LINES)

    def _warehouses(self):
        return scoped_query(Warehouse, StockTake).filter(
            Warehouse.active.is_(True)).order_by(Warehouse.code).all()

    def _new_take(self, values, warehouses):
        """(a new StockTake with its lines, or None, and the errors by field)."""
        errors = {}
        warehouse = next((w for w in warehouses if str(w.id) == values["warehouse"]), None)
        if warehouse is None:
            errors["warehouse"] = _("Choose the warehouse to count.")
        try:
            take_date = date.fromisoformat(values["take_date"])
        except ValueError:
            errors["take_date"] = _("Enter a date as YYYY-MM-DD.")
        condition = self._scope_condition(values, errors)
        if errors:
            return None, errors
        query = sheet_query(warehouse.id, condition)
        found = db.session.scalar(select(func.count()).select_from(query.subquery()))
        if not found:
            errors["scope"] = _("No product to count: the warehouse has no stock of them.") \
                if values["scope"] == "warehouse" else _("No product matches your choice.")
        elif found > MAX_LINES:
            errors["scope"] = _("That makes %(num)d lines, more than %(max)d: count in parts "
                                "(by category, say).", num=found, max=MAX_LINES)
        if errors:
            return None, errors
        take = StockTake(warehouse=warehouse, take_date=take_date, state="counting",
                         notes=values["notes"][:LONG_TEXT] or None, owner=current_user)
        with db.session.no_autoflush:
            take.lines = sheet_lines(db.session.execute(query))
        return take, errors

    def _scope_condition(self, values, errors):
        """The SQL condition of the products to count, or None (errors filled)."""
        if values["scope"] == "warehouse":
            return in_warehouse_condition()
        if values["scope"] != "chosen":
            errors["scope"] = _("Choose what to count.")
            return None
        codes = split_codes(values["codes"])
        category_id = next(iter(int_ids([values["category"]])), None)
        if category_id is not None and db.session.scalar(categories_query().where(
                ProductCategory.id == category_id)) is None:
            errors["category"] = _("Not a valid choice.")
        missing = unknown_codes(codes)
        if missing:
            errors["codes"] = _("No product with these codes: %(codes)s.",
                                codes=", ".join(shown_value(code) for code in missing[:20]))
        if not (codes or category_id or values["search"]):
            errors["scope"] = _("Choose the products: list their codes, pick a category or "
                                "search by name or code.")
        return chosen_condition(codes, category_id, values["search"][:100])

    # -- the record page ----------------------------------------------------------------------

    def edit_refusal(self, take):
        if take.state != COUNTABLE:
            return _("Stock-take %(number)s is %(state)s and can no longer be changed.",
                     number=take.number, state=label(take.state))
        return None

    def on_model_delete(self, take):
        if take.state not in (COUNTABLE, "cancelled"):
            raise ValidationError(_("Only a stock-take still counting, or cancelled, can be "
                                    "deleted."))

    def detail_buttons(self, take):
        buttons = [{"label": _("Print count sheet"), "icon": "fa-file-pdf-o",
                    "url": self.get_url(".print_pdf", id=take.id),
                    "style": "btn-outline-secondary"}]
        if self.permits("x"):
            buttons.append({"label": _("Export to Excel"), "icon": "fa-file-excel-o",
                            "url": self.get_url(".export_sheet", id=take.id),
                            "style": "btn-outline-secondary"})
        return buttons

    def detail_panels(self, take):
        lines = lines_of(take)
        typed = g.get("crm_stocktake_typed") or {}
        editable = take.state == COUNTABLE and self.permits("w")
        html = render_template(
            "crm_purchase/stocktake_lines.html", take=take, lines=lines, editable=editable,
            values=typed.get("values", {}), errors=typed.get("errors", {}),
            missing=sum(1 for line in lines if line.counted is None),
            save_url=self.get_url(".save_counts", id=take.id),
            import_url=self.get_url(".import_counts", id=take.id),
            variance=variance, variance_value=variance_value, input_text=input_text,
            number_text=number_text, signed_text=signed_text, cost_text=cost_text,
            amount_text=amount_text, currency=company.currency())
        own = [{"title": _("Count"), "order": 0, "width": "col-12", "html": Markup(html)}]
        return own + super().detail_panels(take)

    # -- counts ----------------------------------------------------------------------------------

    def _countable(self):
        """The take of ?id=, locked, with its lines; None (after saying why) when its
        counts may not change any more."""
        take = self.locked_record()
        if take.state != COUNTABLE:
            db.session.rollback()
            flash(_("Counts change only while counting: stock-take %(number)s is %(state)s.",
                    number=take.number, state=label(take.state)), "error")
            return None
        return take

    def _back(self, take_id):
        return redirect(self.get_url(".details_view", id=take_id) + "#crm-stocktake-lines")

    @expose("/counts/", methods=("POST",))
    def save_counts(self):
        """The counts typed on the page, all or none."""
        take = self._countable()
        if take is None:
            return self._back(request.args.get("id", ""))
        counts, errors = counts_from_form(take, request.form)
        if errors:
            db.session.rollback()
            g.crm_stocktake_typed = {"errors": errors, "values": {
                key[len("counted-"):]: value for key, value in request.form.items()
                if key.startswith("counted-")}}
            flash(ngettext("Nothing was saved: %(num)d count is not right.",
                           "Nothing was saved: %(num)d counts are not right.", len(errors)),
                  "error")
            return self.details_view()
        return self._apply(take, counts, lambda changed: ngettext(
            "%(num)d count changed.", "%(num)d counts changed.", changed))

    @expose("/import-counts/", methods=("POST",))
    def import_counts(self):
        """An XLSX of the sheet with the counted quantities: checked whole, then every
        count written, or nothing."""
        take = self._countable()
        if take is None:
            return self._back(request.args.get("id", ""))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            db.session.rollback()
            flash(_("Choose the file to import."), "error")
            return self._back(take.id)
        token = None
        try:
            token = uploads.store(upload, FILE_TYPES)
            counts, problems = counts_from_rows(lines_of(take), read_sheet(
                uploads.path_of(token), import_limits()))
        except (uploads.UploadRefused, transfer.ImportRefused) as refused:
            problems, counts = [str(refused)], {}
        finally:
            if token is not None:
                uploads.discard(token, missing_ok=True)
        if problems:
            db.session.rollback()
            flash(problems_text(problems), "error")
            return self._back(take.id)
        if not counts:
            db.session.rollback()
            flash(_("Nothing was imported: the file has no counted quantity."), "error")
            return self._back(take.id)
        return self._apply(take, counts, lambda _changed: ngettext(
            "%(num)d count imported.", "%(num)d counts imported.", len(counts)))

    def _apply(self, take, counts, message):
        """Write the counts and the take's variance; commit, or say why not."""
        changed = 0
        try:
            for line, value in counts.items():
                if (line.counted is None) != (value is None) or (
                        value is not None and Decimal(line.counted) != value):
                    line.counted = value
                    changed += 1
            compute_variance(take)
            db.session.commit()
        except workflow.Refused as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return self._back(take.id)
        flash(message(changed), "success")
        return self._back(take.id)

    # -- the sheet -------------------------------------------------------------------------------

    def _printed(self):
        return self.requested_record(options=SHEET_LOAD)

    @expose("/pdf/")
    def print_pdf(self):
        take = self._printed()
        data = pdf.render("crm_purchase/count_sheet.html", **sheet_context([take]))
        return pdf.response(data, f"{take.number}.pdf")

    @expose("/xlsx/")
    def export_sheet(self):
        if not self.permits("x"):
            abort(403)
        take = self._printed()
        return exporting.response("xlsx", f"{take.number}.xlsx", sheet_headers(),
                                  sheet_rows(take))

