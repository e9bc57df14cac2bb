"""`python run.py upgrade` on an installation made by the last release before migrations
(tests/fixtures/previous_release: every table has rows), as a site does after updating
its code: nothing is lost, and the database ends where a new installation starts."""
import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing

from sqlalchemy import create_engine, inspect, text

from core import migrating
from core.db import db
from core.manifest import MANIFEST_FILE, parse_manifest
from tests.conftest import ROOT, Suite, write_config

FIXTURES = ROOT / "tests" / "fixtures" / "previous_release"
# The schema build.sh made the PostgreSQL fixture in: every occurrence is renamed to the
# test's own schema.
FIXTURE_SCHEMA = "previous_release_fixture"
ADDONS = ["crm_contacts", "crm_sales"]
# What installations before issue 7 lacked (and, on PostgreSQL, had narrower).
ISSUE_7_INDEXES = {"crm_customer": ["ix_crm_customer_owner_grade_city"],
                   "crm_contact": ["ix_crm_contact_owner_name"]}
ISSUE_7_PG_INDEXES = {"crm_contact": ["ix_crm_contact_name_trgm"]}


def load_previous_release(database_url):
    """The fixture's tables and rows, in the (empty) test database."""
    engine = create_engine(database_url)
    try:
        if engine.dialect.name == "sqlite":
            dump = (FIXTURES / "sqlite.sql").read_text(encoding="utf-8")
            with closing(sqlite3.connect(engine.url.database)) as connection:
                connection.executescript(dump)
            return
        with engine.connect() as connection:
            schema = connection.scalar(text("SELECT current_schema()"))
            assert schema not in (None, "public", FIXTURE_SCHEMA)
            dump = (FIXTURES / "postgresql.sql").read_text(encoding="utf-8")
            dump = "\n".join(line for line in dump.splitlines()
                             if not line.startswith("\\"))   # psql's meta-commands
            dump = re.sub(rf"^CREATE SCHEMA {FIXTURE_SCHEMA};$", "", dump, flags=re.M)
            dump = re.sub(rf"\b{FIXTURE_SCHEMA}\b", schema, dump)
            # One script of many statements: psycopg runs it as is when given no
            # parameters.
            connection.connection.driver_connection.execute(dump)
            connection.commit()
            # The dump emptied this connection's search path: it must not be reused.
            connection.invalidate()
    finally:
        engine.dispose()


def every_row(database_url):
    """{table: (columns, sorted rows)} of every table, all columns, as stored."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            found = {}
            for table in inspect(connection).get_table_names():
                result = connection.execute(text(f'SELECT * FROM "{table}"'))
                found[table] = (list(result.keys()),
                                sorted((tuple(row) for row in result), key=repr))
            return found
    finally:
        engine.dispose()


def previous_release(tmp_path, database_url, drop_issue_7=False):
    load_previous_release(database_url)
    suite = Suite(write_config(tmp_path / "site", [ROOT / "addons"], ADDONS), database_url)
    if drop_issue_7:
        pg = not database_url.startswith("sqlite")
        for indexes in (ISSUE_7_INDEXES, ISSUE_7_PG_INDEXES if pg else {}):
            for names in indexes.values():
                for name in names:
                    suite.sql(f"DROP INDEX {name}")
        if pg:
            suite.sql("DROP INDEX ix_crm_customer_owner_name")
            suite.sql("CREATE INDEX ix_crm_customer_owner_name ON crm_customer "
                      "(owner_id, name) INCLUDE (id)")
    return suite


def run_py(suite, *args):
    """`python run.py ...` in a process of its own, as a site runs it after an update."""
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT,
                          env={**os.environ, **suite.env}, capture_output=True, text=True,
                          timeout=300)


def healthz(client):
    response = client.get("/healthz")
    return response.status_code, json.loads(response.data)


def schema_state(suite):
    """(branches behind, drift, revisions in alembic_version, the code's heads of the
    core and the enabled addons, the revisions the database has: those and all they
    build on) as the app sees them. An addon added since the release (not enabled) is
    brought up when it is enabled."""
    app = suite.app()
    with app.app_context():
        registry = app.extensions["crm"].registry
        connection = db.session.connection()
        script = migrating.scripts(registry)
        applied = migrating.applied(connection, registry)
        reached = {revision.revision
                   for revision in script.iterate_revisions(tuple(applied), "base")}
        state = (migrating.behind(connection, registry), migrating.drift(connection, registry),
                 applied, {head for head in script.get_heads()
                           if head.rsplit("_", 1)[0] in ("core", *ADDONS)}, reached)
        db.session.rollback()
        return state


# What an upgrade is meant to change in rows: the version of each addon it brings up to
# date (and when), and access letters a revision widens (migrating.widen_access).
CHANGED_BY_UPGRADE = {"core_addon": ("name", {"installed_version", "changed_at"}),
                      "core_access": ("id", {"letters"})}


# Where an upgrade adds rows, keeping the old ones: the audit rows of what it adds (the
# approval policies addons declare), the note of which it added, and the requests it
# opens for records that were waiting for an approval, with the reminders and emails
# telling their approvers; the Customiser group and its right (custom fields, core_0005).
GROWN_BY_UPGRADE = {"core_audit", "core_option", "core_notification", "core_message",
                    "core_group", "core_access"}
# Settings an upgrade moves elsewhere: the discount above which a quote needs approval
# became the condition of the Quote discount policy (crm_sales_0003).
RETIRED_BY_UPGRADE = {"core_option": lambda row: "approval_discount" in row}


def assert_rows_kept(before, after):
    """Every table is still there with the same rows, in the columns it had; only what
    an upgrade is meant to change has changed, and only so."""
    assert set(before) <= set(after)
    for table, (columns, rows) in before.items():
        new_columns, new_rows = after[table]
        assert set(columns) <= set(new_columns), table
        key, changing = CHANGED_BY_UPGRADE.get(table, (None, set()))
        kept = [column for column in columns if column not in changing]
        old, new = project(columns, rows, kept), project(new_columns, new_rows, kept)
        if table in GROWN_BY_UPGRADE:
            retired = RETIRED_BY_UPGRADE.get(table, lambda row: False)
            assert {row for row in old if not retired(row)} <= set(new), \
                f"{table}: rows lost by the upgrade"
            continue
        assert old == new, f"{table}: rows changed by the upgrade"
        if changing:
            old = {row[key]: row for row in as_dicts(columns, rows)}
            new = {row[key]: row for row in as_dicts(new_columns, new_rows)}
            for id_, row in old.items():
                if table == "core_access":
                    assert set(row["letters"]) <= set(new[id_]["letters"]), row
                else:
                    manifest = parse_manifest(ROOT / "addons" / id_ / MANIFEST_FILE)
                    assert new[id_]["installed_version"] == manifest["version"]


def project(columns, rows, kept):
    return sorted((tuple(row[columns.index(column)] for column in kept) for row in rows),
                  key=repr)


def as_dicts(columns, rows):
    return [dict(zip(columns, row)) for row in rows]


def test_fixture_has_a_row_in_every_table(tmp_path, database_url):
    load_previous_release(database_url)
    rows = every_row(database_url)
    assert len(rows) > 50 and not any(name.startswith("alembic") for name in rows)
    assert [table for table, (_columns, found) in rows.items() if not found] == []


def test_upgrade_keeps_every_row_and_ends_at_the_codes_heads(tmp_path, database_url):
    suite = previous_release(tmp_path, database_url)
    before = every_row(database_url)

    # Before: every surface says an upgrade is needed.
    listed = run_py(suite, "addons", "list")
    assert listed.returncode == 0, listed.stderr
    assert "crm_contacts\tenabled" in listed.stdout
    assert "The database is behind the code (core, crm_contacts, crm_sales)" in listed.stdout
    web = suite.client()
    status, body = healthz(web)
    assert status == 503 and body["status"] == "upgrade needed"
    assert body["schema"] == {"current": False, "behind": ["core", *ADDONS], "newer": []}
    result = run_py(suite, "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("applied: core_0001")

    assert_rows_kept(before, every_row(database_url))
    behind, drift, applied, heads, reached = schema_state(suite)
    assert behind == [] and drift == []
    # Alembic keeps the heads in alembic_version, less those another head depends on
    # (an addon's baseline depends on the core's).
    assert len(heads) == 1 + len(ADDONS) and applied <= heads and heads <= reached
    assert {row[0] for row in suite.sql("SELECT version_num FROM alembic_version")} == applied

    listed = suite.run("addons", "list")
    assert listed.exit_code == 0 and "behind" not in listed.output
    status, body = healthz(web)
    assert status == 200 and body["status"] == "ok"
    assert body["schema"] == {"current": True, "behind": [], "newer": []}

    # The admin of the old release signs in with the old password, and works.
    admin = suite.admin_client()
    customer_id, name = suite.sql("SELECT id, name FROM crm_customer ORDER BY id")[0]
    page = admin.get(f"/admin/customer/details/?id={customer_id}")
    assert page.status_code == 200
    assert name in page.get_data(as_text=True)
    assert "Called about the spring order" in page.get_data(as_text=True)   # its note

    assert suite.run("upgrade").output == "The database is up to date.\n"
    suite.close()


def index_names(database_url, table):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {index["name"] for index in inspect(connection).get_indexes(table)}
    finally:
        engine.dispose()


def test_upgrade_makes_the_indexes_of_issue_7_on_an_installation_without_them(
        tmp_path, database_url):
    suite = previous_release(tmp_path, database_url, drop_issue_7=True)
    pg = not database_url.startswith("sqlite")
    wanted = dict(ISSUE_7_INDEXES)
    if pg:
        wanted["crm_contact"] = wanted["crm_contact"] + ISSUE_7_PG_INDEXES["crm_contact"]
    for table, names in wanted.items():
        assert not set(names) & index_names(database_url, table)
    # Signing in writes rows (a session): before the rows are read.
    admin = suite.admin_client()
    assert "crm-schema-behind" in admin.get("/admin/addons/").get_data(as_text=True)
    before = every_row(database_url)

    result = run_py(suite, "upgrade")
    assert result.returncode == 0, result.stderr

    for table, names in wanted.items():
        assert set(names) <= index_names(database_url, table), table
    if pg:
        definition = suite.sql("SELECT indexdef FROM pg_indexes WHERE schemaname = "
                               "current_schema() AND indexname = 'ix_crm_customer_owner_name'")
        assert "name_key" in definition[0][0]
    assert_rows_kept(before, every_row(database_url))
    behind, drift, applied, heads, reached = schema_state(suite)
    assert behind == [] and drift == [] and applied <= heads <= reached
    assert "crm-schema-behind" not in admin.get("/admin/addons/").get_data(as_text=True)
    suite.close()

