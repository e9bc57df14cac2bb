"""The one SQLAlchemy object every model uses: ``from core.db import db``."""
import sqlite3

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.model import Model
from sqlalchemy import MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

# Named constraints, so that migrations and error messages can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Attributes tried, in order, to show a record as text (select boxes, exports, titles).
DISPLAY_ATTRIBUTES = ("name", "title", "code", "subject", "username")


class CrmModel(Model):
    """Base of every model: a readable text form for lists, forms and exports."""

    def __str__(self):
        for attribute in DISPLAY_ATTRIBUTES:
            value = getattr(self, attribute, None)
            if value:
                return str(value)
        return f"{type(self).__name__} #{getattr(self, 'id', '?')}"


db = SQLAlchemy(model_class=CrmModel, metadata=MetaData(naming_convention=NAMING_CONVENTION))


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
