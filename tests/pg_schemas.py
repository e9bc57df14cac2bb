"""PostgreSQL test schemas: copies of an initialised schema for each test, and the
used ones kept for the next test when they can be. A module of its own, so that the
conftest imported under two names (conftest, tests.conftest) shares one pool."""
import os
import re
import subprocess
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def on_pg(url, *statements):
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def _pg_schema(database_url):
    """The plain libpq URL and the schema of a test's database URL."""
    url = make_url(database_url)
    schema = re.search(r"search_path=([^,]+)", url.query["options"]).group(1)
    return _libpq(url.difference_update_query(["options"])), schema


def _libpq(url):
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# Schemas a test was lent (its name: the dump it came from), and clean copies waiting
# for the next test of their dump's shape. Only the process that made them keeps them:
# a forked test (own_process) takes what it changes with it.
_lent = {}
_spares = {}
_OWNER = os.getpid()
# Tests run a file at a time, and a file's tests mostly share a shape: a few spares do.
KEPT_SPARES = 4

# What a schema's tables, columns, indexes, constraints, triggers and types are, as one
# digest, its own name left out: a test that changed any of them leaves a schema that
# cannot be refilled, only dropped.
LAYOUT = """SELECT md5(replace(string_agg(item, E'\\n' ORDER BY item), '{schema}.', ''))
FROM (SELECT relname || ' ' || relkind::text AS item FROM pg_class
      WHERE relnamespace = '{schema}'::regnamespace
  UNION ALL
  SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || ' ' || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE c.relnamespace = '{schema}'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  WHERE c.relnamespace = '{schema}'::regnamespace
  UNION ALL
  SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
  WHERE connamespace = '{schema}'::regnamespace
  UNION ALL
  SELECT t.tgname || ' ' || c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  WHERE c.relnamespace = '{schema}'::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT proname::text FROM pg_proc WHERE pronamespace = '{schema}'::regnamespace
  UNION ALL
  SELECT typname::text FROM pg_type WHERE typnamespace = '{schema}'::regnamespace) items"""


class SchemaDump:
    """A PostgreSQL schema as init left it (pg_dump's text), for each later test of the
    same shape. The first tests replay it into their schema (1-2 s: a hundred tables and
    four hundred indexes). A schema whose test is over and left its layout as it was is
    emptied and filled again from the dump's data (a tenth of that), then kept as a
    spare, renamed into the next test's schema."""

    def __init__(self, database_url):
        plain, self.schema = _pg_schema(database_url)
        self.text = subprocess.run(["pg_dump", "--schema", self.schema, "--no-owner",
                                    "--no-privileges", plain],
                                   check=True, capture_output=True, text=True).stdout
        self.tables = re.findall(r"^CREATE TABLE (\S+) \(", self.text, re.M)
        self.data = re.findall(r"^COPY .*?^\\\.$|^SELECT pg_catalog\.setval\([^\n]*$",
                               self.text, re.M | re.S)
        self.layout = None

    def lend(self, database_url):
        """The dumped schema again, under the test's schema name."""
        plain, schema = _pg_schema(database_url)
        spares = _spares.get(self.schema)
        if spares and os.getpid() == _OWNER:
            on_pg(database_url, f"DROP SCHEMA {schema}",
                   f"ALTER SCHEMA {spares.pop()} RENAME TO {schema}")
        else:
            # (The test's schema name is random: no other text of the dump contains it.)
            self._psql(plain, f"DROP SCHEMA {schema};\n" + self.text, schema)
            # Taken from a copy, not from the schema dumped: PostgreSQL words some
            # constraints differently once they have gone through pg_dump.
            self.layout = self.layout or subprocess.run(
                ["psql", "-X", "-At", "-c", LAYOUT.format(schema=schema), plain],
                check=True, capture_output=True, text=True).stdout.strip()
        _lent[schema] = self

    def refill(self, base, schema):
        """Bring a lent schema back to the dump and keep it as a spare; False when its
        test changed its layout (or still holds a lock on it)."""
        spare = f"test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        script = "\n".join([
            "SET LOCAL lock_timeout = '5s';",
            f"DO $$ BEGIN IF ({LAYOUT.format(schema=self.schema)}) IS DISTINCT FROM '{self.layout}' "
            "THEN RAISE EXCEPTION 'changed'; END IF; END $$;",
            # Foreign keys are not checked while the tables are refilled in any order.
            "SET LOCAL session_replication_role = replica;",
            *(f"DELETE FROM {table};" for table in self.tables),
            *self.data,
            f"ALTER SCHEMA {self.schema} RENAME TO {spare};", ""])
        try:
            self._psql(_libpq(base), script, schema)
        except subprocess.CalledProcessError:
            return False
        # The spares of the shapes used last are kept (by use: a dict keeps its order).
        _spares[self.schema] = _spares.pop(self.schema, []) + [spare]
        while sum(map(len, _spares.values())) > KEPT_SPARES:
            drop(base, _spares.pop(next(iter(_spares))))
        return True

    def _psql(self, plain, script, schema):
        """Run a script written for the dumped schema on ``schema``, in one transaction
        (one commit to wait for, not one per statement)."""
        subprocess.run(["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", "-", plain],
                       input=script.replace(self.schema, schema),
                       check=True, capture_output=True, text=True)


def give_back(base, schema):
    """Keep a test's PostgreSQL schema for the next test of its shape, when it can be."""
    dump = _lent.pop(schema, None)
    return dump is not None and os.getpid() == _OWNER and dump.refill(base, schema)


def drop_spares(url):
    """At the end of a test process: its spares are of no more use. (Not in a forked
    test's process, which tears down everything when its test is over.)"""
    if os.getpid() == _OWNER:
        for spares in _spares.values():
            drop(url, spares)


def drop(url, schemas):
    # One transaction each: a schema takes a lock per table and index.
    for schema in schemas:
        on_pg(url, f"DROP SCHEMA {schema} CASCADE")
