"""Campaign responses become leads through the hook "marketing.response" (called by
crm_marketing's responses.responded): one lead per person per campaign."""
from datetime import datetime

from addons.crm_contacts.models import Source
from addons.crm_marketing.models import Campaign, CampaignResponse
from addons.crm_marketing.responses import responded
from addons.crm_marketing_sales.models import CampaignLead
from addons.crm_sales.models import AssignmentRule, Lead
from core.db import db
from tests.addons.crm_marketing.marketing_helpers import app_of, customers_with_contacts, user


def campaign(name="Spring mailing", kind="e-mail"):
    found = Campaign(name=name, kind=kind, state="running", budget=0)
    db.session.add(found)
    db.session.flush()
    return found


def respond(campaign_id, **fields):
    """A response as crm_marketing makes one: added, the hook called, committed."""
    response = CampaignResponse(campaign_id=campaign_id, kind=fields.pop("kind", "click"),
                                responded_at=datetime(2026, 3, 2, 9, 30), **fields)
    db.session.add(response)
    responded(response)
    db.session.commit()
    return response.id


def lead_rows(suite):
    return suite.sql(
        "SELECT l.name, l.email, l.phone, l.company, l.status, s.name, l.customer_id, "
        "k.campaign_id, k.response_id FROM sale_lead l JOIN mkt_lead_campaign k "
        "ON k.lead_id = l.id LEFT JOIN crm_source s ON s.id = l.source_id ORDER BY l.id")


def test_a_click_makes_one_lead_and_the_response_knows_it(bridge_suite):
    with app_of(bridge_suite):
        spring = campaign().id
        first = respond(spring, name="Li Lei", email="Li.Lei@example.com", note="https://x.example/")
    assert lead_rows(bridge_suite) == [("Li Lei", "Li.Lei@example.com", None, None, "new",
                                        "Marketing campaign", None, spring, first)]
    lead_id = bridge_suite.sql("SELECT id FROM sale_lead")[0][0]
    assert bridge_suite.sql("SELECT lead_id FROM mkt_response WHERE id = :r", r=first) == \
        [(lead_id,)]
    assert bridge_suite.sql("SELECT description FROM sale_lead")[0][0] == "https://x.example/"


def test_the_same_person_again_joins_the_lead_of_that_campaign(bridge_suite):
    with app_of(bridge_suite):
        spring, autumn = campaign().id, campaign("Autumn mailing").id
        respond(spring, name="Li Lei", email="li.lei@example.com")
        again = respond(spring, name="Li Lei", email="LI.LEI@example.com ", kind="reply")
        by_phone = respond(spring, name="Han Meimei", phone="138 0000 0000")
        phone_again = respond(spring, phone="138 0000 0000", kind="form")
        elsewhere = respond(autumn, name="Li Lei", email="li.lei@example.com")
    leads = bridge_suite.sql("SELECT id, name FROM sale_lead ORDER BY id")
    assert [name for _id, name in leads] == ["Li Lei", "Han Meimei", "Li Lei"]
    lead_of = dict(bridge_suite.sql("SELECT id, lead_id FROM mkt_response"))
    assert lead_of[again] == leads[0][0]
    assert lead_of[by_phone] == lead_of[phone_again] == leads[1][0]
    assert lead_of[elsewhere] == leads[2][0]
    assert bridge_suite.sql("SELECT count(*) FROM mkt_lead_campaign")[0][0] == 3


def test_a_known_contact_brings_its_customer_and_company(bridge_suite):
    customer_id = customers_with_contacts(bridge_suite, 1)[0]
    contact_id = bridge_suite.sql("SELECT id FROM crm_contact")[0][0]
    with app_of(bridge_suite):
        respond(campaign().id, contact_id=contact_id, customer_id=customer_id)
    assert lead_rows(bridge_suite)[0][:7] == (
        "Person 0", "person0@example.com", None, "Customer 0", "new", "Marketing campaign",
        customer_id)


def test_no_lead_for_an_anonymous_response_or_one_that_has_its_lead(bridge_suite):
    with app_of(bridge_suite):
        spring = campaign().id
        respond(spring, note="someone at the stand")
        respond(spring, name="Li Lei", email="not an address")   # the name is enough
        respond(spring, name="Wang Fang", lead_id=999)
    assert [row[:2] for row in lead_rows(bridge_suite)] == [("Li Lei", None)]


def test_the_assignment_rules_give_the_lead_as_a_web_form_lead(bridge_suite):
    _client, seller = user(bridge_suite, "seller", "sales_user")
    with app_of(bridge_suite):
        marketing = db.session.scalar(db.select(Source).where(Source.name == "Marketing campaign"))
        db.session.add(AssignmentRule(name="Campaign leads", sequence=1, source=marketing,
                                      user_id=seller, active=True))
        db.session.commit()
        respond(campaign().id, name="Li Lei", email="li.lei@example.com")
        assert db.session.scalar(db.select(Lead.owner_id)) == seller
        assert db.session.scalar(db.select(db.func.count()).select_from(CampaignLead)) == 1
