"""The bridge comes and goes with Marketing and Sales; Marketing works alone."""
from decimal import Decimal

from addons.crm_marketing.views import campaign_figures
from tests.addons.crm_marketing.marketing_helpers import app_of

BRIDGE = "crm_marketing_sales"


def states(suite):
    return {line.split("\t")[0]: line.split("\t")[1]
            for line in suite.run("addons", "list").output.splitlines() if "\t" in line}


def test_enabled_with_marketing_and_sales_by_itself(bridge_suite):
    assert states(bridge_suite)[BRIDGE] == "enabled"
    assert bridge_suite.sql("SELECT count(*) FROM mkt_lead_campaign")[0][0] == 0
    rights = bridge_suite.sql(
        "SELECT g.code, a.letters FROM core_access a JOIN core_group g ON g.id = a.group_id "
        "WHERE a.model = 'CampaignLead' ORDER BY g.code")
    assert rights == [("marketing_manager", "r"), ("marketing_user", "r"),
                      ("sales_manager", "r"), ("sales_user", "r")]
    assert bridge_suite.sql("SELECT count(*) FROM crm_source WHERE name = 'Marketing campaign'")[0][0] == 1


def test_disabled_with_sales_and_marketing_goes_on_alone(bridge_suite):
    admin = bridge_suite.admin_client()
    campaign = bridge_suite.sql(
        "INSERT INTO mkt_campaign (name, kind, state, budget, expected_revenue, created_at, "
        "updated_at) VALUES ('Spring fair', 'e-mail', 'running', 1000, 0, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP) RETURNING id")[0][0]
    bridge_suite.sql("INSERT INTO mkt_campaign_cost (campaign_id, spent_on, description, amount) "
                     "VALUES (:c, '2026-03-01', 'Stand', 500)", c=campaign)
    result = bridge_suite.run("addons", "disable", "crm_sales")
    assert result.exit_code == 0, result.output
    assert result.output == f"disabled: crm_sales, {BRIDGE}\n"
    assert states(bridge_suite)[BRIDGE] == "disabled"
    assert states(bridge_suite)["crm_marketing"] == "enabled"

    page = admin.get(f"/admin/campaign/details/?id={campaign}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "when Sales is enabled" in text        # no revenue without the bridge
    assert admin.get("/admin/campaign/").status_code == 200
    with app_of(bridge_suite):
        figures = campaign_figures([campaign])[campaign]
    assert figures["revenue"] == Decimal(0) and figures["roi"] == Decimal(-100)

    assert bridge_suite.run("addons", "enable", "crm_sales").output == \
        f"enabled: crm_sales, {BRIDGE}\n"


def test_the_bridge_is_not_disabled_alone(bridge_suite):
    result = bridge_suite.run("addons", "disable", BRIDGE)
    assert result.exit_code == 1
    assert "is enabled whenever crm_marketing, crm_sales are" in result.output
