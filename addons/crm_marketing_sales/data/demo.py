"""Demo records of the bridge: the demo campaigns' responses (the fair's visitors,
the newsletter's clicks) made leads, as they are when Sales is enabled while they come
in (Marketing's demo loads before the bridge is enabled)."""
from sqlalchemy import select

from addons.crm_marketing.models import CampaignResponse
from addons.crm_marketing_sales.leads import lead_from_response


def load(session):
    for response in session.scalars(select(CampaignResponse).where(
            CampaignResponse.lead_id.is_(None)).order_by(CampaignResponse.id)):
        lead_from_response(response)
    session.flush()
