"""Fields a site adds to its addons' models without code (Settings > Customise).

A custom field is a real, typed column of the model's table, named x_<name> so that no
later version of the suite can bring a column of the same name. Its declaration (a
core_custom_field row) and its column are written in one transaction: both or neither.

Every process maps the site's fields onto the model classes when it builds its app; a
change of fields moves the addon revision, so every process rebuilds on its next request,
as when an addon is enabled. A mapped field's column is deferred and left out of an
INSERT that does not set it, so a class mapped with a field its database lacks (a backup
restored from before the field; tests, many databases in one process) still reads and
writes that database: the screens that show a field ask for it (``undefer``).
"""
import json
import keyword
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import current_app, has_app_context, has_request_context
from flask_admin.contrib.sqla.filters import (
    BaseSQLAFilter,
    FilterEmpty,
    FilterEqual,
    FilterNotEqual,
)
from flask_admin.form import Select2Widget
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    case,
    event,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, deferred, relationship
from sqlalchemy.sql.expression import type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from wtforms.validators import InputRequired, Length, Optional

from core.db import FOREIGN_KEYS_OFF
from core.i18n import LazyLabel, lazy_label, mark, model_class, model_label
from core.migrating import one_sqlite_transaction
from core.models import CustomField, utcnow
from core.util import folded

PREFIX = "x_"
CUSTOMISER_GROUP = "customiser"
CUSTOMISER_NAME = mark("Customiser")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
OPTION_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The SQL words either database reserves, and Python's: a field's name is also a key in
# files, declarations and the exported addon's code.
RESERVED = {word.lower() for word in postgresql.base.RESERVED_WORDS
            | sqlite.base.SQLiteIdentifierPreparer.reserved_words} | set(keyword.kwlist)
TEXT_LENGTH = 255

class ChoiceSet(TypeDecorator):
    """Several choices in one text column, held "|gold|silver|" (a filter finds one by
    LIKE '%|gold|%'); a list of values in Python. A text is passed on as it is: the
    filters' patterns."""

    impl = String(1000)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, (list, tuple, set)):
            return "|" + "|".join(value) + "|" if value else None
        return value

    def process_result_value(self, value, dialect):
        return [item for item in value.split("|") if item] if value else []

    @staticmethod
    def words(choices):
        """{a choice as a cell may name it, folded: the choice}: its value, or its label
        in either language."""
        words = {str(value).casefold(): value for value in choices}
        words.update({folded(spelled): value
                      for value, said in choices.items()
                      for spelled in (str(said), *getattr(said, "_args", ()))})
        return words

    @staticmethod
    def from_text(text, choices, words=None):
        """The values a cell names ("gold, silver", or their labels in either
        language, as an export writes them); ValueError names one that is not a choice.
        ``words``: ChoiceSet.words(choices), made once for a file's column."""
        words = words or ChoiceSet.words(choices)
        found = []
        for word in (w.strip() for w in re.split(r"[,，;；]", text)):
            if not word:
                continue
            if folded(word) not in words:
                raise ValueError(_("%(value)s is not one of %(choices)s", value=word,
                                   choices=", ".join(str(said) for said in choices.values())))
            found.append(words[folded(word)])
        return list(dict.fromkeys(found)) or None


CHOOSING = ("choice", "choices")   # the kinds with options

# kind: (what people read, the column's type)
KINDS = {
    "text": (mark("Short text"), lambda: String(TEXT_LENGTH)),
    "long_text": (mark("Long text"), Text),
    "number": (mark("Whole number"), Integer),
    "decimal": (mark("Decimal number"), lambda: Numeric(18, 4)),
    "money": (mark("Money"), lambda: Numeric(14, 2)),
    "date": (mark("Date"), Date),
    "datetime": (mark("Date and time"), DateTime),
    "yes_no": (mark("Yes/no"), Boolean),
    "choice": (mark("Choice"), lambda: String(64)),
    "choices": (mark("Several choices"), ChoiceSet),
    "link": (mark("Link to a record"), Integer),
}


class FieldRefused(Exception):
    """What is wrong with a field's declaration: {form field: message}."""

    def __init__(self, problems):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def in_language(english, chinese):
    """The text for the reader's language (English outside a request)."""
    locale = str(get_locale() or "") if has_request_context() else ""
    return chinese if locale.startswith("zh") and chinese else english


def field_label(field):
    return LazyLabel(in_language, field.label_en, field.label_zh)


def field_help(field):
    return LazyLabel(in_language, field.help_en, field.help_zh) \
        if field.help_en or field.help_zh else None


def options_of(field):
    """[(value, label)] of a choice field, labels in the reader's language."""
    return [(value, LazyLabel(in_language, english, chinese))
            for value, english, chinese in json.loads(field.options or "[]")]


def column_key(field):
    """The column's name: a link's holds the linked record's id."""
    return f"{field.name}_id" if field.kind == "link" else field.name


# -- the site's fields, per app ----------------------------------------------------------------

def site_fields(session, enabled):
    """The declarations of every field, removed ones included, but those of client
    addons not ``enabled``; [] on a database from before custom fields (its upgrade is
    pending)."""
    try:
        fields = session.scalars(select(CustomField).where(or_(
            CustomField.addon.is_(None), CustomField.addon.in_(enabled))).order_by(
            CustomField.model, CustomField.position, CustomField.id)).all()
    except DBAPIError:
        session.rollback()
        return []
    session.expunge_all()
    return fields


def map_fields(fields):
    """Map each field onto its model class (once per process; a label changed since is
    updated). A removed field stays mapped: its data is kept until purged."""
    from core import audit   # here: audit imports the models this module declares
    added = False
    for field in fields:
        model = model_class(field.model)
        if model is None:
            continue
        table, mapper, key = model.__table__, inspect(model), column_key(field)
        info = {"custom": True, "label": field_label(field), "help": field_help(field),
                "choices": dict(options_of(field)), "kind": (field.kind, field.target)}
        if key in table.c:   # mapped before (check refuses a name mapped as another kind)
            table.c[key].info.update(info)
            table.c[key].unique = field.is_unique
            continue
        column = Column(key, _column_type(field).evaluates_none(), *_foreign_key(field),
                        info=info)
        table.append_column(column)
        # Read by forms and imports, which check it as they do built-in unique columns;
        # set after: Column(unique=True) would add a constraint to the table's metadata.
        column.unique = field.is_unique
        mapper.add_property(key, deferred(column))
        if field.kind == "link":
            target = model_class(field.target)
            mapper.add_property(field.name, relationship(   # many-to-one, even to itself
                target, foreign_keys=[column], remote_side=[target.__table__.c.id],
                info=dict(info)))
        added = True
    if added:
        audit.forget_columns()


@event.listens_for(Session, "before_flush")
def _defaults(session, _context, _instances):
    """A new record gets the defaults of the app's fields it was not given, whichever
    way it was made (a form, an import, a command, a job)."""
    if not session.new or not has_app_context():
        return
    defaults = current_app.extensions["crm"].custom_defaults
    for record in session.new:
        for key, value in defaults.get(type(record).__name__, ()):
            if key not in inspect(record).dict:
                setattr(record, key, value)


def defaults_of(fields):
    """{model name: [(column, default)]} of the fields in use that have a default."""
    found = {}
    for field in fields:
        if field.default and field.removed_at is None and field.kind != "link":
            found.setdefault(field.model, []).append(
                (field.name, parse_value(field.kind, field.default, options_text(field))))
    return found


def _column_type(field):
    return KINDS[field.kind][1]()


def _foreign_key(field):
    if field.kind != "link":
        return []
    target = model_class(field.target).__table__.name
    return [ForeignKey(f"{target}.id", ondelete="SET NULL")]


def is_custom(column):
    return column.info.get("custom", False)


@compiles(CreateColumn)
def _without_custom_columns(create, compiler, **kw):
    """CREATE TABLE leaves out the site's fields (add_field adds each column itself): a
    table made by create_all or a baseline, in a process that mapped another database's
    fields, must not get them."""
    if is_custom(create.element):
        return None
    return compiler.visit_create_column(create, **kw)


def is_custom_property(prop):
    """Is this attribute of a mapper a field's column or link?"""
    columns = getattr(prop, "columns", None)
    return (columns[0].info if columns else prop.info).get("custom", False)


# -- on the screens ------------------------------------------------------------------------------

def choices_formatter(field):
    """A list's and record page's cell of several choices: their labels."""
    def shown(_view, _context, record, name):
        labels = dict(options_of(field))
        return ", ".join(str(labels.get(value, value)) for value in getattr(record, name) or [])
    return shown


def form_args(field):
    """The form field's options: required or not, its help, its default, its choices."""
    args = {"validators": [InputRequired() if field.required else Optional()],
            "description": field_help(field) or ""}
    if field.default:
        args["default"] = parse_value(field.kind, field.default, options_text(field))
    if field.kind == "choice":
        args.update(choices=options_of(field), allow_blank=True)
    if field.kind == "choices":
        args.update(choices=options_of(field), widget=Select2Widget(multiple=True))
    if field.kind == "text":
        args["validators"].append(Length(max=TEXT_LENGTH))
    return args


def options_text(field):
    return "\n".join(" | ".join(option) for option in json.loads(field.options or "[]"))


class FilterIncludes(BaseSQLAFilter):
    """Records whose several choices (ChoiceSet) include the one picked."""

    def apply(self, query, value, alias=None):
        column = type_coerce(self.get_column(alias), String)
        return query.filter(column.like(f"%|{value}|%"))

    def operation(self):
        return lazy_label(INCLUDES)


INCLUDES = mark("includes")


def choice_filters(field, column):
    """A choice field's filters: equals, not equal and empty, offering its choices (as
    the filters of a fixed list of values do); several choices': includes, and empty."""
    options = options_of(field)
    found = [FilterEqual(column, field_label(field), options=options),
             FilterNotEqual(column, field_label(field), options=options)] \
        if field.kind == "choice" else [FilterIncludes(column, field_label(field),
                                                       options=options)]
    found.append(FilterEmpty(column, field_label(field)))
    for flt in found:
        # Its links are named by the field's key, which stays when its label is changed
        # (a saved filter, a segment keep working): see ModelView.get_filter_arg.
        flt.crm_url_name = field.name
        flt.crm_field = field.name
    return found


MORE = mark("More details")


def with_sections(sections, fields):
    """A record page's sections with the fields added: each in the section whose title
    (in English) it names, "" for the first; a section of its own for the others."""
    sections = [(title, list(names)) for title, names in sections]
    more, long = [], []
    for field in fields:
        target = next((names for title, names in sections
                       if section_key(title) == field.section), None)
        if target is not None:
            target.append(field.name)
        else:   # a long text under its own heading, as the record page shows them
            (long if field.kind == "long_text" else more).append(field)
    if more:   # (where core.layout puts the fields moved to "a section of their own")
        sections.append((lazy_label(MORE), [field.name for field in more]))
    return sections + [(field_label(field), [field.name]) for field in long]


def section_key(title):
    """A section's title as a customisation names it: its English text ("" for the first,
    untitled one), whatever the reader's language."""
    if title is None:
        return ""
    args = getattr(title, "_args", None)
    return str(args[0]) if args else str(title)


# -- checking and applying a declaration -------------------------------------------------------

def check(session, model, values, existing=None, taken=frozenset()):
    """{form field: message} of what is wrong with ``values`` (the form's, as typed) for
    a new field of ``model`` (or a change of ``existing``); {} when it may be applied.
    ``taken``: the labels of the model's other fields, folded (case and spaces), in
    every language: a label tells a field apart on screens and in files' headers."""
    problems = {}
    table = model.__table__
    rows = session.scalar(select(func.count()).select_from(table))
    if existing is None:
        name = values.get("name", "").strip()
        if not NAME.match(name):
            problems["name"] = _("A name is lower-case letters, digits and underscores, "
                                 "starting with a letter, at most 30 characters.")
        elif name in RESERVED or PREFIX + name in RESERVED:
            problems["name"] = _("“%(name)s” is a reserved word of SQL or Python; "
                                 "choose another name.", name=name)
        elif _taken(session, model, PREFIX + name, values.get("kind")):
            problems["name"] = _("%(model)s already has a field called “%(name)s”.",
                                 model=model_label(model), name=name)
        elif _mapped_otherwise(model, PREFIX + name, values.get("kind"), values.get("target")):
            # Purged, then asked for again as another kind: the processes running still
            # map the old one until they restart.
            problems["name"] = _("A field called “%(name)s” was purged; until the site is "
                                 "restarted, choose another name.", name=name)
        if values.get("kind") not in KINDS:
            problems["kind"] = _("Choose the kind of field.")
        elif values["kind"] == "link" and _linkable(values.get("target")) is None:
            problems["target"] = _("Choose the kind of record the field links to.")
    kind = existing.kind if existing is not None else values.get("kind")
    for key in ("label_en", "label_zh"):
        text = values.get(key, "").strip()
        if not text:
            problems[key] = _("Give the label in English and in Chinese.")
        elif folded(text) in taken:
            problems[key] = _("Another field of %(model)s is labelled “%(label)s”; choose "
                              "a label of its own.", model=model_label(model), label=text)
    if kind in CHOOSING:
        try:
            parse_options(values.get("options", ""))
        except ValueError as exc:
            problems["options"] = str(exc)
    default = values.get("default", "").strip()
    if default and kind in KINDS:
        try:
            parse_value(kind, default, values.get("options", ""))
        except ValueError as exc:
            problems["default"] = str(exc)
    if values.get("required") and not default and rows and (
            existing is None or _empty_count(session, existing)):
        problems["required"] = _(
            "%(model)s has %(count)d records and the field has no default: a required "
            "field needs a default for them.", model=model_label(model), count=rows)
    if values.get("is_unique") and kind in ("long_text", "yes_no", "choices"):
        problems["is_unique"] = _("A field of this kind cannot be unique.")
    elif values.get("is_unique") and (
            (existing is None and default and rows > 1)
            or (existing is not None and _duplicates(session, existing))):
        problems["is_unique"] = _("Records of %(model)s would share a value of this field, "
                                  "so it cannot be unique.", model=model_label(model))
    if existing is not None and kind in CHOOSING and "options" not in problems:
        kept = {value for value, _en, _zh in parse_options(values.get("options", ""))}
        held = _held_choices(session, existing, kept)
        if held:
            problems["options"] = _(
                "Records still hold choices this list leaves out: %(held)s. Change those "
                "records first.", held=", ".join(f"{value} ({count})" for value, count in held))
    return problems


def _taken(session, model, key, kind):
    """Is the name a column of the table, or an attribute of the model's own? (Not of
    the mapped class alone: it may hold fields of another database, see map_fields.)"""
    mapper = inspect(model)
    columns = {column["name"] for column in inspect(session.connection()).get_columns(
        model.__table__.name)}
    keys = {key, f"{key}_id"} if kind == "link" else {key}
    return any(k in columns or (k in mapper.attrs and not is_custom_property(mapper.attrs[k]))
               for k in keys)


def _mapped_otherwise(model, key, kind, target):
    column = model.__table__.c.get(f"{key}_id" if kind == "link" else key)
    return column is not None and is_custom(column) and \
        column.info.get("kind") != (kind, target if kind == "link" else None)


def _linkable(name):
    model = model_class(name or "")
    return model if model is not None and "id" in model.__table__.c else None


def _held_choices(session, field, kept):
    """[(value, records)] of the choices records hold that ``kept`` leaves out."""
    column = getattr(model_class(field.model), column_key(field))
    if field.kind == "choice":
        return session.execute(select(column, func.count()).where(
            column.is_not(None), column.not_in(kept) if kept else column.is_not(None))
            .group_by(column)).all()
    options = [value for value, _en, _zh in json.loads(field.options or "[]")]
    return [(value, count) for value in options if value not in kept
            for count in [session.scalar(select(func.count()).where(
                type_coerce(column, String).like(f"%|{value}|%")))] if count]


def _empty_count(session, field):
    model = model_class(field.model)
    column = getattr(model, column_key(field))
    return session.scalar(select(func.count()).where(column.is_(None)))


def _duplicates(session, field):
    column = getattr(model_class(field.model), column_key(field))
    return session.scalar(select(func.count()).select_from(
        select(column).where(column.is_not(None)).group_by(column)
        .having(func.count() > 1).subquery()))


def parse_options(text):
    """[[value, English, Chinese]] from lines "value | English | 中文"."""
    options, seen = [], set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(_("Line %(number)d: write each choice as “value | English | "
                               "中文”.", number=number))
        if not OPTION_VALUE.match(parts[0]):
            raise ValueError(_("Line %(number)d: a choice's value is letters, digits, "
                               "“-” and “_”.", number=number))
        if parts[0] in seen:
            raise ValueError(_("Line %(number)d: the value “%(value)s” is there twice.",
                               number=number, value=parts[0]))
        seen.add(parts[0])
        options.append(parts)
    if not options:
        raise ValueError(_("Give at least one choice."))
    return options


YES = {"yes", "true", "1", "是", "y"}
NO = {"no", "false", "0", "否", "n"}


def parse_value(kind, text, options=""):
    """A default as typed, as the column holds it; ValueError says what is wrong."""
    try:
        if kind in ("text", "long_text"):
            if kind == "text" and len(text) > TEXT_LENGTH:
                raise ValueError
            return text
        if kind == "number":
            return int(text)
        if kind in ("decimal", "money"):
            return Decimal(text)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "datetime":
            return datetime.fromisoformat(text)
        if kind == "yes_no":
            if text.lower() not in YES | NO:
                raise ValueError
            return text.lower() in YES
        if kind == "choice":
            if text not in {value for value, _en, _zh in parse_options(options)}:
                raise ValueError
            return text
        if kind == "choices":
            values = [word.strip() for word in re.split(r"[,，;；]", text) if word.strip()]
            if not values or set(values) - {value for value, _en, _zh in
                                            parse_options(options)}:
                raise ValueError
            return values
    except (ValueError, InvalidOperation):
        pass
    if kind == "link":
        raise ValueError(_("A link has no default."))
    if kind in CHOOSING:
        raise ValueError(_("“%(value)s” is not one of the choices' values: %(values)s.",
                           value=text, values=", ".join(
                               value for value, _en, _zh in parse_options(options))))
    raise ValueError(_("“%(value)s” is not %(expected)s.", value=text,
                       expected=EXPECTED[kind]()))


EXPECTED = {   # what a default of each kind looks like, for the message that refuses one
    "text": lambda: _("a text of at most 255 characters"),
    "number": lambda: _("a whole number, such as 12"),
    "decimal": lambda: _("a number, such as 12.5"),
    "money": lambda: _("an amount, such as 1200.50"),
    "date": lambda: _("a date, written 2026-12-31"),
    "datetime": lambda: _("a date and time, written 2026-12-31 09:30"),
    "yes_no": lambda: _("yes or no"),
}


def add_field(session, model, values, registry, taken=frozenset()):
    """Declare the field and add its column, in the session's transaction (the caller
    commits). FieldRefused, before anything is written, when ``check`` finds problems."""
    problems = check(session, model, values, taken=taken)
    if problems:
        raise FieldRefused(problems)
    kind = values["kind"]
    if kind == "yes_no" and not values.get("default", "").strip():
        values = {**values, "default": "no"}   # unset reads as No, in filters too
    field = CustomField(
        model=model.__name__, name=PREFIX + values["name"].strip(), kind=kind,
        label_en=values["label_en"].strip(), label_zh=values["label_zh"].strip(),
        help_en=values.get("help_en", "").strip(), help_zh=values.get("help_zh", "").strip(),
        required=bool(values.get("required")), is_unique=bool(values.get("is_unique")),
        indexed=bool(values.get("indexed")) or kind == "link",
        in_list=bool(values.get("in_list")), default=values.get("default", "").strip(),
        options=json.dumps(parse_options(values["options"]) if kind in CHOOSING else [],
                           ensure_ascii=False),
        target=values.get("target") if kind == "link" else None,
        section=values.get("section", "").strip(),
        position=1 + (session.scalar(select(func.max(CustomField.position)).where(
            CustomField.model == model.__name__)) or 0))
    # The row first: its INSERT opens the transaction, which SQLite's driver would not do
    # for the ALTER TABLE (it would commit it on its own).
    session.add(field)
    session.flush()
    connection = session.connection()
    table = model.__table__.name
    connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {_column_ddl(field, connection)}")
    if field.default:
        connection.execute(update(_bare_table(model, field)).values(
            {column_key(field): parse_value(kind, field.default, values.get("options", ""))}))
    _index(connection, table, field)
    registry.bump_revision(session)
    return field


def change_field(session, field, values, registry, taken=frozenset()):
    """Change a field's declaration; its name, kind and link target stay. FieldRefused,
    before anything is written, when ``check`` finds problems (a choice removed that
    records hold, unique over duplicates...). A change of unique or indexed remakes the
    index, and a required field's default fills the records left empty, in the same
    transaction."""
    problems = check(session, model_class(field.model), values, existing=field, taken=taken)
    if problems:
        raise FieldRefused(problems)
    before = (field.is_unique, field.indexed)
    for key in ("label_en", "label_zh", "help_en", "help_zh", "default", "section"):
        setattr(field, key, values.get(key, "").strip())
    if field.kind == "yes_no" and not field.default:
        field.default = "no"
    field.required, field.in_list = bool(values.get("required")), bool(values.get("in_list"))
    field.is_unique = bool(values.get("is_unique"))
    field.indexed = bool(values.get("indexed")) or field.kind == "link"
    if field.kind in CHOOSING:
        field.options = json.dumps(parse_options(values["options"]), ensure_ascii=False)
    session.flush()   # (opens the transaction: see add_field)
    connection = session.connection()
    table = model_class(field.model).__table__.name
    if (field.is_unique, field.indexed) != before:
        for suffix in ("", "_trgm"):
            connection.exec_driver_sql(
                f"DROP INDEX IF EXISTS ix_{table}_{column_key(field)}{suffix}")
        _index(connection, table, field)
    if field.required and field.default:
        bare = _bare_table(model_class(field.model), field)
        column = bare.c[column_key(field)]
        connection.execute(update(bare).where(column.is_(None)).values(
            {column.key: parse_value(field.kind, field.default, options_text(field))}))
    registry.bump_revision(session)
    return field


def add_missing_columns(connection):
    """Add the columns (and indexes) of the declared fields that the database lacks: a
    restore has loaded the declarations into tables its migrations made. Returns the
    statements that add the links' foreign keys on PostgreSQL, for after the rows are
    in (they arrive in any order; SQLite checks none during a restore)."""
    return _add_lacking(connection, connection.execute(select(CustomField)).all(),
                        links_later=connection.dialect.name != "sqlite")


def _add_lacking(connection, fields, links_later=False):
    """ALTER TABLE ... ADD COLUMN, with its index, for each of ``fields`` whose column
    the database lacks; the statements adding links' foreign keys when ``links_later``."""
    later = []
    inspector = inspect(connection)
    for field in fields:
        model = model_class(field.model)
        if model is None:
            continue
        table = model.__table__.name
        if column_key(field) in {column["name"] for column in inspector.get_columns(table)}:
            continue
        connection.exec_driver_sql(
            f"ALTER TABLE {table} ADD COLUMN {_column_ddl(field, connection, not links_later)}")
        _index(connection, table, field)
        if field.kind == "link" and links_later:
            later.append(f"ALTER TABLE {table} ADD {_link_ddl(field)} FOREIGN KEY "
                         f"({column_key(field)}) {_target_ddl(field)}")
    return later


def _column_ddl(field, connection, linked=True):
    column = Column(column_key(field), _column_type(field))
    text = str(CreateColumn(column).compile(dialect=connection.dialect))
    if field.kind == "link" and linked:
        text += f" {_link_ddl(field)} {_target_ddl(field)}"
    return text


def _link_ddl(field):
    table, target = (model_class(name).__table__.name for name in (field.model, field.target))
    return f"CONSTRAINT fk_{table}_{column_key(field)}_{target}"


def _target_ddl(field):
    return f"REFERENCES {model_class(field.target).__table__.name} (id) ON DELETE SET NULL"


def _bare_table(model, field):
    """The model's table with the field's column, for an UPDATE on a process that has
    not mapped the field yet."""
    from sqlalchemy import MetaData, Table
    return Table(model.__table__.name, MetaData(), Column("id", Integer, primary_key=True),
                 Column(column_key(field), _column_type(field)))


def _index(connection, table, field):
    """A unique or indexed field's index; an indexed text field on PostgreSQL also a
    trigram one, for the list's search box (ILIKE '%word%'), when pg_trgm is there."""
    key = column_key(field)
    if field.is_unique or field.indexed:
        unique = "UNIQUE " if field.is_unique else ""
        connection.exec_driver_sql(f"CREATE {unique}INDEX ix_{table}_{key} ON {table} ({key})")
    if field.indexed and field.kind in SEARCHED and connection.dialect.name == "postgresql" \
            and connection.exec_driver_sql(
                "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").scalar():
        connection.exec_driver_sql(f"CREATE INDEX ix_{table}_{key}_trgm ON {table} "
                                   f"USING gin ({key} gin_trgm_ops)")


SEARCHED = ("text", "long_text")   # kinds the list's search box looks in, when indexed
# The shortest search that looks in them: a trigram index serves 3 characters and more;
# a shorter one would read every row (a filter "contains" finds it there).
SEARCHED_LENGTH = 3


def searched(fields):
    """The fields a list's search box looks in: indexed text fields (an unindexed one
    would make every search read the whole table; its filter "contains" remains)."""
    return [field for field in fields if field.kind in SEARCHED and field.indexed]


GROUPED = ("choice", "yes_no")   # kinds a grouped list can group by: one of a few values


def grouping(field):
    """How a list groups its records by ``field``: (its column, the groups' order: the
    options' own order, or yes before no, the records without a value last; a group's
    title from its value)."""
    column = getattr(model_class(field.model), field.name)
    if field.kind == "yes_no":
        order = [column.is_(None), column.desc()]
        titles = {True: _("Yes"), False: _("No")}
    else:
        options = options_of(field)
        order = [column.is_(None), case({value: place for place, (value, _label)
                                          in enumerate(options)},
                                         value=column, else_=len(options)), column]
        titles = dict(options)
    # (A value whose option was removed since is shown as it is held.)
    return column, order, lambda value: _("Not set") if value is None else titles.get(
        value, value)


def remove_field(session, field, registry, removed=True):
    """Hide the field everywhere, its column and data kept until purged; or
    (``removed=False``) show it again."""
    field.removed_at = utcnow() if removed else None
    registry.bump_revision(session)


def held_count(session, field):
    """How many records hold a value of the field: what purging it deletes."""
    table = _bare_table(model_class(field.model), field)
    column = table.c[column_key(field)]
    return session.scalar(select(func.count()).where(column.is_not(None)))


def purge_field(session, field, registry):
    """Drop a removed field's column, its data and its declaration, in one transaction.
    On SQLite a link's column is dropped by copying the table without it (SQLite drops
    no column a foreign key is declared on)."""
    model = model_class(field.model)
    table, key = model.__table__.name, column_key(field)
    connection = session.connection()
    copied = connection.dialect.name == "sqlite" and field.kind == "link"
    if copied:
        # Foreign keys off for the copy, or dropping the old table would delete (or
        # empty the links of) the records that refer to it; only before a transaction.
        one_sqlite_transaction(connection)
        if not connection.connection.info.get(FOREIGN_KEYS_OFF):
            raise RuntimeError("purging a link on SQLite needs a transaction of its own")
    session.delete(field)
    session.flush()   # (opens the transaction: see add_field)
    for suffix in ("", "_trgm"):
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS ix_{table}_{key}{suffix}")
    if copied:
        with Operations(MigrationContext.configure(connection)).batch_alter_table(
                table, recreate="always") as batch:
            batch.drop_column(key)
    else:
        connection.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {key}")
    registry.bump_revision(session)


def seed_customiser_group(connection):
    """The Customiser group, which may add and remove fields (its access to custom fields),
    made by ``init`` and ``upgrade`` (not by a migration: a restore runs the migrations,
    then loads the archive's groups)."""
    from core.models import Access, Group
    group_id = connection.scalar(select(Group.id).where(Group.code == CUSTOMISER_GROUP))
    if group_id is None:
        group_id = connection.execute(Group.__table__.insert().values(
            code=CUSTOMISER_GROUP, name=CUSTOMISER_NAME)).inserted_primary_key[0]
    if connection.scalar(select(Access.id).where(Access.group_id == group_id,
                                                 Access.model == CustomField.__name__)) is None:
        connection.execute(Access.__table__.insert().values(
            group_id=group_id, model=CustomField.__name__, letters="rwcd", scope="all"))


# -- a client addon: the site's fields as a folder for git (`customisations export`) ---------

def declaration(field):
    """A field as the client addon's manifest declares it (the English; the Chinese is in
    the addon's catalog, under the context model.name)."""
    declared = {"model": field.model, "name": field.name, "kind": field.kind,
                "label": field.label_en, "help": field.help_en, "required": field.required,
                "unique": field.is_unique, "indexed": field.indexed, "in_list": field.in_list,
                "default": field.default, "section": field.section,
                "options": [[value, english] for value, english, _zh in
                            json.loads(field.options or "[]")]}
    if field.kind == "link":
        declared["target"] = field.target
    return declared


def column_spec(field):
    """What a migration needs to add the field's column: no labels (they change; the
    column does not)."""
    return {"model": field.model, "name": field.name, "kind": field.kind,
            "target": field.target if field.kind == "link" else None,
            "unique": field.is_unique, "indexed": field.indexed}


def add_declared_columns(connection, specs):
    """A client addon's migration: the columns of ``specs`` (column_spec) that the
    database lacks, with their indexes. A site where the fields were made by hand (the
    site the addon was exported from) has them all: nothing is done there."""
    _add_lacking(connection, [
        CustomField(**{key: spec[key] for key in ("model", "name", "kind", "target")},
                    is_unique=spec["unique"], indexed=spec["indexed"]) for spec in specs])


def adopt(session, addon):
    """The fields an enabled client addon declares (manifest key ``fields``), as rows of
    core_custom_field that it owns: made where missing, taken over where the site made
    them by hand, brought to the declaration where they differ. Its migrations have
    added the columns."""
    chinese = _catalog(addon.path)
    for position, declared in enumerate(addon.manifest["fields"], 1):
        field = session.scalar(select(CustomField).where(
            CustomField.model == declared["model"], CustomField.name == declared["name"]))
        if field is None:
            field = CustomField(model=declared["model"], name=declared["name"])
            session.add(field)
        context = f"{declared['model']}.{declared['name']}"

        def zh(text, part=""):
            return chinese.get((text, context + part), "") if text else ""

        field.kind, field.addon, field.removed_at = declared["kind"], addon.name, None
        field.label_en, field.label_zh = declared["label"], zh(declared["label"])
        field.help_en, field.help_zh = declared.get("help", ""), zh(declared.get("help", ""))
        field.required = declared.get("required", False)
        field.is_unique = declared.get("unique", False)
        field.indexed = declared.get("indexed", False)
        field.in_list = declared.get("in_list", False)
        field.default = declared.get("default", "")
        field.section = declared.get("section", "")
        field.target = declared.get("target")
        field.position = position
        field.options = json.dumps([[value, english, zh(english, f".{value}")]
                                    for value, english in declared.get("options", [])],
                                   ensure_ascii=False)


def _catalog(path):
    """{(English, context): Chinese} of an addon's catalog."""
    from babel.messages.pofile import read_po
    po = path / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return {}
    with open(po, "rb") as handle:
        return {(message.id, message.context): message.string for message in read_po(handle)
                if message.id and message.string}
