"""What marketing adds to other pages: "Save as segment" on the customer list, and on
the 360° customer page the campaigns that reached the customer, their responses and
whether their addresses still receive marketing e-mail."""
from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select

from addons.crm_contacts.models import Contact
from addons.crm_marketing.models import (CampaignResponse, Mailing, Recipient, Suppression,
                                         email_key)
from addons.crm_marketing.segments import CUSTOMER_LIST
from core import hooks, permissions
from core.db import db
from core.record import choice_text, text_of

PANEL_ROWS = 10


@hooks.connect("list.save_as")
def save_as_segment(view):
    if view.endpoint != CUSTOMER_LIST or not permissions.permits(current_user, "Segment", "c"):
        return None
    return (_("Save as segment"), url_for("segment.from_list"))


@hooks.connect("details.Customer")
def marketing_panel(customer):
    """The mailings that reached the customer's people, their responses, and which of
    their addresses are suppressed (and why)."""
    if not permissions.permits(current_user, "Mailing", "r"):
        return None
    reached = db.session.execute(
        select(Mailing.id, Mailing.name, Recipient.email, Recipient.state, Recipient.sent_at,
               Recipient.opened_at, Recipient.clicked_at)
        .join(Recipient, Recipient.mailing_id == Mailing.id)
        .where(Recipient.customer_id == customer.id)
        .order_by(Recipient.id.desc()).limit(PANEL_ROWS)).all()
    responses = db.session.scalar(select(func.count()).where(
        CampaignResponse.customer_id == customer.id))
    addresses = {email_key(customer.email)} | {email_key(address) for address in
                                               db.session.scalars(select(Contact.email).where(
                                                   Contact.customer_id == customer.id))}
    addresses.discard("")
    suppressed = db.session.execute(select(Suppression.address, Suppression.reason,
                                           Suppression.added_at)
                                    .where(Suppression.address.in_(addresses))).all() \
        if addresses else []
    if not reached and not responses and not suppressed:
        return None
    html = render_template("crm_marketing/panel_customer.html", reached=reached,
                           responses=responses, suppressed=suppressed, addresses=len(addresses),
                           state_text=choice_text, when=text_of,
                           responses_url=url_for("campaign_response.index_view",
                                                 flt0_customer_crm_customer_name_equals=customer.name))
    return {"title": _("Marketing"), "order": 70, "html": Markup(html)}


