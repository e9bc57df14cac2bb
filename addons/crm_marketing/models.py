"""Marketing: campaigns with their budget, costs and responses; segments (saved filters
of the customer list, or static lists); mailings sent to a segment one row per
recipient; the suppression list every marketing send honours; delivery reports kept
for review.

A mailing's recipients are rows of mkt_recipient, queued when the mailing is sent and
claimed by sender processes (sender.py). A row's state says what happened to that one
address: queued, claimed by a sender, sending (its SMTP transaction under way), sent,
failed, bounced, complained, unsubscribed. Opens and clicks are dates on the row, so
that a click never hides a bounce that came later."""
from functools import partial

from flask_babel import lazy_gettext as _l

from addons.crm_contacts import models as contacts
from addons.crm_contacts import normalise
from addons.crm_contacts.models import Contact, Customer
from core.db import db
from core.i18n import mark
from core.models import OwnedMixin, utcnow

MONEY = db.Numeric(14, 2)

CAMPAIGN_KINDS = (mark("e-mail"), mark("SMS"), mark("event or trade show"), mark("promotion"),
                  mark("survey"), mark("market task"))
CAMPAIGN_STATES = (mark("draft"), mark("submitted"), mark("approved"), mark("refused"),
                   mark("running"), mark("done"), mark("cancelled"))
SEGMENT_KINDS = (mark("filter"), mark("static list"))
AUDIENCES = (mark("contacts"), mark("primary contacts"), mark("customers"))
MAILING_CHANNELS = (mark("e-mail"), mark("SMS"))
MAILING_STATES = (mark("draft"), mark("sending"), mark("paused"), mark("sent"),
                  mark("cancelled"))
RECIPIENT_STATES = (mark("queued"), mark("claimed"), mark("sending"), mark("sent"),
                    mark("failed"), mark("bounced"), mark("complained"), mark("unsubscribed"))
SUPPRESSION_REASONS = (mark("unsubscribed"), mark("hard bounce"), mark("complaint"),
                       mark("added by hand"))
BOUNCE_KINDS = (mark("soft"), mark("hard"), mark("complaint"))
BOUNCE_DECISIONS = (mark("applied"), mark("to review"), mark("dismissed"))
RESPONSE_KINDS = (mark("click"), mark("reply"), mark("registration"), mark("survey answer"),
                  mark("form"), mark("other"))

# Contacts' constrained text column, long enough for "event or trade show".
choice = partial(contacts.choice, length=24)


def email_key(address):
    """An e-mail address as the suppression list and the recipients compare it."""
    return (address or "").strip().lower()


def address_key(address):
    """An e-mail address in lower case, or a mobile number as its national digits
    (+86 138-1234-5678 and 13812345678 are one number)."""
    address = (address or "").strip()
    return email_key(address) if "@" in address else normalise.phone(address)


class Campaign(OwnedMixin, db.Model):
    """A marketing action with a plan, a budget (approved above an amount), its actual
    costs and the responses and revenue it brought."""

    __tablename__ = "mkt_campaign"
    __label__ = mark("Campaign")
    __table_args__ = (db.Index("ix_mkt_campaign_state_start", "state", "start_date"),)
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Name")})
    kind = db.Column(choice(*CAMPAIGN_KINDS, name="mkt_campaign_kind"), nullable=False,
                     default="e-mail", index=True, info={"label": _l("Kind")})
    state = db.Column(choice(*CAMPAIGN_STATES, name="mkt_campaign_state"), nullable=False,
                      default="draft", index=True,
                      info={"label": _l("State"), "readonly": True})
    channel = db.Column(db.String(100), info={"label": _l("Channel")})
    start_date = db.Column(db.Date, index=True, info={"label": _l("Start")})
    end_date = db.Column(db.Date, index=True, info={"label": _l("End")})
    budget = db.Column(MONEY, nullable=False, default=0, info={"label": _l("Budget")})
    expected_revenue = db.Column(MONEY, nullable=False, default=0,
                                 info={"label": _l("Expected revenue")})
    plan = db.Column(db.Text, info={"label": _l("Plan")})
    costs = db.relationship("CampaignCost", back_populates="campaign",
                            cascade="all, delete-orphan", order_by="CampaignCost.spent_on",
                            info={"label": _l("Actual costs")})

    def __str__(self):
        return self.name


class CampaignCost(db.Model):
    """A dated cost of a campaign: a stand, printing, a mail service's invoice."""

    __tablename__ = "mkt_campaign_cost"
    __label__ = mark("Campaign cost")
    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.ForeignKey("mkt_campaign.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    campaign = db.relationship(Campaign, back_populates="costs",
                               info={"label": _l("Campaign")})
    spent_on = db.Column(db.Date, nullable=False, info={"label": _l("Date")})
    description = db.Column(db.String(200), nullable=False, info={"label": _l("Description")})
    amount = db.Column(MONEY, nullable=False, default=0, info={"label": _l("Amount")})


class CampaignResponse(db.Model):
    """Someone answered a campaign: clicked through, replied, registered, answered a
    survey. With Sales enabled, a response can become a lead (its id kept here)."""

    __tablename__ = "mkt_response"
    __label__ = mark("Campaign response")
    __table_args__ = (db.Index("ix_mkt_response_campaign", "campaign_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.ForeignKey("mkt_campaign.id", ondelete="CASCADE"),
                            nullable=False)
    campaign = db.relationship(Campaign, info={"label": _l("Campaign")})
    kind = db.Column(choice(*RESPONSE_KINDS, name="mkt_response_kind"), nullable=False,
                     default="other", index=True, info={"label": _l("Kind")})
    responded_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                             info={"label": _l("Date")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    contact_id = db.Column(db.ForeignKey("crm_contact.id"), index=True)
    contact = db.relationship(Contact, info={"label": _l("Contact")})
    name = db.Column(db.String(200), info={"label": _l("Name")})
    email = db.Column(db.String(254), index=True, info={"label": _l("Email")})
    phone = db.Column(db.String(40), info={"label": _l("Phone")})
    note = db.Column(db.Text, info={"label": _l("Note")})
    # The lead it became (crm_sales' Lead id, set by the bridge when Sales is enabled).
    lead_id = db.Column(db.Integer, index=True, info={"derived": True})


# -- who is reached ----------------------------------------------------------------------------

class Segment(OwnedMixin, db.Model):
    """Customers chosen by the customer list's filters (evaluated at each send: the
    customers who match then), or a static list of people."""

    __tablename__ = "mkt_segment"
    __label__ = mark("Segment")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False, unique=True, info={"label": _l("Name")})
    kind = db.Column(choice(*SEGMENT_KINDS, name="mkt_segment_kind"), nullable=False,
                     default="filter", info={"label": _l("Kind")})
    # The customer list's query string (its filters and search), as the list shows it.
    rules = db.Column(db.String(2000), nullable=False, default="",
                      info={"label": _l("Filters"), "readonly": True})
    description = db.Column(db.Text, info={"label": _l("Description")})
    members = db.relationship("SegmentMember", back_populates="segment",
                              cascade="all, delete-orphan", passive_deletes=True,
                              lazy="dynamic", info={"label": _l("Members")})

    def __str__(self):
        return self.name


class SegmentMember(db.Model):
    """One person on a static list: a customer's contact, a customer, or an address
    imported from a file."""

    __tablename__ = "mkt_segment_member"
    __label__ = mark("List member")
    __table_args__ = (db.UniqueConstraint("segment_id", "email_key"),)
    id = db.Column(db.Integer, primary_key=True)
    segment_id = db.Column(db.ForeignKey("mkt_segment.id", ondelete="CASCADE"),
                           nullable=False, index=True)
    segment = db.relationship(Segment, back_populates="members",
                              info={"label": _l("Segment")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id", ondelete="SET NULL"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    contact_id = db.Column(db.ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True)
    contact = db.relationship(Contact, info={"label": _l("Contact")})
    name = db.Column(db.String(200), info={"label": _l("Name")})
    email = db.Column(db.String(254), info={"label": _l("Email")})
    email_key = db.Column(db.String(254), nullable=False, default="", info={"derived": True})
    phone = db.Column(db.String(40), info={"label": _l("Mobile")})


class Suppression(db.Model):
    """An address no marketing send reaches again: unsubscribed, hard-bounced,
    complained, or added by hand. One row per address (lower-case)."""

    __tablename__ = "mkt_suppression"
    __label__ = mark("Suppressed address")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    # An e-mail address in lower case, or a mobile number's national digits.
    address = db.Column(db.String(254), nullable=False, unique=True,
                        info={"label": _l("E-mail or mobile")})
    reason = db.Column(choice(*SUPPRESSION_REASONS, name="mkt_suppression_reason"),
                       nullable=False, default="added by hand", index=True,
                       info={"label": _l("Reason")})
    added_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                         info={"label": _l("Since"), "readonly": True})
    mailing_id = db.Column(db.ForeignKey("mkt_mailing.id", ondelete="SET NULL"), index=True,
                           info={"readonly": True})
    mailing = db.relationship("Mailing", info={"label": _l("Mailing")})
    note = db.Column(db.String(500), info={"label": _l("Note")})

    def __str__(self):
        return self.address


# -- mailings ------------------------------------------------------------------------------------

class Mailing(OwnedMixin, db.Model):
    """One e-mail or SMS to a segment: its subject and body are templates (sandboxed
    Jinja) filled in for each recipient."""

    __tablename__ = "mkt_mailing"
    __label__ = mark("Mailing")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Name")})
    campaign_id = db.Column(db.ForeignKey("mkt_campaign.id"), index=True)
    campaign = db.relationship(Campaign, info={"label": _l("Campaign")})
    segment_id = db.Column(db.ForeignKey("mkt_segment.id"), index=True)
    segment = db.relationship(Segment, info={"label": _l("Segment")})
    audience = db.Column(choice(*AUDIENCES, name="mkt_mailing_audience"), nullable=False,
                         default="contacts", info={"label": _l("Send to")})
    channel = db.Column(choice(*MAILING_CHANNELS, name="mkt_mailing_channel"), nullable=False,
                        default="e-mail", server_default="e-mail", index=True,
                        info={"label": _l("Channel")})
    subject = db.Column(db.String(250), nullable=False, default="",
                        info={"label": _l("Subject")})
    body = db.Column(db.Text, nullable=False, default="", info={"label": _l("Message")})
    state = db.Column(choice(*MAILING_STATES, name="mkt_mailing_state"), nullable=False,
                      default="draft", index=True,
                      info={"label": _l("State"), "readonly": True})
    queued_at = db.Column(db.DateTime, info={"label": _l("Sent at"), "readonly": True})
    finished_at = db.Column(db.DateTime, info={"label": _l("Finished at"), "readonly": True})
    # Why sending stopped by itself (the mail server refused, say), for the owner to read.
    problem = db.Column(db.String(500), info={"label": _l("Problem"), "readonly": True})

    def __str__(self):
        return self.name


class Recipient(db.Model):
    """One address of a mailing, with what happened to it."""

    __tablename__ = "mkt_recipient"
    __label__ = mark("Mailing recipient")
    __table_args__ = (
        db.UniqueConstraint("mailing_id", "address_key"),
        # The senders' walk: the queued rows of a mailing in order.
        db.Index("ix_mkt_recipient_mailing_state", "mailing_id", "state", "id"),
        db.Index("ix_mkt_recipient_claims", "state", "lease_until"),
    )
    id = db.Column(db.Integer, primary_key=True)
    mailing_id = db.Column(db.ForeignKey("mkt_mailing.id", ondelete="CASCADE"),
                           nullable=False)
    mailing = db.relationship(Mailing, info={"label": _l("Mailing")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id", ondelete="SET NULL"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    contact_id = db.Column(db.ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True)
    contact = db.relationship(Contact, info={"label": _l("Contact")})
    name = db.Column(db.String(200), info={"label": _l("Name")})
    email = db.Column(db.String(254), info={"label": _l("Email")})
    phone = db.Column(db.String(40), info={"label": _l("Mobile")})
    # The address compared with the suppression list and kept once per mailing: the
    # e-mail address in lower case, or the mobile number's national digits (SMS).
    address_key = db.Column(db.String(254), nullable=False, index=True, info={"derived": True})
    state = db.Column(choice(*RECIPIENT_STATES, name="mkt_recipient_state"), nullable=False,
                      default="queued", info={"label": _l("State"), "readonly": True})
    # Which sender holds the row, until when (a sender killed lets its claim lapse).
    claimed_by = db.Column(db.String(64), info={"derived": True})
    lease_until = db.Column(db.DateTime, info={"derived": True})
    attempts = db.Column(db.Integer, nullable=False, default=0,
                         info={"label": _l("Attempts"), "readonly": True})
    sent_at = db.Column(db.DateTime, info={"label": _l("Sent at"), "readonly": True})
    opened_at = db.Column(db.DateTime, info={"label": _l("Opened at"), "readonly": True})
    clicked_at = db.Column(db.DateTime, info={"label": _l("Clicked at"), "readonly": True})
    error = db.Column(db.String(500), info={"label": _l("Error"), "readonly": True})


class SendQuota(db.Model):
    """Messages handed to a mail server in one window (a second, an hour, a day): the
    senders share the caps through these rows. Old windows are deleted."""

    __tablename__ = "mkt_send_quota"
    __label__ = mark("Sending quota")
    window = db.Column(db.String(120), primary_key=True)
    used = db.Column(db.Integer, nullable=False, default=0)
    ends_at = db.Column(db.DateTime, nullable=False, index=True)


class BounceReport(db.Model):
    """A delivery report or complaint about one address, and what was done with it:
    applied (counted, perhaps suppressed), or kept for review when the report was not
    clear enough to act on blindly."""

    __tablename__ = "mkt_bounce"
    __label__ = mark("Delivery report")
    id = db.Column(db.Integer, primary_key=True)
    received_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                            info={"label": _l("Received")})
    email = db.Column(db.String(254), nullable=False, index=True, info={"label": _l("Email")})
    kind = db.Column(choice(*BOUNCE_KINDS, name="mkt_bounce_kind"), nullable=False,
                     index=True, info={"label": _l("Kind")})
    status = db.Column(db.String(20), info={"label": _l("Status code")})
    diagnostic = db.Column(db.String(500), info={"label": _l("Server's words")})
    recipient_id = db.Column(db.ForeignKey("mkt_recipient.id", ondelete="SET NULL"),
                             index=True)
    recipient = db.relationship(Recipient, info={"label": _l("Recipient")})
    decision = db.Column(choice(*BOUNCE_DECISIONS, name="mkt_bounce_decision"),
                         nullable=False, default="applied", index=True,
                         info={"label": _l("Decision"), "readonly": True})
    doubt = db.Column(db.String(200), info={"label": _l("Why it needs review")})
