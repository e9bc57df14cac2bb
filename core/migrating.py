"""Schema migrations: Alembic, one branch for the core and one for each addon.

The core's revisions are in core/migrations/, an addon's in its own migrations/ folder
(wherever the addon lives); each branch is labelled with its addon's name ("core" for
the core). `python run.py upgrade` brings the core and every installed addon to their
heads; enabling an addon brings its branch to its head. Every change to an existing
table ships a revision: `python run.py revision ADDON -m "what changes"` writes one from
the difference between the models and an upgraded database.

Each branch starts with a baseline that adopts installations made before migrations
existed: it creates only the tables, columns and indexes that are missing.
"""
import functools
import logging
from pathlib import Path

from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
import sqlalchemy as sa
from sqlalchemy import inspect

from core.db import FOREIGN_KEYS_OFF, db

log = logging.getLogger(__name__)

CORE = "core"
CORE_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FOLDER = "migrations"


class MigrationError(Exception):
    """The database cannot be brought to the code's schema; the message says why."""


def folders(registry):
    """{branch: folder of its revisions}: the core's, then each installable addon's."""
    found = {CORE: CORE_MIGRATIONS}
    for name, addon in registry.addons.items():
        if addon.installable and (addon.path / FOLDER).is_dir():
            found[name] = addon.path / FOLDER
    return found


def scripts(registry):
    return _scripts(tuple(str(folder) for folder in folders(registry).values()))


@functools.lru_cache(maxsize=8)
def _scripts(locations):
    # Read once per process and set of folders: parsing the revision files is the slow
    # part of a migration run that has nothing to do.
    return ScriptDirectory(locations[0], version_locations=list(locations))


def context(connection, registry, **options):
    return MigrationContext.configure(connection, opts={
        "script": scripts(registry), "target_metadata": db.metadata,
        "render_as_batch": True, "compare_type": True, **options})


def head(registry, branch):
    """The newest revision of ``branch`` in the code, or None if it has none."""
    try:
        return scripts(registry).get_revision(f"{branch}@head").revision
    except (CommandError, RevisionError):
        return None


def applied(connection, registry):
    """The revisions the database is at (one per branch), as recorded by Alembic."""
    return set(context(connection, registry).get_current_heads())


def installed(connection, registry):
    """The branches the database holds: the core's and every addon ever enabled."""
    from core.models import AddonState
    rows = connection.execute(AddonState.__table__.select()).mappings()
    return [CORE] + [row["name"] for row in rows
                     if row["name"] in registry.addons and registry.addons[row["name"]].installable]


def known(registry):
    """Every revision the code's folders hold."""
    return {revision.revision for revision in scripts(registry).walk_revisions()}


def standing(connection, registry):
    """(branches whose newest revision the database lacks, revisions in the database
    that no folder holds: a newer version made them); what `addons list`, the Addons
    page and /healthz report."""
    at = applied(connection, registry)
    newer = sorted(at - known(registry))
    return _behind(registry, at - set(newer), installed(connection, registry)), newer


def behind(connection, registry, branches=None):
    """The branches (of ``branches``, or of every installed one) the database lags."""
    at = applied(connection, registry) & known(registry)
    return _behind(registry, at, branches or installed(connection, registry))


def _behind(registry, at, branches):
    script, reached = scripts(registry), set()
    for revision in at:
        reached.update(r.revision for r in script.iterate_revisions(revision, "base"))
    return [branch for branch in branches
            if (newest := head(registry, branch)) is not None and newest not in reached]


def unknown(connection, registry):
    """Revisions in the database that no folder holds: a newer version made it."""
    return sorted(applied(connection, registry) - known(registry))


def upgrade(connection, registry, branches, target=None):
    """Bring each of ``branches`` to its head (or to the revisions in ``target``, a set of
    revision ids, when restoring an archive of an older version). Runs in the
    connection's transaction: the caller commits. Returns the revisions applied."""
    refused = unknown(connection, registry)
    if refused:
        raise MigrationError(
            f"the database has revisions this code does not know ({', '.join(refused)}): "
            "it was made by a newer version of the suite or of an addon")
    one_sqlite_transaction(connection)
    done = []
    migrated = [branch for branch in branches if head(registry, branch) is not None]
    destinations = ([f"{branch}@head" for branch in migrated] if target is None
                    else sorted(target))
    for destination in destinations:
        done += _run(connection, registry, destination)
    # An addon with no migrations folder: its tables are made as its models declare,
    # and never altered.
    plain = tables_of(registry, set(branches) - set(migrated))
    db.metadata.create_all(bind=connection, checkfirst=True,
                           tables=[db.metadata.tables[name] for name in plain])
    return done


def _run(connection, registry, destination):
    script, done = scripts(registry), []

    def plan(heads, migration_context):
        steps = script._upgrade_revs(destination, heads)
        done.extend(step.revision.revision for step in steps)
        return steps

    migration = context(connection, registry, fn=plan)
    with Operations.context(migration):
        migration.run_migrations()
    if done:
        log.info("applied %s", ", ".join(done))
    return done


def one_sqlite_transaction(connection):
    """On SQLite, a migration runs in one transaction (Python's driver would commit
    each CREATE and ALTER on its own) with foreign keys off: SQLite alters a table by
    copying and dropping it, and the drop would delete the rows that refer to it. The
    pool switches them on again when the connection comes back (core.db). Inside a
    transaction already begun, the pragma would be ignored: nothing is changed then."""
    driver = connection.connection.driver_connection
    if connection.dialect.name != "sqlite" or driver.in_transaction:
        return
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    connection.connection.info[FOREIGN_KEYS_OFF] = True
    connection.exec_driver_sql("BEGIN")


def drift(connection, registry, branches=None):
    """What differs between the database and the models of ``branches`` (Alembic's
    comparison, as a list of operations); empty when they match."""
    tables = tables_of(registry, branches or installed(connection, registry))
    migration = context(connection, registry, include_object=_only(tables, connection))
    return compare_metadata(migration, db.metadata)


def _customised(obj, name, kind):
    """A site's own field (core.customise), its index or its link: the site's, not the
    code's, so never missing from the models nor to be dropped."""
    from core.customise import PREFIX
    if kind == "column":
        return name.startswith(PREFIX)
    if kind in ("index", "foreign_key_constraint", "unique_constraint"):
        columns = [getattr(column, "name", "") for column in getattr(obj, "columns", ())]
        return bool(columns) and all(column.startswith(PREFIX) for column in columns)
    return False


def tables_of(registry, branches):
    names = set()
    for branch in branches:
        if branch == CORE:
            names.update(name for name in db.metadata.tables if name.startswith("core_"))
        else:
            names.update(registry.addons[branch].tables)
    return names


def _only(tables, connection):
    """Alembic's filter: objects of ``tables`` that exist on this kind of database (an
    index made only on PostgreSQL, a trigram one, is not missing on SQLite)."""
    def include(obj, name, kind, reflected, other):
        if _customised(obj, name, kind):
            return False
        table = obj if kind == "table" else getattr(obj, "table", None)
        only_on = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
        return (getattr(table, "name", None) in tables
                and only_on in (None, connection.dialect.name))
    return include


def new_revision(connection, registry, branch, message):
    """Write a revision for ``branch`` from what its models have that the database (at
    the branch's head) lacks. Returns its path, or None when nothing differs."""
    migration = context(connection, registry,
                        include_object=_only(tables_of(registry, [branch]), connection))
    changes = produce_migrations(migration, db.metadata)
    if changes.upgrade_ops.is_empty():
        return None
    script = scripts(registry)
    newest = head(registry, branch)
    number = len(_chain(script, newest)) + 1
    # Rendered by a context without the revision folders: given them, Alembic looks for
    # the models in an env.py (the suite has none) and refuses. As batch operations, so
    # that SQLite can run a change of a column (it copies the table).
    plain = MigrationContext.configure(connection)
    revision = script.generate_revision(
        f"{branch}_{number:04d}", message,
        # A new addon's first revision starts its own branch.
        head=f"{branch}@head" if newest else "base",
        branch_labels=None if newest else (branch,),
        version_path=str(folders(registry)[branch]),
        upgrades=render_python_code(changes.upgrade_ops, migration_context=plain,
                                    render_as_batch=True),
        downgrades=render_python_code(changes.downgrade_ops, migration_context=plain,
                                      render_as_batch=True))
    _scripts.cache_clear()
    return Path(revision.path)


def _chain(script, revision):
    """The revisions of one branch from ``revision`` down to its first (dependencies on
    other branches left out)."""
    chain = []
    while revision:
        chain.append(revision)
        revision = script.get_revision(revision).down_revision
    return chain


def widen_access(op, group, models, old, new):
    """Give ``group`` the letters ``new`` on ``models`` where it still has the letters
    ``old`` its manifest used to declare (an administrator's own choice is kept)."""
    op.get_bind().execute(sa.text(
        "UPDATE core_access SET letters = :new WHERE letters = :old AND model IN :models "
        "AND group_id IN (SELECT id FROM core_group WHERE code = :group)").bindparams(
        sa.bindparam("models", expanding=True)),
        {"new": new, "old": old, "models": list(models), "group": group})


class Adopting:
    """Alembic's operations for a baseline revision: what already exists (made by
    `create_all` before migrations) is kept, what is missing is created."""

    def __init__(self, op):
        self.op = op
        self.f = op.f
        bind = op.get_bind()
        self.dialect = bind.dialect.name
        self.inspector = inspect(bind)
        self.existing = set(self.inspector.get_table_names())
        self.new = set()

    def create_table(self, name, *items, **options):
        if name not in self.existing:
            self.new.add(name)
            return self.op.create_table(name, *items, **options)
        present = {column["name"] for column in self.inspector.get_columns(name)}
        for item in items:
            if getattr(item, "name", None) not in present and hasattr(item, "type"):
                if not item.nullable and item.server_default is None:
                    raise MigrationError(f"{name}.{item.name} is missing and cannot be added "
                                         "to existing rows without a default")
                with self.op.batch_alter_table(name) as batch:
                    batch.add_column(item)

    def create_index(self, name, table, columns, **options):
        if table in self.new or not self.index_exists(table, name):
            return self.op.create_index(name, table, columns, **options)

    def index_exists(self, table, name):
        # By name: since the first release, every index is named by db.NAMING_CONVENTION
        # or by its model.
        return any(index["name"] == name for index in self.inspector.get_indexes(table))
