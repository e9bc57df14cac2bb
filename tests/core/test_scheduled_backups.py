"""Scheduled backups (core.backups): retention over a simulated month and a half, the
core.backup job writing a verified archive and removing old ones, a failing backup
telling the administrators and leaving nothing behind, and Settings > Backups (list,
Back up now, Verify, Download; administrators only; only listed names)."""
import json
import os
import re
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core import backup, backups
from core.config import ConfigError, load_settings
from core.db import db
from core.scheduler import job_specs, run_job
from tests.conftest import make_suite

PASSWORD = "backups pass 12"
SCREEN = "/admin/backups/"


# -- retention: a pure function of the archives' times -----------------------------------

def day(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M")


# One archive a day at 02:30 for 45 days: 2026-01-01 (a Thursday) to 2026-02-14 (a
# Saturday). Kept with 7 days, 4 ISO weeks, 2 months:
EXPECTED = {
    # the last 7 days
    "2026-02-08", "2026-02-09", "2026-02-10", "2026-02-11", "2026-02-12", "2026-02-13",
    "2026-02-14",
    # the newest of the last 4 weeks (Monday to Sunday): Feb 9-15 (the 14th), Feb 2-8
    # (the 8th), Jan 26-Feb 1 (the 1st), Jan 19-25 (the 25th)
    "2026-02-01", "2026-01-25",
    # the newest of the last 2 months: February's (the 14th) and January's
    "2026-01-31",
}
DAYS = [datetime(2026, 1, 1, 2, 30) + timedelta(days=number) for number in range(45)]


def test_retention_keeps_the_newest_of_each_day_week_and_month():
    kept = backups.to_keep(DAYS, keep_daily=7, keep_weekly=4, keep_monthly=2)
    assert {moment.strftime("%Y-%m-%d") for moment in kept} == EXPECTED
    # The newest of a day wins over the day's earlier ones (a "Back up now" at noon).
    noon = day("2026-02-14 12:00")
    kept = backups.to_keep(DAYS + [noon], keep_daily=7, keep_weekly=4, keep_monthly=2)
    assert noon in kept and day("2026-02-14 02:30") not in kept
    assert len(kept) == len(EXPECTED)
    # Days that have an archive are counted, not calendar days: backups that stopped
    # for a month leave the last week of them in place.
    assert len(backups.to_keep(DAYS[:20], 7, 0, 0)) == 7
    assert backups.to_keep([], 7, 4, 12) == set()


def test_retention_run_daily_over_the_folder_leaves_the_same_set(tmp_path):
    """The job prunes after each day's archive: what is left after 45 days is what
    retention keeps of the 45, and no other file of the folder is touched."""
    folder = tmp_path / "backups"
    folder.mkdir()
    others = ["before-restore-20260105-101010.zip", "notes.txt", "crm-latest.zip",
              "crm-2026-01-01.zip"]
    for name in others:
        (folder / name).write_text("not ours")
    schedule = backups.Plan(folder=folder, keep_daily=7, keep_weekly=4, keep_monthly=2)
    for moment in DAYS:
        archive = folder / f"crm-{moment:%Y%m%d-%H%M%S}.zip"
        archive.write_bytes(b"archive")
        backups.sidecar(archive).write_text('{"ok": true}')
        backups.prune(folder, schedule)
    left = sorted(path.name for path in folder.iterdir())
    ours = [f"crm-{text.replace('-', '')}-023000.zip" for text in EXPECTED]
    assert left == sorted(ours + [name + ".json" for name in ours] + others)


def test_plan_reads_backup_settings_and_refuses_wrong_ones(tmp_path):
    def plan_of(text):
        config = tmp_path / "config.ini"
        config.write_text("[core]\ninstance_path = inst\n[backup]\n" + text)
        return backups.plan(load_settings(config))

    default = plan_of("")
    assert default.folder == tmp_path / "inst" / "backups"
    assert (default.hour, default.minute, default.keep_daily, default.keep_weekly,
            default.keep_monthly) == (2, 30, 7, 4, 12)
    relative = plan_of("folder = ../elsewhere\ntime = 23:05\nkeep_monthly = 0")
    assert relative.folder == (tmp_path.parent / "elsewhere").resolve()
    assert (relative.time, relative.keep_monthly) == ("23:05", 0)
    for wrong, key in (("time = 24:00", "time"), ("time = noon", "time"),
                       ("keep_weekly = -1", "keep_weekly"), ("keep_daily = 0", "keep_daily")):
        with pytest.raises(ConfigError, match=rf"\[backup\] {key}"):
            plan_of(wrong)


# -- the job ------------------------------------------------------------------------------

@pytest.fixture
def site(tmp_path, database_url):
    """A site whose archives go to backups/ beside its config.ini, keeping 2 days."""
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes"], demo=True,
                       extra="[backup]\nfolder = backups\nkeep_daily = 2\nkeep_weekly = 0\n"
                             "keep_monthly = 0\n")
    suite.sql("UPDATE core_user SET email = 'boss@example.com' WHERE username = 'admin'")
    suite.folder = tmp_path / "site" / "backups"
    yield suite
    backups.wait()
    suite.close()


def partial_files(root):
    return [path for path in Path(root).rglob("*") if "partial" in path.name]


def test_the_job_writes_a_verified_archive_and_removes_old_ones(site, tmp_path):
    folder = site.folder
    folder.mkdir()
    for name in ("crm-20200101-023000.zip", "crm-20200102-023000.zip",
                 "before-restore-20200101-120000.zip", "keep-me.zip"):
        (folder / name).write_bytes(b"old")
    # What a backup killed mid-way left two hours ago; the check of an archive removed
    # by hand.
    killed = folder / ".crm-20200103-023000.zip.partial"
    killed.write_bytes(b"half")
    os.utime(killed, (time.time() - 7200, time.time() - 7200))
    (folder / "crm-20190101-023000.zip.json").write_text('{"ok": true}')
    result = site.run("run-job", "core.backup")
    assert result.exit_code == 0, result.output
    assert "core.backup: ok" in result.output and "verified" in result.output
    made = [path for path in folder.glob("crm-*.zip") if not path.name.startswith("crm-2020")]
    [archive] = made
    assert re.fullmatch(r"crm-\d{8}-\d{6}\.zip", archive.name)
    manifest, tables = backup.verify(archive)
    assert "fixture_note" in manifest["tables"] and tables
    check = json.loads(backups.sidecar(archive).read_text())
    assert check["ok"] is True and check["verified_at"] and check["tables"] == len(tables)
    # 2 days kept: today's and the newest before it; the rest of ours removed, others
    # (a restore's safety backup, a file of someone else's) left alone.
    assert sorted(path.name for path in folder.iterdir()) == sorted([
        archive.name, archive.name + ".json", "crm-20200102-023000.zip",
        "before-restore-20200101-120000.zip", "keep-me.zip"])
    assert "removed 1 old archives" in result.output
    assert site.sql("SELECT last_status FROM core_job WHERE id = 'core.backup'") == [("ok",)]
    assert not partial_files(tmp_path)


def test_the_job_is_scheduled_at_the_configured_time(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, extra="[backup]\ntime = 03:45\n")
    app = suite.app()
    with app.app_context():
        spec = job_specs(app.extensions["crm"])["core.backup"]
        assert str(spec.make_trigger()).startswith("cron[hour='3', minute='45'")
        assert spec.schedule() == "Every day at 03:45" and spec.title() == "Back up the site"
    suite.close()


def failure_notices(site):
    return site.sql("SELECT u.username, n.title, n.body, n.link FROM core_notification n "
                    "JOIN core_user u ON u.id = n.user_id ORDER BY u.username")


def test_a_failing_backup_tells_every_active_administrator(site, tmp_path):
    # Another administrator, reading Chinese; an inactive one; a user who is none.
    for username, groups in (("second", ["--groups", "admin"]), ("gone", ["--groups", "admin"]),
                             ("clerk", [])):
        assert site.run("create-user", "--username", username, "--password", PASSWORD,
                        *groups).exit_code == 0
    site.sql("UPDATE core_user SET email = username || '@example.com' "
             "WHERE username IN ('second', 'gone', 'clerk')")
    site.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'second'")
    site.sql("UPDATE core_user SET active = false WHERE username = 'gone'")
    site.folder.write_text("a file where the folder should be")

    result = site.run("run-job", "core.backup")
    assert result.exit_code == 1 and "core.backup: error" in result.output
    notices = failure_notices(site)
    assert [row[0] for row in notices] == ["admin", "second"]
    (_, title, body, link), (_, title_zh, body_zh, _) = notices
    assert title == "The backup failed" and "was not made" in body
    assert "File exists" in body or "Not a directory" in body
    assert str(site.folder) in body and link == SCREEN
    assert title_zh == "备份失败" and str(site.folder) in body_zh
    emails = site.sql("SELECT recipients, subject, status FROM core_message ORDER BY recipients")
    assert emails == [("boss@example.com", "The backup failed", "queued"),
                      ("second@example.com", "备份失败", "queued")]
    assert site.sql("SELECT last_status FROM core_job WHERE id = 'core.backup'") == [("error",)]
    assert site.folder.read_text() == "a file where the folder should be"
    assert not partial_files(tmp_path)


def test_a_damaged_archive_is_a_failure_and_is_not_kept(site, tmp_path, monkeypatch):
    def damaged(path):
        raise backup.BackupError(f"{path}: tables/core_user is damaged (CRC)")

    monkeypatch.setattr(backup, "verify", damaged)
    app = site.app()
    with app.app_context():
        status, message = run_job(job_specs(app.extensions["crm"])["core.backup"])
        db.session.remove()
    assert status == "error" and "damaged" in message
    assert list(site.folder.iterdir()) == []     # neither the archive nor its check
    [(_, title, body, _)] = failure_notices(site)
    assert "tables/core_user is damaged (CRC)" in body and str(site.folder) not in body
    assert not partial_files(tmp_path)


def test_a_failure_while_writing_leaves_no_partial_file(site, tmp_path, monkeypatch):
    original = backup.table_text

    def disk_full(connection, table, columns):
        yield from original(connection, table, columns)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "table_text", disk_full)
    app = site.app()
    with app.app_context():
        status, message = run_job(job_specs(app.extensions["crm"])["core.backup"])
        db.session.remove()
    assert status == "error" and "No space left on device" in message
    assert list(site.folder.iterdir()) == []
    assert "No space left on device" in failure_notices(site)[0][2]
    assert not partial_files(tmp_path)


# -- Settings > Backups -----------------------------------------------------------------------

def test_the_backups_screen_lists_backs_up_verifies_and_downloads(site):
    admin = site.admin_client()
    page = admin.get(SCREEN).get_data(as_text=True)
    assert "No archive yet." in page and "02:30" in page and str(site.folder) in page
    assert 'href="/admin/backups/"' in page   # under Settings

    response = admin.post_form(SCREEN + "now", {}, token_from=SCREEN)
    assert response.status_code == 302
    backups.wait()
    [archive] = site.folder.glob("crm-*.zip")
    page = admin.get(SCREEN).get_data(as_text=True)
    assert archive.name in page and "Verified" in page and "No archive yet." not in page
    assert re.search(r"\d+(\.\d)? (KB|MB)", page)
    made = datetime.strptime(archive.name[4:19], "%Y%m%d-%H%M%S")
    assert made.strftime("%Y-%m-%d %H:%M") in page

    # Download: the archive's bytes, as an attachment.
    response = admin.get(SCREEN + "download/" + archive.name)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f"attachment; filename={archive.name}"
    assert response.get_data() == archive.read_bytes()

    # Verify an archive with bytes gone bad in a table: the screen says so.
    damage(archive)
    response = admin.post_form(SCREEN + "verify/" + archive.name, {}, token_from=SCREEN)
    assert response.status_code == 302
    backups.wait()
    page = admin.get(SCREEN).get_data(as_text=True)
    assert "Damaged" in page and "Verified" not in page
    assert not json.loads(backups.sidecar(archive).read_text())["ok"]


def damage(archive):
    """Overwrite a few bytes in the middle of the archive's biggest table."""
    with zipfile.ZipFile(archive) as opened:
        member = max((info for info in opened.infolist() if info.filename.startswith("tables/")),
                     key=lambda info: info.compress_size)
    data = bytearray(archive.read_bytes())
    header = member.header_offset
    start = (header + 30 + int.from_bytes(data[header + 26:header + 28], "little")
             + int.from_bytes(data[header + 28:header + 30], "little"))
    middle = start + member.compress_size // 2
    data[middle:middle + 8] = bytes(255 - byte for byte in data[middle:middle + 8])
    archive.write_bytes(bytes(data))


def test_only_listed_archives_can_be_downloaded(site, tmp_path):
    site.folder.mkdir()
    safety = site.folder / "before-restore-20260101-120000.zip"
    safety.write_bytes(b"PK safety")
    (site.folder / "notes.zip").write_bytes(b"not an archive of ours")
    (tmp_path / "site" / "secret.zip").write_bytes(b"secret")
    admin = site.admin_client()
    page = admin.get(SCREEN).get_data(as_text=True)
    assert safety.name in page and "notes.zip" not in page and "Not checked" in page
    assert admin.get(SCREEN + "download/" + safety.name).get_data() == b"PK safety"
    for name in ("notes.zip", "crm-20260101-000000.zip", "../secret.zip", "..%2Fsecret.zip",
                 "%2E%2E%2Fsecret.zip", "..%2F..%2Fsite%2Fconfig.ini", "config.ini.json"):
        assert admin.get(SCREEN + "download/" + name).status_code == 404, name
    assert admin.post_form(SCREEN + "verify/notes.zip", {}, token_from=SCREEN).status_code == 404


def test_one_backup_at_a_time(site):
    admin = site.admin_client()
    app = site.app()
    with app.app_context():
        held = backups.acquire({"task": "backup"})
    try:
        page = admin.get(SCREEN).get_data(as_text=True)
        assert "A backup is running" in page and 'http-equiv="refresh"' in page
        response = admin.post_form(SCREEN + "now", {}, token_from=SCREEN)
        page = admin.get(response.headers["Location"]).get_data(as_text=True)
        assert "already running" in page
        with app.app_context():   # the scheduled job meanwhile: no second backup
            assert "already running" in backups.scheduled_backup()
    finally:
        backups.release(held)
    assert not site.folder.exists() or not list(site.folder.glob("crm-*.zip"))
    assert "A backup is running" not in admin.get(SCREEN).get_data(as_text=True)


def test_the_backups_screen_is_for_administrators_only(site):
    site.folder.mkdir()
    (site.folder / "crm-20260101-023000.zip").write_bytes(b"PK")
    assert site.run("create-user", "--username", "clerk", "--password", PASSWORD).exit_code == 0
    clerk = site.client()
    clerk.login("clerk", PASSWORD)
    assert clerk.get(SCREEN).status_code == 403
    assert clerk.get(SCREEN + "download/crm-20260101-023000.zip").status_code == 403
    for path in ("now", "verify/crm-20260101-023000.zip"):
        assert clerk.post_form(SCREEN + path, {}).status_code == 403
    backups.wait()
    assert [path.name for path in site.folder.iterdir()] == ["crm-20260101-023000.zip"]
    assert 'href="/admin/backups/"' not in clerk.get("/admin/").get_data(as_text=True)
    assert site.client().get(SCREEN).status_code in (302, 403)   # a visitor


def test_the_backups_screen_reads_in_chinese(site):
    admin = site.admin_client()
    site.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
    admin.post_form(SCREEN + "now", {}, token_from=SCREEN)
    backups.wait()
    page = admin.get(SCREEN).get_data(as_text=True)
    for text in ("备份", "立即备份", "已校验", "下载"):
        assert text in page, text
    assert "Back up now" not in page and "Verified" not in page
