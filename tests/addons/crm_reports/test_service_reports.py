"""Service's reports and its standard dashboard, with Reports enabled beside Service:
ticket volumes, the resolution SLA by priority (worked out as on a ticket's page), the
ratings. Three urgent tickets (240 working minutes to resolve): one opened now (open
within its target), one opened 30 days ago and still open (breached), one opened on
Monday 2 March at 10:00 in Shanghai and resolved half an hour later (met)."""
from datetime import datetime, timedelta

import pytest

from tests.addons.conftest import addon_suite
from tests.addons.crm_reports.report_helpers import table
from tests.addons.crm_service.records_helpers import make_ticket
from tests.addons.crm_sales.order_helpers import text

NOW = datetime.utcnow().replace(microsecond=0)


@pytest.fixture
def tickets(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_service", "crm_reports"])
    now = make_ticket(suite, "Now", priority="urgent")
    late = make_ticket(suite, "Late", priority="urgent", created_at=NOW - timedelta(days=30))
    done = make_ticket(suite, "Done", priority="urgent", state="resolved",
                       created_at=datetime(2026, 3, 2, 2, 0),
                       resolved_at=datetime(2026, 3, 2, 2, 30))
    for ticket, score in ((now, 5), (late, 5), (done, 3)):   # one rating a ticket
        suite.sql("INSERT INTO svc_rating (ticket_id, score, sent_at, rated_at) VALUES "
                  "(:t, :s, :at, :at)", t=ticket, s=score, at=NOW)
    yield suite
    suite.close()


def test_sla_volumes_and_ratings(tickets):
    admin = tickets.admin_client()
    period = f"?start=2026-01-01&end={NOW.date().isoformat()}"
    rows, totals = table(text(admin.get("/admin/report/service_sla/" + period)))
    assert rows == [["Urgent", "1", "1", "1", "50 %"]]
    rows, totals = table(text(admin.get("/admin/report/service_volumes/" + period)))
    assert rows[0] == ["Mar 2026", "1", "1"] and totals == ["Total", "3", "1"]
    rows, totals = table(text(admin.get("/admin/report/service_ratings/" + period)))
    assert rows == [["★★★★★", "2"], ["★★★", "1"]]
    page = text(admin.get("/admin/dashboard/standard/service/" + period))
    for title in ("Tickets opened and resolved", "Resolution SLA by priority",
                  "Satisfaction ratings"):
        assert title in page


def sla_rows(admin):
    period = f"?start=2026-01-01&end={NOW.date().isoformat()}"
    return table(text(admin.get("/admin/report/service_sla/" + period)))[0]


def test_the_sla_report_counts_kept_outcomes_and_works_out_the_rest(tickets):
    admin = tickets.admin_client()
    kept = "SELECT subject, sla_resolution_missed, sla_resolution_due_at IS NOT NULL " \
           "FROM svc_ticket ORDER BY id"
    # Saved through the application, each ticket keeps its outcome: the one opened now
    # runs (its due time kept), the late one missed it, the resolved one met it.
    assert [(s, bool(m), d) for s, m, d in tickets.sql(kept)] == [
        ("Now", False, True), ("Late", True, True), ("Done", False, False)]
    assert sla_rows(admin) == [["Urgent", "1", "1", "1", "50 %"]]
    # Time passes: the running one's due time goes by, and it counts as breached.
    tickets.sql("UPDATE svc_ticket SET sla_resolution_due_at = :at WHERE subject = 'Now'",
                at=NOW - timedelta(minutes=1))
    assert sla_rows(admin) == [["Urgent", "1", "2", "0", "33.3 %"]]
    # Written by other means (no outcome kept): worked out by the report all the same,
    # then kept by the job.
    tickets.sql("UPDATE svc_ticket SET sla_resolution_missed = NULL, "
                "sla_resolution_due_at = NULL")
    assert sla_rows(admin) == [["Urgent", "1", "1", "1", "50 %"]]
    from tests.addons.crm_contacts.helpers import app_of
    with app_of(tickets):
        from addons.crm_service import sla
        assert sla.remember_resolutions() == 3
        assert sla.remember_resolutions() == 0
    assert [(s, bool(m), d) for s, m, d in tickets.sql(kept)] == [
        ("Now", False, True), ("Late", True, True), ("Done", False, False)]
    assert sla_rows(admin) == [["Urgent", "1", "1", "1", "50 %"]]
