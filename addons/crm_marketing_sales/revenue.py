"""What campaigns brought back (hook ``marketing.campaign_revenue``, summed by
crm_marketing's campaign_figures into each campaign's revenue and ROI).

A campaign's revenue comes from the opportunities its leads were converted into (the
lead's Opportunity.lead_id). Each opportunity counts once, for the larger of:
- its amount, when it is won (in a stage of kind "won"): the sale agreed;
- what was paid on its sales orders, cancelled orders left out: the money received.
An order belongs to the opportunity of the quote it was made from (SalesOrder.quote ->
Quote.opportunity). Counting both would count the same sale twice (the deal, then its
invoice paid); the larger one also covers an order that grew beyond the deal, and
payments on a deal still open. An order made without a quote belongs to no opportunity
and so to no campaign: the customer's later orders are not all the campaign's doing.

One query for any number of campaigns; the figures are totals, shown to whoever may
read the campaign (its ROI), not the deals themselves."""
from sqlalchemy import case, func, select

from addons.crm_marketing_sales.models import CampaignLead
from addons.crm_sales import money
from addons.crm_sales.models import MONEY, Opportunity, Payment, Quote, SalesOrder, Stage
from core import hooks
from core.db import db


@hooks.connect("marketing.campaign_revenue")
def campaign_revenue(campaign_ids):
    """{campaign id: revenue (Decimal)} of the campaigns that brought any."""
    ids = list(campaign_ids)
    if not ids:
        return {}
    deals = (select(CampaignLead.campaign_id, Opportunity.id.label("opportunity_id"),
                    case((Stage.kind == "won", Opportunity.amount), else_=0).label("won"))
             .join(Opportunity, Opportunity.lead_id == CampaignLead.lead_id)
             .join(Stage, Stage.id == Opportunity.stage_id)
             .where(CampaignLead.campaign_id.in_(ids))).cte("campaign_deals")
    paid = (select(Quote.opportunity_id, func.sum(Payment.amount).label("paid"))
            .join(SalesOrder, SalesOrder.quote_id == Quote.id)
            .join(Payment, Payment.order_id == SalesOrder.id)
            .where(Quote.opportunity_id.in_(select(deals.c.opportunity_id)),
                   SalesOrder.state != "cancelled")
            .group_by(Quote.opportunity_id)).subquery("paid_deals")
    received = func.coalesce(paid.c.paid, 0)
    counted = case((deals.c.won >= received, deals.c.won), else_=received)
    rows = db.session.execute(
        select(deals.c.campaign_id, func.sum(counted, type_=MONEY))
        .outerjoin(paid, paid.c.opportunity_id == deals.c.opportunity_id)
        .group_by(deals.c.campaign_id))
    return {campaign_id: money.cents(total or 0) for campaign_id, total in rows}
