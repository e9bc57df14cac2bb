"""ABC and RFM as reports, against a table worked by hand: five customers with 500, 300,
100, 60 and 40 of purchases (1,000 in all; 5, 4, 3, 2 and 1 purchase days, the last 0,
30, 60, 90 and 120 days before the period's end)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.addons.crm_contacts.helpers import user
from tests.addons.crm_reports.report_helpers import table
from tests.addons.crm_sales.order_helpers import text

END = date(2026, 6, 30)
PERIOD = f"?start={(END - timedelta(days=364)).isoformat()}&end={END.isoformat()}"


@pytest.fixture
def five(reports_suite):
    suite = reports_suite
    ann, ann_id = user(suite, "ann", "contacts_user", "reports_user")
    for number, revenue in enumerate((500, 300, 100, 60, 40), start=1):
        owner = ann_id if number == 5 else None
        cid = suite.sql(
            "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
            "email_key, is_supplier, owner_id, created_at, updated_at) VALUES ('company', :n, "
            ":n, 'B', false, 'active', '', '', false, :o, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP) RETURNING id", n=f"P{number}", o=owner)[0][0]
        purchases = 6 - number
        last = END - timedelta(days=30 * (number - 1))
        each = (Decimal(revenue) / purchases).quantize(Decimal("0.01"))
        for offset in range(purchases):   # in cents, the last day takes what is left
            amount = each if offset else Decimal(revenue) - each * (purchases - 1)
            suite.sql("INSERT INTO rep_sales_history (customer_id, date, amount) VALUES "
                      "(:c, :d, :a)", c=cid, d=last - timedelta(days=offset), a=str(amount))
    # Outside the period: counts nowhere.
    suite.sql("INSERT INTO rep_sales_history (customer_id, date, amount) VALUES (:c, :d, "
              "99999)", c=cid, d=END + timedelta(days=1))
    return suite, ann


def test_abc_classes_and_suggested_grades(five):
    suite, ann = five
    admin = suite.admin_client()
    rows, totals = table(text(admin.get("/admin/report/customers_abc/" + PERIOD)))
    assert rows == [
        ["P1", "500.00", "50 %", "50 %", "A", "B", "A"],
        ["P2", "300.00", "30 %", "80 %", "A", "B", "A"],
        ["P3", "100.00", "10 %", "90 %", "B", "B", ""],
        ["P4", "60.00", "6 %", "96 %", "B", "B", ""],
        ["P5", "40.00", "4 %", "100 %", "C", "B", "C"],
    ]
    assert totals[1] == "1,000.00"
    # Other breakpoints, set on the addon's settings: 50/30/20.
    for key, value in (("abc_a_share", 50), ("abc_b_share", 30), ("abc_c_share", 20)):
        suite.sql("INSERT INTO core_option (addon, key, value) VALUES ('crm_reports', :k, :v)",
                  k=key, v=str(value))
    rows, _totals = table(text(admin.get("/admin/report/customers_abc/" + PERIOD)))
    assert [row[4] for row in rows] == ["A", "B", "C", "C", "C"]
    # Breakpoints that do not add up: said, no figures.
    suite.sql("UPDATE core_option SET value = '10' WHERE key = 'abc_c_share'")
    page = text(admin.get("/admin/report/customers_abc/" + PERIOD))
    assert "The three percentages must add up to 100." in page
    # A salesperson's analysis covers their own customers: P5 is all their revenue.
    rows, _totals = table(text(ann.get("/admin/report/customers_rfm/" + PERIOD)))
    assert [row[0] for row in rows] == ["P5"]


def test_rfm_scores_and_segments(five):
    suite, _ann = five
    admin = suite.admin_client()
    rows, _totals = table(text(admin.get("/admin/report/customers_rfm/" + PERIOD)))
    assert [(row[0], row[4], row[5], row[6], row[7]) for row in rows] == [
        ("P1", "5", "5", "5", "Champions"), ("P2", "4", "4", "4", "Champions"),
        ("P3", "3", "3", "3", "Loyal"), ("P4", "2", "2", "2", "Hibernating"),
        ("P5", "1", "1", "1", "Hibernating")]
    assert rows[0][1] == "Jun 30, 2026" and rows[0][2] == "5"
    rows, totals = table(text(admin.get("/admin/report/customers_rfm_segments/" + PERIOD)))
    assert rows == [["Champions", "2", "800.00"], ["Loyal", "1", "100.00"],
                    ["Hibernating", "2", "100.00"]]
    assert totals == ["Total", "5", "1,000.00"]


def test_customers_whose_revenue_is_falling(five):
    """June against the 30 days before it (2 to 31 May): P2 bought 300 on 28-31 May and
    nothing in June; P1 bought in June only (rising: not listed); P3's last purchase,
    1 May, is before both."""
    suite, _ann = five
    rows, totals = table(text(suite.admin_client().get(
        "/admin/report/customers_falling/?start=2026-06-01&end=2026-06-30")))
    assert rows == [["P2", "300.00", "0.00", "-300.00", "-100 %"]]
    assert totals == ["Total", "300.00", "0.00", "-300.00", ""]
