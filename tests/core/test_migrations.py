"""Schema migrations (core.migrating): a new installation matches the models, an addon's
revisions are applied in order when it is enabled and by `upgrade` after an update, a
database from a newer version is refused, and `revision` writes what the models add.

Tests of an addon made here (its models change between steps) run the CLI in processes
of their own: its models, once imported into the test process, would stay in the shared
metadata for every later test."""
import json
import os
import subprocess
import sys
import textwrap

from sqlalchemy import create_engine, inspect

from core import migrating
from core.db import db
from tests.conftest import FIXTURE_ADDONS, ROOT, Suite, make_suite, write_config

ADDONS = ["crm_contacts", "crm_sales"]
CONTACTS_ADDONS = ROOT / "tests" / "fixtures" / "contacts_addons"
PARTS = "tw_parts"   # the addon made here


def schema_state(suite, branches=None):
    """(branches behind, drift) as the app sees them, in this process."""
    app = suite.app()
    with app.app_context():
        registry = app.extensions["crm"].registry
        connection = db.session.connection()
        state = (migrating.behind(connection, registry, branches),
                 migrating.drift(connection, registry, branches))
        db.session.rollback()
        return state


def test_a_new_installation_matches_the_models_on_every_addon(tmp_path, database_url):
    paths = [ROOT / "addons", FIXTURE_ADDONS, CONTACTS_ADDONS]
    suite = Suite(write_config(tmp_path / "site", paths, ADDONS), database_url)
    assert suite.run("init").exit_code == 0
    assert schema_state(suite) == ([], [])
    assert suite.run("upgrade").output == "The database is up to date.\n"
    listed = suite.run("addons", "list").output
    others = [line.split("\t")[0] for line in listed.splitlines() if "\tdisabled\t" in line]
    assert others, listed
    for name in others:
        result = suite.run("addons", "enable", name)
        assert result.exit_code == 0, result.output
    assert schema_state(suite) == ([], [])
    assert "behind" not in suite.run("addons", "list").output
    suite.close()


def test_an_addon_without_migrations_gets_its_tables_on_enable(suite):
    assert not (FIXTURE_ADDONS / "fixture_notes" / migrating.FOLDER).exists()
    result = suite.run("addons", "enable", "fixture_notes")
    assert result.exit_code == 0, result.output
    assert suite.sql("SELECT count(*) FROM fixture_note")[0][0] == 0
    assert schema_state(suite, [migrating.CORE, "fixture_notes"]) == ([], [])
    assert suite.run("upgrade").output == "The database is up to date.\n"


def test_a_database_from_a_newer_version_is_refused_and_left_alone(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, [ROOT / "addons"], ADDONS)
    # Pending: crm_contacts' revisions after its baseline (the index of the second
    # missing), and a revision of a newer version of the suite.
    suite.sql("DROP INDEX ix_crm_customer_owner_grade_city")
    suite.sql("UPDATE alembic_version SET version_num = 'crm_contacts_0001' "
              "WHERE version_num LIKE 'crm_contacts%'")
    suite.sql("INSERT INTO alembic_version (version_num) VALUES ('core_0002_from_the_future')")
    versions = sorted(suite.sql("SELECT version_num FROM alembic_version"))
    assert ("crm_contacts_0001",) in versions

    result = suite.run("upgrade")
    assert result.exit_code == 1
    assert "core_0002_from_the_future" in result.output and "newer version" in result.output
    assert sorted(suite.sql("SELECT version_num FROM alembic_version")) == versions
    assert "ix_crm_customer_owner_grade_city" not in indexes(database_url, "crm_customer")

    # Everything that reports the schema's state says so, and none of it fails.
    listed = suite.run("addons", "list")
    assert listed.exit_code == 0 and "made by a newer version" in listed.output
    health = suite.client().get("/healthz")
    assert health.status_code == 503
    assert health.json["status"] == "database newer than code"
    assert health.json["schema"]["newer"] == ["core_0002_from_the_future"]
    client = suite.admin_client()
    page = client.get("/admin/addons/")
    assert page.status_code == 200 and b"crm-schema-newer" in page.data
    suite.close()


def indexes(database_url, table):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {index["name"] for index in inspect(connection).get_indexes(table)}
    finally:
        engine.dispose()


def columns(database_url, table):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {column["name"]: column for column in inspect(connection).get_columns(table)}
    finally:
        engine.dispose()


# -- an addon made here -------------------------------------------------------------

# Its models at each step: 1 the baseline, 2 a colour, 3 longer names and a size (a
# change SQLite makes by copying the table, which its notes point at).
def models_source(step):
    return textwrap.dedent(f"""\
        from core.db import db


        class Part(db.Model):
            __tablename__ = "tw_part"
            id = db.Column(db.Integer, primary_key=True)
            name = db.Column(db.String({200 if step >= 3 else 100}), nullable=False)
            {"colour = db.Column(db.String(20))" if step >= 2 else ""}
            {"size = db.Column(db.Integer)" if step >= 3 else ""}


        class PartNote(db.Model):
            __tablename__ = "tw_part_note"
            id = db.Column(db.Integer, primary_key=True)
            part_id = db.Column(db.ForeignKey("tw_part.id", ondelete="CASCADE"),
                                nullable=False, index=True)
            body = db.Column(db.Text, nullable=False)
        """)


REVISIONS = {
    1: '''\
        """Parts (baseline).

        Revision ID: tw_parts_0001
        Revises:
        """
        import sqlalchemy as sa
        from alembic import op

        from core.migrating import Adopting

        revision = "tw_parts_0001"
        down_revision = None
        branch_labels = ("tw_parts",)
        depends_on = "core_0001"


        def upgrade():
            schema = Adopting(op)
            schema.create_table("tw_part",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("name", sa.String(length=100), nullable=False),
                sa.PrimaryKeyConstraint("id", name=op.f("pk_tw_part")))
            schema.create_table("tw_part_note",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("part_id", sa.Integer(), nullable=False),
                sa.Column("body", sa.Text(), nullable=False),
                sa.ForeignKeyConstraint(["part_id"], ["tw_part.id"], ondelete="CASCADE",
                                        name=op.f("fk_tw_part_note_part_id_tw_part")),
                sa.PrimaryKeyConstraint("id", name=op.f("pk_tw_part_note")))
            schema.create_index(op.f("ix_tw_part_note_part_id"), "tw_part_note", ["part_id"])


        def downgrade():
            op.drop_table("tw_part_note")
            op.drop_table("tw_part")
        ''',
    2: '''\
        """A colour.

        Revision ID: tw_parts_0002
        Revises: tw_parts_0001
        """
        import sqlalchemy as sa
        from alembic import op

        revision = "tw_parts_0002"
        down_revision = "tw_parts_0001"
        branch_labels = None
        depends_on = None


        def upgrade():
            with op.batch_alter_table("tw_part") as batch:
                batch.add_column(sa.Column("colour", sa.String(length=20), nullable=True))


        def downgrade():
            with op.batch_alter_table("tw_part") as batch:
                batch.drop_column("colour")
        ''',
    3: '''\
        """Longer names, and a size.

        Revision ID: tw_parts_0003
        Revises: tw_parts_0002
        """
        import sqlalchemy as sa
        from alembic import op

        revision = "tw_parts_0003"
        down_revision = "tw_parts_0002"
        branch_labels = None
        depends_on = None


        def upgrade():
            with op.batch_alter_table("tw_part") as batch:
                batch.alter_column("name", existing_type=sa.String(length=100),
                                   type_=sa.String(length=200), existing_nullable=False)
                batch.add_column(sa.Column("size", sa.Integer(), nullable=True))


        def downgrade():
            with op.batch_alter_table("tw_part") as batch:
                batch.drop_column("size")
                batch.alter_column("name", existing_type=sa.String(length=200),
                                   type_=sa.String(length=100), existing_nullable=False)
        ''',
}


def parts_addon(root, step, revisions):
    """The addon at ``root``/tw_parts with its models at ``step`` and the revision files
    numbered ``revisions`` (None: no migrations folder)."""
    folder = root / PARTS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__manifest__.py").write_text(
        '{"name": "Parts", "version": "1.0.0", "summary": "Parts (test)", "depends": [],'
        ' "models": ["models"], "views": [{"model": "Part", "menu": "Parts/Parts"}]}\n',
        encoding="utf-8")
    (folder / "models.py").write_text(models_source(step), encoding="utf-8")
    for number in revisions or ():
        (folder / migrating.FOLDER).mkdir(exist_ok=True)
        (folder / migrating.FOLDER / f"tw_parts_{number:04d}.py").write_text(
            textwrap.dedent(REVISIONS[number]), encoding="utf-8")
    return folder


def run_py(suite, *args):
    """`python run.py ...` in a process of its own."""
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT,
                          env={**os.environ, **suite.env}, capture_output=True, text=True,
                          timeout=300)


PROBE = """
import json
from werkzeug.test import Client
from core import migrating
from core.app import Dispatcher
from core.db import db

dispatcher = Dispatcher()
response = Client(dispatcher).get("/healthz")
app = dispatcher.app
with app.app_context():
    registry, connection = app.extensions["crm"].registry, db.session.connection()
    print(json.dumps({"status": response.status_code, "healthz": response.get_json(),
                      "behind": migrating.behind(connection, registry),
                      "drift": [repr(change) for change in migrating.drift(connection, registry)],
                      "applied": sorted(migrating.applied(connection, registry))}))
"""


def probe(suite):
    """/healthz, and the branches behind, drift and revisions applied, read by a process
    of its own."""
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT,
                            env={**os.environ, **suite.env}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def parts_applied(state):
    """The revision the parts addon's branch is at (the core's head is another)."""
    return [revision for revision in state["applied"] if revision.startswith("tw_parts")]


def parts_suite(tmp_path, database_url, enabled=()):
    """An initialised installation with the addons folder ``tmp_path/addons``."""
    suite = Suite(write_config(tmp_path / "site", [tmp_path / "addons"], enabled), database_url)
    result = run_py(suite, "init")
    assert result.returncode == 0, result.stderr
    return suite


def test_an_addons_revisions_are_applied_on_enable_and_by_upgrade(tmp_path, database_url):
    folder = parts_addon(tmp_path / "addons", 2, [1, 2])
    suite = parts_suite(tmp_path, database_url)
    result = run_py(suite, "addons", "enable", PARTS)
    assert result.returncode == 0, result.stderr
    state = probe(suite)
    assert parts_applied(state) == ["tw_parts_0002"] and state["behind"] == []
    assert state["drift"] == [] and state["status"] == 200
    assert "colour" in columns(database_url, "tw_part")
    suite.sql("INSERT INTO tw_part (id, name, colour) VALUES (1, 'Bolt', 'red'), "
              "(2, 'Nut', NULL)")
    suite.sql("INSERT INTO tw_part_note (id, part_id, body) VALUES (1, 1, 'M8'), (2, 2, 'M6')")

    # An update of the addon brings a third revision.
    parts_addon(tmp_path / "addons", 3, [3])
    assert "The database is behind the code (tw_parts)" in run_py(suite, "addons", "list").stdout
    state = probe(suite)
    assert state["status"] == 503 and state["healthz"]["status"] == "upgrade needed"
    assert state["healthz"]["schema"] == {"current": False, "behind": [PARTS], "newer": []}

    result = run_py(suite, "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "applied: tw_parts_0003\n"
    state = probe(suite)
    assert parts_applied(state) == ["tw_parts_0003"] and state["behind"] == []
    assert state["drift"] == [] and state["healthz"]["status"] == "ok"
    assert "size" in columns(database_url, "tw_part")
    # SQLite made the longer name by copying the table: the notes pointing at its rows
    # (ON DELETE CASCADE) are still there.
    assert sorted(suite.sql("SELECT id, name, colour, size FROM tw_part")) == [
        (1, "Bolt", "red", None), (2, "Nut", None, None)]
    assert sorted(suite.sql("SELECT id, part_id, body FROM tw_part_note")) == [
        (1, 1, "M8"), (2, 2, "M6")]
    assert sorted(p.name for p in (folder / migrating.FOLDER).glob("*.py")) == [
        "tw_parts_0001.py", "tw_parts_0002.py", "tw_parts_0003.py"]
    suite.close()


def test_revision_writes_what_the_models_add_and_nothing_when_they_match(
        tmp_path, database_url):
    folder = parts_addon(tmp_path / "addons", 2, [1, 2])
    suite = parts_suite(tmp_path, database_url, enabled=[PARTS])

    parts_addon(tmp_path / "addons", 3, [])     # the models change; no revision yet
    result = run_py(suite, "revision", PARTS, "-m", "longer names and a size")
    assert result.returncode == 0, result.stderr
    written = sorted(set((folder / migrating.FOLDER).glob("*.py")) - {
        folder / migrating.FOLDER / "tw_parts_0001.py",
        folder / migrating.FOLDER / "tw_parts_0002.py"})
    assert len(written) == 1
    assert result.stdout.splitlines()[-1] == f"written: {written[0]}"
    source = written[0].read_text(encoding="utf-8")
    assert "revision = 'tw_parts_0003'" in source and "down_revision = 'tw_parts_0002'" in source
    assert "add_column(sa.Column('size'" in source and "String(length=200)" in source
    assert "batch_alter_table('tw_part'" in source   # SQLite changes a column so only
    assert "longer names and a size" in source

    result = run_py(suite, "upgrade")
    assert result.returncode == 0 and result.stdout == "applied: tw_parts_0003\n", result.stderr
    assert columns(database_url, "tw_part")["name"]["type"].length == 200

    result = run_py(suite, "revision", PARTS, "-m", "nothing")
    assert result.returncode == 0, result.stderr
    assert "nothing written" in result.stdout
    assert len(list((folder / migrating.FOLDER).glob("*.py"))) == 3
    suite.close()
