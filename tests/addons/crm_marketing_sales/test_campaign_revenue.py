"""What campaigns brought back: the hand-worked table below, through the hook
"marketing.campaign_revenue" and crm_marketing's campaign_figures (revenue and ROI).

Spring fair (costs 1,500 + 500 = 2,000):
  lead 1 -> won deal of 10,000; its order was paid 4,000 + 5,000 (two partial payments):
            counted 10,000 (the larger: the deal)
  lead 2 -> lost deal of 8,000: nothing
  lead 3 -> open deal of 3,000; its order paid 2,500, a cancelled order paid 700:
            counted 2,500 (what was paid; the cancelled order not at all)
  lead 4 -> not converted: nothing
  revenue 12,500; ROI (12,500 - 2,000) / 2,000 = 525 %
Autumn mailing (cost 1,000):
  lead 5 -> won deal of 6,000; its order paid 6,000 + 1,500 = 7,500: counted 7,500
  revenue 7,500; ROI 650 %
Quiet campaign (no cost, no lead): revenue 0, no ROI.
Not counted anywhere: a won deal of a lead no campaign brought (and its paid order), an
order of lead 1's customer made without a quote, a payment on account."""
from datetime import date
from decimal import Decimal

from sqlalchemy import event

from addons.crm_contacts.models import Customer
from addons.crm_marketing.models import Campaign, CampaignCost
from addons.crm_marketing.views import campaign_figures
from addons.crm_marketing_sales.models import CampaignLead
from addons.crm_marketing_sales.revenue import campaign_revenue
from addons.crm_sales.models import Lead, Opportunity, Payment, Quote, SalesOrder, Stage
from core.db import db
from tests.addons.crm_marketing.marketing_helpers import app_of


def stage(name):
    return db.session.scalar(db.select(Stage).where(Stage.name == name))


def campaign(name, *costs):
    found = Campaign(name=name, kind="e-mail", state="running", budget=5000, costs=[
        CampaignCost(spent_on=date(2026, 3, 1), description="cost", amount=amount)
        for amount in costs])
    db.session.add(found)
    return found


def lead(customer, from_campaign=None, status="converted"):
    found = Lead(name=f"Lead of {customer.name}", status=status, customer=customer)
    db.session.add(found)
    if from_campaign is not None:
        db.session.add(CampaignLead(lead=found, campaign=from_campaign))
    return found


def deal(lead_, stage_name, amount):
    found = Opportunity(name=f"Deal {amount}", customer=lead_.customer, lead=lead_,
                        stage=stage(stage_name), amount=Decimal(amount))
    db.session.add(found)
    return found


def order(customer, opportunity, payments, state="open"):
    quote = Quote(customer=customer, opportunity=opportunity) if opportunity else None
    found = SalesOrder(customer=customer, quote=quote, state=state)
    db.session.add(found)
    for amount in payments:
        db.session.add(Payment(customer=customer, order=found, amount=Decimal(amount)))
    return found


def revenue_table(suite):
    """The campaigns' ids: Spring fair, Autumn mailing, Quiet campaign."""
    with app_of(suite):
        spring = campaign("Spring fair", 1500, 500)
        autumn = campaign("Autumn mailing", 1000)
        quiet = campaign("Quiet campaign")
        people = [Customer(name=f"Customer {n}", kind="company") for n in range(7)]
        db.session.add_all(people)
        first, second, third, fifth, outsider = (
            lead(people[0], spring), lead(people[1], spring), lead(people[2], spring),
            lead(people[4], autumn), lead(people[5]))
        lead(people[3], spring, "new")          # not converted: no deal
        won = deal(first, "Won", 10000)
        order(people[0], won, [4000, 5000])
        deal(second, "Lost", 8000)
        still_open = deal(third, "Negotiation", 3000)
        order(people[2], still_open, [2500])
        order(people[2], still_open, [700], state="cancelled")
        autumn_deal = deal(fifth, "Won", 6000)
        order(people[4], autumn_deal, [6000, 1500])
        order(people[5], deal(outsider, "Won", 99999), [99999])
        order(people[0], None, [3333])                        # no quote, no deal
        db.session.add(Payment(customer=people[0], amount=Decimal(4444)))   # on account
        db.session.commit()
        return spring.id, autumn.id, quiet.id


def test_revenue_and_roi_of_the_hand_worked_table(bridge_suite):
    spring, autumn, quiet = revenue_table(bridge_suite)
    with app_of(bridge_suite):
        assert campaign_revenue([spring, autumn, quiet]) == {
            spring: Decimal("12500.00"), autumn: Decimal("7500.00")}
        figures = campaign_figures([spring, autumn, quiet])
    assert (figures[spring]["cost"], figures[spring]["revenue"], figures[spring]["roi"]) == (
        Decimal(2000), Decimal(12500), Decimal(525))
    assert (figures[autumn]["revenue"], figures[autumn]["roi"]) == (Decimal(7500), Decimal(650))
    assert (figures[quiet]["revenue"], figures[quiet]["roi"]) == (Decimal(0), None)

    admin = bridge_suite.admin_client()
    page = admin.get(f"/admin/campaign/details/?id={spring}").get_data(as_text=True)
    assert "12,500.00" in page and "525.0 %" in page
    assert "when Sales is enabled" not in page
    listing = admin.get("/admin/campaign/").get_data(as_text=True)
    assert "12,500.00" in listing and "7,500.00" in listing and "650 %" in listing


def test_one_query_whatever_the_number_of_campaigns(bridge_suite):
    ids = list(revenue_table(bridge_suite))
    statements = []

    def count(*args):
        statements.append(args[2])

    with app_of(bridge_suite):
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            campaign_revenue(ids[:1])
            one = len(statements)
            campaign_revenue(ids + list(range(10000, 10050)))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert one == 1 and len(statements) == 2
