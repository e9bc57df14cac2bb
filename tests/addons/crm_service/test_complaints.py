"""Complaints: the complaint screen shows only complaints, with their root cause and
corrective action; a complaint closes only once its action is done (the record page,
the command line and core.workflow.move alike); the daily reminder reaches the action's
owner, and the team leader once overdue, once per day."""
from datetime import date, timedelta

import pytest

from tests.addons.crm_service.records_helpers import (
    add_user, flashes, make_customer, make_team, make_ticket, one, orm, text, user_id)

LIST = "/admin/complaint/"


def details(ticket_id):
    return f"{LIST}details/?id={ticket_id}"


def root_cause(suite, name="Packing too thin", active=True):
    from addons.crm_service.models import RootCause
    with orm(suite) as session:
        cause = RootCause(name=name, active=active)
        session.add(cause)
        session.flush()
        return cause.id


@pytest.fixture
def complaint(service_suite):
    """An admin client, and a resolved complaint of a customer."""
    admin = service_suite.admin_client()
    customer = make_customer(service_suite, "Acme Trading")
    ticket = make_ticket(service_suite, "Scanner delivered broken", kind="complaint",
                         customer_id=customer, state="resolved")
    return service_suite, admin, ticket


def edit(admin, ticket, **fields):
    page = f"{LIST}edit/?id={ticket}"
    return admin.post_form(page, fields, token_from=page)


def close_over_http(admin, ticket):
    return admin.post_form(f"{LIST}transition/close/?id={ticket}", {},
                           token_from=details(ticket))


def state(suite, ticket):
    return one(suite, "SELECT state FROM svc_ticket WHERE id = :t", t=ticket)[0]


def test_the_screen_lists_complaints_only(service_suite):
    admin = service_suite.admin_client()
    make_ticket(service_suite, "Invoice question", kind="inquiry")
    complaint_id = make_ticket(service_suite, "Rude courier", kind="complaint")
    page = text(admin.get(LIST))
    assert "Rude courier" in page and "Invoice question" not in page
    inquiry = one(service_suite, "SELECT id FROM svc_ticket WHERE kind = 'inquiry'")[0]
    # Another kind of ticket is not a complaint: its page and form are the Tickets screen's.
    response = admin.get(details(inquiry))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/ticket/details/?id={inquiry}")
    response = admin.get(f"{LIST}edit/?id={inquiry}")
    assert response.headers["Location"].endswith(f"/admin/ticket/edit/?id={inquiry}")
    assert admin.get(details(99999)).status_code == 404
    assert admin.get(details(complaint_id)).status_code == 200
    # Complaints are opened as tickets, not here.
    assert admin.get(f"{LIST}new/").status_code in (302, 403, 404)


def test_close_is_refused_until_the_action_is_done(complaint):
    suite, admin, ticket = complaint
    cause = root_cause(suite)
    # Nothing yet: no cause.
    response = close_over_http(admin, ticket)
    assert response.status_code == 302
    assert "root cause" in text(admin.get(details(ticket)))
    assert state(suite, ticket) == "resolved"

    # A corrective action needs an owner and a due date.
    response = edit(admin, ticket, root_cause=str(cause), corrective_action="Pack in foam",
                    action_owner="", action_due="")
    assert response.status_code == 200
    assert "Give the corrective action an owner and a due date." in flashes(response)
    assert one(suite, "SELECT corrective_action FROM svc_ticket WHERE id = :t", t=ticket)[0] is None

    due = (date.today() + timedelta(days=3)).isoformat()
    response = edit(admin, ticket, root_cause=str(cause), corrective_action="Pack in foam",
                    action_owner=str(user_id(suite, "admin")), action_due=due)
    assert response.status_code == 302, flashes(response)
    page = text(admin.get(details(ticket)))
    assert "Pack in foam" in page and "Packing too thin" in page and "Mark the action done" in page

    # Cause and action, but not done: still refused, with the reason.
    close_over_http(admin, ticket)
    assert "The complaint closes once its corrective action is done." in text(
        admin.get(details(ticket)))
    assert state(suite, ticket) == "resolved"
    # The command line goes through the same workflow.
    result = suite.run("transition", "Ticket", str(ticket), "close", "--user", "admin")
    assert result.exit_code != 0 and "corrective action is done" in result.output
    assert state(suite, ticket) == "resolved"

    response = admin.post_form(f"{LIST}action-done/?id={ticket}", {}, token_from=details(ticket))
    assert response.status_code == 302
    assert one(suite, "SELECT action_done_at FROM svc_ticket WHERE id = :t", t=ticket)[0]
    assert "Mark the action done" not in text(admin.get(details(ticket)))

    close_over_http(admin, ticket)
    assert state(suite, ticket) == "closed"


def test_close_condition_through_the_workflow(complaint):
    suite, _admin, ticket = complaint
    from addons.crm_service.models import Ticket
    from core import workflow
    from core.models import utcnow
    cause = root_cause(suite)
    with orm(suite) as session:
        record = session.get(Ticket, ticket)
        with pytest.raises(workflow.Refused, match="root cause"):
            workflow.move(record, "close")
        record.root_cause_id, record.corrective_action = cause, "Retrain the courier"
        with pytest.raises(workflow.Refused, match="corrective action is done"):
            workflow.move(record, "close")
        record.action_done_at = utcnow()
        workflow.move(record, "close")
    assert state(suite, ticket) == "closed"
    # Other kinds close without any of it.
    other = make_ticket(suite, "Question", kind="inquiry", state="resolved")
    with orm(suite) as session:
        workflow.move(session.get(Ticket, other), "close")
    assert state(suite, other) == "closed"


def test_marking_done_needs_an_action_and_write_access(complaint):
    suite, admin, ticket = complaint
    response = admin.post_form(f"{LIST}action-done/?id={ticket}", {}, token_from=details(ticket))
    assert response.status_code == 302
    assert "Describe the corrective action first." in text(admin.get(details(ticket)))
    assert one(suite, "SELECT action_done_at FROM svc_ticket WHERE id = :t", t=ticket)[0] is None
    # Without the CSRF token: refused.
    assert admin.post(f"{LIST}action-done/?id={ticket}", data={}).status_code == 400
    # A user without the service groups cannot see the screen at all.
    outsider = add_user(suite, "outsider")
    assert outsider.get(LIST).status_code == 403
    assert outsider.post_form(f"{LIST}action-done/?id={ticket}", {}).status_code == 403


def test_an_agent_sees_the_complaints_of_their_team_only(service_suite):
    suite = service_suite
    ann = add_user(suite, "ann", "service_agent")
    add_user(suite, "bob", "service_agent")
    make_team(suite, "Desk A", "ann")
    make_team(suite, "Desk B", "bob")
    mine = make_ticket(suite, "Ann's complaint", kind="complaint", owner="ann")
    theirs = make_ticket(suite, "Bob's complaint", kind="complaint", owner="bob")
    page = text(ann.get(LIST))
    assert "Ann&#39;s complaint" in page or "Ann's complaint" in page
    assert "Bob" not in page
    assert ann.get(details(theirs)).status_code == 404
    assert ann.get(details(mine)).status_code == 200


def test_reminders_once_a_day_to_the_owner_then_the_leader(service_suite):
    suite = service_suite
    add_user(suite, "ann", "service_agent")
    add_user(suite, "lea", "service_manager")
    team = make_team(suite, "Desk A", "lea", ["ann"])
    today = date.today()
    due_today = make_ticket(suite, "Wrong colour", kind="complaint", team_id=team,
                            corrective_action="Check the order", action_owner="ann",
                            action_due=today)
    overdue = make_ticket(suite, "Late again", kind="complaint", team_id=team,
                          corrective_action="Call the carrier", action_owner="ann",
                          action_due=today - timedelta(days=2))
    make_ticket(suite, "Later", kind="complaint", team_id=team, corrective_action="Later",
                action_owner="ann", action_due=today + timedelta(days=5))
    make_ticket(suite, "Done already", kind="complaint", team_id=team,
                corrective_action="Done", action_owner="ann", action_due=today - timedelta(days=1),
                action_done_at=date.today())
    for _run in range(2):
        result = suite.run("run-job", "crm_service.complaint_reminders")
        assert result.exit_code == 0, result.output
    rows = suite.sql("SELECT u.username, n.title, n.link, n.key FROM core_notification n "
                     "JOIN core_user u ON u.id = n.user_id ORDER BY u.username, n.title")
    assert [(row[0], row[1].split(":")[0]) for row in rows] == [
        ("ann", "Corrective action due"), ("ann", "Corrective action due"),
        ("lea", "Corrective action overdue")]
    assert {row[2] for row in rows} == {details(due_today), details(overdue)}
    assert any("Late again" in row[1] for row in rows if row[0] == "lea")
    # Tomorrow (another day's key) they would be reminded again; today, once.
    assert all(row[3].endswith(today.isoformat()) for row in rows)


def test_the_reminder_is_in_the_owners_language(service_suite):
    suite = service_suite
    add_user(suite, "li", "service_agent")
    suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'li'")
    make_ticket(suite, "包装破损", kind="complaint", corrective_action="改用泡沫包装",
                action_owner="li", action_due=date.today())
    assert suite.run("run-job", "crm_service.complaint_reminders").exit_code == 0
    [(title,)] = suite.sql("SELECT title FROM core_notification")
    assert "包装破损" in title and "Corrective" not in title


def test_the_action_owner_reads_the_complaint_of_another_team(service_suite):
    suite = service_suite
    ann = add_user(suite, "ann", "service_agent")
    add_user(suite, "bob", "service_agent")
    make_team(suite, "Desk B", "bob")
    ticket = make_ticket(suite, "Damaged box", kind="complaint", owner="bob",
                         corrective_action="New boxes", action_owner="ann",
                         action_due=date.today())
    assert ann.get(details(ticket)).status_code == 200
    response = ann.post_form(f"{LIST}action-done/?id={ticket}", {}, token_from=details(ticket))
    assert response.status_code == 302
    assert one(suite, "SELECT action_done_at FROM svc_ticket WHERE id = :t", t=ticket)[0]
