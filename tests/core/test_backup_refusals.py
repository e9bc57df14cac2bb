"""Archives `python run.py restore` refuses, each with a message saying why, an exit
code that is not 0, and the target as it was: an empty database stays empty (no
tables, no files). (The same archives restored over a site with --replace are in
test_backup_replace.py.)"""
import json
import struct
import zipfile

import pytest

from core.backup import Tally
from tests.core.test_backup import (
    demo_site,
    empty_site,
    instance,
    rewrite_archive,
    run_failing,
    run_ok,
    site_files,
    table_names,
)

RECEIPT = "attachments/" + "r" * 24 + ".png"
RECEIPT_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def site_with_receipt(folder, database_url):
    """A demo site with a receipt on disk."""
    site = demo_site(folder, database_url)
    (instance(site) / "attachments").mkdir(parents=True)
    (instance(site) / RECEIPT).write_bytes(RECEIPT_BYTES)
    return site


@pytest.fixture
def archive(tmp_path, new_database):
    """An archive of a demo site. Where it was made makes no difference to what is
    refused: a SQLite site, the quickest to make."""
    source = site_with_receipt(tmp_path / "source", new_database("sqlite"))
    path = tmp_path / "site.zip"
    run_ok(source, "backup", str(path))
    source.close()
    return path


@pytest.fixture
def target(tmp_path, database_url):
    """An empty database of this run's kind, and a site's config on it."""
    site = empty_site(tmp_path / "target", database_url)
    yield site
    site.close()


# -- damaged and foreign archives ------------------------------------------------------------

def data_span(path, name):
    """Where the (compressed) bytes of member ``name`` are in the file ``path``."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    with open(path, "rb") as file:
        file.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", file.read(4))
    start = info.header_offset + 30 + name_length + extra_length
    return start, start + info.compress_size


def crc_damaged(archive, path):
    """A byte of tables/crm_customer flipped in the file, as a bad disk does: the
    member is stored uncompressed, so the flip makes other text (an 'a' of
    'example' a 'b'), which only the ZIP's CRC-32 tells."""
    member = "tables/crm_customer"
    with zipfile.ZipFile(archive) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename),
                         compress_type=zipfile.ZIP_STORED if info.filename == member else None)
    data = bytearray(path.read_bytes())
    start, end = data_span(path, member)
    at = data.index(b"example", start, end) + 2
    data[at] ^= 0x03
    path.write_bytes(data)
    return path


def sha_damaged(archive, path):
    """Other text in tables/crm_customer, in a ZIP whose CRCs match it: only the
    manifest's SHA-256 tells."""
    return rewrite_archive(archive, path, members=lambda name, data: (
        data.replace(b"example", b"exbmple", 1) if name == "tables/crm_customer" else data))


def file_damaged(archive, path):
    return rewrite_archive(archive, path, members=lambda name, data: (
        data[:-1] + b"!" if name == "files/" + RECEIPT else data))


def truncated(archive, path):
    data = archive.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def not_a_zip(archive, path):
    path.write_text("id,name\n1,Acme\n", encoding="utf-8")
    return path


def empty_file(archive, path):
    path.write_bytes(b"")
    return path


def odoo_backup(archive, path):
    """What Odoo's database manager downloads: a dump and a manifest of its own."""
    with zipfile.ZipFile(path, "w") as other:
        other.writestr("dump.sql", "--\n-- PostgreSQL database dump\n--\nCREATE TABLE res_partner"
                                   " (id serial);\n")
        other.writestr("manifest.json", json.dumps({
            "odoo_dump": "1", "db_name": "prod", "version": "16.0", "major_version": "16.0",
            "pg_version": "15.0", "modules": {"base": "16.0.1.3"}}))
        other.writestr("filestore/ab/ab12cd", b"\x00\x01")
    return path


def no_manifest(archive, path):
    with zipfile.ZipFile(archive) as old, zipfile.ZipFile(path, "w") as new:
        for name in old.namelist():
            if name != "manifest.json":
                new.writestr(name, old.read(name))
    return path


def member_missing(archive, path):
    with zipfile.ZipFile(archive) as old, zipfile.ZipFile(path, "w") as new:
        for name in old.namelist():
            if name != "tables/crm_contact":
                new.writestr(name, old.read(name))
    return path


def later_format(archive, path):
    return rewrite_archive(archive, path, manifest=lambda manifest: manifest.update(format=2))


# (name, make the archive, what the message says)
REFUSED = [
    ("crc-32", crc_damaged, "tables/crm_customer is damaged (Bad CRC-32"),
    ("sha256", sha_damaged,
     "tables/crm_customer is damaged: its SHA-256 differs from the manifest's"),
    ("file", file_damaged, f"files/{RECEIPT} is damaged: its SHA-256 differs"),
    ("truncated", truncated, "not a backup archive, or a damaged one"),
    ("not a zip", not_a_zip, "not a backup archive, or a damaged one"),
    ("empty file", empty_file, "not a backup archive, or a damaged one"),
    ("odoo", odoo_backup, "not a backup of this application"),
    ("no manifest", no_manifest, "not a backup of this application (no manifest.json)"),
    ("member missing", member_missing, "incomplete, 1 members missing (tables/crm_contact"),
    ("later format", later_format, "archive format 2 is not one this version reads"),
]


def refused(site, path, expected, *options):
    output = run_failing(site, "restore", str(path), *options)
    assert "error: " in output and expected in output, output
    assert "nothing was restored" in output, output
    return output


def test_bad_archives_are_refused_and_an_empty_target_stays_empty(tmp_path, archive, target):
    for name, make, expected in REFUSED:
        path = make(archive, tmp_path / f"{name}.zip")
        refused(target, path, expected)
        assert table_names(target.database_url) == set(), name
        assert site_files(target) == {}, name
    # Nothing was left half-made: the intact archive restores into it.
    assert "every checksum matches" in run_ok(target, "restore", str(archive))


def test_a_damaged_deflate_stream_is_refused_with_a_message(tmp_path, archive, target):
    # The first bits of a deflate block say its type; 11 is no type: zlib stops there.
    path = tmp_path / "deflate.zip"
    data = bytearray(archive.read_bytes())
    data[data_span(archive, "tables/crm_customer")[0]] |= 0b110
    path.write_bytes(data)
    refused(target, path, "tables/crm_customer is damaged")
    assert table_names(target.database_url) == set()


@pytest.mark.parametrize("damage", [b"x", b"\xff"], ids=["not a number", "not UTF-8"])
def test_damage_that_makes_a_value_unreadable_is_refused_as_damage(tmp_path, archive, target,
                                                                    damage):
    # The first byte of tables/crm_customer is a digit of the first customer's id.
    path = rewrite_archive(archive, tmp_path / "unreadable.zip", members=lambda name, data: (
        damage + data[1:] if name == "tables/crm_customer" else data))
    refused(target, path, "tables/crm_customer is damaged: its SHA-256 differs")
    assert table_names(target.database_url) == set()


def test_an_archive_with_an_addon_this_installation_lacks_is_refused(tmp_path, archive,
                                                                    target):
    # A site had an addon (crm_extra) that is not on this installation's addon paths.
    rows = b"1\tkept by an addon\n"
    tally = Tally()
    tally.add(rows)

    def with_extra_addon(manifest):
        manifest["addons"]["crm_extra"] = {"version": "1.0", "enabled": True}
        manifest["tables"]["extra_thing"] = {"columns": [["id", "integer"], ["name", "text"]],
                                             "rows": 1, "checksum": tally.checksum}
        manifest["members"]["tables/extra_thing"] = {"sha256": tally.sha256.hexdigest(),
                                                     "size": tally.size}

    path = rewrite_archive(archive, tmp_path / "extra.zip", manifest=with_extra_addon)
    with zipfile.ZipFile(path, "a") as extra:
        extra.writestr("tables/extra_thing", rows)
    output = refused(target, path, "crm_extra")
    assert table_names(target.database_url) == set(), output


def test_a_refused_archive_leaves_no_unpacked_files_behind(tmp_path, archive, target):
    refused(target, file_damaged(archive, tmp_path / "file.zip"), "is damaged")
    assert sorted(path.name for path in instance(target).iterdir()
                  if path.name.startswith(".")) == []
