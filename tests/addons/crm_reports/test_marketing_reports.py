"""Marketing's reports and its standard dashboard, with Reports enabled beside
Marketing (no Sales: no revenue is attributed). Campaign A (March 2026) cost 200 + 300
and had a click and a reply; C (no dates) cost nothing and had a click in April; B
starts in 2027, after the period."""
import pytest

from tests.addons.conftest import addon_suite
from tests.addons.crm_reports.report_helpers import table
from tests.addons.crm_sales.order_helpers import text

PERIOD = "?start=2026-01-01&end=2026-12-31"


def campaign(suite, name, start=None, end=None):
    return suite.sql(
        "INSERT INTO mkt_campaign (name, kind, state, start_date, end_date, budget, "
        "expected_revenue, created_at, updated_at) VALUES (:n, 'e-mail', 'running', :s, :e, "
        "0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id", n=name, s=start, e=end)[0][0]


@pytest.fixture
def campaigns(tmp_path, database_url):
    suite = addon_suite(tmp_path, database_url, ["crm_marketing", "crm_reports"])
    a = campaign(suite, "A", "2026-03-01", "2026-03-31")
    campaign(suite, "B", "2027-01-01")
    c = campaign(suite, "C")
    for amount in ("200", "300"):
        suite.sql("INSERT INTO mkt_campaign_cost (campaign_id, spent_on, description, amount) "
                  "VALUES (:c, '2026-03-02', 'Print', :a)", c=a, a=amount)
    for cid, kind, at in ((a, "click", "2026-03-03 10:00:00"), (a, "reply", "2026-03-04 10:00:00"),
                          (c, "click", "2026-04-01 10:00:00")):
        suite.sql("INSERT INTO mkt_response (campaign_id, kind, responded_at) VALUES "
                  "(:c, :k, :t)", c=cid, k=kind, t=at)
    yield suite
    suite.close()


def test_campaign_roi_and_responses(campaigns):
    admin = campaigns.admin_client()
    rows, totals = table(text(admin.get("/admin/report/marketing_roi/" + PERIOD)))
    assert rows == [["A", "500.00", "2", "0.00", "-100 %"], ["C", "0.00", "1", "0.00", ""]]
    assert totals == ["Total", "500.00", "3", "0.00", ""]
    rows, totals = table(text(admin.get("/admin/report/marketing_responses/" + PERIOD)))
    assert rows == [["Click", "2"], ["Reply", "1"]]
    page = text(admin.get("/admin/dashboard/standard/marketing/" + PERIOD))
    assert "Campaigns: cost, revenue and ROI" in page and "Responses by kind" in page
