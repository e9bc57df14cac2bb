"""Import and export of any model's records, as CSV or XLSX, with the same columns both
ways: the model's field names, and for a many-to-one relation its name with the related
record's display value (``notebook`` = "Demo notebook", ``owner`` = "alice").

An import is checked whole before anything is written: every bad cell is reported as
(row, column, message), rows are written in one transaction, all or none.
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask_babel import gettext as _
from openpyxl import load_workbook
from sqlalchemy import (BigInteger, Boolean, Date, DateTime, Enum, Float, Integer, Numeric,
                        String, Text, inspect, select, text)

from core.audit import BOOKKEEPING
from core.db import DISPLAY_ATTRIBUTES, db

FORMATS = ("csv", "xlsx")
TRUE = {"1", "true", "yes", "y", "是", "对", "x"}
FALSE = {"0", "false", "no", "n", "否", "不", ""}
SECRET_SUFFIXES = ("password_hash", "_token")


class ImportRefused(Exception):
    """The file cannot be read at all (format, no header, unknown columns)."""


@dataclass
class Problem:
    row: int          # as the user counts: the header is row 1
    column: str
    message: str

    def __str__(self):
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class Checked:
    """The outcome of checking a file: the records to write, or the problems. Warnings
    (possible duplicates, say) do not stop the import; the user sees them first."""

    records: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems


def fields_of(model):
    """{column name in files: what it maps to} for a model: its own columns, then its
    many-to-one relations by name (matched on the related record's display value)."""
    mapper = inspect(model)
    columns = {c.key: c for c in mapper.columns
               if not c.primary_key and not c.foreign_keys and c.key not in BOOKKEEPING
               and not c.key.endswith(SECRET_SUFFIXES) and not c.info.get("derived")}
    relations = {r.key: r for r in mapper.relationships
                 if r.direction.name == "MANYTOONE" and _display_column(r.mapper) is not None}
    return {**columns, **relations}


def _display_column(mapper):
    return next((mapper.columns[name] for name in DISPLAY_ATTRIBUTES if name in mapper.columns
                 and isinstance(mapper.columns[name].type, String)), None)


# -- reading files --------------------------------------------------------------------

def read_rows(path_or_file, fmt):
    """(header, rows) from a CSV (UTF-8, with or without BOM) or XLSX file."""
    if fmt == "csv":
        raw = path_or_file.read() if hasattr(path_or_file, "read") else Path(path_or_file).read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("gb18030")   # what Excel saves in Chinese Windows
            except UnicodeDecodeError as exc:
                raise ImportRefused(_("The file is neither UTF-8 nor GB18030 text.")) from exc
        rows = list(csv.reader(io.StringIO(text)))
    elif fmt == "xlsx":
        try:
            book = load_workbook(path_or_file, read_only=True, data_only=True)
        except Exception as exc:   # openpyxl raises many kinds for a damaged file
            raise ImportRefused(_("The file is not a readable XLSX workbook.")) from exc
        rows = [["" if v is None else v for v in row]
                for row in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    else:
        raise ImportRefused(_("Unknown file type %(type)s: use .csv or .xlsx.", type=fmt))
    rows = [row for row in rows if any(str(v).strip() for v in row)]
    if not rows:
        raise ImportRefused(_("The file is empty."))
    header = [str(name).strip() for name in rows[0]]
    return header, rows[1:]


def format_of(filename):
    return Path(filename).suffix.lower().lstrip(".")


# -- checking -------------------------------------------------------------------------

def check(model, header, rows, mapping=None, session=None):
    """Turn rows into unsaved records of ``model``, or report every problem.

    ``mapping`` maps file columns to field names (default: the header is the field
    names); a column mapped to "" is ignored."""
    session = session or db.session
    fields = fields_of(model)
    mapping = mapping if mapping is not None else {name: name for name in header}
    unknown = [name for name, target in mapping.items() if target and target not in fields]
    if unknown:
        raise ImportRefused(_("Unknown column %(columns)s. Columns: %(known)s.",
                              columns=", ".join(unknown), known=", ".join(fields)))
    positions = {mapping[name]: index for index, name in enumerate(header)
                 if mapping.get(name)}
    missing = [name for name, column in fields.items() if _required(column)
               and name not in positions]
    if missing:
        raise ImportRefused(_("Required column missing: %(columns)s.", columns=", ".join(missing)))
    lookups = {name: _lookup(session, fields[name]) for name in positions
               if not hasattr(fields[name], "type")}
    checked = Checked()
    unique = {name: {} for name in positions if getattr(fields[name], "unique", False)}
    for number, row in enumerate(rows, start=2):
        values = {}
        for name, index in positions.items():
            raw = row[index] if index < len(row) else ""
            try:
                values[name] = (lookups[name](raw) if name in lookups
                                else convert(fields[name], raw))
            except ValueError as exc:
                checked.problems.append(Problem(number, name, str(exc)))
                continue
            if name in unique and values[name] is not None:
                if values[name] in unique[name]:
                    checked.problems.append(Problem(number, name, _(
                        "%(value)s appears twice in the file (also row %(row)d)",
                        value=values[name], row=unique[name][values[name]])))
                unique[name].setdefault(values[name], number)
        checked.records.append(model(**values))
    for name, values in unique.items():   # one query per thousand values, not per row
        column, found = fields[name], list(values)
        for start in range(0, len(found), 1000):
            for existing in session.scalars(select(column).where(
                    column.in_(found[start:start + 1000]))):
                checked.problems.append(Problem(values[existing], name, _(
                    "%(value)s already exists", value=existing)))
    checked.problems.sort(key=lambda problem: problem.row)
    # A model may add warnings of its own: import_warnings(records, session) giving
    # (record index, column, message) each.
    warn = getattr(model, "import_warnings", None)
    if warn is not None and checked.records:
        checked.warnings = sorted((Problem(index + 2, column, message)
                                   for index, column, message in warn(checked.records, session)),
                                  key=lambda warning: warning.row)
    return checked


def _required(target):
    if not hasattr(target, "type"):   # a relation: required when its foreign key is
        return all(not column.nullable for column in target.local_columns)
    return not target.nullable and target.default is None and target.server_default is None


def _lookup(session, relation):
    """A function from a display value (or, where the related model has one, a unique
    code) to the related record."""
    related = relation.mapper.class_
    column = _display_column(relation.mapper)
    code = relation.mapper.columns.get("code")
    code = code if code is not None and code.unique and code is not column else None
    cache = {}

    def find(raw):
        text = "" if raw is None else str(raw).strip()
        if not text:
            if _required(relation):
                raise ValueError(_("is required"))
            return None
        if text not in cache:
            with session.no_autoflush:   # the records built so far are not to be saved
                found = session.scalars(select(related).where(code == text)).all() \
                    if code is not None else []   # a code names one record, a name may not
                if not found:
                    found = session.scalars(select(related).where(column == text)
                                            .limit(2)).all()
            if len(found) != 1:
                raise ValueError(_("no single %(model)s with %(column)s %(value)s",
                                   model=related.__name__, column=column.key, value=text)
                                 if not found else _("%(value)s matches several records",
                                                     value=text))
            cache[text] = found[0]
        return cache[text]
    return find


def convert(column, raw):
    """A cell as the column's Python value; ValueError with a message when it is not."""
    kind = column.type
    text = raw.strip() if isinstance(raw, str) else raw
    if text in ("", None):
        if _required(column):
            raise ValueError(_("is required"))
        return None
    if isinstance(kind, Boolean):
        word = str(text).strip().lower()
        if word in TRUE:
            return True
        if word in FALSE:
            return False
        raise ValueError(_("%(value)s is not yes or no", value=text))
    if isinstance(kind, (Integer, BigInteger)):
        try:
            number = Decimal(str(text))
        except InvalidOperation:
            number = None
        if number is None or number != number.to_integral_value():
            raise ValueError(_("%(value)s is not a whole number", value=text))
        return int(number)
    if isinstance(kind, (Numeric, Float)):
        try:
            return Decimal(str(text).replace(",", ""))
        except InvalidOperation:
            raise ValueError(_("%(value)s is not a number", value=text)) from None
    if isinstance(kind, DateTime):
        return _date_value(text, datetime)
    if isinstance(kind, Date):
        return _date_value(text, date)
    if isinstance(kind, Enum):
        if str(text) not in kind.enums:
            raise ValueError(_("%(value)s is not one of %(choices)s", value=text,
                               choices=", ".join(kind.enums)))
        return str(text)
    if isinstance(kind, (String, Text)):
        value = str(text)
        if getattr(kind, "length", None) and len(value) > kind.length:
            raise ValueError(_("is longer than %(count)d characters", count=kind.length))
        return value
    return text


def _date_value(value, kind):
    if isinstance(value, datetime):
        return value if kind is datetime else value.date()
    if isinstance(value, date):
        return value if kind is date else datetime(value.year, value.month, value.day)
    text = str(value).strip().replace("/", "-").replace(".", "-")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_("%(value)s is not a date like 2026-11-23", value=value)) from None
    return parsed if kind is datetime else parsed.date()


def write(checked, session=None):
    """Write the checked records in one transaction (the caller commits)."""
    session = session or db.session
    _take_ids(session, checked.records)
    session.add_all(checked.records)
    session.flush()
    return len(checked.records)


def _take_ids(session, records):
    """On PostgreSQL, the records' ids from the table's sequence in one statement: rows
    whose ids are known go in as a plain executemany, without RETURNING, which is much
    faster for thousands of rows."""
    if not records or session.get_bind().dialect.name != "postgresql":
        return
    table = type(records[0]).__table__
    if "id" not in table.c or not table.c.id.autoincrement:
        return
    with session.no_autoflush:   # the records are not in the session yet
        ids = session.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                   "FROM generate_series(1, :count)"),
                              {"table": table.name, "count": len(records)}).all()
    for record, record_id in zip(records, ids):
        record.id = record_id


# -- exporting ---------------------------------------------------------------------------

def export_rows(model, query=None):
    """(header, rows) of a model's records, in the columns an import reads back."""
    fields = fields_of(model)
    header = list(fields)

    def value(record, name):
        target = fields[name]
        if hasattr(target, "type"):
            return getattr(record, name)
        related = getattr(record, name)
        return None if related is None else getattr(related, _display_column(target.mapper).key)

    query = query if query is not None else select(model).order_by(model.id)
    records = db.session.scalars(query.execution_options(yield_per=1000))
    return header, ([value(record, name) for name in header] for record in records)
