"""Campaign responses become leads (hook ``marketing.response``, which crm_marketing
calls through ``addons.crm_marketing.responses.responded`` after it adds a response).

A response that names someone (a name, an e-mail address, a phone, a contact or a
customer) and has no lead yet makes one Lead: status new, the person's details, the
customer when known, the source "Marketing campaign", given to a salesperson by the
assignment rules as a web form's lead is; and the row saying which campaign brought it.
The same person answering the same campaign again (a second click, a reply after a
click) joins the lead made the first time: one lead per person per campaign."""
from sqlalchemy import func, or_, select

from addons.crm_contacts.models import Contact, Customer, Source
from addons.crm_marketing.models import Campaign, CampaignResponse, email_key
from addons.crm_marketing_sales.models import SOURCE_NAME, CampaignLead
from addons.crm_sales.leads import EMAIL, assign
from addons.crm_sales.models import Lead
from core import hooks
from core.db import db, dialect_insert


@hooks.connect("marketing.response")
def lead_from_response(response):
    """The lead of the response (made, or the person's earlier one), or None when the
    response names no one or already has its lead. The caller commits."""
    if response.lead_id is not None or not names_someone(response):
        return None
    earlier = earlier_lead_id(response)
    if earlier is not None:
        response.lead_id = earlier
        return db.session.get(Lead, earlier)
    lead = new_lead(response)
    db.session.add(lead)
    assign(db.session, lead)
    # The response's lead_id is written with this row (models.py).
    db.session.add(CampaignLead(lead=lead, campaign_id=related(response, "campaign", Campaign).id,
                                response=response))
    return lead


def related(response, name, model):
    """A many-to-one of the response, given as a record or as an id: a response not
    flushed yet does not load its relations by itself."""
    record = response.__dict__.get(name)
    if record is None and getattr(response, f"{name}_id") is not None:
        record = db.session.get(model, getattr(response, f"{name}_id"))
    return record


def names_someone(response):
    return any((response.name, response.email, response.phone, response.contact_id,
                response.customer_id, response.__dict__.get("contact"),
                response.__dict__.get("customer")))


def earlier_lead_id(response):
    """The lead this campaign already brought for the same person: the same contact,
    e-mail address (in any case) or phone. A name alone is not enough to tell two
    people apart."""
    key, phone = email_key(response.email), (response.phone or "").strip()
    contact = related(response, "contact", Contact)
    contact_id = contact.id if contact is not None else None
    same = [condition for condition, known in (
        (func.lower(Lead.email) == key, key),
        (Lead.phone == phone, phone),
        (CampaignResponse.contact_id == contact_id, contact_id)) if known]
    if not same:
        return None
    return db.session.scalar(
        select(CampaignLead.lead_id).join(Lead, Lead.id == CampaignLead.lead_id)
        .outerjoin(CampaignResponse, CampaignResponse.id == CampaignLead.response_id)
        .where(CampaignLead.campaign_id == related(response, "campaign", Campaign).id,
               or_(*same))
        .order_by(CampaignLead.id).limit(1))


def new_lead(response):
    """A Lead from what the response knows of the person, within the lengths of the
    lead's columns; an address that does not look like one is left out, as the web
    form refuses it."""
    contact = related(response, "contact", Contact)
    customer = related(response, "customer", Customer)
    if customer is None and contact is not None:
        customer = contact.customer
    email = (response.email or (contact.email if contact else None) or "").strip()
    phone = (response.phone or (contact and (contact.mobile or contact.phone)) or "").strip()
    name = ((response.name or "").strip() or (contact.name if contact else "")
            or (customer.name if customer else "") or email or phone)
    return Lead(name=name[:100], company=customer.name[:200] if customer else None,
                email=email[:254] if EMAIL.match(email) else None, phone=phone[:40] or None,
                customer=customer, status="new", source_id=marketing_source_id(),
                description=(response.note or None))


def marketing_source_id():
    """The id of the source "Marketing campaign", made the first time it is needed (by
    two processes at once, too: the insert skips a name that is already there)."""
    found = db.session.scalar(select(Source.id).where(Source.name == SOURCE_NAME))
    if found is None:
        db.session.execute(dialect_insert(Source).values(name=SOURCE_NAME)
                           .on_conflict_do_nothing(index_elements=["name"]))
        found = db.session.scalar(select(Source.id).where(Source.name == SOURCE_NAME))
    return found
