"""Dashboards that take long to count are kept (addons/crm_reports/kept.py): shown again
the same day with the time they were counted, counted anew on "Count again", never shown
to a user whose rights changed, counted again by the nightly job for those who open them;
a dashboard's tables show their first rows and lead to the whole report."""
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.reports import Column, Result
from tests.addons.crm_contacts.helpers import app_of, user
from tests.addons.crm_reports.report_helpers import YEAR, customer, table, won_deal
from tests.addons.crm_sales.order_helpers import text

SALES = "/admin/dashboard/standard/sales/"


def won_by_owner(page):
    """The rows of the dashboard's "won revenue by salesperson" table."""
    section = re.search(r'data-report="sales_won_by_owner">(.*?)</section>', page, re.S)
    return table(section.group(1))[0]


@pytest.fixture
def always_kept(monkeypatch):
    """Every count counts as long, so every dashboard is kept."""
    from addons.crm_reports import kept
    monkeypatch.setattr(kept, "KEEP_AFTER", -1)


@pytest.fixture
def quick(monkeypatch):
    """Every count counts as quick, however loaded the machine running the tests."""
    from addons.crm_reports import kept
    monkeypatch.setattr(kept, "KEEP_AFTER", 3600)


def kept_rows(suite):
    """(user id, source, start, end, counted on, viewed on), the days as text (as on
    SQLite and PostgreSQL alike)."""
    return [(user_id, source, *(str(day)[:10] for day in days)) for user_id, source, *days in
            suite.sql("SELECT user_id, source, start, \"end\", counted_on, viewed_on "
                      "FROM rep_kept_figures ORDER BY id")]


def test_a_result_is_kept_and_read_back_with_its_types():
    columns = [Column("name", "Name"), Column("count", "Count", "number", total=True),
               Column("money", "Money", "money", total=True),
               Column("share", "Share", "percent"), Column("day", "Day", "date")]
    result = Result(columns, [("A", 2, Decimal("10.50"), Decimal("33.3"), date(2026, 3, 1)),
                              ("B", 1, Decimal("21.00"), None, None)], chart=(0, [2]),
                    horizontal=True).first(1)
    back = Result.from_json(result.to_json())
    assert back.rows == [("A", 2, Decimal("10.50"), Decimal("33.3"), date(2026, 3, 1))]
    # Cut to its first row, it still knows how many there were and their totals.
    assert back.row_count() == 2 and back.totals() == {1: 3, 2: Decimal("31.50")}
    assert back.chart == (0, [2]) and back.horizontal and back.columns == columns


def test_a_slow_dashboard_is_kept_for_the_day_until_counted_again(world, always_kept):
    suite, ann = world["suite"], world["ann"]
    page = text(ann.get(SALES))
    assert won_by_owner(page) == [["ann", "2", "1,200.50"]]
    assert "Counted at" in page and "Count again" in page
    # A deal won since: the kept figures still show the count of earlier, with its time.
    won_deal(suite, customer(suite, "Ann Three", "B", world["ann_id"]), world["ann_id"], "99",
             f"{YEAR}-01-05")
    assert won_by_owner(text(ann.get(SALES))) == [["ann", "2", "1,200.50"]]
    # "Count again" forgets them: the page is counted anew.
    response = ann.post_form(SALES, {}, token_from=SALES)
    assert response.status_code == 302 and response.headers["Location"].endswith(SALES)
    assert won_by_owner(text(ann.get(SALES))) == [["ann", "3", "1,299.50"]]
    # Other filters are other figures; and the PDF prints the kept ones.
    assert won_by_owner(text(ann.get(SALES + f"?start={YEAR}-03-01&end={YEAR}-03-31"))) == [
        ["ann", "1", "1,000.50"]]
    assert len(kept_rows(suite)) == 2
    assert ann.get(SALES + "pdf").status_code == 200


def test_kept_figures_are_never_shown_after_a_change_of_rights(world, always_kept):
    suite, ann = world["suite"], world["ann"]
    assert won_by_owner(text(ann.get(SALES))) == [["ann", "2", "1,200.50"]]
    # Ann becomes a sales manager (her team's deals): her kept figures are not hers any
    # more; nor when she then joins Bob's team.
    suite.sql("INSERT INTO core_user_group (user_id, group_id) SELECT :u, id FROM core_group "
              "WHERE code = 'sales_manager'", u=world["ann_id"])
    assert won_by_owner(text(ann.get(SALES))) == [["ann", "2", "1,200.50"]]
    team = suite.sql("INSERT INTO core_team (name) VALUES ('North') RETURNING id")[0][0]
    suite.sql("INSERT INTO core_team_member (team_id, user_id) VALUES (:t, :a), (:t, :b)",
              t=team, a=world["ann_id"], b=suite.sql(
                  "SELECT id FROM core_user WHERE username = 'bob'")[0][0])
    assert won_by_owner(text(ann.get(SALES))) == [["bob", "1", "3,000.00"],
                                                  ["ann", "2", "1,200.50"]]
    assert len(kept_rows(suite)) == 1     # each count in place of the one before


def test_a_quick_dashboard_is_counted_at_each_view(world, quick):
    page = text(world["ann"].get(SALES))
    assert "As of" in page and "Count again" not in page
    assert kept_rows(world["suite"]) == []


def test_the_nightly_job_counts_again_what_users_open(world, always_kept):
    suite, ann, bob = world["suite"], world["ann"], world["bob"]
    ann.get(SALES)
    bob.get(SALES + f"?start={YEAR}-03-01&end={YEAR}-03-31")   # not the year so far
    today = date.today()
    yesterday, long_ago = today - timedelta(days=1), today - timedelta(days=40)
    # As if Ann's had been counted yesterday, and as if another user had last opened
    # theirs forty days ago.
    suite.sql("UPDATE rep_kept_figures SET counted_on = :d, viewed_on = :d", d=yesterday)
    suite.sql("UPDATE rep_kept_figures SET start = :s, \"end\" = :d WHERE source LIKE 'standard%' "
              "AND user_id = :u", s=yesterday.replace(month=1, day=1), d=yesterday,
              u=world["ann_id"])
    carl, carl_id = user(suite, "carl", "sales_user", "reports_user")
    suite.sql("INSERT INTO rep_kept_figures (user_id, source, language, start, \"end\", rights, "
              "counted_at, counted_on, viewed_on, seconds, results) VALUES (:u, "
              "'standard:sales', 'en', :s, :d, '', CURRENT_TIMESTAMP, :d, :v, 1, '{}')",
              u=carl_id, s=yesterday.replace(month=1, day=1), d=yesterday, v=long_ago)
    with app_of(suite):
        from addons.crm_reports import kept
        assert kept.count_again(today) == 1
    # Ann's, of the year so far, counted for today's; the rest forgotten.
    assert [row[:5] for row in kept_rows(suite)] == [
        (world["ann_id"], "standard:sales", str(today.replace(month=1, day=1)), str(today),
         str(today))]
    assert kept_rows(suite)[0][5] == str(yesterday)    # when she last opened it stays
    won_deal(suite, customer(suite, "Ann Four", "B", world["ann_id"]), world["ann_id"], "1",
             f"{YEAR}-01-05")
    page = text(ann.get(SALES))
    assert won_by_owner(page) == [["ann", "2", "1,200.50"]] and "Counted at" in page
    assert kept_rows(suite)[0][5] == str(today)


def test_a_dashboard_shows_the_first_rows_and_leads_to_all(world):
    suite, admin = world["suite"], world["admin"]
    for number in range(16):
        suite.sql("INSERT INTO rep_sales_history (customer_id, date, amount) VALUES "
                  "(:c, :d, :a)", c=customer(suite, f"Buyer {number:02}", "C", None),
                  d=f"{YEAR}-01-02", a=100 + number)
    period = f"?start={YEAR}-01-01&end={YEAR}-12-31"
    page = text(admin.get("/admin/dashboard/standard/customer_analysis/" + period))
    section = re.search(r'data-report="customers_abc">(.*?)</section>', page, re.S).group(1)
    rows, totals = table(section)
    assert [row[0] for row in rows] == [f"Buyer {n:02}" for n in range(15, 3, -1)]
    assert totals[:2] == ["Total", "1,720.00"]      # of all 16, not the 12 shown
    assert "The first 12 of 16 rows." in section
    whole = f"/admin/report/customers_abc/?start={YEAR}-01-01&amp;end={YEAR}-12-31"
    assert f'<a href="{whole}">See them all</a>' in section
    assert len(table(text(admin.get(whole.replace("&amp;", "&"))))[0]) == 16
