"""The Sales reports not worked elsewhere, against a table worked by hand, on the shared
world (conftest.py: Ann won 1,000.50 in March and 200 in May, Bob 3,000 in April, the
admin 50 last year), with a team, open deals, orders, leads and expenses added here."""
import pytest

from tests.addons.crm_reports.report_helpers import YEAR, table
from tests.addons.crm_sales.order_helpers import text

PERIOD = f"?start={YEAR}-01-01&end={YEAR}-12-31"


@pytest.fixture
def sales(world):
    suite = world["suite"]
    ids = dict(suite.sql("SELECT username, id FROM core_user"))
    team = suite.sql("INSERT INTO core_team (name, leader_id) VALUES ('East', :l) RETURNING id",
                     l=ids["ann"])[0][0]
    suite.sql("INSERT INTO core_team_member (team_id, user_id) VALUES (:t, :u)", t=team,
              u=ids["bob"])
    customer = suite.sql("SELECT id FROM crm_customer WHERE name = 'Ann One'")[0][0]
    stages = suite.sql("SELECT id, name FROM sale_stage WHERE kind = 'open' ORDER BY sequence")
    for (stage, _name), owner, amount, chance in ((stages[0], "ann", 1000, 10),
                                                  (stages[1], "bob", 2000, 50)):
        suite.sql("INSERT INTO sale_opportunity (name, customer_id, currency, stage_id, "
                  "probability, amount, owner_id, created_at, updated_at) VALUES ('Open', :c, "
                  "'CNY', :s, :p, :a, :o, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                  c=customer, s=stage, p=chance, a=amount, o=ids[owner])
    for number, state in (("SO1", "open"), ("SO2", "cancelled")):
        suite.sql("INSERT INTO sale_order (number, customer_id, order_date, state, currency, "
                  "subtotal, tax, total, owner_id, created_at, updated_at) VALUES (:n, :c, :d, "
                  ":s, 'CNY', 100, 13, 113, :o, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                  n=number, c=customer, d=f"{YEAR}-03-09", s=state, o=ids["ann"])
    web = suite.sql("INSERT INTO crm_source (name) VALUES ('Web') RETURNING id")[0][0]
    for source, status in ((web, "converted"), (web, "new"), (None, "new")):
        suite.sql("INSERT INTO sale_lead (name, status, source_id, owner_id, created_at, "
                  "updated_at) VALUES ('Lead', :s, :src, :o, :at, :at)", s=status, src=source,
                  o=ids["ann"], at=f"{YEAR}-02-01 10:00:00")
    travel = suite.sql("INSERT INTO sale_expense_category (name, kind) VALUES ('Taxis', "
                       "'expense') RETURNING id")[0][0]
    for amount, state in (("100", "approved"), ("50", "approved"), ("999", "submitted")):
        suite.sql("INSERT INTO sale_expense (expense_date, kind, category_id, amount, "
                  "description, state, owner_id, created_at, updated_at) VALUES (:d, "
                  "'expense', :c, :a, 'Taxi', :s, :o, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                  d=f"{YEAR}-04-02", c=travel, a=amount, s=state, o=ids["ann"])
    return world, [name for _id, name in stages]


def rows_of(world, key):
    return table(text(world["admin"].get(f"/admin/report/{key}/{PERIOD}")))


def test_the_sales_reports_against_worked_tables(sales):
    world, stages = sales
    rows, totals = rows_of(world, "sales_pipeline")
    assert rows == [[stages[0], "1", "1,000.00", "100.00"], [stages[1], "1", "2,000.00",
                                                               "1,000.00"]]
    assert totals == ["Total", "2", "3,000.00", "1,100.00"]
    # Every deal of a team member counts in the team; the admin's (no team) does not.
    assert rows_of(world, "sales_won_by_team")[0] == [["East", "3", "4,200.50"]]
    assert rows_of(world, "sales_won_by_month")[0] == [
        [f"Mar {YEAR}", "1", "1,000.50"], [f"Apr {YEAR}", "1", "3,000.00"],
        [f"May {YEAR}", "1", "200.00"]]
    assert rows_of(world, "sales_orders_by_month")[0] == [[f"Mar {YEAR}", "1", "113.00"]]
    assert rows_of(world, "sales_lead_sources")[0] == [["Web", "2", "1", "50 %"],
                                                       ["No source", "1", "0", "0 %"]]
    assert rows_of(world, "sales_expenses") == ([["Taxis", "2", "150.00"]],
                                                ["Total", "2", "150.00"])
    # Funnel and forecast are the Sales dashboard's own figures: the open deals' stages
    # reached, and their expected revenue in the forecast's "No date" column.
    forecast, totals = rows_of(world, "sales_forecast")
    assert forecast[-1] == ["No date", "1,100.00"] and totals == ["Total", "1,100.00"]
