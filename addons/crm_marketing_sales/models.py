"""Which lead a campaign brought: one row per lead (a lead comes from one campaign at
most), with the response it was made from.

The response keeps the lead's id too (crm_marketing's CampaignResponse.lead_id, a plain
number since Marketing knows nothing of Sales): it is written here, when the row is
inserted, so that every way of making the row fills it in."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, update

from addons.crm_marketing.models import Campaign, CampaignResponse
from addons.crm_sales.models import Lead
from core.db import db
from core.i18n import mark

# The source of every lead a campaign brings (crm_contacts' Source, made when missing):
# the campaign itself is on the lead's page.
SOURCE_NAME = mark("Marketing campaign")


class CampaignLead(db.Model):
    __tablename__ = "mkt_lead_campaign"
    __label__ = mark("Lead from a campaign")
    id = db.Column(db.Integer, primary_key=True)
    lead_id = db.Column(db.ForeignKey("sale_lead.id", ondelete="CASCADE"), nullable=False,
                        unique=True)
    lead = db.relationship(Lead, info={"label": _l("Lead")})
    # Deleting a campaign forgets where its leads came from; the leads stay.
    campaign_id = db.Column(db.ForeignKey("mkt_campaign.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    campaign = db.relationship(Campaign, info={"label": _l("Campaign")})
    response_id = db.Column(db.ForeignKey("mkt_response.id", ondelete="SET NULL"), index=True)
    response = db.relationship(CampaignResponse, info={"label": _l("Response")})


@event.listens_for(CampaignLead, "after_insert")
def _response_knows_its_lead(_mapper, connection, link):
    if link.response_id is not None:
        connection.execute(update(CampaignResponse.__table__)
                           .where(CampaignResponse.__table__.c.id == link.response_id)
                           .values(lead_id=link.lead_id))
