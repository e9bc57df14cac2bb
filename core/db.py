"""The one SQLAlchemy object every model uses: ``from core.db import db``."""
import sqlite3
from itertools import chain

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.model import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import ARRAY, MetaData, any_, bindparam, event, func, inspect, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import MANYTOONE, Session
from sqlalchemy.pool import Pool

from core.i18n import model_label

# Named constraints, so that migrations and error messages can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite's page cache during a bulk insert, in KiB (its default is 2 MB).
SQLITE_BULK_CACHE_KB = 64 * 1024

# Set in a pooled connection's info while SQLite's foreign keys are off (a migration, a
# restore); the pool switches them on again when the connection comes back.
FOREIGN_KEYS_OFF = "crm.foreign_keys_off"

# Attributes tried, in order, to show a record as text (select boxes, exports, titles).
DISPLAY_ATTRIBUTES = ("name", "title", "code", "subject", "username")


class CrmModel(Model):
    """Base of every model: a readable text form for lists, forms and exports."""

    def __str__(self):
        for attribute in DISPLAY_ATTRIBUTES:
            value = getattr(self, attribute, None)
            if value:
                return str(value)
        return f"{model_label(type(self))} #{getattr(self, 'id', '?')}"   # "Payment #3"


db = SQLAlchemy(model_class=CrmModel, metadata=MetaData(naming_convention=NAMING_CONVENTION))

LINKED_TO_ITSELF = _l("A record cannot link to itself.")


class LinkedToItself(ValueError):
    """A record set to link to itself (a customer its own parent company)."""


def self_links(model):
    """(relationship key, its foreign key attributes) of ``model``'s links to records of
    its own kind."""
    mapper = inspect(model)
    return [(relation.key,
             [mapper.get_property_by_column(column).key for column in relation.local_columns])
            for relation in mapper.relationships
            if relation.direction is MANYTOONE and issubclass(model, relation.mapper.class_)]


def links_to_itself(record, links):
    """Whether ``record`` is set to link to itself by one of its ``links`` (self_links).
    Only what is loaded is looked at: checking reads nothing from the database."""
    values = inspect(record).dict
    own_id = values.get("id")
    return any(values.get(key) is record
               or (own_id is not None and any(values.get(k) == own_id for k in columns))
               for key, columns in links)


@event.listens_for(Session, "before_flush")
def _no_link_to_itself(session, _context, _instances):
    """No record is saved linked to itself, whichever way it was written (a form says so
    on its field before this; an API, a command or an addon's job meet it here)."""
    links = {}   # model: its self_links, found once per flush (an import flushes many)
    for record in chain(session.new, session.dirty):
        model = type(record)
        if model not in links:
            links[model] = self_links(model)
        if links[model] and links_to_itself(record, links[model]):
            raise LinkedToItself(str(LINKED_TO_ITSELF))


def link_table(name, left, right):
    """A many-to-many link table: ``left`` and ``right`` are (column, "table.id") pairs;
    the two foreign keys are the primary key (so led by ``left``), ``right`` is indexed
    too, and a link goes with either record."""
    return db.Table(name, *[
        db.Column(column, db.ForeignKey(target, ondelete="CASCADE"), primary_key=True,
                  index=index)
        for (column, target), index in ((left, False), (right, True))])


def dialect_insert(model, session=None):
    """An INSERT with ON CONFLICT (DO NOTHING / DO UPDATE), which SQLite and PostgreSQL
    both support, each through its own dialect's construct."""
    dialect = (session or db.session).get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def insert_new(table, rows, returning, session=None):
    """Insert many rows (dicts with the same keys), skipping those a unique key already
    holds (ON CONFLICT DO NOTHING); returns the ``returning`` columns of those written.
    On PostgreSQL one statement per batch with one array per column (unnest): the driver
    parses a short statement, where a VALUES list of thousands of placeholders cost more
    time to parse than the database took to write it. Elsewhere a multi-row VALUES."""
    session = session or db.session
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        return session.execute(sqlite.insert(table).on_conflict_do_nothing()
                               .returning(*returning), rows).all()
    names = list(rows[0])
    arrays = [bindparam(f"{name}_values", [row[name] for row in rows],
                        type_=ARRAY(table.c[name].type)) for name in names]
    values = func.unnest(*arrays).table_valued(*names).render_derived()
    return session.execute(postgresql.insert(table).from_select(names, select(*values.c))
                           .on_conflict_do_nothing().returning(*returning)).all()


def one_of(session, column, values):
    """Conditions "column is one of values", for any number of values: on PostgreSQL
    one, the values passed as one array; elsewhere an IN per thousand values, since
    databases limit the parameters of a statement. (On PostgreSQL, a hundred IN lists of
    a thousand took twice as long as one array of 100,000 values.)"""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return [column == any_(literal(values, ARRAY(column.type)))] if values else []
    return [column.in_(values[start:start + 1000]) for start in range(0, len(values), 1000)]


def among(session, column, query):
    """The condition "column is among the values ``query`` selects (one column)". On
    PostgreSQL = ANY(ARRAY(query)): the query runs once before the rest (an InitPlan),
    through its own indexes, and the condition can be an arm of a bitmap OR. An IN
    (query) there, or the query's conditions written into an OR, would be checked row by
    row whenever the planner scans in another index's order (a list's newest first):
    four ILIKEs on custom fields per row made a customer search twice as slow."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(func.array(query.scalar_subquery()))
    return column.in_(query)


def insert_many(connection, table, rows):
    """INSERT ``rows`` (dicts with the same keys; any iterable) into ``table`` in the
    connection's transaction, for thousands of rows: COPY on PostgreSQL, half the time
    of the fastest INSERT there; on SQLite one executemany, with a page cache big enough
    for the indexes the rows go into. Values are converted as an INSERT converts them."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    dialect, keys = connection.dialect, list(first)
    columns = [table.c[key] for key in keys]
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    values = ([row[key] if process is None else process(row[key])
               for key, process in zip(keys, processors)] for row in chain([first], rows))
    quote = dialect.identifier_preparer.quote
    into = (f"{dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(column.name) for column in columns)})")
    if dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {into} FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        return
    # SQLite's page cache, 2 MB by default, is far smaller than the indexes of a big
    # table: without more, inserting 100,000 rows reads most index pages again and again.
    cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KB}")   # KiB
    try:
        connection.exec_driver_sql(f"INSERT INTO {into} VALUES ({', '.join('?' * len(keys))})",
                                   [tuple(value) for value in values])
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite enforces foreign keys only when asked; WAL lets the web process and the
    command line (or the scheduler) read while one of them writes."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


@event.listens_for(Pool, "checkin")
def _sqlite_foreign_keys_on(dbapi_connection, record):
    if record is not None and record.info.pop(FOREIGN_KEYS_OFF, False):
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
