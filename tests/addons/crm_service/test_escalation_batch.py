"""The escalation job's bookkeeping: moving a ticket's SLA index does not make it look
changed, and the reminders of a batch go out in each user's language."""
from tests.addons.crm_service import test_escalation
from tests.addons.crm_service.test_escalation import notices, open_ticket, run, utc

desk = test_escalation.desk   # the fixture: ann's team North led by lea, one policy


def test_the_job_moves_the_index_without_touching_updated_at(desk):
    suite, people, team = desk
    app, ticket = open_ticket(suite, people, team, utc(2026, 3, 2, 9, 0))
    suite.sql("UPDATE svc_ticket SET updated_at = :a WHERE id = :t",
              a=utc(2026, 3, 2, 9, 0), t=ticket)
    assert run(app, utc(2026, 3, 2, 9, 30)) == "0 escalated"
    warn, updated = suite.sql("SELECT sla_warn_at, updated_at FROM svc_ticket WHERE id = :t",
                              t=ticket)[0]
    assert str(warn)[:16] == "2026-03-02 01:48"          # moved on to the warning
    assert str(updated)[:16] == "2026-03-02 01:00"       # not "changed" by the job


def test_reminders_of_a_batch_in_each_users_language(desk):
    suite, people, team = desk
    suite.sql("UPDATE core_user SET language = 'zh_Hans_CN' WHERE username = 'lea'")
    tickets = [open_ticket(suite, people, team, utc(2026, 3, 2, 9, 0))[1] for _n in range(3)]
    app = suite.app()
    assert run(app, utc(2026, 3, 2, 9, 50)) == "3 escalated"      # three warnings
    assert len(notices(suite, "ann")) == 3 and notices(suite, "lea") == []
    suite.sql("UPDATE svc_sla_policy SET reassign_to_id = NULL, raise_priority = :f", f=False)
    assert run(app, utc(2026, 3, 2, 10, 5)) == "3 escalated"      # three breaches
    assert run(app, utc(2026, 3, 2, 10, 6)) == "0 escalated"
    leader = notices(suite, "lea")
    assert len(leader) == 3 and all("已超时" in title for title in leader)
    assert all(title.startswith("SLA breached") for title in notices(suite, "ann")[3:])
    links = suite.sql("SELECT DISTINCT link FROM core_notification WHERE key LIKE "
                      "'crm_service.sla:%'")
    assert sorted(link for (link,) in links) == sorted(
        f"/admin/ticket/details/?id={ticket}" for ticket in tickets)
