"""Backup and restore under way when something else happens: a restore killed halfway
(kill -9) leaves the target as it was, and the next restore works; a backup taken while
the site is written holds one moment of it (no row without the rows it needs, totals
that hold), and does not hold up the writers."""
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core import backup
from core.db import db
from tests.conftest import ROOT, make_suite
from tests.core.test_backup import ADDONS, demo_site, empty_site, run_ok, table_names

NOTES = 100_000


def add_rows(suite, table, columns, values, count):
    """``count`` rows in ``table`` made by the database itself (``values``: SQL of the
    row number i), in one statement: quick on either kind."""
    if suite.database_url.startswith("sqlite"):
        statement = (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                     f"WHERE i < {count}) INSERT INTO {table} ({columns}) SELECT {values} FROM n")
    else:
        statement = (f"INSERT INTO {table} ({columns}) SELECT {values} "
                     f"FROM generate_series(1, {count}) AS n(i)")
    suite.sql(statement)


def add_notes(suite, count):
    add_rows(suite, "core_note", "at, user_id, model, record_id, body",
             "'2026-01-01 10:00:00.250000', NULL, 'crm_customer', i, "
             "'note ' || CAST(i AS VARCHAR(10)) || ' of a customer, written to make an archive "
             "big enough to be caught restoring'", count)


# -- kill -9 ------------------------------------------------------------------------------------

def test_a_restore_killed_halfway_leaves_the_target_empty(tmp_path, database_url, new_database):
    # The archive: a site with many notes (a SQLite one: the quickest to fill).
    source = make_suite(tmp_path / "source", new_database("sqlite"),
                        addon_paths=[ROOT / "addons"], enabled=ADDONS, extra="# sqlite\n")
    add_notes(source, NOTES)
    archive = tmp_path / "big.zip"
    run_ok(source, "backup", str(archive))
    source.close()

    target = empty_site(tmp_path / "target", database_url)
    # PostgreSQL: the restoring process's connections are named, to be found in
    # pg_stat_activity.
    name = f"restore-{uuid.uuid4().hex[:12]}"
    url = database_url if database_url.startswith("sqlite") else \
        make_url(database_url).update_query_dict({"application_name": name}).render_as_string(
            hide_password=False)
    with open(tmp_path / "restore.log", "w") as log:
        process = subprocess.Popen([sys.executable, "run.py", "restore", str(archive)], cwd=ROOT,
                                   env={**os.environ, **target.env, "CRM_DATABASE_URL": url},
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_loading(process, database_url, name)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if not database_url.startswith("sqlite"):
        wait_for_backend_to_end(database_url, name)

    assert table_names(database_url) == set()
    output = run_ok(target, "restore", str(archive))
    assert "every checksum matches" in output
    assert target.sql("SELECT count(*) FROM core_note")[0][0] == NOTES
    target.close()


def wait_until_loading(process, database_url, name, timeout=60):
    """Return once the restore is writing the notes: on SQLite its write-ahead log has
    grown past what the schema alone writes; on PostgreSQL its COPY of core_note is
    running."""
    deadline = time.monotonic() + timeout
    engine = None if database_url.startswith("sqlite") else sa.create_engine(database_url)
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the restore ended before it could be killed: " \
                "make the archive bigger"
            if engine is None:
                wal = database_url[len("sqlite:///"):] + "-wal"
                if os.path.exists(wal) and os.path.getsize(wal) > 8 << 20:
                    return
            else:
                with engine.connect() as connection:
                    if connection.execute(sa.text(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                            "AND query LIKE 'COPY core_note %FROM STDIN'"),
                            {"name": name}).scalar():
                        return
            time.sleep(0.02)
        raise AssertionError("the restore did not start loading in time")
    finally:
        if engine is not None:
            engine.dispose()


def wait_for_backend_to_end(database_url, name, timeout=20):
    """The killed process's server session ends (its transaction rolled back) when the
    server notices the connection is gone."""
    engine = sa.create_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as connection:
            while connection.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": name}).scalar():
                assert time.monotonic() < deadline, "the killed restore's session lives on"
                time.sleep(0.05)
                connection.rollback()
    finally:
        engine.dispose()


# -- a backup while the site is written -----------------------------------------------------------

FAILURES = 100_000
TOTAL = Decimal("2000.00")


class Writer(multiprocessing.Process):
    """Writes as fast as it can, each transaction: an announcement and the row naming
    its audience (a row that needs another), and 1.00 moved from one customer's credit
    limit to another's (a total that holds). A process, not a thread: the backup's own
    Python work holds the interpreter lock, and a writer thread starved by it would
    say nothing of the database's locks."""

    def __init__(self, database_url, customers, group):
        super().__init__(daemon=True)
        self.database_url, self.customers, self.group = database_url, customers, group
        self.stamps = multiprocessing.Array("d", 100_000, lock=False)   # commit times
        self.count = multiprocessing.Value("i", 0)
        self.failure = multiprocessing.Array("c", 2_000)
        self.stop = multiprocessing.Event()

    @property
    def commits(self):
        return self.count.value

    @property
    def times(self):
        return list(self.stamps[:self.count.value])

    @property
    def errors(self):
        return [self.failure.value.decode()] if self.failure.value else []

    def run(self):
        engine = sa.create_engine(self.database_url)
        tables = db.metadata.tables
        announcements, audiences = tables["core_announcement"], tables["core_announcement_group"]
        customers = tables["crm_customer"]
        first, second = self.customers
        try:
            while not self.stop.is_set() and self.count.value < len(self.stamps):
                with engine.begin() as connection:
                    made = connection.execute(announcements.insert().values(
                        title="Written during the backup", body="", starts_on=date(2026, 12, 4),
                        created_at=datetime(2026, 12, 4, 12, 0)))
                    connection.execute(audiences.insert().values(
                        announcement_id=made.inserted_primary_key[0], group_id=self.group))
                    for customer, change in ((first, -1), (second, 1)):
                        connection.execute(customers.update().where(customers.c.id == customer)
                                           .values(credit_limit=customers.c.credit_limit + change))
                # CLOCK_MONOTONIC: one clock for every process of the machine.
                self.stamps[self.count.value] = time.monotonic()
                self.count.value += 1
        except Exception as exc:   # noqa: BLE001  (reported by the test)
            self.failure.value = repr(exc).encode()[:1_999]
        finally:
            engine.dispose()


def archive_rows(archive, manifest, table):
    """A table's rows in the archive, as {column: text} (COPY's text, unescaped not
    needed for the numbers read here)."""
    columns = [column[0] for column in manifest["tables"][table]["columns"]]
    with zipfile.ZipFile(archive) as opened:
        text = opened.read(f"tables/{table}").decode()
    return [dict(zip(columns, line.split("\t"))) for line in text.splitlines()]


def test_a_backup_while_the_site_is_written_is_of_one_moment(tmp_path, database_url):
    site = demo_site(tmp_path / "site", database_url)
    # Many rows in a table the backup reads after core_announcement and before
    # core_announcement_group: a backup that did not read one snapshot would find
    # audiences whose announcement it had not seen.
    add_rows(site, "core_login_failure", "username, address, at",
             "'someone' || CAST(i AS VARCHAR(10)), '10.0.0.1', '2026-01-01 10:00:00'", FAILURES)
    customers = [row[0] for row in site.sql("SELECT id FROM crm_customer ORDER BY id LIMIT 2")]
    site.sql("UPDATE crm_customer SET credit_limit = 1000 WHERE id IN (:a, :b)",
             a=customers[0], b=customers[1])
    group = site.sql("SELECT min(id) FROM core_group")[0][0]
    before = site.sql("SELECT count(*) FROM core_announcement")[0][0]

    app = site.app()
    writer = Writer(database_url, customers, group)
    writer.start()
    try:
        while writer.commits < 3 and not writer.errors:    # under way
            time.sleep(0.01)
        archive = tmp_path / "busy.zip"
        with app.app_context():
            started, began = writer.commits, time.monotonic()
            manifest = backup.backup(db.engine, app.extensions["crm"].registry,
                                     app.instance_path, archive)
            ended, finished = writer.commits, time.monotonic()
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert not writer.errors, writer.errors
    # The writer went on while the backup read (it was not locked out): it committed
    # in the middle half of the backup's time.
    quarter = (finished - began) / 4
    assert len([at for at in writer.times
                if began + quarter <= at <= finished - quarter]) >= 3, (started, ended)
    order = list(manifest["tables"])
    assert order.index("core_announcement") < order.index("core_login_failure") < \
        order.index("core_announcement_group")

    announcements = {row["id"] for row in archive_rows(archive, manifest, "core_announcement")}
    audiences = [row["announcement_id"]
                 for row in archive_rows(archive, manifest, "core_announcement_group")]
    assert set(audiences) <= announcements
    assert len(audiences) == len(announcements) - before
    assert before + started <= len(announcements) <= before + ended
    limits = [Decimal(row["credit_limit"])
              for row in archive_rows(archive, manifest, "crm_customer")
              if int(row["id"]) in customers]
    assert sum(limits) == TOTAL
    assert limits[0] != limits[1]      # the writer's transfers are in it
    backup.verify(archive)
    site.close()
