"""Market tasks (crm_marketing.tasks): the assignee's own list and the "mine" filter,
done and reopened only through the workflow, overdue shown red, and the daily
reminder: once per task and day, never for a done task, in a constant number of
statements."""
import re
from datetime import date, timedelta

from sqlalchemy import event

from addons.crm_marketing import tasks
from core.db import db
from tests.addons.crm_marketing.marketing_helpers import app_of, user

LIST = "/admin/market-task/"
JOB = "crm_marketing.task_reminders"


def add_task(suite, title, owner_id, due_on=None, state="to do"):
    return suite.sql(
        "INSERT INTO mkt_task (title, owner_id, due_on, state, created_at, updated_at) "
        "VALUES (:t, :o, :d, :s, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id",
        t=title, o=owner_id, d=due_on, s=state)[0][0]


def reminders(suite):
    return suite.sql("SELECT user_id, title, link, key FROM core_notification "
                     "WHERE key LIKE 'crm_marketing.task:%' ORDER BY id")


def listed_titles(client, query=""):
    page = client.get(LIST + query)
    assert page.status_code == 200
    return sorted(set(re.findall(r"Task [A-Z]\w*", page.get_data(as_text=True))))


def test_assignees_see_their_own_tasks_and_managers_filter_theirs(marketing_suite):
    mia, mia_id = user(marketing_suite, "mia", "marketing_user")
    max_client, max_id = user(marketing_suite, "max", "marketing_user")
    boss, boss_id = user(marketing_suite, "boss", "marketing_manager")
    add_task(marketing_suite, "Task Mia", mia_id)
    add_task(marketing_suite, "Task Max", max_id)
    add_task(marketing_suite, "Task Boss", boss_id)
    assert listed_titles(mia) == ["Task Mia"]
    assert listed_titles(max_client) == ["Task Max"]
    assert listed_titles(boss) == ["Task Boss", "Task Max", "Task Mia"]
    assert listed_titles(boss, "?flt0_assignee_is=me") == ["Task Boss"]
    assert listed_titles(mia, "?flt0_assignee_is=me") == ["Task Mia"]
    # Another's task answers 404, as one that does not exist.
    other = marketing_suite.sql("SELECT id FROM mkt_task WHERE title = 'Task Max'")[0][0]
    assert mia.get(f"{LIST}details/?id={other}").status_code == 404


def test_done_and_reopen_only_through_the_workflow(marketing_suite):
    mia, mia_id = user(marketing_suite, "mia", "marketing_user")
    new = f"{LIST}new/"
    response = mia.post_form(new, {"title": "Task Brochure", "due_on": "2026-03-02"},
                             token_from=new)
    assert response.status_code == 302
    [(task_id, owner, state, done_at)] = marketing_suite.sql(
        "SELECT id, owner_id, state, done_at FROM mkt_task")
    assert (owner, state, done_at) == (mia_id, "to do", None)
    # The form has no state: a posted one is ignored.
    mia.post_form(f"{LIST}edit/?id={task_id}", {"title": "Task Brochure", "state": "done"},
                  token_from=f"{LIST}edit/?id={task_id}")
    assert marketing_suite.sql("SELECT state FROM mkt_task") == [("to do",)]
    details = f"{LIST}details/?id={task_id}"
    assert mia.post_form(f"{LIST}transition/done/?id={task_id}", {},
                         token_from=details).status_code == 302
    state, done_at = marketing_suite.sql("SELECT state, done_at FROM mkt_task")[0]
    assert state == "done" and done_at is not None
    assert mia.post_form(f"{LIST}transition/reopen/?id={task_id}", {},
                         token_from=details).status_code == 302
    assert marketing_suite.sql("SELECT state, done_at FROM mkt_task") == [("to do", None)]
    # Marked done in bulk from the list, too.
    mia.post_form(f"{LIST}action/", {"action": "transition:done", "rowid": [str(task_id)]},
                  token_from=LIST)
    assert marketing_suite.sql("SELECT state FROM mkt_task") == [("done",)]


def test_overdue_open_tasks_are_red(marketing_suite):
    mia, mia_id = user(marketing_suite, "mia", "marketing_user")
    yesterday = date.today() - timedelta(days=1)
    add_task(marketing_suite, "Task Late", mia_id, yesterday)
    add_task(marketing_suite, "Task Finished", mia_id, yesterday, state="done")
    add_task(marketing_suite, "Task Later", mia_id, date.today() + timedelta(days=3))
    page = mia.get(LIST).get_data(as_text=True)
    red = re.findall(r'crm-task-overdue"[^>]*>([^<]+)<', page)
    assert red == [yesterday.isoformat()]


def test_reminders_once_a_day_for_open_tasks_due(marketing_suite):
    _mia, mia_id = user(marketing_suite, "mia", "marketing_user")
    _max, max_id = user(marketing_suite, "max", "marketing_user")
    today = date.today()
    late = add_task(marketing_suite, "Task Late", mia_id, today - timedelta(days=2))
    due = add_task(marketing_suite, "Task Today", max_id, today)
    add_task(marketing_suite, "Task Tomorrow", mia_id, today + timedelta(days=1))
    add_task(marketing_suite, "Task Finished", mia_id, today - timedelta(days=1), state="done")
    add_task(marketing_suite, "Task Undated", mia_id)
    add_task(marketing_suite, "Task Nobody's", None, today)
    result = marketing_suite.run("run-job", JOB)
    assert result.exit_code == 0 and "2 task reminders" in result.output, result.output
    assert reminders(marketing_suite) == [
        (mia_id, "Overdue task: Task Late", f"/admin/market-task/details/?id={late}",
         f"crm_marketing.task:{late}:{today.isoformat()}"),
        (max_id, "Task due today: Task Today", f"/admin/market-task/details/?id={due}",
         f"crm_marketing.task:{due}:{today.isoformat()}")]
    # Again the same day: nothing new.
    result = marketing_suite.run("run-job", JOB)
    assert "0 task reminders" in result.output
    assert len(reminders(marketing_suite)) == 2
    # The next day, the tasks still open remind again; one done meanwhile does not.
    marketing_suite.sql("UPDATE mkt_task SET state = 'done' WHERE id = :i", i=due)
    with app_of(marketing_suite):
        assert tasks.remind_due(today + timedelta(days=1)) == "2 task reminders"
    titles = [row[1] for row in reminders(marketing_suite)[2:]]
    assert titles == ["Overdue task: Task Late", "Task due today: Task Tomorrow"]


def test_reminders_take_a_constant_number_of_statements(marketing_suite):
    owners = [user(marketing_suite, f"user{number}", "marketing_user")[1] for number in range(6)]
    marketing_suite.sql("UPDATE core_user SET notify_by_email = true, email = 'u0@example.cn' "
                        "WHERE id = :i", i=owners[0])

    def statements_for(count, day):
        for number in range(count):
            add_task(marketing_suite, f"Task {number}", owners[number % len(owners)], day)
        with app_of(marketing_suite):
            seen = []
            listener = lambda *args: seen.append(args[2])   # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                tasks.remind_due(day)
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            db.session.remove()
        return [statement for statement in seen if "core_message" not in statement]

    few = statements_for(3, date(2026, 3, 2))
    marketing_suite.sql("DELETE FROM mkt_task")
    many = statements_for(30, date(2026, 3, 3))
    assert len(few) == len(many), (few, many)
    assert len(reminders(marketing_suite)) == 33
    # The assignee who asked for e-mail copies gets one of each reminder.
    assert marketing_suite.sql("SELECT count(*) FROM core_message") == [(1 + 5,)]
