"""Backup and restore of a whole site (`python run.py backup FILE`, `backup --verify FILE`,
`restore FILE`): an archive restores into an empty database of either kind with every
row, value and file as it was, at the code's schema, with the ids going on after the
restored ones; an archive of an older version is upgraded, one of a newer version is
refused.

The SQLite run (make test) covers SQLite -> SQLite; the PostgreSQL run (make test-pg)
PostgreSQL -> PostgreSQL, PostgreSQL -> SQLite and SQLite -> PostgreSQL. Damaged and
foreign archives are in test_backup_refusals.py, restoring over a site (--replace) in
test_backup_replace.py, a killed restore and a backup taken while the site is written
in test_backup_concurrency.py; they use the helpers here."""
import json
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from core.uploads import AREAS
from tests.conftest import ADMIN_PASSWORD, PG_URL, ROOT, Suite, make_suite, write_config

ADDONS = ["crm_contacts", "crm_sales"]
# Text as COPY has to escape it: tab, newlines, backslashes (one ending the value, and
# the null marker and end-of-data marker as plain text), control characters, Chinese,
# a character outside the BMP.
AWKWARD = "tab\there\nline\r\nback\\slash \\N \\. 中文客户 😀 \b\v\f end\\"
# Bytes that are not UTF-8, and the bytes COPY's text means something by.
BINARY = bytes(range(256)) + b"\\N\t\n\r\\.\x00\xff\xfe"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
CUSTOMER_NAME = "Backup & Restore 客户 \\ test"


# -- sites and databases -------------------------------------------------------------------

def kind_of_url(url):
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def demo_site(folder, database_url):
    """An installation with both addons, their demo data and the admin's password."""
    return make_suite(folder, database_url, addon_paths=[ROOT / "addons"], enabled=ADDONS,
                      demo=True)


def empty_site(folder, database_url):
    """An installation's config on an empty database: where an archive is restored."""
    return Suite(write_config(folder / "site", [ROOT / "addons"], ADDONS), database_url)


def instance(suite):
    return suite.config_path.parent / "instance"


def run_ok(suite, *args):
    result = suite.run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def run_failing(suite, *args):
    result = suite.run(*args)
    assert result.exit_code != 0, result.output
    return result.output


# -- what a site holds ------------------------------------------------------------------------

def table_names(database_url):
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()


def normal(value):
    """A value as it compares across kinds of database: a Decimal by its value
    (Decimal('5.50') is Decimal('5.5')), bytes whatever the driver returns."""
    if isinstance(value, Decimal):
        return ("decimal", str(value.normalize()))
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, datetime):
        assert value.tzinfo is None, value
    return value


def site_rows(database_url, tables):
    """{table: sorted rows} read through the models' tables (so with SQLAlchemy's types:
    Decimal, datetime, date, bool, bytes on either kind), values normalised; and the
    Alembic revisions under "alembic_version"."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            found = {name: sorted((tuple(normal(value) for value in row) for row in
                                   connection.execute(sa.select(db.metadata.tables[name]))),
                                  key=repr)
                     for name in tables}
            found["alembic_version"] = sorted(connection.execute(
                sa.text("SELECT version_num FROM alembic_version")).scalars())
            return found
    finally:
        engine.dispose()


def site_files(suite):
    """{path under instance/: bytes} of the uploaded files."""
    root = instance(suite)
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for area in AREAS if (root / area).is_dir()
            for path in sorted((root / area).rglob("*")) if path.is_file()}


def manifest_of(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def indexes(database_url, table):
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {index["name"] for index in sa.inspect(connection).get_indexes(table)}
    finally:
        engine.dispose()


# -- values of every kind -----------------------------------------------------------------------

def add_awkward_rows(suite):
    """Rows in the tables the demo data leaves empty, and values of every kind the
    archive's text has to carry: awkward text, NULLs, empty strings and bytes,
    non-UTF-8 bytes, numerics of 2 and 3 decimals, datetimes to the microsecond,
    booleans; and an uploaded receipt and another upload on disk."""
    tables = db.metadata.tables
    admin = suite.sql("SELECT id FROM core_user WHERE username = 'admin'")[0][0]
    group = suite.sql("SELECT min(id) FROM core_group")[0][0]
    activity = suite.sql("SELECT min(id) FROM crm_activity")[0][0]
    customer, second = [row[0] for row in suite.sql(
        "SELECT id FROM crm_customer ORDER BY id LIMIT 2")]
    expense = suite.sql("SELECT min(id) FROM sale_expense")[0][0]
    line = suite.sql("SELECT min(id) FROM sale_quote_line")[0][0]
    at = datetime(2026, 12, 4, 20, 30, 0, 500000)
    engine = sa.create_engine(suite.database_url)
    with engine.begin() as connection:
        def insert(table, *rows):
            connection.execute(tables[table].insert(), list(rows))

        insert("core_note",
               {"at": at, "user_id": admin, "model": "crm_customer", "record_id": customer,
                "body": AWKWARD},
               {"at": datetime(2026, 1, 2, 3, 4, 5, 1), "user_id": None,
                "model": "crm_customer", "record_id": customer, "body": "\\N"},
               {"at": datetime(2026, 1, 2, 3, 4, 5, 123456), "user_id": admin,
                "model": "crm_customer", "record_id": second, "body": ""})
        insert("core_message",
               {"channel": "email", "recipients": "li@example.cn", "subject": "报价 Q2026",
                "body_text": AWKWARD, "body_html": None, "related_model": None,
                "related_id": None, "status": "queued", "attempts": 0,
                "next_attempt_at": at, "claimed_at": None, "last_error": "",
                "delivery_log": "", "created_at": at, "sent_at": None,
                "created_by_id": admin},
               {"channel": "sms", "recipients": "13800000000", "subject": "",
                "body_text": "短信", "body_html": "", "related_model": "crm_customer",
                "related_id": customer, "status": "sent", "attempts": 2,
                "next_attempt_at": datetime(2026, 12, 4, 20, 30), "claimed_at": at,
                "last_error": "timed out\n", "delivery_log": "a\tb\\c", "created_at": at,
                "sent_at": datetime(2026, 12, 4, 20, 31, 0, 999999), "created_by_id": None})
        message = connection.execute(sa.text("SELECT min(id) FROM core_message")).scalar()
        insert("core_message_attachment",
               {"message_id": message, "filename": "Q2026-00001.pdf",
                "content_type": "application/pdf", "data": BINARY},
               {"message_id": message, "filename": "空.bin",
                "content_type": "application/octet-stream", "data": b""})
        insert("core_option",
               {"addon": "crm_test", "key": "awkward", "value": AWKWARD},
               {"addon": "crm_test", "key": "null marker", "value": "\\N"},
               {"addon": "crm_test", "key": "end marker", "value": "\\."})
        insert("core_announcement",
               {"title": "停机 notice", "body": AWKWARD, "starts_on": date(2026, 12, 1),
                "ends_on": None, "created_at": at},
               {"title": "Two", "body": "", "starts_on": date(2026, 1, 1),
                "ends_on": date(2026, 12, 31), "created_at": datetime(2026, 1, 1)})
        announcement = connection.execute(
            sa.text("SELECT min(id) FROM core_announcement")).scalar()
        insert("core_announcement_group", {"announcement_id": announcement, "group_id": group})
        insert("core_announcement_read", {"announcement_id": announcement, "user_id": admin})
        insert("core_job",
               {"id": "crm_contacts.follow_up", "last_run_at": at, "last_status": "ok",
                "last_message": "done\t2 reminders", "last_duration_ms": 1234},
               {"id": "core.never_run", "last_run_at": None, "last_status": None,
                "last_message": "", "last_duration_ms": None})
        insert("core_login_failure",
               {"username": "管理员", "address": "10.0.0.1", "at": at})
        insert("core_notification",
               {"user_id": admin, "title": "Follow up", "body": AWKWARD, "link": None,
                "due_at": at, "read_at": None, "key": None, "created_at": at},
               {"user_id": admin, "title": "Read", "body": "", "link": "/admin/",
                "due_at": at, "read_at": datetime(2026, 12, 5), "key": "k1",
                "created_at": at})
        insert("core_saved_filter",
               {"user_id": admin, "endpoint": "customer.index_view", "name": "我的 A",
                "query": "?flt0=A&search=a\\b", "created_at": at})
        insert("core_session",
               {"id": "s" * 40, "user_id": admin, "created_at": at, "last_seen_at": at,
                "ended_at": None, "remote_addr": "127.0.0.1", "user_agent": "test\tagent"})
        insert("crm_activity_participant", {"activity_id": activity, "user_id": admin})
        customers = tables["crm_customer"]
        connection.execute(customers.update().where(customers.c.id == customer).values(
            name=CUSTOMER_NAME, credit_limit=Decimal("999999999999.99"), is_key=True))
        connection.execute(customers.update().where(customers.c.id == second).values(
            credit_limit=None, is_key=False))
        lines = tables["sale_quote_line"]
        connection.execute(lines.update().where(lines.c.id == line).values(
            quantity=Decimal("2.125")))
        token = "r" * 24 + ".png"
        expenses = tables["sale_expense"]
        connection.execute(expenses.update().where(expenses.c.id == expense).values(
            attachment_name="收据 receipt.png", attachment_token=token))
    engine.dispose()
    (instance(suite) / "attachments").mkdir(parents=True, exist_ok=True)
    (instance(suite) / "attachments" / token).write_bytes(PNG)
    (instance(suite) / "uploads" / "deep" / "er").mkdir(parents=True, exist_ok=True)
    (instance(suite) / "uploads" / "deep" / "er" / ("u" * 20)).write_bytes(BINARY * 3)


# -- a full round trip -------------------------------------------------------------------------

ROUND_TRIPS = ([("postgresql", "postgresql"), ("postgresql", "sqlite"), ("sqlite", "postgresql")]
               if PG_URL else [("sqlite", "sqlite")])


@pytest.mark.parametrize("source_kind, target_kind", ROUND_TRIPS,
                         ids=[f"{a}-to-{b}" for a, b in ROUND_TRIPS])
def test_round_trip_restores_every_row_value_and_file(tmp_path, new_database, source_kind,
                                                     target_kind):
    source = demo_site(tmp_path / "source", new_database(source_kind))
    add_awkward_rows(source)
    archive = tmp_path / "site.zip"
    output = run_ok(source, "backup", str(archive))
    manifest = manifest_of(archive)
    tables = list(manifest["tables"])
    before = site_rows(source.database_url, tables)
    files = site_files(source)
    assert len(files) == 2
    assert output.strip() == (f"{archive}: {len(tables)} tables, "
                              f"{sum(len(before[t]) for t in tables)} rows, 2 files")

    # The archive holds every table of the site, said to be what it is.
    assert set(tables) == table_names(source.database_url) - {"alembic_version"}
    assert manifest["application"] == "crm-suite" and manifest["format"] == 1
    assert manifest["database"] == source_kind
    assert {name: info["enabled"] for name, info in manifest["addons"].items()} == \
        {"crm_contacts": True, "crm_sales": True}
    assert manifest["migrations"] == before["alembic_version"]
    assert all(manifest["tables"][t]["rows"] == len(before[t]) for t in tables)

    target = empty_site(tmp_path / "target", new_database(target_kind))
    output = run_ok(target, "restore", str(archive))
    for table in tables:
        info = manifest["tables"][table]
        assert f"{table}\t{info['rows']} rows\t{info['checksum']}\tok" in output.splitlines()
    assert f"restored {len(tables)} tables, " in output and "every checksum matches" in output

    after = site_rows(target.database_url, tables)
    for table in tables:
        assert after[table] == before[table], table
    assert after["alembic_version"] == before["alembic_version"]
    assert site_files(target) == files
    assert sorted(path.name for path in instance(target).iterdir()
                  if path.name.startswith(".")) == []      # no staging folder left
    assert "The database is up to date." in run_ok(target, "upgrade")
    assert_ids_go_on(target, tables)

    client = target.client()
    client.login("admin", ADMIN_PASSWORD)
    customer = target.sql("SELECT id FROM crm_customer WHERE name = :name",
                          name=CUSTOMER_NAME)[0][0]
    page = client.get(f"/admin/customer/details/?id={customer}")
    assert page.status_code == 200
    assert "Backup &amp; Restore 客户 \\ test" in page.get_data(as_text=True)
    new_id = create_customer(client, target)
    assert new_id > max(row[0] for row in before["crm_customer"])
    source.close()
    target.close()


def create_customer(client, suite):
    form = {"name": "After the restore", "kind": "company", "stage": "active", "grade": "B",
            "crm_confirmed": "1"}
    response = client.post_form("/admin/customer/new/", form, token_from="/admin/customer/new/")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return suite.sql("SELECT id FROM crm_customer WHERE name = 'After the restore'")[0][0]


def assert_ids_go_on(suite, tables):
    """The next id of every table with one comes after the restored rows: on
    PostgreSQL its sequence was moved past them."""
    engine = sa.create_engine(suite.database_url)
    with engine.begin() as connection:
        for table in tables:
            if "id" not in db.metadata.tables[table].c or \
                    not isinstance(db.metadata.tables[table].c.id.type, sa.Integer):
                continue
            largest = connection.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar()
            if connection.dialect.name == "postgresql":
                following = connection.execute(sa.text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id'))"),
                    {"table": table}).scalar()
                assert following > (largest or 0), table
        note = connection.execute(db.metadata.tables["core_note"].insert().values(
            at=datetime(2027, 1, 1), model="crm_customer", record_id=1, body="new"))
        largest = connection.execute(sa.text("SELECT max(id) FROM core_note WHERE body <> 'new'"))
        assert note.inserted_primary_key[0] > largest.scalar()
    engine.dispose()


# -- versions -----------------------------------------------------------------------------------

def rewrite_archive(source, target, manifest=None, members=None):
    """A copy of the archive ``source`` at ``target``, its manifest changed by
    ``manifest(dict)`` and its members' bytes by ``members(name, bytes)`` (consistent
    ZIP CRCs: only what the archive's own checks see differs)."""
    with zipfile.ZipFile(source) as old, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "manifest.json" and manifest:
                changed = json.loads(data)
                manifest(changed)
                data = json.dumps(changed).encode()
            elif members:
                data = members(info.filename, data)
            new.writestr(info.filename, data)
    return target


@pytest.fixture
def source(tmp_path, new_database):
    """A demo site whose archive the tests below restore into this run's kind of
    database. Where the archive was made makes no difference to them (the round trips
    above show the kinds meet): a SQLite site, the quickest to make."""
    site = demo_site(tmp_path / "source", new_database("sqlite"))
    yield site
    site.close()


@pytest.fixture
def archive(tmp_path, source):
    """An archive of ``source``."""
    path = tmp_path / "site.zip"
    run_ok(source, "backup", str(path))
    return path


def test_archive_of_an_older_version_is_upgraded_after_restore(tmp_path, database_url,
                                                               source, archive):
    url = database_url
    def older(manifest):
        # As made before crm_contacts_0002 (the owner indexes of issue 7).
        head = next(rev for rev in manifest["migrations"] if rev.startswith("crm_contacts_"))
        manifest["migrations"][manifest["migrations"].index(head)] = "crm_contacts_0001"

    old = rewrite_archive(archive, tmp_path / "old.zip", manifest=older)
    target = empty_site(tmp_path / "target", url)
    output = run_ok(target, "restore", str(old))
    assert "every checksum matches" in output
    # At the code's heads, as the source (a new installation) is.
    assert site_rows(url, [])["alembic_version"] == site_rows(source.database_url, [])[
        "alembic_version"]
    assert {"ix_crm_customer_owner_grade_city", "ix_crm_customer_owner_name"} <= \
        indexes(url, "crm_customer")
    assert "ix_crm_contact_owner_name" in indexes(url, "crm_contact")
    assert "The database is up to date." in run_ok(target, "upgrade")
    tables = list(manifest_of(archive)["tables"])
    assert site_rows(url, tables) == site_rows(source.database_url, tables)
    target.close()


def test_archive_of_a_newer_version_is_refused_and_nothing_is_made(tmp_path, database_url,
                                                                   archive):
    def newer(manifest):
        manifest["migrations"].append("crm_contacts_0999")

    path = rewrite_archive(archive, tmp_path / "newer.zip", manifest=newer)
    target = empty_site(tmp_path / "target", database_url)
    output = run_failing(target, "restore", str(path))
    assert "made by a newer version" in output and "crm_contacts_0999" in output
    assert "nothing was restored" in output
    assert table_names(database_url) == set()
    target.close()


# -- verify -------------------------------------------------------------------------------------

def test_verify_passes_on_an_intact_archive(archive, tmp_path):
    # Verifying needs no database: a site whose database does not exist can do it.
    nowhere = tmp_path / "nowhere.db"
    site = empty_site(tmp_path / "elsewhere", f"sqlite:///{nowhere}")
    output = run_ok(site, "backup", "--verify", str(archive))
    manifest = manifest_of(archive)
    for table, info in manifest["tables"].items():
        assert f"{table}\t{info['rows']} rows\t{info['checksum']}\tok" in output.splitlines()
    assert re.search(rf"{re.escape(str(archive))}: intact; {len(manifest['members'])} members, "
                     rf"made .* from sqlite by version ", output)
    assert not nowhere.exists()


def test_verify_fails_on_a_damaged_archive(source, archive, tmp_path):
    damaged = rewrite_archive(archive, tmp_path / "damaged.zip", members=lambda name, data: (
        data.replace(b"example", b"exbmple", 1) if name == "tables/crm_customer" else data))
    output = run_failing(source, "backup", "--verify", str(damaged))
    assert "error: tables/crm_customer is damaged: its SHA-256 differs" in output
