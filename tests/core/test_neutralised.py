"""A neutralised copy (`restore --neutralise`, core.neutral): restored into a fresh
database, it sends nothing (its outbox job is paused and the messages stay queued, with
a mail server listening), runs no scheduled job (each is recorded as skipped, its
function not called), and every page says it is a test copy, in English and Chinese.
The site it was copied from goes on as before."""

import pytest

from core import neutral, outbox
from core.db import db
from core.models import JobState
from core.scheduler import JobSpec, Scheduler, run_job
from tests.conftest import PG_URL, Suite, make_suite

BANNER = "This is a test copy: nothing is sent and scheduled jobs do not run."
BANNER_ZH = "这是一个测试副本：不会发送任何邮件或短信，定时任务也不会运行。"
called = []


def counted():
    called.append(1)


@pytest.fixture
def copy(tmp_path, database_url, new_database, smtp):
    """(the site, its neutralised copy): one email waits in the site's outbox; the copy
    is restored from the site's archive, with the same mail server in its config."""
    mail = f"[mail]\nhost = 127.0.0.1\nport = {smtp.port}\nsender = crm@example.com\ntimeout = 5\n"
    site = make_suite(tmp_path / "site", database_url, enabled=["fixture_notes"], demo=True,
                      extra=mail)
    app = site.app()
    with app.app_context():
        outbox.send_email(["li.lei@example.com"], "Your quote", "Dear Li Lei")
        db.session.commit()
        db.session.remove()
    archive = tmp_path / "site.zip"
    assert site.run("backup", str(archive)).exit_code == 0
    (tmp_path / "copy").mkdir()
    config = tmp_path / "copy" / "config.ini"   # the same settings, another database
    config.write_text(site.config_path.read_text())
    test_copy = Suite(config, new_database("postgresql" if PG_URL else "sqlite"))
    result = test_copy.run("restore", str(archive), "--neutralise")
    assert result.exit_code == 0, result.output
    assert "neutralised copy" in result.output
    yield site, test_copy
    site.close()
    test_copy.close()


def queued(suite):
    return suite.sql("SELECT subject, status, attempts FROM core_message")


def test_a_neutralised_copy_sends_nothing_and_keeps_its_messages(copy, smtp):
    site, test_copy = copy
    result = test_copy.run("run-job", "core.outbox")
    assert "core.outbox: skipped" in result.output
    app = test_copy.app()
    with app.app_context():   # the job's function itself, called directly: paused
        assert neutral.is_neutralised(db.session)
        assert outbox.deliver_due().startswith("paused")
        db.session.remove()
    assert smtp.messages == []
    assert queued(test_copy) == [("Your quote", "queued", 0)]
    # The site it came from is no copy: its outbox sends, to the same server.
    result = site.run("run-job", "core.outbox")
    assert "core.outbox: ok sent 1" in result.output
    assert [message["To"] for message in smtp.messages] == ["li.lei@example.com"]
    assert queued(test_copy) == [("Your quote", "queued", 0)]


def test_a_neutralised_copy_runs_no_scheduled_job(copy):
    site, test_copy = copy
    for job in ("core.backup", "core.clean_uploads"):
        result = test_copy.run("run-job", job)
        assert f"{job}: skipped" in result.output
    assert test_copy.sql("SELECT id, last_status FROM core_job ORDER BY id") == [
        ("core.backup", "skipped"), ("core.clean_uploads", "skipped")]
    folder = test_copy.settings().instance_path / "backups"
    assert not list(folder.glob("crm-*.zip")) if folder.exists() else True
    dispatcher = test_copy.dispatcher()
    with dispatcher.app.app_context():
        called.clear()
        spec = JobSpec(id="test.counted", func=f"{__name__}.counted", trigger="interval",
                       args={"seconds": 60})
        assert run_job(spec) == ("skipped", "test copy: scheduled jobs do not run")
        assert called == []
        assert db.session.get(JobState, "test.counted").last_status == "skipped"
        db.session.remove()
    # The scheduler's own way in, too.
    Scheduler(dispatcher).run("core.outbox")
    assert test_copy.sql("SELECT last_status FROM core_job WHERE id = 'core.outbox'") == [
        ("skipped",)]
    # The original runs its jobs.
    with site.app().app_context():
        assert run_job(spec) == ("ok", "") and called == [1]
        db.session.remove()


def test_every_page_of_a_copy_says_so_in_its_language(copy):
    site, test_copy = copy
    admin = test_copy.admin_client()
    for path in ("/admin/", "/admin/users/", "/admin/backups/", "/admin/jobs/"):
        page = admin.get(path).get_data(as_text=True)
        assert BANNER in page, path
    # One read of the mark per page.
    statements = admin.queries("/admin/users/")
    assert len([s for s in statements if "core_option" in s]) == 1
    test_copy.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'admin'")
    page = admin.get("/admin/").get_data(as_text=True)
    assert BANNER_ZH in page and BANNER not in page
    # The site it came from shows no banner.
    page = site.admin_client().get("/admin/").get_data(as_text=True)
    assert BANNER not in page and BANNER_ZH not in page


def test_neutral_mark_on_a_running_site(suite):
    """neutral.mark on the site's own connection: from the next request on."""
    admin = suite.admin_client()
    assert BANNER not in admin.get("/admin/").get_data(as_text=True)
    app = suite.app()
    with app.app_context():
        neutral.mark(db.session.connection())
        db.session.commit()
        db.session.remove()
    assert BANNER in admin.get("/admin/").get_data(as_text=True)
    assert "core.clean_uploads: skipped" in suite.run("run-job", "core.clean_uploads").output
