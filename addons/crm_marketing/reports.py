"""Marketing reports for crm_reports (declared in the manifest, core/reports.py): what
each campaign of the period cost and brought back (its ROI, with the revenue an enabled
addon attributes: Sales through the bridge), and the responses by kind. Within the
user's record rules on campaigns."""
from sqlalchemy import func, or_, select

from addons.crm_marketing.models import Campaign, CampaignResponse
from addons.crm_marketing.views import campaign_figures
from core.db import db
from core.i18n import mark
from core.record import choice_text
from core.reports import Column, Result


def roi(filters):
    """The campaigns running in the period, the best return first."""
    statement = filters.within_rules(select(Campaign.id, Campaign.name), Campaign).where(
        or_(Campaign.start_date.is_(None), Campaign.start_date <= filters.end),
        or_(Campaign.end_date.is_(None), Campaign.end_date >= filters.start))
    names = dict(db.session.execute(statement).all())
    figures = campaign_figures(names)
    rows = [(names[cid], f["cost"], f["responses"], f["revenue"],
             None if f["roi"] is None else round(f["roi"], 1))
            for cid, f in figures.items()]
    rows.sort(key=lambda row: (row[4] is None, -(row[4] or 0), row[0]))
    return Result([Column("campaign", mark("Campaign")),
                   Column("cost", mark("Cost"), "money", total=True),
                   Column("responses", mark("Responses"), "number", total=True),
                   Column("revenue", mark("Revenue"), "money", total=True),
                   Column("roi", mark("ROI %"), "percent")], rows, chart=(0, [1, 3]),
                  horizontal=True)


def responses(filters):
    """Responses received in the period, by kind."""
    statement = filters.within_rules(
        select(CampaignResponse.kind, func.count(CampaignResponse.id))
        .join(Campaign, Campaign.id == CampaignResponse.campaign_id), Campaign) \
        .where(filters.in_period(CampaignResponse.responded_at)) \
        .group_by(CampaignResponse.kind).order_by(func.count(CampaignResponse.id).desc())
    rows = [(choice_text(kind), count) for kind, count in db.session.execute(statement)]
    return Result([Column("kind", mark("Kind")),
                   Column("responses", mark("Responses"), "number", total=True)],
                  rows, chart=(0, [1]), horizontal=True)
