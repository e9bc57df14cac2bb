"""The core file store (core/files.py): both storage kinds, dedupe, downloads' headers,
nothing left behind by a failed transaction, refused input, streaming in flat memory,
backups and restores of the store, `files check` and `files purge`."""
import hashlib
import io
import os
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from core import files
from core.db import db
from tests.addons.conftest import ADDONS
from tests.conftest import WebClient, make_suite

# A folder outside the instance, as a disk several hosts share would be.
FOLDER = "[files]\nstorage = folder\nfolder = ../shared-store\n"
DATABASE = "[files]\nstorage = database\n"
PDF = b"%PDF-1.4\n" + b"0" * 3000 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture(params=["folder", "database"])
def store_suite(request, tmp_path, database_url):
    installation = make_suite(tmp_path, database_url,
                              extra=FOLDER if request.param == "folder" else DATABASE)
    installation.kind = request.param
    yield installation
    installation.close()


@contextmanager
def site(suite):
    """The suite's app, in a request context (messages are translated in one)."""
    app = suite.dispatcher().app
    with app.test_request_context("/"):
        try:
            yield app
        finally:
            db.session.remove()


def upload(data, name):
    return FileStorage(stream=io.BytesIO(data), filename=name)


def store_folder(suite):
    return suite.config_path.parent.parent / "shared-store"


def stored_files(suite):
    """{sha256: bytes} of the files in the store's folder (not partial uploads)."""
    folder = store_folder(suite)
    return {path.name: path.read_bytes() for path in files.stored_paths(folder)}


def blob_rows(suite):
    return {sha256: size for sha256, size in suite.sql("SELECT sha256, size FROM core_blob")}


def partial_uploads(suite):
    spool = (store_folder(suite) if suite.kind == "folder"
             else suite.config_path.parent / "instance") / ".incoming"
    return list(spool.iterdir()) if spool.is_dir() else []


# -- both storage kinds, dedupe, headers ---------------------------------------------------

def test_identical_content_is_stored_once_and_read_back(store_suite):
    data = os.urandom(files.CHUNK * 2 + 12345)      # three chunks in the database
    sha256 = hashlib.sha256(data).hexdigest()
    with site(store_suite):
        first = files.save(upload(data, "报价单.bin"))
        second = files.save(upload(data, "copy.bin"))
        db.session.commit()
        assert (first.sha256, first.size, first.name) == (sha256, len(data), "报价单.bin")
        assert second.sha256 == sha256
        assert files.read(sha256) == data
        assert b"".join(files.chunks(sha256)) == data
    assert blob_rows(store_suite) == {sha256: len(data)}
    chunks = store_suite.sql("SELECT seq, length(data) FROM core_blob_chunk ORDER BY seq")
    if store_suite.kind == "folder":
        assert stored_files(store_suite) == {sha256: data}
        assert chunks == []
    else:
        assert stored_files(store_suite) == {}
        assert chunks == [(0, files.CHUNK), (1, files.CHUNK), (2, 12345)]
    assert partial_uploads(store_suite) == []


@pytest.mark.parametrize("name, data, inline, disposition, mimetype", [
    ("报价单 2026.pdf", PDF, True,
     "inline; filename=\"2026.pdf\"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95%202026.pdf",
     "application/pdf"),
    ("photo.png", PNG, True, 'inline; filename="photo.png"', "image/png"),
    ("page.html", b"<!doctype html><script>alert(1)</script>", True,
     'attachment; filename="page.html"', "application/octet-stream"),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>', True,
     'attachment; filename="drawing.svg"', "application/octet-stream"),
    ("中文的笔记.txt", "中文的笔记".encode(), True,
     "attachment; filename=\"file.txt\"; filename*=UTF-8''%E4%B8%AD%E6%96%87%E7%9A%84%E7%AC%94%E8%AE%B0.txt",
     "application/octet-stream"),
    ("report.pdf", PDF, False, 'attachment; filename="report.pdf"', "application/pdf"),
])
def test_downloads_are_attachments_but_for_pdfs_and_images(store_suite, name, data, inline,
                                                            disposition, mimetype):
    with site(store_suite):
        stored = files.save(upload(data, name))
        db.session.commit()
        response = files.response(stored.sha256, stored.name, stored.kind, inline=inline,
                                  size=stored.size)
        response.direct_passthrough = False
        assert response.get_data() == data
        assert response.headers["Content-Disposition"] == disposition
        assert response.mimetype == mimetype
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "private, no-store"
        if stored.kind is not files.PDF:
            assert "sandbox" in response.headers["Content-Security-Policy"]
        response.close()


# -- a failed transaction leaves nothing ----------------------------------------------------

def test_a_rolled_back_save_leaves_no_row_and_no_file(store_suite):
    kept, new = os.urandom(5000), os.urandom(6000)
    with site(store_suite):
        old = files.save(upload(kept, "kept.bin"))
        db.session.commit()
        # A save that rolls back, of new content and of content stored before.
        files.save(upload(new, "new.bin"))
        files.save(upload(kept, "again.bin"))
        db.session.rollback()
    assert set(blob_rows(store_suite)) == {old.sha256}
    if store_suite.kind == "folder":
        assert stored_files(store_suite) == {old.sha256: kept}
    assert store_suite.sql("SELECT count(*) FROM core_blob_chunk")[0][0] == (
        0 if store_suite.kind == "folder" else 1)
    assert partial_uploads(store_suite) == []


def test_a_request_ended_by_an_error_leaves_no_file(store_suite):
    """Flask-SQLAlchemy ends a request by closing the session (no rollback event): the
    file must go all the same."""
    with site(store_suite):
        stored = files.save(upload(os.urandom(4000), "lost.bin"))
        db.session.remove()
    assert blob_rows(store_suite) == {}
    assert stored_files(store_suite) == {}
    assert stored.sha256


def test_savepoints_keep_or_remove_their_own_files(store_suite):
    first, second, third = (os.urandom(3000) for _ in range(3))
    with site(store_suite):
        outer = files.save(upload(first, "outer.bin"))
        with db.session.begin_nested() as savepoint:
            files.save(upload(second, "rolled-back.bin"))
            savepoint.rollback()
        with db.session.begin_nested():
            released = files.save(upload(third, "released.bin"))
        db.session.commit()
    assert set(blob_rows(store_suite)) == {outer.sha256, released.sha256}
    if store_suite.kind == "folder":
        assert stored_files(store_suite) == {outer.sha256: first, released.sha256: third}
    # A savepoint released, then the whole transaction rolled back: nothing stays.
    # (The transaction is begun by a write first: pysqlite would make a first SAVEPOINT
    # the transaction itself, and its release a commit.)
    with site(store_suite):
        files.save(upload(b"outer, rolled back", "outer.txt"))
        with db.session.begin_nested():
            files.save(upload(b"in a released savepoint", "gone.txt"))
        db.session.rollback()
    assert set(blob_rows(store_suite)) == {outer.sha256, released.sha256}
    if store_suite.kind == "folder":
        assert set(stored_files(store_suite)) == {outer.sha256, released.sha256}


def test_a_rollback_does_not_take_the_copy_another_upload_put_in_place(tmp_path, database_url):
    """Two uploads of the same new content: the first rolls back after the second has
    put its own copy in place; the second's stays."""
    suite = make_suite(tmp_path, database_url, extra=FOLDER)
    suite.kind = "folder"
    data = os.urandom(2000)
    with site(suite):
        stored = files.save(upload(data, "first.bin"))
        path = files.path_of(stored.sha256)
        (path.parent / "theirs").write_bytes(data)
        os.replace(path.parent / "theirs", path)       # what another process does
        db.session.rollback()
        assert path.read_bytes() == data
    suite.close()


# -- refused input ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, data, message", [
    ("empty.txt", b"", "The file is empty."),
    ("invoice.pdf", b"#!/bin/sh\nrm -rf /\n", "The file's content is not PDF, as .pdf says."),
    ("photo.png", b"<html><script>x()</script></html>", "The file's content is not PNG, as .png says."),
    ("tool.txt", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(300), "The file's content is not text, as .txt says."),
    ("page.html", PNG, "The file's content is not text, as .html says."),
    ("../etc/passwd", b"x", "A file name may not contain / or \\."),
    ("a\\b.txt", b"x", "A file name may not contain / or \\."),
    ("bell\x07.txt", b"x", "The file name holds control or right-to-left characters."),
    ("invoice\u202efdp.exe", b"x", "The file name holds control or right-to-left characters."),
    (" .. ", b"x", "The file has no name."),
])
def test_bad_files_are_refused_and_leave_nothing(store_suite, name, data, message):
    with site(store_suite):
        with pytest.raises(files.FileRefused) as refused:
            files.save(upload(data, name))
        assert str(refused.value) == message
        db.session.commit()
    assert blob_rows(store_suite) == {}
    assert stored_files(store_suite) == {}
    assert partial_uploads(store_suite) == []


class Endless(io.RawIOBase):
    """A stream of ``size`` random bytes made as they are read; counts what was read."""

    def __init__(self, size):
        self.left, self.read_bytes = size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = os.urandom(count)
        self.left -= count
        self.read_bytes += count
        return count


def test_a_file_over_the_limit_is_refused_while_it_is_read(store_suite):
    stream = Endless(50 * 2 ** 20)
    with site(store_suite) as app:
        assert files.max_bytes() == app.config["MAX_CONTENT_LENGTH"] == 20 * 2 ** 20
        with pytest.raises(files.FileRefused, match="larger than 20 MB"):
            files.save(FileStorage(stream=stream, filename="big.bin"))
        db.session.commit()
    # Refused at the first block past the limit, not after reading it all.
    assert stream.read_bytes <= 20 * 2 ** 20 + files.CHUNK
    assert partial_uploads(store_suite) == []
    assert blob_rows(store_suite) == {} and stored_files(store_suite) == {}


# -- streaming ----------------------------------------------------------------------------

def resident_kb(key):
    """The test process's resident memory (VmRSS) or its peak (VmHWM), in kB."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(key)))


def test_a_200_mb_upload_through_the_app_in_flat_memory(tmp_path, database_url):
    """A 200 MB multipart upload to a route of the app that keeps it with files.save:
    Python's memory peaks far below the file's size."""
    suite = make_suite(tmp_path, database_url, extra=FOLDER)
    config = suite.config_path.read_text(encoding="utf-8")
    suite.config_path.write_text(config.replace("[core]\n", "[core]\nmax_upload_mb = 400\n"),
                                 encoding="utf-8")
    size = 200 * 2 ** 20
    source, digest = tmp_path / "big.bin", hashlib.sha256()
    with source.open("wb") as out:
        for _ in range(size // files.CHUNK):
            block = os.urandom(files.CHUNK)
            digest.update(block)
            out.write(block)
    dispatcher = suite.dispatcher()
    app = dispatcher.app

    def keep():
        from flask import request
        stored = files.save(request.files["file"])
        db.session.commit()
        return stored.sha256

    app.add_url_rule("/test-keep", "test_keep", keep, methods=["POST"])
    app.extensions["csrf"].exempt(keep)
    client = WebClient(dispatcher)
    started = time.monotonic()
    rss_before = resident_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")     # VmHWM: the peak from now on
    tracemalloc.start()
    try:
        with source.open("rb") as stream:
            response = client.post("/test-keep", data={"file": (stream, "big.bin")})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rss_growth = (resident_kb("VmHWM") - rss_before) / 1024
    print(f"200 MB upload: the process's resident memory peaked {rss_growth:.1f} MB higher")
    assert rss_growth < 50
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.get_data(as_text=True) == digest.hexdigest()
    print(f"200 MB upload: Python memory peak {peak / 2 ** 20:.1f} MB")
    assert peak < 16 * 2 ** 20, f"peak {peak / 2 ** 20:.1f} MB for a 200 MB upload"
    assert time.monotonic() - started < 30
    kept = store_folder(suite) / digest.hexdigest()[:2] / digest.hexdigest()[2:4] / digest.hexdigest()
    assert kept.stat().st_size == size
    suite.close()


# -- backups ---------------------------------------------------------------------------------

def save_some(suite, *contents):
    with site(suite):
        stored = [files.save(upload(data, f"file{number}.bin"))
                  for number, data in enumerate(contents)]
        db.session.commit()
    return [item.sha256 for item in stored]


def test_backup_and_restore_bring_the_store_back(store_suite, tmp_path):
    one, two = os.urandom(files.CHUNK + 10), os.urandom(777)
    first, second = save_some(store_suite, one, two)
    archive = tmp_path / "site.zip"
    result = store_suite.run("backup", str(archive))
    assert result.exit_code == 0, result.output
    assert "2 files" in result.output or store_suite.kind == "database"
    # After the backup: one content lost, another added.
    if store_suite.kind == "folder":
        store_suite.sql("DELETE FROM core_blob WHERE sha256 = :sha", sha=first)
        files_lost = store_folder(store_suite) / first[:2] / first[2:4] / first
        files_lost.unlink()
    else:
        store_suite.sql("DELETE FROM core_blob WHERE sha256 = :sha", sha=first)
    (later,) = save_some(store_suite, b"made after the backup")
    result = store_suite.run("restore", str(archive), "--replace")
    assert result.exit_code == 0, result.output
    assert blob_rows(store_suite) == {first: len(one), second: len(two)}
    if store_suite.kind == "folder":
        assert stored_files(store_suite) == {first: one, second: two}
    with site(store_suite):
        assert files.read(first) == one and files.read(second) == two
    result = store_suite.run("files", "check")
    assert result.exit_code == 0, result.output
    assert "2 stored files" in result.output and later


@pytest.mark.parametrize("source, target", [("database", "folder"), ("folder", "database")])
def test_a_restore_moves_files_to_the_other_storage(tmp_path, new_database, source, target):
    kind = "postgresql" if os.environ.get("CRM_TEST_DATABASE_URL") else "sqlite"
    made = make_suite(tmp_path / "a", new_database(kind),
                      extra=FOLDER if source == "folder" else DATABASE)
    one, two = os.urandom(files.CHUNK * 2 + 1), "合同".encode() * 100
    shas = save_some(made, one, two)
    archive = tmp_path / "site.zip"
    assert made.run("backup", str(archive)).exit_code == 0
    made.close()
    from tests.conftest import Suite, write_config
    config = write_config(tmp_path / "b" / "site", [ADDONS], (),
                          FOLDER if target == "folder" else DATABASE)
    restored = Suite(config, new_database(kind))
    restored.kind = target
    result = restored.run("restore", str(archive))
    assert result.exit_code == 0, result.output
    assert set(blob_rows(restored)) == set(shas)
    chunks = restored.sql("SELECT count(*) FROM core_blob_chunk")[0][0]
    if target == "folder":
        assert stored_files(restored) == dict(zip(shas, (one, two))) and chunks == 0
    else:
        assert stored_files(restored) == {} and chunks == 4
    result = restored.run("files", "check")
    assert result.exit_code == 0, result.output
    restored.close()


# -- check and purge ----------------------------------------------------------------------------

def test_files_check_names_damaged_and_missing_contents(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, extra=FOLDER)
    good, damaged, lost = save_some(suite, b"good one", b"damaged one", b"lost one")
    folder = store_folder(suite)
    (folder / damaged[:2] / damaged[2:4] / damaged).write_bytes(b"damaged 0ne")
    (folder / lost[:2] / lost[2:4] / lost).unlink()
    result = suite.run("files", "check")
    assert result.exit_code == 1
    assert f"{damaged}\tcontent changed" in result.output
    assert f"{lost}\tmissing" in result.output
    assert good not in result.output
    assert "2 of 3 stored files have problems" in result.output
    suite.close()


def test_files_check_in_the_database(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, extra=DATABASE)
    good, short = save_some(suite, b"good one", os.urandom(files.CHUNK + 5))
    suite.sql("DELETE FROM core_blob_chunk WHERE sha256 = :sha AND seq = 1", sha=short)
    result = suite.run("files", "check")
    assert result.exit_code == 1
    assert f"{short}\tsize {files.CHUNK}, expected {files.CHUNK + 5}" in result.output
    assert good not in result.output
    suite.close()


def issue(suite, sha256, size):
    """A row of crm_docs' issued documents naming ``sha256``."""
    suite.sql("INSERT INTO crm_issued_document (record_model, record_id, kind, event, filename,"
              " sha256, size, template, recipients, issued_at) VALUES ('Quote', 1, 'quote', "
              "'sent', 'q.pdf', :sha, :size, '', '', CURRENT_TIMESTAMP)", sha=sha256, size=size)


@pytest.mark.parametrize("storage", [FOLDER, DATABASE])
def test_purge_keeps_what_is_referred_to_even_by_a_disabled_addon(tmp_path, database_url,
                                                                 storage):
    suite = make_suite(tmp_path, database_url, addon_paths=(ADDONS,),
                       enabled=["crm_docs"], extra=storage)
    suite.kind = "folder" if storage == FOLDER else "database"
    referred, unused, young, saved_again = save_some(
        suite, PDF, b"nothing refers to me", b"just stored", b"stored again today")
    issue(suite, referred, len(PDF))
    suite.sql("UPDATE core_blob SET created_at = '2020-01-01 00:00:00'")
    suite.sql("UPDATE core_blob SET created_at = CURRENT_TIMESTAMP WHERE sha256 = :sha",
              sha=young)
    save_some(suite, b"stored again today")       # renews its time: an upload uses it
    stray = None
    if suite.kind == "folder":
        stray = store_folder(suite) / "ab" / "cd" / ("abcd" + "0" * 60)
        stray.parent.mkdir(parents=True)
        stray.write_bytes(b"left by a killed process")
        os.utime(stray, (time.time() - 3 * 86400,) * 2)
    assert suite.run("addons", "disable", "crm_docs").exit_code == 0
    result = suite.run("files", "purge")
    assert result.exit_code == 0, result.output
    stray_count = 1 if stray else 0
    assert result.output.strip() == (f"removed 1 stored files ({len(b'nothing refers to me')} "
                                     f"bytes) and {stray_count} stray files")
    assert set(blob_rows(suite)) == {referred, young, saved_again}
    if suite.kind == "folder":
        assert set(stored_files(suite)) == {referred, young, saved_again}
    else:
        assert {row[0] for row in suite.sql("SELECT sha256 FROM core_blob_chunk")} == \
            {referred, young, saved_again}
    assert unused
    # --older-than 0: the young one goes too; the referred one stays.
    result = suite.run("files", "purge", "--older-than", "0")
    assert result.exit_code == 0, result.output
    assert set(blob_rows(suite)) == {referred}
    assert suite.run("files", "check").exit_code == 0
    suite.close()


def test_purge_refuses_while_an_addons_code_is_missing(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, extra=FOLDER)
    save_some(suite, b"someone may refer to me")
    suite.sql("INSERT INTO core_addon (name, enabled, installed_version, changed_at) "
              "VALUES ('gone_addon', false, '1.0.0', CURRENT_TIMESTAMP)")
    result = suite.run("files", "purge", "--older-than", "0")
    assert result.exit_code == 1
    assert "gone_addon, whose code is missing here; nothing was removed" in result.output
    assert len(blob_rows(suite)) == 1
    suite.close()


def test_the_purge_job_is_a_core_job(store_suite):
    save_some(store_suite, b"old and unused")
    store_suite.sql("UPDATE core_blob SET created_at = '2020-01-01 00:00:00'")
    result = store_suite.run("run-job", "core.purge_files")
    assert result.exit_code == 0, result.output
    assert "removed 1 stored files" in result.output
    assert blob_rows(store_suite) == {}
    assert Path(store_suite.config_path).exists()


def test_a_backup_names_stored_files_missing_from_the_folder(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, extra=FOLDER)
    kept, lost = save_some(suite, b"kept", b"lost")
    (store_folder(suite) / lost[:2] / lost[2:4] / lost).unlink()
    result = suite.run("backup", str(tmp_path / "site.zip"))
    assert result.exit_code == 0
    assert f"warning: 1 stored files are missing from the folder and not in the archive " \
           f"({lost}, ...)" in result.stderr
    from tests.core.test_backup import manifest_of
    manifest = manifest_of(tmp_path / "site.zip")
    assert manifest["files"] == {"storage": "folder", "missing": [lost]}
    assert f"store/{kept[:2]}/{kept[2:4]}/{kept}" in manifest["members"]
    suite.close()
