"""The Sales dashboard: forecast by close month (overdue and no-date buckets), won
revenue per month, quarter and year, per owner and team, within the record rules; the
funnel from the stage history; this month's panel on the home page."""
import html
import re
from datetime import date

from addons.crm_sales import dashboard
from tests.addons.crm_sales.pipeline_helpers import (
    add_opportunity,
    add_user,
    insert_deal,
    make_customer,
    move,
    page_text,
    reason_ids,
    stage_ids,
    user_id,
)

DASHBOARD = "/admin/sales-dashboard/"


def month_key(months_from_now):
    today = date.today()
    year, month = dashboard.add_months(today.year, today.month, months_from_now)
    return f"{year}-{month:02d}"


def figures(response, table):
    """{row name: {column key: text}} of one table of the dashboard, with "Total"."""
    page = page_text(response)
    body = re.search(rf'<table class="[^"]*crm-{table}">.*?</thead>(.*?)</table>', page,
                     re.S).group(1)
    rows = {}
    for name, cells in re.findall(r'<tr[^>]*><th(?: scope="row")?>([^<]*)</th>(.*?)</tr>',
                                  body, re.S):
        values = dict(re.findall(r'data-key="([^"]+)">([^<]*)<', cells))
        rows[html.unescape(name)] = {key: value for key, value in values.items() if value}
    return rows


def chart_markup(response, chart):
    return re.search(rf'<figure class="crm-chart {chart}"[^>]*>.*?</figure>',
                     page_text(response), re.S).group(0)


def chart_bars(response, chart):
    """(label, value) of each bar of one of the dashboard's charts, from their tooltips."""
    return [(html.unescape(label), value) for label, value in re.findall(
        r'<g class="bar"[^>]*><title>([^<]*): ([^<]*)</title>', chart_markup(response, chart))]


def funnel_rows(response):
    """{stage: (reached, went on, conversion)} of the funnel's table."""
    return {name: (int(entered), went, rate) for name, entered, went, rate in re.findall(
        r'<tr data-kind="[^"]+"><th scope="row">([^<]+)</th><td class="text-right">(\d+)</td>'
        r'\s*<td class="text-right">([^<]*)</td>\s*<td class="text-right">([^<]*)</td>',
        page_text(response))}


def setup_figures(suite):
    """Ann (team North, led by admin) and Bob (no team) with a known set of deals."""
    admin = suite.admin_client()
    ann = add_user(suite, "ann", "sales_user", "contacts_user")
    add_user(suite, "bob", "sales_user", "contacts_user")
    customer = make_customer(admin, suite, "Acme")
    stages = stage_ids(suite)
    ann_id, bob_id, admin_id = (user_id(suite, name) for name in ("ann", "bob", "admin"))
    suite.sql("INSERT INTO core_team (name, leader_id) VALUES ('North', :admin)",
              admin=admin_id)
    suite.sql("INSERT INTO core_team_member (team_id, user_id) "
              "SELECT id, :ann FROM core_team WHERE name = 'North'", ann=ann_id)
    today = date.today()

    def on(months_from_now, day=15):
        return date(*dashboard.add_months(today.year, today.month, months_from_now), day)

    deals = [  # name, stage, owner, amount, probability, expected close, closed on
        ("A this month", "Proposal", ann_id, 1000, 50, on(0), None),
        ("A next month", "Negotiation", ann_id, 200, 75, on(1), None),
        ("A overdue", "Qualification", ann_id, 333.33, 10, on(-2), None),
        ("A no date", "Needs analysis", ann_id, 100, 30, None, None),
        ("A won", "Won", ann_id, 5000, 100, on(0), on(0, 1)),
        ("A lost", "Lost", ann_id, 999, 0, on(0), on(0, 1)),
        ("B this month", "Proposal", bob_id, 2000, 50, on(0, 28), None),
        ("B won before", "Won", bob_id, 700, 100, on(-1), on(-1, 10)),
        ("Admin far", "Qualification", admin_id, 100, 20, on(13), None),
    ]
    for name, stage, owner, amount, probability, close, closed in deals:
        insert_deal(suite, name, customer, stages[stage], owner, amount, probability,
                    close, closed)
    return admin, ann


def test_forecast_per_owner_and_team(sales_suite):
    admin, _ann = setup_figures(sales_suite)
    response = admin.get(DASHBOARD)
    assert response.status_code == 200
    this, following = month_key(0), month_key(1)
    owners = figures(response, "forecast-owners")
    assert owners["ann"] == {this: "500.00", following: "150.00", "overdue": "33.33",
                             "none": "30.00"}
    assert owners["bob"] == {this: "1,000.00"}
    assert owners["admin"] == {"later": "20.00"}
    assert owners["Total"] == {this: "1,500.00", following: "150.00", "overdue": "33.33",
                               "none": "30.00", "later": "20.00",
                               **{month_key(n): "0.00" for n in range(2, 12)}}
    teams = figures(response, "forecast-teams")
    assert teams["North"] == {this: "500.00", following: "150.00", "overdue": "33.33",
                              "none": "30.00", "later": "20.00"}
    assert teams["No team"] == {this: "1,000.00"}
    # Row totals, and the chart: overdue first (in red), no date last, the totals of
    # every column as its bars' tooltips, and no script (the page's CSP).
    assert "1,733.33" in page_text(response)
    bars = chart_bars(response, "crm-forecast-chart")
    assert [value for _label, value in bars] == [
        "33.33", "1,500.00", "150.00", *["0.00"] * 10, "20.00", "30.00"]
    assert bars[0][0] == "Overdue" and [label for label, _v in bars[13:]] == [
        "Later", "No date"]
    chart = chart_markup(response, "crm-forecast-chart")
    assert re.search(r'<g class="bar" style="fill: #dc3545[^>]*><title>Overdue:', chart)
    assert "<svg" in chart and "<script" not in chart


def test_won_revenue_per_month_quarter_and_year(sales_suite):
    admin, _ann = setup_figures(sales_suite)
    today = date.today()
    last_year, last_month = dashboard.add_months(today.year, today.month, -1)
    owners = figures(admin.get(DASHBOARD + "?period=month"), "won-owners")
    assert owners["ann"] == {month_key(0): "5,000.00"}
    assert owners["bob"] == {month_key(-1): "700.00"}
    assert "admin" not in owners
    teams = figures(admin.get(DASHBOARD + "?period=month"), "won-teams")
    assert teams == {"North": {month_key(0): "5,000.00"},
                     "No team": {month_key(-1): "700.00"},
                     "Total": {**{month_key(n): "0.00" for n in range(-11, 1)},
                               month_key(0): "5,000.00", month_key(-1): "700.00"}}
    quarters = figures(admin.get(DASHBOARD + "?period=quarter"), "won-owners")
    this_quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    last_quarter = f"{last_year}-Q{(last_month - 1) // 3 + 1}"
    assert quarters["ann"] == {this_quarter: "5,000.00"}
    assert quarters["bob"] == {last_quarter: "700.00"}
    years = figures(admin.get(DASHBOARD + "?period=year"), "won-owners")
    assert years["ann"] == {str(today.year): "5,000.00"}
    assert years["bob"] == {str(last_year): "700.00"}


def test_a_salesperson_sees_only_their_own_figures(sales_suite):
    _admin, ann = setup_figures(sales_suite)
    response = ann.get(DASHBOARD)
    assert response.status_code == 200
    owners = figures(response, "forecast-owners")
    assert set(owners) == {"ann", "Total"}
    assert owners["Total"][month_key(0)] == "500.00"
    assert set(figures(response, "won-owners")) == {"ann", "Total"}
    assert set(figures(response, "forecast-teams")) == {"North", "Total"}
    # The owner filter offers herself only; asking for bob changes nothing.
    bob = user_id(sales_suite, "bob")
    assert f'<option value="{bob}"' not in page_text(response)
    forced = figures(ann.get(f"{DASHBOARD}?owner={bob}"), "forecast-owners")
    assert set(forced) == {"ann", "Total"}
    # Her home page: this month's figures of her own deals.
    home = page_text(ann.get("/admin/"))
    assert re.search(r'crm-sales-month-forecast">500.00<', home)
    assert re.search(r'crm-sales-month-won">5,000.00<', home)


def test_owner_and_team_filters(sales_suite):
    admin, _ann = setup_figures(sales_suite)
    bob = user_id(sales_suite, "bob")
    assert set(figures(admin.get(f"{DASHBOARD}?owner={bob}"), "forecast-owners")) == {
        "bob", "Total"}
    north = sales_suite.sql("SELECT id FROM core_team WHERE name = 'North'")[0][0]
    owners = figures(admin.get(f"{DASHBOARD}?team={north}"), "forecast-owners")
    assert set(owners) == {"ann", "admin", "Total"}


def test_funnel_from_the_stage_history(sales_suite):
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    stages, reasons = stage_ids(sales_suite), reason_ids(sales_suite)
    first, second, _third = (add_opportunity(admin, sales_suite, name, customer,
                                             stages["Qualification"])
                             for name in ("One", "Two", "Three"))
    for deal in (first, second):
        assert move(admin, deal, stages["Proposal"]).status_code == 200
    assert move(admin, first, stages["Won"]).status_code == 200
    assert move(admin, second, stages["Lost"], lost_reason=reasons["No budget"]).status_code \
        == 200
    response = admin.get(DASHBOARD)
    rows = funnel_rows(response)
    assert rows["Qualification"] == (3, "2", "67 %")
    # Both skipped "Needs analysis" on their way on; "One" skipped "Negotiation" and won.
    assert rows["Needs analysis"] == (2, "2", "100 %")
    assert rows["Proposal"] == (2, "1", "50 %")
    assert rows["Negotiation"] == (1, "1", "100 %")
    assert rows["Won"] == (1, "", "") and rows["Lost"] == (1, "", "")
    # The chart: the deals that reached each stage, lost left out (the markup draws the
    # bars from the bottom up, so the first stage shows on top).
    assert chart_bars(response, "crm-funnel-chart")[::-1] == [
        ("Qualification", "3"), ("Needs analysis", "2"), ("Proposal", "2"),
        ("Negotiation", "1"), ("Won", "1")]


def test_funnel_counts_deals_that_started_in_a_later_stage(sales_suite):
    """Issue 14: deals entered straight into a later stage or as won (the demo data, an
    import) showed 0 % at every stage although deals had been won: they pass the stages
    before the one they started in."""
    admin = sales_suite.admin_client()
    customer = make_customer(admin, sales_suite, "Acme")
    stages = stage_ids(sales_suite)
    for name, stage in (("Won A", "Won"), ("Won B", "Won"), ("Talks", "Negotiation"),
                        ("Offer", "Proposal"), ("New", "Qualification")):
        add_opportunity(admin, sales_suite, name, customer, stages[stage])
    rows = funnel_rows(admin.get(DASHBOARD))
    assert rows["Qualification"] == (5, "4", "80 %")
    assert rows["Needs analysis"] == (4, "4", "100 %")
    assert rows["Proposal"] == (4, "3", "75 %")
    assert rows["Negotiation"] == (3, "2", "67 %")
    assert rows["Won"] == (2, "", "")


def test_funnel_follows_the_record_rules(sales_suite):
    """A salesperson's funnel counts her own deals only."""
    admin = sales_suite.admin_client()
    ann = add_user(sales_suite, "ann", "sales_user", "contacts_user")
    customer = make_customer(ann, sales_suite, "Acme")
    stages = stage_ids(sales_suite)
    add_opportunity(admin, sales_suite, "Admin's", customer, stages["Won"])
    add_opportunity(ann, sales_suite, "Ann's", customer, stages["Proposal"])
    rows = funnel_rows(ann.get(DASHBOARD))
    assert rows["Qualification"] == (1, "1", "100 %")
    assert rows["Proposal"] == (1, "0", "0 %")
    assert rows["Won"] == (0, "", "")


def test_periods_and_buckets():
    today = date(2026, 2, 10)
    assert dashboard.forecast_bucket(None, None, today) == "none"
    assert dashboard.forecast_bucket(2026, 1, today) == "overdue"
    assert dashboard.forecast_bucket(2026, 2, today) == "2026-02"
    assert dashboard.forecast_bucket(2027, 1, today) == "2027-01"
    assert dashboard.forecast_bucket(2027, 2, today) == "later"
    assert dashboard.add_months(2026, 11, 3) == (2027, 2)
    assert dashboard.add_months(2026, 1, -1) == (2025, 12)
    assert dashboard.period_of("quarter", 2026, 12) == "2026-Q4"
    from flask import Flask
    from flask_babel import Babel
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        start, months = dashboard.recent_periods("month", today)
        assert start == date(2025, 3, 1) and months[-1][0] == "2026-02" and len(months) == 12
        start, quarters = dashboard.recent_periods("quarter", today)
        assert start == date(2024, 4, 1)
        assert [key for key, _label in quarters][::7] == ["2024-Q2", "2026-Q1"]
        start, years = dashboard.recent_periods("year", today)
        assert start == date(2022, 1, 1) and years[-1] == ("2026", "2026")
