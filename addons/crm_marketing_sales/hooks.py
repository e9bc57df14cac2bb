"""What the bridge adds to Marketing's and Sales' pages: on a lead's page the campaign
that brought it, on a campaign's page the leads it brought, and on a promotion's page
the button that makes a price list of it.

Each part needs the rights on both sides: a salesperson who may not read campaigns sees
nothing of them on a lead's page, and a campaign's page lists only the leads the user
may read (the lead rules: a salesperson's own)."""
from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from addons.crm_marketing.models import Campaign, CampaignResponse
from addons.crm_marketing_sales.models import CampaignLead
from addons.crm_sales.models import Lead
from core import hooks, permissions
from core.db import db
from core.record import choice_text, text_of

PANEL_ROWS = 10


def _may(model_name, letter="r"):
    return permissions.permits(current_user, model_name, letter)


@hooks.connect("details.Lead")
def campaign_of_lead_panel(lead):
    """The campaign that brought the lead, and the response it was made from."""
    if not (_may("CampaignLead") and _may("Campaign")):
        return None
    row = db.session.execute(permissions.apply_rules(
        select(Campaign, CampaignResponse)
        .join(CampaignLead, CampaignLead.campaign_id == Campaign.id)
        .outerjoin(CampaignResponse, CampaignResponse.id == CampaignLead.response_id)
        .where(CampaignLead.lead_id == lead.id), Campaign)).first()
    if row is None:
        return None
    campaign, response = row
    html = render_template("crm_marketing_sales/lead_panel.html", campaign=campaign,
                           response=response, word=choice_text, when=text_of)
    return {"title": _("Campaign"), "order": 15, "html": Markup(html),
            "link": url_for("campaign.details_view", id=campaign.id)}


@hooks.connect("details.Campaign")
def leads_of_campaign_panel(campaign):
    """How many leads the campaign brought and how many were converted, and the latest
    of them, among the leads the user may read (two queries)."""
    if not (_may("CampaignLead") and _may("Lead")):
        return None
    leads = permissions.apply_rules(
        select(Lead).join(CampaignLead, CampaignLead.lead_id == Lead.id)
        .where(CampaignLead.campaign_id == campaign.id), Lead)
    every = leads.subquery()
    count, converted = db.session.execute(select(
        func.count(), func.coalesce(func.sum(case((every.c.status == "converted", 1), else_=0)), 0))
        .select_from(every)).one()
    latest = db.session.scalars(leads.options(selectinload(Lead.owner))
                                .order_by(Lead.id.desc()).limit(PANEL_ROWS)).all() \
        if count else []
    html = render_template("crm_marketing_sales/campaign_panel.html", leads=latest,
                           count=count, converted=converted, word=choice_text)
    return {"title": _("Leads"), "order": 20, "html": Markup(html)}


@hooks.connect("actions.Promotion")
def price_list_button(promotion):
    if not _may("PriceList", "c"):
        return None
    return [{"label": _("Make a price list"), "icon": "fa-tags", "style": "btn-outline-primary",
             "url": url_for("promotion_price_list.make", promotion=promotion.id)}]
