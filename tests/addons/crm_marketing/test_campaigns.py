"""Campaigns: planned with a budget (above 50,000 approved by a marketing manager
through the core's approval engine, below approved at once), their actual costs as
dated lines, the figures on the page and in the list, and a mailing of a campaign not
approved yet cannot go."""
from decimal import Decimal
from html import unescape

import pytest

from tests.addons.crm_marketing.marketing_helpers import user
from tests.addons.crm_marketing.mass_mail_helpers import make_mailing

CAMPAIGNS = "/admin/campaign/"


@pytest.fixture
def people(marketing_suite):
    mia, _ = user(marketing_suite, "mia", "marketing_user")
    max_, _ = user(marketing_suite, "max", "marketing_manager")
    return marketing_suite, mia, max_


def text(response):
    return unescape(response.get_data(as_text=True))


def create(client, **fields):
    data = {"name": "Spring fair", "kind": "event or trade show", "budget": "80000",
            "expected_revenue": "0", "start_date": "2027-03-01", "end_date": "2027-03-03",
            "costs-0-spent_on": "2027-02-01", "costs-0-description": "Stand",
            "costs-0-amount": "30000.50", "costs-1-spent_on": "2027-02-15",
            "costs-1-description": "Brochures", "costs-1-amount": "4999.50", **fields}
    return client.post_form(CAMPAIGNS + "new/", data, token_from=CAMPAIGNS + "new/")


def state(suite, name="Spring fair"):
    return suite.sql("SELECT state FROM mkt_campaign WHERE name = :n", n=name)[0][0]


def test_a_large_budget_waits_for_a_manager_and_a_small_one_goes_at_once(people):
    suite, mia, max_ = people
    assert create(mia).status_code == 302
    campaign = suite.sql("SELECT id FROM mkt_campaign")[0][0]
    page = text(mia.get(f"{CAMPAIGNS}details/?id={campaign}"))
    assert "35,000.00" in page and "45,000.00" in page     # cost, and left of the budget
    mia.post_form(f"{CAMPAIGNS}transition/submit/?id={campaign}", {}, token_from=CAMPAIGNS)
    assert state(suite) == "submitted"
    mia.post_form(f"{CAMPAIGNS}approve/?id={campaign}", {}, token_from=CAMPAIGNS)
    assert state(suite) == "submitted"                  # not hers to approve
    max_.post_form(f"{CAMPAIGNS}approve/?id={campaign}", {}, token_from=CAMPAIGNS)
    assert state(suite) == "approved"

    create(mia, name="Newsletter", kind="e-mail", budget="2000")
    small = suite.sql("SELECT id FROM mkt_campaign WHERE name = 'Newsletter'")[0][0]
    mia.post_form(f"{CAMPAIGNS}transition/submit/?id={small}", {}, token_from=CAMPAIGNS)
    assert state(suite, "Newsletter") == "approved"


def test_bad_campaigns_are_refused_on_the_field(people):
    suite, mia, _max = people
    answer = create(mia, end_date="2027-02-01")
    assert "The end comes before the start." in text(answer)
    answer = create(mia, budget="-5")
    assert "An amount from 0 to 999,999,999,999.99." in text(answer)
    answer = create(mia, **{"costs-0-amount": "abc"})
    assert answer.status_code == 200
    assert suite.sql("SELECT count(*) FROM mkt_campaign")[0][0] == 0
    assert suite.sql("SELECT count(*) FROM mkt_campaign_cost")[0][0] == 0


def test_the_list_shows_cost_responses_and_return_in_constant_queries(people):
    suite, mia, _max = people
    create(mia)
    campaign = suite.sql("SELECT id FROM mkt_campaign")[0][0]
    for _ in range(3):
        suite.sql("INSERT INTO mkt_response (campaign_id, kind, responded_at) VALUES "
                  "(:c, 'click', CURRENT_TIMESTAMP)", c=campaign)
    listed = text(mia.get(CAMPAIGNS))
    assert "35,000.00" in listed
    few = len(mia.queries(CAMPAIGNS))
    for number in range(15):
        create(mia, name=f"Campaign {number}")
    assert len(mia.queries(CAMPAIGNS)) == few


def test_a_mailing_of_a_campaign_not_approved_cannot_be_sent(people):
    suite, mia, _max = people
    create(mia)
    campaign = suite.sql("SELECT id FROM mkt_campaign")[0][0]
    mailing = make_mailing(suite)
    mia_id = suite.sql("SELECT id FROM core_user WHERE username = 'mia'")[0][0]
    suite.sql("UPDATE mkt_mailing SET campaign_id = :c, owner_id = :u", c=campaign, u=mia_id)
    page = text(mia.get(f"/admin/mailing/send/?id={mailing}"))
    assert "The campaign Spring fair is not approved yet." in page
    mia.post_form(f"/admin/mailing/send/?id={mailing}", {"id": mailing},
                  token_from=f"/admin/mailing/send/?id={mailing}")
    assert suite.sql("SELECT state FROM mkt_mailing")[0][0] == "draft"


def test_roi_of_costs_without_sales_is_minus_one_hundred_percent(people):
    from addons.crm_marketing.views import campaign_figures
    from tests.addons.crm_marketing.marketing_helpers import app_of
    suite, mia, _max = people
    create(mia)
    campaign = suite.sql("SELECT id FROM mkt_campaign")[0][0]
    with app_of(suite):
        found = campaign_figures([campaign])[campaign]
    assert found["cost"] == Decimal("35000.00") and found["revenue"] == 0
    assert found["roi"] == Decimal(-100)


def test_the_export_carries_each_campaigns_figures(people):
    suite, mia, _max = people
    create(mia)
    create(mia, name="Newsletter", kind="e-mail", budget="2000", **{
        "costs-0-amount": "100", "costs-1-amount": "50"})
    exported = mia.get(CAMPAIGNS + "export/csv/").get_data(as_text=True)
    rows = {line.split(",")[0]: line for line in exported.splitlines()[1:]}
    assert "35,000.00" in rows["Spring fair"] or "35000" in rows["Spring fair"]
    assert "150" in rows["Newsletter"]
