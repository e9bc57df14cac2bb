"""The escalation job (crm_service.escalate): a warning when 80 % of a target is used,
then on the breach a notice to the assignee and the team leader, the priority raised
and the ticket reassigned as the policy says; each once however often the job runs, and
with two scheduler processes at the same moment. Also the closing of tickets resolved
some days ago."""
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta

import pytest

from addons.crm_service import jobs
from tests.addons.crm_contacts.helpers import add_user, user_id
from tests.conftest import ROOT

SHANGHAI = timedelta(hours=8)


def utc(*local):
    return datetime(*local) - SHANGHAI


@pytest.fixture
def desk(service_suite):
    """ann (agent) in team North led by lea; a policy: first response 60, resolution
    450 working minutes, warning at 80 %, raise the priority and hand to max on breach."""
    suite = service_suite
    for name in ("ann", "lea", "max"):
        add_user(suite, name, "service_agent")
    people = {name: user_id(suite, name) for name in ("ann", "lea", "max")}
    suite.sql("INSERT INTO core_team (name, leader_id) VALUES ('North', :l)", l=people["lea"])
    team = suite.sql("SELECT id FROM core_team WHERE name = 'North'")[0][0]
    suite.sql("INSERT INTO core_team_member (team_id, user_id) VALUES (:t, :u)",
              t=team, u=people["ann"])
    suite.sql("INSERT INTO svc_sla_policy (name, sequence, active, first_response_minutes, "
              "resolution_minutes, warning_percent, raise_priority, reassign_to_id) "
              "VALUES ('Escalating', 1, :t, 60, 450, 80, :t, :m)", t=True, m=people["max"])
    return suite, people, team


def open_ticket(suite, people, team, created, calendar_id=None):
    """A ticket of ann's opened at ``created`` (UTC), open since."""
    from addons.crm_service.models import Ticket
    from core.db import db
    app = suite.app()
    with app.app_context():
        ticket = Ticket(subject="Printer jams", channel="phone", owner_id=people["ann"],
                        team_id=team)
        db.session.add(ticket)
        db.session.commit()
        ticket_id = ticket.id
    policy = suite.sql("SELECT id FROM svc_sla_policy WHERE name = 'Escalating'")[0][0]
    if calendar_id is not None:
        suite.sql("UPDATE svc_sla_policy SET calendar_id = :c WHERE id = :p", c=calendar_id,
                  p=policy)
    suite.sql("UPDATE svc_ticket_state_change SET at = :a WHERE ticket_id = :t",
              a=created, t=ticket_id)
    # The index as a flush leaves it: the job looks at the ticket on its next run.
    suite.sql("UPDATE svc_ticket SET created_at = :a, state = 'open', sla_policy_id = :p, "
              "priority = 'normal', sla_warn_at = :a WHERE id = :t",
              a=created, p=policy, t=ticket_id)
    return app, ticket_id


def run(app, now):
    with app.app_context():
        return jobs.escalate(now=now)


def notices(suite, username=None):
    rows = suite.sql("SELECT u.username, n.title FROM core_notification n JOIN core_user u "
                     "ON u.id = n.user_id WHERE n.key LIKE 'crm_service.sla:%' ORDER BY n.id")
    return [title for name, title in rows if username in (None, name)]


def ticket_row(suite, ticket):
    return suite.sql("SELECT priority, owner_id, sla_warn_at FROM svc_ticket WHERE id = :t",
                     t=ticket)[0]


def test_warning_then_breach_each_once(desk):
    suite, people, team = desk
    monday_9 = utc(2026, 3, 2, 9, 0)
    app, ticket = open_ticket(suite, people, team, monday_9)

    assert run(app, utc(2026, 3, 2, 9, 30)) == "0 escalated"   # half the hour used
    assert notices(suite) == []
    # The job moved the ticket's next look to the warning (80 % of 60 min: 09:48).
    assert str(ticket_row(suite, ticket)[2])[:16] == "2026-03-02 01:48"   # UTC

    for _run in range(3):
        run(app, utc(2026, 3, 2, 9, 50))
    number = suite.sql("SELECT number FROM svc_ticket WHERE id = :t", t=ticket)[0][0]
    assert notices(suite, "ann") == [
        f"SLA warning: first response of {number} is due at 2026-03-02 10:00"]
    assert notices(suite, "lea") == []
    assert ticket_row(suite, ticket)[:2] == ("normal", people["ann"])

    for _run in range(3):
        run(app, utc(2026, 3, 2, 10, 5))
    breach = f"SLA breached: first response of {number} was due at 2026-03-02 10:00"
    assert notices(suite, "ann")[1:] == [breach]
    assert notices(suite, "lea") == [breach]
    assert notices(suite, "max") == [breach]   # the ticket is now theirs
    priority, owner, _next = ticket_row(suite, ticket)
    assert (priority, owner) == ("high", people["max"])
    # The policy stays what it was (not the stricter one for a high priority).
    assert suite.sql("SELECT p.name FROM svc_ticket t JOIN svc_sla_policy p "
                     "ON p.id = t.sla_policy_id WHERE t.id = :t", t=ticket)[0][0] == "Escalating"
    # The reassignment is in the audit trail, made by the application.
    assert suite.sql("SELECT count(*) FROM core_audit WHERE model = 'Ticket' "
                     "AND record_id = :t AND action = 'update'", t=ticket)[0][0] >= 1
    levels = suite.sql("SELECT target, level FROM svc_sla_escalation ORDER BY id")
    assert [tuple(row) for row in levels] == [("first response", "warning"),
                                              ("first response", "breach")]

    # Much later, still running: the resolution warns and breaches once too; the
    # priority goes one step further, once.
    for _run in range(2):
        run(app, utc(2026, 3, 3, 17, 0))
    assert [tuple(row) for row in suite.sql(
        "SELECT target, level FROM svc_sla_escalation ORDER BY id")][2:] == [
        ("resolution", "breach")]
    assert ticket_row(suite, ticket)[0] == "urgent"


def test_a_waiting_ticket_is_not_escalated(desk):
    suite, people, team = desk
    monday_9 = utc(2026, 3, 2, 9, 0)
    app, ticket = open_ticket(suite, people, team, monday_9)
    suite.sql("INSERT INTO svc_ticket_state_change (ticket_id, state, at) VALUES "
              "(:t, 'waiting for customer', :a)", t=ticket, a=utc(2026, 3, 2, 9, 20))
    suite.sql("UPDATE svc_ticket SET state = 'waiting for customer' WHERE id = :t", t=ticket)
    run(app, utc(2026, 3, 4, 9, 0))
    assert notices(suite) == []
    assert ticket_row(suite, ticket)[2] is None   # nothing to look at until it resumes


def test_two_scheduler_processes_escalate_once(desk):
    """Two `python run.py run-job crm_service.escalate` at the same moment, on a calendar
    that is always working (the real clock): one notice per person, whichever process
    made it."""
    suite, people, team = desk
    suite.sql("INSERT INTO svc_calendar (name, is_default, time_zone) "
              "VALUES ('Always', :f, 'Asia/Shanghai')", f=False)
    calendar = suite.sql("SELECT id FROM svc_calendar WHERE name = 'Always'")[0][0]
    for weekday in range(7):
        suite.sql("INSERT INTO svc_working_period (calendar_id, weekday, start, \"end\") "
                  "VALUES (:c, :w, :s, :e)", c=calendar, w=weekday, s="00:00:00",
                  e="00:00:00")
    created = datetime.utcnow() - timedelta(hours=3)
    tickets = [open_ticket(suite, people, team, created, calendar)[1] for _n in range(30)]
    env = {**os.environ, **suite.env}
    command = [sys.executable, str(ROOT / "run.py"), "run-job", "crm_service.escalate"]
    processes = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _n in range(2)]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    # Each ticket breached both targets (3 hours of 1 and 7.5... of resolution: not yet):
    # first response breached once per ticket.
    rows = suite.sql("SELECT ticket_id, target, level FROM svc_sla_escalation")
    assert sorted(tuple(row) for row in rows) == sorted(
        (ticket, "first response", "breach") for ticket in tickets)
    assert len(notices(suite, "ann")) == 30 and len(notices(suite, "lea")) == 30
    assert suite.sql("SELECT DISTINCT priority FROM svc_ticket WHERE id IN ({})".format(
        ",".join(map(str, tickets))))[0][0] == "high"


def test_two_threads_at_once_notify_once(desk):
    suite, people, team = desk
    monday_9 = utc(2026, 3, 2, 9, 0)
    apps = []
    for _n in range(20):
        app, _ticket = open_ticket(suite, people, team, monday_9)
        apps.append(app)
    other = suite.dispatcher().app
    start = threading.Barrier(2)
    errors = []

    def work(app):
        try:
            start.wait()
            run(app, utc(2026, 3, 2, 10, 5))
        except Exception as exc:   # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(app,)) for app in (apps[0], other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert len(notices(suite, "lea")) == 20
    assert suite.sql("SELECT count(*) FROM svc_sla_escalation")[0][0] == 20


def test_close_resolved_after_the_set_days(desk):
    suite, people, team = desk
    app, old = open_ticket(suite, people, team, utc(2026, 3, 2, 9, 0))
    _app, recent = open_ticket(suite, people, team, utc(2026, 3, 2, 9, 0))
    now = datetime.utcnow()
    for ticket, resolved in ((old, now - timedelta(days=8)), (recent, now - timedelta(days=2))):
        suite.sql("UPDATE svc_ticket SET state = 'resolved', resolved_at = :r WHERE id = :t",
                  r=resolved, t=ticket)
    with app.app_context():
        assert jobs.close_resolved() == "1 closed"
    states = dict(suite.sql("SELECT id, state FROM svc_ticket WHERE id IN (:a, :b)",
                            a=old, b=recent))
    assert states == {old: "closed", recent: "resolved"}
    assert suite.sql("SELECT state FROM svc_ticket_state_change WHERE ticket_id = :t "
                     "ORDER BY at DESC, id DESC LIMIT 1", t=old)[0][0] == "closed"
