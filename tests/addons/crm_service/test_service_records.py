"""Service records: time and fees per ticket, the revenue by month, quarter and year
(per agent and team, within the record rules), billed records that no longer change,
and no "Bill" action while Sales is disabled."""
from datetime import date

import pytest

from core.dates import add_months, period_of, recent_periods
from tests.addons.crm_service.records_helpers import (
    add_user, flashes, make_customer, make_record, make_team, make_ticket, one, text, user_id)

LIST = "/admin/service-record/"
REVENUE = f"{LIST}revenue/"


def months_ago(count):
    year, month = add_months(date.today().year, date.today().month, -count)
    return date(year, month, 10)


def cell(page, table, row, key):
    """The figure of ``row`` (its first cell's text) in column ``key`` of the table."""
    import re
    body = page.split(f"crm-{table}")[1].split("</table>")[0]
    found = re.search(rf'<th scope="row">{re.escape(row)}</th>(.*?)</tr>', body, re.S)
    assert found, f"no row {row} in {table}"
    value = re.search(rf'data-key="{key}">([^<]*)<', found.group(1))
    return value.group(1) if value else None


def test_periods():
    assert add_months(2026, 1, -1) == (2025, 12) and add_months(2026, 11, 3) == (2027, 2)
    assert period_of("quarter", 2026, 5) == "2026-Q2" and period_of("year", 2026, 5) == "2026"
    start, columns = recent_periods("quarter", date(2026, 5, 20))
    assert start == date(2024, 7, 1) and columns[-1][0] == "2026-Q2" and len(columns) == 8
    start, columns = recent_periods("month", date(2026, 1, 31))
    assert start == date(2025, 2, 1) and columns[-1][0] == "2026-01" and len(columns) == 12
    start, columns = recent_periods("year", date(2026, 1, 31))
    assert start == date(2022, 1, 1) and [key for key, _t in columns][-1] == "2026"


@pytest.fixture
def desk(service_suite):
    """Two agents in two teams, a customer's ticket for each, and known fees."""
    suite = service_suite
    ann = add_user(suite, "ann", "service_agent")
    add_user(suite, "bob", "service_agent")
    a = make_team(suite, "Desk A", "ann")
    b = make_team(suite, "Desk B", "bob")
    customer = make_customer(suite, "Acme Trading")
    ann_ticket = make_ticket(suite, "Printer jam", customer_id=customer, owner="ann", team_id=a)
    bob_ticket = make_ticket(suite, "Scanner", customer_id=customer, owner="bob", team_id=b)
    this_month, last_month = date.today().replace(day=1), months_ago(1)
    make_record(suite, ann_ticket, "100.10", this_month, owner="ann")
    make_record(suite, ann_ticket, "200.20", this_month, owner="ann")
    make_record(suite, ann_ticket, "999.00", this_month, owner="ann", billable=False)
    make_record(suite, ann_ticket, "50.00", last_month, owner="ann")
    make_record(suite, bob_ticket, "1000.00", last_month, owner="bob")
    make_record(suite, bob_ticket, "7.00", months_ago(14), owner="bob")   # before the page
    return suite, ann, this_month, last_month


def test_revenue_per_month_agent_and_team(desk):
    suite, _ann, this_month, last_month = desk
    admin = suite.admin_client()
    page = text(admin.get(REVENUE))
    now, before = this_month.strftime("%Y-%m"), last_month.strftime("%Y-%m")
    # Billable fees only: 100.10 + 200.20; the unbillable 999.00 is not revenue.
    assert cell(page, "revenue-agents", "ann", now) == "300.30"
    assert cell(page, "revenue-agents", "ann", before) == "50.00"
    assert cell(page, "revenue-agents", "bob", before) == "1,000.00"
    assert cell(page, "revenue-teams", "Desk A", now) == "300.30"
    assert cell(page, "revenue-teams", "Desk B", before) == "1,000.00"
    totals = page.split("crm-revenue-agents")[1].split("crm-figures-total")[1]
    assert f'data-key="{before}">1,050.00<' in totals
    assert ">1,350.30<" in totals   # every month shown, without the one 14 months ago
    # Sales is not enabled: the fees are revenue only.
    assert "fees are counted as service revenue only" in page

    quarter = text(admin.get(REVENUE + "?period=year"))
    year = str(date.today().year)
    if last_month.year == this_month.year:
        assert cell(quarter, "revenue-agents", "ann", year) == "350.30"
    assert admin.get(REVENUE + "?period=<script>").status_code == 200


def test_an_agent_counts_their_own_records(desk):
    _suite, ann, this_month, last_month = desk
    page = text(ann.get(REVENUE))
    assert cell(page, "revenue-agents", "ann", this_month.strftime("%Y-%m")) == "300.30"
    assert "bob" not in page.split("crm-revenue-agents")[1].split("</table>")[0]
    assert "1,000.00" not in page


def test_the_list_and_the_revenue_in_a_constant_number_of_queries(desk):
    suite, _ann, _this, _last = desk
    admin = suite.admin_client()
    few = len(admin.queries(REVENUE))
    assert len(admin.queries(LIST)) < 20
    customer = one(suite, "SELECT id FROM crm_customer")[0]
    for index in range(15):
        ticket = make_ticket(suite, f"More {index}", customer_id=customer, owner="bob")
        make_record(suite, ticket, "10", owner="bob")
    assert len(admin.queries(REVENUE)) == few
    listed = admin.queries(LIST)
    assert len(listed) < 20


def test_form_checks_and_billed_records_stay(desk):
    suite, ann, _this, _last = desk
    ticket = one(suite, "SELECT id FROM svc_ticket WHERE subject = 'Printer jam'")[0]
    new = f"{LIST}new/?ticket={ticket}"
    assert "Printer jam" in text(ann.get(new))
    fields = {"ticket": str(ticket), "work_date": "2026-03-02", "minutes": "45",
              "fee": "-5", "billable": "y", "description": "Cleaned the rollers"}
    response = ann.post_form(new, fields, token_from=new)
    assert "A fee cannot be negative." in flashes(response)
    response = ann.post_form(new, {**fields, "minutes": "-1", "fee": "5"}, token_from=new)
    assert "The time spent is between 0 and 100000 minutes." in flashes(response)
    # Another agent's ticket of another team is not offered, nor taken.
    other = one(suite, "SELECT id FROM svc_ticket WHERE subject = 'Scanner'")[0]
    response = ann.post_form(new, {**fields, "fee": "5", "ticket": str(other)}, token_from=new)
    assert response.status_code == 200
    before = one(suite, "SELECT count(*) FROM svc_record")[0]
    response = ann.post_form(new, {**fields, "fee": "80"}, token_from=new)
    assert response.status_code == 302, flashes(response)
    assert one(suite, "SELECT count(*) FROM svc_record")[0] == before + 1
    record = one(suite, "SELECT id, owner_id FROM svc_record WHERE description = 'Cleaned the rollers'")
    assert record[1] == user_id(suite, "ann")

    suite.sql("UPDATE svc_record SET billed_at = CURRENT_TIMESTAMP, billed_reference = 'SO2026-00001' "
              "WHERE id = :r", r=record[0])
    response = ann.get(f"{LIST}edit/?id={record[0]}")
    assert response.status_code == 302
    response = ann.post_form(f"{LIST}edit/?id={record[0]}", {**fields, "fee": "1"},
                             token_from=f"{LIST}details/?id={record[0]}")
    assert one(suite, "SELECT fee FROM svc_record WHERE id = :r", r=record[0])[0] == 80
    admin = suite.admin_client()
    response = admin.post_form(f"{LIST}delete/", {"id": str(record[0]), "url": LIST},
                               token_from=LIST)
    assert one(suite, "SELECT count(*) FROM svc_record WHERE id = :r", r=record[0])[0] == 1
    assert "it cannot be deleted" in text(admin.get(LIST))


def test_no_bill_action_without_sales(desk):
    suite, _ann, _this, _last = desk
    admin = suite.admin_client()
    page = text(admin.get(LIST))
    assert "Bill on a sales order" not in page
    assert "fees are counted as service revenue only" in page
    ids = [str(row[0]) for row in suite.sql("SELECT id FROM svc_record")]
    response = admin.post_form(f"{LIST}action/", {"action": "bill", "rowid": ids[:2],
                                                  "url": LIST}, token_from=LIST)
    assert response.status_code in (302, 403)
    assert one(suite, "SELECT count(*) FROM svc_record WHERE billed_at IS NOT NULL")[0] == 0


def test_the_ticket_page_shows_its_time_and_fees(desk):
    suite, _ann, _this, _last = desk
    admin = suite.admin_client()
    ticket = one(suite, "SELECT id FROM svc_ticket WHERE subject = 'Printer jam'")[0]
    page = text(admin.get(f"/admin/ticket/details/?id={ticket}"))
    assert "Time and fees" in page and "1,349.30" in page and "Record time or a fee" in page


def test_the_demo_has_something_on_every_screen(tmp_path, database_url):
    from tests.addons.conftest import addon_suite
    suite = addon_suite(tmp_path, database_url, ["crm_service"], demo=True)
    try:
        tickets = suite.sql("SELECT kind, channel, state FROM svc_ticket")
        from addons.crm_service.models import CHANNELS, TICKET_KINDS, TICKET_STATES
        assert {row[0] for row in tickets} == set(TICKET_KINDS)
        assert {row[1] for row in tickets} == set(CHANNELS)
        assert {row[2] for row in tickets} == set(TICKET_STATES)
        # Complaints: one done and closed, one overdue, one coming.
        done, overdue, coming = suite.sql(
            "SELECT action_done_at IS NOT NULL, action_due < CURRENT_DATE, state FROM svc_ticket "
            "WHERE kind = 'complaint' ORDER BY id")
        assert done[0] and done[2] == "closed" and overdue[1] and not overdue[0]
        assert not coming[1]
        assert one(suite, "SELECT count(*) FROM svc_ticket_message WHERE kind = 'reply'")[0] > 3
        assert one(suite, "SELECT count(*) FROM svc_record WHERE billable")[0] > 2
        assert {row[0] for row in suite.sql("SELECT language FROM svc_kb_article "
                                            "WHERE visibility = 'public'")} == {"Chinese", "English"}
        assert one(suite, "SELECT count(*) FROM svc_rating WHERE score IS NOT NULL")[0] > 2
        admin = suite.admin_client()
        for page in (LIST, REVENUE, "/admin/complaint/", "/admin/ticket/", "/admin/kb-article/"):
            assert admin.get(page).status_code == 200, page
        assert "800.00" in text(admin.get(REVENUE))
    finally:
        suite.close()
