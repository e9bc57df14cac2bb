"""Scheduled jobs: declared in manifests, run on their trigger, stopped by disabling
their addon, recorded, and failing without harm."""
import re
import time
from datetime import datetime, timezone

import pytest

from core.db import db
from core.models import JobState
from core.scheduler import JobSpec, Scheduler, run_job
from tests.conftest import make_suite

PASSWORD = "scheduler pass 1"


def broken():
    raise RuntimeError("the supplier's API is down")


@pytest.fixture
def tasks(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, enabled=["fixture_notes", "fixture_tasks"])
    suite.run("create-user", "--username", "pat", "--password", PASSWORD, "--groups", "tasks_user")
    sql = suite.sql
    pat = sql("SELECT id FROM core_user WHERE username = 'pat'")[0][0]
    for title in ("ring the bank", "send the catalogue"):
        sql("INSERT INTO fixture_task (title, done, owner_id, created_at, updated_at) VALUES "
            "(:t, false, :o, '2026-01-01', '2026-01-01')", t=title, o=pat)
    sql("INSERT INTO fixture_task (title, done, owner_id, created_at, updated_at) VALUES "
        "('finished', true, :o, '2026-01-01', '2026-01-01')", o=pat)
    yield suite, sql, pat
    suite.close()


def reminders(sql, user_id):
    return sorted(row[0] for row in sql(
        "SELECT title FROM core_notification WHERE user_id = :u", u=user_id))


def test_job_runs_on_its_trigger_and_stops_when_the_addon_is_disabled(tasks):
    suite, sql, pat = tasks
    scheduler = Scheduler(suite.dispatcher(), sync_seconds=3600)
    scheduler.start()
    try:
        assert scheduler.job_ids() == ["core.approval_deadlines", "core.backup",
                                       "core.clean_uploads", "core.fetch_mail", "core.outbox",
                                       "core.purge_files", "core.webhooks", "tasks.remind_open"]
        job = scheduler.scheduler.get_job("tasks.remind_open")
        assert str(job.trigger) == "cron[hour='8', minute='0']"
        # Drive the clock: make the job due now instead of at 08:00.
        job.modify(next_run_time=datetime.now(timezone.utc))
        scheduler.scheduler.wakeup()
        deadline = time.time() + 10
        while not reminders(sql, pat) and time.time() < deadline:
            time.sleep(0.1)
        assert reminders(sql, pat) == ["Open task: ring the bank", "Open task: send the catalogue"]

        suite.run("addons", "disable", "fixture_tasks")
        scheduler.sync()
        assert scheduler.job_ids() == ["core.approval_deadlines", "core.backup",
                                       "core.clean_uploads", "core.fetch_mail", "core.outbox",
                                       "core.purge_files", "core.webhooks"]
        sql("DELETE FROM core_notification")
        scheduler.run("tasks.remind_open")   # a run already due when it was disabled
        assert reminders(sql, pat) == []
    finally:
        scheduler.shutdown()


def test_running_a_reminder_job_twice_reminds_once(tasks):
    suite, sql, pat = tasks
    for _run in range(2):
        result = suite.run("run-job", "tasks.remind_open")
        assert result.exit_code == 0
    assert "tasks.remind_open: ok 0 reminders" in result.output
    assert len(reminders(sql, pat)) == 2


def test_failing_job_is_recorded_and_does_not_raise(tasks):
    suite, sql, pat = tasks
    app = suite.app()
    with app.app_context():
        spec = JobSpec(id="test.broken", func="tests.core.test_scheduler.broken",
                       trigger="interval", args={"minutes": 5})
        status, message = run_job(spec)
        assert status == "error" and "the supplier's API is down" in message
        row = db.session.get(JobState, "test.broken")
        assert row.last_status == "error" and "RuntimeError" in row.last_message
        db.session.remove()


def test_jobs_page_lists_and_runs_jobs(tasks):
    suite, sql, pat = tasks
    admin = suite.admin_client()
    page = admin.get("/admin/jobs/").get_data(as_text=True)
    # Jobs by their labels (an unlabelled one by its id), addons by their names, and
    # when they run in words.
    assert "Send the outbox" in page and "Every 30 seconds" in page
    assert "tasks.remind_open" in page and "Every day at 08:00" in page
    shown = re.sub(r"<[^>]+>", " ", page)   # the text, not the rows' ids
    assert "fixture_tasks" not in shown and "core.outbox" not in shown
    response = admin.post_form("/admin/jobs/run/tasks.remind_open", {}, token_from="/admin/jobs/")
    assert response.status_code == 302
    page = admin.get("/admin/jobs/").get_data(as_text=True)
    assert "2 reminders" in page
    assert len(reminders(sql, pat)) == 2
    user = suite.client()
    user.login("pat", PASSWORD)
    assert user.get("/admin/jobs/").status_code == 403
    assert user.post_form("/admin/jobs/run/tasks.remind_open", {}).status_code == 403


def test_unknown_job_on_the_command_line(tasks):
    suite, sql, pat = tasks
    result = suite.run("run-job", "nope")
    assert result.exit_code == 1 and "no job nope" in result.output
