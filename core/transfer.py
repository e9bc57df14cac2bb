"""Import and export of any model's records, as CSV or XLSX, with the same columns both
ways: a column is named by its field's name or its label in any language, and holds
the stored value or, for a many-to-one relation, the related record's key: its code
where it has one, else its display value (``customer`` = "C000001", ``owner`` =
"alice"). Stored words (states, default names) may be written translated.

An import is checked whole before anything is written: every bad cell is reported as
(row, column, message). The rows are then written in one transaction: all or none,
or (``split``) the good ones, the bad ones given back with their errors.
"""
import csv
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path

from flask import g
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from sqlalchemy import (BigInteger, Boolean, Date, DateTime, Enum, Float, Integer, Numeric,
                        String, Text, event, false, func, inspect, select, text)
from sqlalchemy.orm import scoped_session
from sqlalchemy.sql import ClauseElement

from core import audit
from core.audit import BOOKKEEPING
from core.customise import is_custom
from core.db import DISPLAY_ATTRIBUTES, db, insert_many, one_of
from core.exporting import unquote
from core.i18n import DECLARED, LANGUAGES, label
from core.models import AuditEntry, User, utcnow
from core.util import collector_paused, folded

FORMATS = ("csv", "xlsx")
TRUE = {"1", "true", "yes", "y", "是", "对", "x"}
FALSE = {"0", "false", "no", "n", "否", "不", ""}
SECRET_SUFFIXES = ("password_hash", "_token")
ERROR_COLUMN = _l("Error")   # of the file of rejected rows


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


def _code_column(mapper):
    """The related model's unique code, which names one record where a name may not."""
    code = mapper.columns.get("code")
    return code if code is not None and code.unique and code is not _display_column(mapper) \
        else None


# -- the columns of a file ----------------------------------------------------------------

def in_every_language(texts):
    """[{how each language says it}] for each of ``texts``, labels (lazy) or stored
    words (label()), in their order. (A lazy label's hash changes with the language.)"""
    texts = list(texts)
    said = [{str(text)} for text in texts]
    g.setdefault("crm_every_language", True)   # flask-babel forces no locale while g is empty
    for locale in LANGUAGES:
        with force_locale(locale):
            for spellings, text in zip(said, texts):
                spellings.add(str(label(text) if isinstance(text, str) else text))
    return said


def header_mapping(header, fields, ignored=None):
    """{column of a file: the field it fills, "" to leave it out, None when unknown}.

    A column is named by a field's name or its label in any language (``fields``:
    {name: label}); so are those that an export writes and an import leaves out
    (``ignored``: totals, say), and the error column of a file of rejected rows."""
    ignored = ignored or {}
    said = in_every_language([ERROR_COLUMN, *ignored.values(), *fields.values()])
    targets = [""] + [""] * len(ignored) + list(fields)
    known = {}
    # The later wins: a field over a column left out, a name over any label.
    for target, spellings in zip(targets, said):
        known.update(dict.fromkeys(map(folded, spellings), target))
    known.update(dict.fromkeys(map(folded, ignored), ""))
    known.update({folded(name): name for name in fields})
    return {column: known.get(folded(column)) for column in header}


# -- reading files --------------------------------------------------------------------

@dataclass
class Limits:
    """How big an import file may be ([import] in config.ini). Checked while the file
    is read, row by row, so that no file can take a worker's memory or time: a small
    XLSX can unpack to millions of cells."""

    rows: int = 200_000
    columns: int = 200
    cell_characters: int = 32_767        # Excel's own limit for a cell
    unpacked_mb: int = 100               # an XLSX's parts, uncompressed

    @classmethod
    def from_settings(cls, settings):
        return cls(**{name: settings.raw.getint("import", f"max_{name}", fallback=default)
                      for name, default in vars(cls()).items()})


def read_rows(path, fmt, limits=None):
    """(header, rows) of a CSV (UTF-8, with or without BOM, or GB18030) or XLSX file:
    ``rows`` is an iterator of lists of cells, blank rows skipped, read as it is
    consumed. ImportRefused when the file cannot be read or breaks ``limits``."""
    limits = limits or Limits()
    if fmt == "csv":
        cells = _csv_cells(path)
    elif fmt == "xlsx":
        cells = _xlsx_cells(path, limits)
    elif fmt == PARSED:
        cells = _parsed_cells(path)
    else:
        raise ImportRefused(_("Unknown file type %(type)s: use .csv or .xlsx.", type=fmt))
    rows = _bounded((row for row in cells if any(str(v).strip() for v in row)), limits)
    header = next(rows, None)
    if header is None:
        raise ImportRefused(_("The file is empty."))
    return [str(name).strip() for name in header], rows


def _bounded(rows, limits):
    """The rows, refusing the file at the first row or cell over the limits."""
    for number, row in enumerate(rows, start=1):
        if number > limits.rows + 1:   # the header is not counted
            raise ImportRefused(_("The file has more than %(count)d rows: split it.",
                                  count=limits.rows))
        if len(row) > limits.columns:
            raise ImportRefused(_("Row %(row)d has more than %(count)d columns.",
                                  row=number, count=limits.columns))
        for value in row:
            if isinstance(value, str) and len(value) > limits.cell_characters:
                raise ImportRefused(_("Row %(row)d has a cell of more than %(count)d "
                                      "characters.", row=number, count=limits.cell_characters))
        yield row


def _csv_cells(path):
    for encoding in ("utf-8-sig", "gb18030"):   # gb18030: what Excel saves in Chinese Windows
        try:
            with open(path, encoding=encoding, newline="") as handle:
                while handle.read(2**20):   # decodes the whole file once, by chunks
                    pass
        except UnicodeDecodeError:
            continue
        return _csv_reader(path, encoding)
    raise ImportRefused(_("The file is neither UTF-8 nor GB18030 text."))


def _csv_reader(path, encoding):
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:   # an export's apostrophes before formulas taken off
                yield [unquote(cell) if cell[:1] == "'" else cell for cell in row]
        except csv.Error:
            raise ImportRefused(_("Row %(row)d is not readable CSV: a cell is too long or a "
                                  "quote is not closed.", row=reader.line_num)) from None


def _xlsx_cells(path, limits):
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(part.file_size for part in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportRefused(_("The file is not a readable XLSX workbook.")) from exc
    if unpacked > limits.unpacked_mb * 2**20:
        raise ImportRefused(_("The workbook unpacks to more than %(count)d MB: split it or "
                              "save it as CSV.", count=limits.unpacked_mb))
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:   # openpyxl raises many kinds for a damaged file
        raise ImportRefused(_("The file is not a readable XLSX workbook.")) from exc
    return _sheet_rows(book)


def _sheet_rows(book):
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield ["" if value is None else value for value in row]
    except Exception as exc:
        raise ImportRefused(_("The file is not a readable XLSX workbook.")) from exc
    finally:
        book.close()


# An upload is read once, when it arrives, and kept as this: CSV in UTF-8 with every
# cell as text (dates in ISO form), which the later steps read back quickly.
PARSED = "rows"


def parse_upload(source, fmt, target, limits):
    """Read an uploaded file (within ``limits``) into ``target`` in the PARSED form;
    returns the number of rows after the header."""
    header, rows = read_rows(source, fmt, limits)
    return write_parsed(header, rows, target)


def write_parsed(header, rows, target):
    """Keep rows in the PARSED form; returns how many there were after the header."""
    count = 0
    with open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_text(value) for value in row])
            count += 1
    return count


def _text(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _parsed_cells(path):
    with open(path, encoding="utf-8", newline="") as handle:
        yield from csv.reader(handle)


def format_of(filename):
    return Path(filename).suffix.lower().lstrip(".")


# -- checking -------------------------------------------------------------------------

@collector_paused()
def check(model, header, rows, mapping=None, session=None, fields=None, visible=None,
          validate=None):
    """Turn rows into unsaved records of ``model``, or report every problem.

    ``mapping`` maps file columns to field names (default: the header is the field
    names); a column mapped to "" is ignored. What the screen that imports says:
    ``fields``, the fields an import may set (default: fields_of); ``visible(model)``,
    a query of the related records a row may name (default: all); ``validate(record,
    raw)``, (column, message) pairs for a record whose cells all converted."""
    session = session or db.session
    fields = fields if fields is not None else fields_of(model)
    mapping = mapping if mapping is not None else {name: name for name in header}
    unknown = [name for name, target in mapping.items() if target and target not in fields]
    if unknown:
        raise ImportRefused(_("These columns cannot be imported: %(columns)s. Columns that "
                              "can: %(known)s.", columns=", ".join(unknown),
                              known=", ".join(fields)))
    positions = {mapping[name]: index for index, name in enumerate(header)
                 if mapping.get(name)}
    missing = [name for name, column in fields.items() if is_required(column)
               and name not in positions]
    if missing:
        raise ImportRefused(_("Required column missing: %(columns)s.", columns=", ".join(missing)))
    converting = converters(session, fields, positions, visible)
    checked = Checked()
    unique = {name: {} for name in positions if getattr(fields[name], "unique", False)}
    for number, row in enumerate(rows, start=2):
        values, raw, converted = {}, {}, True
        for name, index in positions.items():
            raw[name] = cell = row[index] if index < len(row) else ""
            try:
                values[name] = converting[name](cell)
            except ValueError as exc:
                checked.problems.append(Problem(number, name, str(exc)))
                converted = False
                continue
            if name in unique and values[name] is not None:
                if values[name] in unique[name]:
                    checked.problems.append(Problem(number, name, _(
                        "%(value)s appears twice in the file (also row %(row)d)",
                        value=values[name], row=unique[name][values[name]])))
                unique[name].setdefault(values[name], number)
        record = model(**values)
        if converted and validate is not None:
            checked.problems.extend(Problem(number, column, message)
                                    for column, message in validate(record, raw))
        checked.records.append(record)
    for name, values in unique.items():   # a few queries, not one per row
        column = fields[name]
        for condition in one_of(session, column, values):
            for existing in session.scalars(select(column).where(condition)):
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


def converters(session, fields, names, visible=None):
    """{name: a function from a cell to the field's value, raising ValueError with a
    message} for the fields ``names`` of ``fields`` (fields_of): a relation finds its
    record among those ``visible`` offers, a choice takes its label in either language."""
    found = {}
    for name in names:
        target = fields[name]
        kind = getattr(target, "type", None)
        if kind is None:
            found[name] = _lookup(session, target, visible)
        else:
            found[name] = partial(
                _converted, target, _choice_words(target) if isinstance(kind, Enum) else None,
                kind.words(target.info.get("choices", {})) if hasattr(kind, "from_text")
                else None)
    return found


def _converted(column, choices, several, cell):
    if choices is not None and isinstance(cell, str):   # a choice as the user reads it
        cell = choices.get(cell) or choices.get(folded(cell), cell)
    return convert(column, cell, several)


def _choice_words(column):
    """{a choice as any language says it, case-folded: the stored choice}, and the
    stored choices as they are (found first: most cells hold one)."""
    values = list(column.type.enums)
    words = {folded(text): value
             for value, said in zip(values, in_every_language(values)) for text in said}
    words.update({folded(value): value for value in values})
    return dict(words, **{value: value for value in values})


def _stored_words():
    """{a stored word (a default stage name, say) as any language says it: the words}:
    several where one translation serves several words ("won" and "Won")."""
    words = sorted(DECLARED)
    found = {}
    for word, said in zip(words, in_every_language(words)):
        for text in said:
            found.setdefault(folded(text), set()).add(word)
    return found


MAX_INTEGER, MAX_BIG = 2**31 - 1, 2**63 - 1   # the largest whole numbers columns keep


def largest(column):
    """The largest whole number ``column`` keeps (an id: PostgreSQL's INTEGER is 32 bits)."""
    return MAX_BIG if isinstance(column.type, BigInteger) else MAX_INTEGER


def is_required(target):
    if not hasattr(target, "type"):   # a relation: required when its foreign key is
        return all(not column.nullable for column in target.local_columns)
    return not target.nullable and target.default is None and target.server_default is None


def _lookup(session, relation, visible=None):
    """A function from a display value (or, where the related model has one, a unique
    code) to the related record, among those ``visible`` offers. A record outside them
    is "not found", in the same words as one that does not exist."""
    related = relation.mapper.class_
    column = _display_column(relation.mapper)
    code = _code_column(relation.mapper)
    query = visible(related) if visible is not None else session.query(related)
    cache = {}
    words = {}   # _stored_words(), made at the first name not found

    def find(raw):
        if isinstance(raw, int) and not isinstance(raw, bool):   # by its id (the API)
            if abs(raw) > largest(relation.mapper.primary_key[0]):   # (no such id is kept)
                raise ValueError(_("%(value)s was not found", value=raw))
            if raw not in cache:
                with session.no_autoflush:
                    cache[raw] = query.filter(
                        relation.mapper.primary_key[0] == raw).one_or_none()
            if cache[raw] is None:
                raise ValueError(_("%(value)s was not found", value=raw))
            return cache[raw]
        text = "" if raw is None else str(raw).strip()
        if not text:
            if is_required(relation):
                raise ValueError(_("is required"))
            return None
        if text not in cache:
            with session.no_autoflush:   # the records built so far are not to be saved
                found = query.filter(code == text).all() if code is not None else []
                if not found:   # a code names one record, a name may not
                    found = query.filter(column == text).limit(2).all()
                if not found:   # a stored name written translated, as an export writes it
                    if not words:
                        words.update(_stored_words())
                    stored = words.get(folded(text), set()) - {text}
                    if stored:
                        found = query.filter(column.in_(sorted(stored))).limit(2).all()
            if len(found) != 1:
                raise ValueError(_("%(value)s was not found", value=text) if not found
                                 else _("%(value)s matches several records", value=text))
            cache[text] = found[0]
        return cache[text]
    return find


def convert(column, raw, words=None):
    """A cell as the column's Python value; ValueError with a message when it is not.
    ``words``: a several-choices column's (core.customise.ChoiceSet.words)."""
    kind = column.type
    text = raw.strip() if isinstance(raw, str) else raw
    if text in ("", None):
        if is_required(column):
            raise ValueError(_("is required"))
        return None
    if hasattr(kind, "from_text"):   # several choices (core.customise.ChoiceSet)
        return kind.from_text(str(text), column.info.get("choices", {}), words)
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
        if number is None or not number.is_finite() or number != number.to_integral_value():
            raise ValueError(_("%(value)s is not a whole number", value=text))
        if abs(number) > largest(column):
            raise ValueError(_("%(value)s is too large", value=text))
        return int(number)
    if isinstance(kind, (Numeric, Float)):
        try:
            number = Decimal(str(text).replace(",", ""))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise ValueError(_("%(value)s is not a number", value=text))
        digits = getattr(kind, "precision", None), getattr(kind, "scale", None) or 0
        if digits[0] and abs(number) >= Decimal(10) ** (digits[0] - digits[1]):
            raise ValueError(_("%(value)s is too large", value=text))
        return number
    if isinstance(kind, DateTime):
        return _date_value(text, datetime)
    if isinstance(kind, Date):
        return _date_value(text, date)
    if isinstance(kind, Enum):
        if str(text) not in kind.enums:
            raise ValueError(_("%(value)s is not one of %(choices)s", value=text,
                               choices=", ".join(label(choice) for choice in kind.enums)))
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


@collector_paused()
def write(checked, session=None):
    """Write the checked records in one transaction (the caller commits).

    The records are saved by a flush, as every record is, so every before_flush
    listener (owner and dates, derived fields, numbers) runs on them. Only the INSERTs
    differ: the unit of work would take most of a minute over 100,000 records, so a
    last listener takes them out of the flush and inserts them in bulk, with their
    audit rows (_insert_in_bulk). Anything else the flush has to write, it writes."""
    session = session or db.session
    records = checked.records
    if not records:
        return 0
    session.add_all(records)

    def insert_records(flushing, _context, _instances):
        _insert_in_bulk(flushing, records)

    # Listeners of one session run after those of the Session class: the core's and
    # every addon's have run when this one does.
    own = session() if isinstance(session, scoped_session) else session
    event.listen(own, "before_flush", insert_records)
    try:
        session.flush()
    except Exception:
        session.rollback()   # all or nothing, whatever the caller does next
        raise
    finally:
        event.remove(own, "before_flush", insert_records)
    return len(records)


def _insert_in_bulk(session, records):
    """INSERT the records with one statement (COPY on PostgreSQL), their audit rows with
    one more, and leave them as a flush leaves the records it inserted. When a record
    needs what only the unit of work does (see _bulk_plan, _bulk_row), they all stay in
    the flush and go in the usual way."""
    plan = _bulk_plan(inspect(type(records[0])))
    rows = [_bulk_row(inspect(record).dict, plan) for record in records] if plan else [None]
    if None in rows or len({tuple(row) for row in rows}) > 1:   # (one set of columns)
        return
    connection = session.connection()
    audited, user_id, now = audit.is_audited(records[0]), audit.acting_user_id(), utcnow()
    audit_rows = []

    def saved(record, row, record_id):
        """The record as a flush leaves it, holding its row's values (defaults and key
        included); its audit row, made from those."""
        row[plan.key] = record_id
        inspect(record).dict.update(row)
        if audited:
            audit_rows.append(audit.entry(record, "create", user_id, now))
        return row

    # Made as the rows are sent, so that on PostgreSQL this work and the database's
    # (the COPY, mostly index updates) are done at the same time.
    ids = _new_ids(connection, plan.table, len(rows))
    insert_many(connection, plan.table, (saved(record, row, record_id)
                                         for record, row, record_id in zip(records, rows, ids)))
    insert_many(connection, AuditEntry.__table__, audit_rows)
    # Pending -> persistent, in the session's identity map, with SQLAlchemy's own step
    # after a flush's INSERTs (the public way, expunge then add again, costs seconds).
    session._register_persistent({inspect(record) for record in records})


@dataclass
class _BulkPlan:
    """How to INSERT records of one model without the unit of work."""
    table: object
    key: str            # the primary key, a number the database gives
    columns: list       # (column, default) of the other columns
    custom: list        # the site's fields (core.customise): written only when set
    relations: list     # (many-to-one relation, [(foreign key, related attribute)])
    collections: set    # the other relations: a record with one set needs the unit of work


def _bulk_plan(mapper):
    """The _BulkPlan of a model, or None when only the unit of work can insert its
    records: several tables, insert events, a version counter, a primary key other than
    one number from the database, attributes named unlike their columns, or defaults
    that are SQL or need the statement's context."""
    table = mapper.local_table
    if (len(mapper.tables) != 1 or mapper.dispatch.before_insert or mapper.dispatch.after_insert
            or mapper.version_id_col is not None
            or list(table.primary_key) != [table.autoincrement_column]):
        return None
    columns, custom = [], []
    for column in table.columns:
        default = column.default
        if is_custom(column):   # maybe a field of another database: see core.customise
            custom.append(column.key)
            continue
        if mapper.get_property_by_column(column).key != column.key or (
                column.server_default is not None) or (default is not None and not (
                    default.is_scalar or hasattr(default.arg, "__wrapped__"))):
            return None
        if not column.primary_key:
            columns.append((column.key, default))
    many_to_one = [r for r in mapper.relationships if r.direction.name == "MANYTOONE"]
    relations = [(r.key, [(local.key, r.mapper.get_property_by_column(remote).key)
                          for local, remote in r.local_remote_pairs]) for r in many_to_one]
    collections = {r.key for r in mapper.relationships if r not in many_to_one}
    return _BulkPlan(table, table.autoincrement_column.key, columns, custom, relations,
                     collections)


def _bulk_row(values, plan):
    """The row the unit of work would INSERT for a record (``values``: its attributes),
    or None when it cannot go in bulk: it has a key already, a collection or an unsaved
    related record to write too, or a value that is SQL."""
    if values.get(plan.key) is not None or plan.collections.intersection(values):
        return None
    row = {}
    for column, default in plan.columns:
        value = values.get(column)
        if value is None and default is not None:   # None, like missing, means default
            value = default.arg(None) if default.is_callable else default.arg
        elif isinstance(value, ClauseElement) or hasattr(value, "__clause_element__"):
            return None
        row[column] = value
    row.update((column, values[column]) for column in plan.custom if column in values)
    for relation, pairs in plan.relations:   # a related record set wins over its key
        if relation in values:
            related = values[relation]
            if related is not None and inspect(related).key is None:
                return None
            for local, remote in pairs:
                row[local] = None if related is None else getattr(related, remote)
    return row


def _new_ids(connection, table, count):
    """Primary keys for ``count`` new rows of a table whose key is a number the database
    gives, taken before the rows go in. On PostgreSQL, from the table's sequence in one
    statement. On SQLite, the numbers after the largest key: a write that changes
    nothing takes the database's write lock for the rest of the transaction, so no one
    else can take them meanwhile (SQLite would give the same numbers itself)."""
    column = table.autoincrement_column
    if connection.dialect.name == "postgresql":
        return connection.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, :column)) "
                                       "FROM generate_series(1, :count)"),
                                  {"table": table.name, "column": column.name,
                                   "count": count}).all()
    connection.execute(table.delete().where(false()))
    last = connection.scalar(select(func.max(column))) or 0
    return range(last + 1, last + count + 1)


# -- the good rows, and the bad ones given back -------------------------------------------

def split(checked, session=None):
    """(the rows without problems, to write as ``write`` writes all; the numbers of the
    others): for an import that takes the good rows and reports the bad ones."""
    session = session or db.session
    bad = {problem.row for problem in checked.problems}
    good = []
    for number, record in enumerate(checked.records, start=2):
        if number not in bad:
            good.append(record)
            continue
        # Out of its related records' collections (backrefs) and of the session, so
        # that nothing of it is written with the others.
        for relation in inspect(record).mapper.relationships:
            if relation.direction.name == "MANYTOONE" and relation.key in inspect(record).dict:
                setattr(record, relation.key, None)
        if record in session:
            session.expunge(record)
    return Checked(records=good, warnings=[w for w in checked.warnings if w.row not in bad]), bad


def rejected_rows(header, rows, problems, mapping=None):
    """(header, rows) of the rows that have problems, as the file had them, with an
    error column saying what is wrong in the file's own column names: the user puts
    them right and imports that file again. ``rows``: the file's rows read again."""
    mapping = mapping if mapping is not None else {name: name for name in header}
    names = {target: column for column, target in mapping.items() if target}
    errors = {}
    for problem in problems:
        where = names.get(problem.column, problem.column)
        errors.setdefault(problem.row, []).append(
            f"{where}: {problem.message}" if where else problem.message)
    said = set(map(folded, in_every_language([ERROR_COLUMN])[0]))
    kept = [index for index, column in enumerate(header) if folded(column) not in said]

    def bad():
        for number, row in enumerate(rows, start=2):
            if number in errors:
                yield [row[index] if index < len(row) else "" for index in kept] + [
                    "; ".join(errors[number])]
    return [header[index] for index in kept] + [str(ERROR_COLUMN)], bad()


# -- exporting ---------------------------------------------------------------------------

def field_value(record, name, target, translated=False):
    """A field of a record as a file holds it for an import to read back: its stored
    value, a related record by its code or else its display value. ``translated``:
    stored words (a state, a default stage name) as the user reads them."""
    value = getattr(record, name)
    if isinstance(value, list):   # several choices, as an import reads them back
        choices = getattr(target, "info", {}).get("choices", {}) if translated else {}
        return ", ".join(str(choices.get(item, item)) for item in value) or None
    if hasattr(target, "type"):
        return label(value) if translated and value is not None and isinstance(
            target.type, Enum) else value
    if value is None:
        return None
    code = _code_column(target.mapper)
    if code is not None and getattr(value, code.key):
        return getattr(value, code.key)
    shown = getattr(value, _display_column(target.mapper).key)
    # A username stays as it is, whatever word it happens to be.
    return label(shown) if translated and shown is not None and not isinstance(
        value, User) else shown


def export_rows(model, query=None):
    """(header, rows) of a model's records, in the columns an import reads back."""
    fields = fields_of(model)
    header = list(fields)
    query = query if query is not None else select(model).order_by(model.id)
    records = db.session.scalars(query.execution_options(yield_per=1000))
    return header, ([field_value(record, name, fields[name]) for name in header]
                    for record in records)
