"""`python run.py restore FILE --replace`: a site is restored over only when asked,
after a safety backup of it; an archive refused on the way leaves the site as it was,
rows and files."""
import zipfile
from datetime import datetime

import pytest
import sqlalchemy as sa

from core.db import db
from tests.core.test_backup import (
    empty_site,
    instance,
    kind_of_url,
    manifest_of,
    run_failing,
    run_ok,
    site_files,
    site_rows,
    table_names,
)
from tests.core.test_backup_refusals import REFUSED, refused, site_with_receipt


@pytest.fixture
def site(tmp_path, database_url):
    """A demo site of this run's kind, with a receipt on disk."""
    installation = site_with_receipt(tmp_path / "site", database_url)
    yield installation
    installation.close()


@pytest.fixture
def archive(tmp_path, site):
    """Yesterday's backup of ``site``; then the site moved on (a note, an upload)."""
    path = tmp_path / "site.zip"
    run_ok(site, "backup", str(path))
    add_note(site, "written after the backup")
    (instance(site) / "uploads").mkdir()
    (instance(site) / "uploads" / "later.xlsx").write_bytes(b"PK\x03\x04 later")
    return path


def add_note(site, body):
    engine = sa.create_engine(site.database_url)
    with engine.begin() as connection:
        connection.execute(db.metadata.tables["core_note"].insert().values(
            at=datetime(2026, 12, 5, 9, 0), model="crm_customer", record_id=1, body=body))
    engine.dispose()


def notes(site):
    return [row[0] for row in site.sql("SELECT body FROM core_note ORDER BY id")]


def safety_backups(site):
    folder = instance(site) / "backups"
    return sorted(folder.glob("before-restore-*.zip")) if folder.is_dir() else []


def test_a_site_is_not_restored_over_without_replace(site, archive):
    tables = list(manifest_of(archive)["tables"])
    rows, files = site_rows(site.database_url, tables), site_files(site)
    output = run_failing(site, "restore", str(archive))
    assert "error: the target database is not empty" in output and "--replace" in output
    assert "nothing was restored" in output
    assert site_rows(site.database_url, tables) == rows
    assert site_files(site) == files
    assert safety_backups(site) == []


def test_replace_writes_a_safety_backup_then_restores_the_archive(tmp_path, site, archive):
    tables = list(manifest_of(archive)["tables"])
    now_rows, now_files = site_rows(site.database_url, tables), site_files(site)
    output = run_ok(site, "restore", str(archive), "--replace")
    assert "every checksum matches" in output
    [safety] = safety_backups(site)
    assert f"the replaced site is in {safety}" in output
    # The site is the archive's again: the note and upload made since are gone...
    assert "written after the backup" not in notes(site)
    assert "uploads/later.xlsx" not in site_files(site)
    assert "attachments/" + "r" * 24 + ".png" in site_files(site)
    # ...and kept in the safety backup (an archive as `backup` writes them: its rows
    # and files restore as the round trips of test_backup.py show).
    run_ok(site, "backup", "--verify", str(safety))
    manifest = manifest_of(safety)
    assert {table: info["rows"] for table, info in manifest["tables"].items()} == \
        {table: len(now_rows[table]) for table in tables}
    with zipfile.ZipFile(safety) as kept:
        assert kept.read("files/uploads/later.xlsx") == now_files["uploads/later.xlsx"]
        assert b"written after the backup" in kept.read("tables/core_note")


def test_replace_refuses_a_database_of_something_else(tmp_path, database_url, new_database,
                                                     archive):
    url = new_database(kind_of_url(database_url))
    other = empty_site(tmp_path / "other", url)
    other.sql("CREATE TABLE res_partner (id integer PRIMARY KEY, name varchar(100))")
    other.sql("INSERT INTO res_partner VALUES (1, 'Odoo customer')")
    output = run_failing(other, "restore", str(archive), "--replace")
    assert "holds tables of something else" in output and "nothing was restored" in output
    assert table_names(url) == {"res_partner"}
    assert other.sql("SELECT name FROM res_partner") == [("Odoo customer",)]
    assert safety_backups(other) == []
    other.close()


def test_bad_archives_are_refused_and_replace_leaves_the_site_intact(tmp_path, site, archive):
    tables = list(manifest_of(archive)["tables"])
    rows, files = site_rows(site.database_url, tables), site_files(site)
    # (A CRC-32 error stops a restore where a wrong SHA-256 does: one of them will do.)
    for name, make, expected in [case for case in REFUSED if case[0] != "crc-32"]:
        path = make(archive, tmp_path / f"{name}.zip")
        refused(site, path, expected, "--replace")
        assert site_rows(site.database_url, tables) == rows, name
        assert site_files(site) == files, name
    assert "written after the backup" in notes(site)
    # Still a working site.
    assert site.admin_client().get("/admin/customer/details/?id=1").status_code == 200
