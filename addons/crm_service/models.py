"""Customer service: tickets and their conversation, the business calendars and SLA
policies they are measured by, escalations, satisfaction ratings, complaints' corrective
actions, service records (time and fees), and the knowledge base.

Times are naive UTC like everywhere in the suite; a calendar's working periods are local
times of the company's time zone. A ticket's SLA figures are computed from its state
history (TicketStateChange) and its calendar (sla.py); the columns ``sla_due_at`` and
``sla_warn_at`` only tell the escalation job which tickets to look at."""
from datetime import date
from functools import partial

from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from addons.crm_contacts import models as contacts
from addons.crm_contacts.models import GRADES, Contact, Customer
from core.db import db
from core.i18n import mark
from core.models import OwnedMixin, Sequence, Team, User, team_members, utcnow
from core.permissions import team_user_ids

MONEY = db.Numeric(14, 2)

TICKET_KINDS = (mark("inquiry"), mark("request"), mark("complaint"), mark("feedback"))
CHANNELS = (mark("phone"), mark("email"), mark("web form"), mark("visit"), mark("other"))
PRIORITIES = (mark("low"), mark("normal"), mark("high"), mark("urgent"))
TICKET_STATES = (mark("new"), mark("open"), mark("waiting for customer"),
                 mark("waiting for third party"), mark("resolved"), mark("closed"))
# The clock of every SLA target stops while a ticket waits, and once it is resolved.
PAUSED_STATES = ("waiting for customer", "waiting for third party")
DONE_STATES = ("resolved", "closed")
MESSAGE_KINDS = (mark("incoming"), mark("reply"), mark("note"))
ASSIGNMENT_METHODS = (mark("manual"), mark("round robin"), mark("least open"))
DAY_KINDS = (mark("holiday"), mark("working day"))
SLA_TARGETS = (mark("first response"), mark("next reply"), mark("resolution"))
ESCALATION_LEVELS = (mark("warning"), mark("breach"))
VISIBILITIES = (mark("draft"), mark("internal"), mark("public"))
LANGUAGES = (mark("Chinese"), mark("English"))
WEEKDAYS = (mark("Monday"), mark("Tuesday"), mark("Wednesday"), mark("Thursday"),
            mark("Friday"), mark("Saturday"), mark("Sunday"))


# Contacts' constrained text column, a little longer: "waiting for third party".
choice = partial(contacts.choice, length=24)


# -- the lists administrators keep -----------------------------------------------------------

class ServiceProduct(db.Model):
    """A product or service that tickets are about (routing rules and SLA use it)."""

    __tablename__ = "svc_product"
    __label__ = mark("Serviced product")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, unique=True, info={"label": _l("Name")})
    code = db.Column(db.String(40), info={"label": _l("Code")})
    active = db.Column(db.Boolean, nullable=False, default=True, info={"label": _l("Active")})

    def __str__(self):
        return self.name


class RootCause(db.Model):
    """Why complaints happen, as a list administrators keep (for the complaint report)."""

    __tablename__ = "svc_root_cause"
    __label__ = mark("Root cause")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, unique=True, info={"label": _l("Name")})
    active = db.Column(db.Boolean, nullable=False, default=True, info={"label": _l("Active")})

    def __str__(self):
        return self.name


# -- business calendars -------------------------------------------------------------------------

class BusinessCalendar(db.Model):
    """When the service desk works: periods per weekday (several a day, for a lunch
    break or split shifts), public holidays, and adjusted working days (调休)."""

    __tablename__ = "svc_calendar"
    __label__ = mark("Business calendar")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, unique=True, info={"label": _l("Name")})
    is_default = db.Column(db.Boolean, nullable=False, default=False,
                           info={"label": _l("Default calendar")})
    # Working periods are wall-clock times of this zone (a team abroad keeps its own).
    time_zone = db.Column(db.String(64), nullable=False, default="Asia/Shanghai",
                          server_default="Asia/Shanghai", info={"label": _l("Time zone")})
    periods = db.relationship("WorkingPeriod", back_populates="calendar",
                              cascade="all, delete-orphan", order_by="(WorkingPeriod.weekday, "
                              "WorkingPeriod.start)", info={"label": _l("Working hours")})
    days = db.relationship("CalendarDay", back_populates="calendar",
                           cascade="all, delete-orphan", order_by="CalendarDay.day",
                           info={"label": _l("Holidays and adjusted working days")})

    def __str__(self):
        return self.name


class WorkingPeriod(db.Model):
    __tablename__ = "svc_working_period"
    __label__ = mark("Working period")
    id = db.Column(db.Integer, primary_key=True)
    calendar_id = db.Column(db.ForeignKey("svc_calendar.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    calendar = db.relationship(BusinessCalendar, back_populates="periods",
                               info={"label": _l("Calendar")})
    weekday = db.Column(db.Integer, nullable=False, info={"label": _l("Weekday")})  # 0 Monday
    start = db.Column(db.Time, nullable=False, info={"label": _l("From")})
    end = db.Column(db.Time, nullable=False, info={"label": _l("To")})


class CalendarDay(db.Model):
    """A date that differs from its weekday: a public holiday, or a weekend day that
    becomes a working day (调休), worked like ``like_weekday``."""

    __tablename__ = "svc_calendar_day"
    __label__ = mark("Holiday or adjusted working day")
    __table_args__ = (db.UniqueConstraint("calendar_id", "day"),)
    id = db.Column(db.Integer, primary_key=True)
    calendar_id = db.Column(db.ForeignKey("svc_calendar.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    calendar = db.relationship(BusinessCalendar, back_populates="days",
                               info={"label": _l("Calendar")})
    day = db.Column(db.Date, nullable=False, index=True, info={"label": _l("Date")})
    kind = db.Column(choice(*DAY_KINDS, name="svc_calendar_day_kind"), nullable=False,
                     default="holiday", info={"label": _l("Kind")})
    like_weekday = db.Column(db.Integer, nullable=False, default=0,
                             info={"label": _l("Worked like")})
    name = db.Column(db.String(120), nullable=False, default="", info={"label": _l("Name")})


class ServiceTeam(db.Model):
    """A core team's service settings: its calendar and how new tickets are shared."""

    __tablename__ = "svc_team"
    __label__ = mark("Service team")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    team_id = db.Column(db.ForeignKey("core_team.id", ondelete="CASCADE"), nullable=False,
                        unique=True)
    team = db.relationship(Team, info={"label": _l("Team")})
    calendar_id = db.Column(db.ForeignKey("svc_calendar.id"), index=True)
    calendar = db.relationship(BusinessCalendar, info={"label": _l("Calendar")})
    assignment = db.Column(choice(*ASSIGNMENT_METHODS, name="svc_team_assignment"),
                           nullable=False, default="round robin",
                           info={"label": _l("Assignment")})
    # Round robin: who was given the last ticket.
    last_assigned_id = db.Column(db.ForeignKey("core_user.id"), index=True,
                                 info={"derived": True})
    email = db.Column(db.String(254), index=True, info={"label": _l("Email address")})

    def __str__(self):
        return self.team.name if self.team else ""


class RoutingRule(db.Model):
    """Routes a new ticket to a team (and perhaps a person) by kind, product and
    customer grade; the first matching rule in order wins."""

    __tablename__ = "svc_assignment_rule"
    __label__ = mark("Ticket routing rule")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    sequence = db.Column(db.Integer, nullable=False, default=10, index=True,
                         info={"label": _l("Order")})
    kind = db.Column(choice(*TICKET_KINDS, name="svc_rule_kind"), info={"label": _l("Kind")})
    product_id = db.Column(db.ForeignKey("svc_product.id"), index=True)
    product = db.relationship(ServiceProduct, info={"label": _l("Product")})
    grade = db.Column(choice(*GRADES, name="svc_rule_grade"), info={"label": _l("Customer grade")})
    team_id = db.Column(db.ForeignKey("core_team.id"), nullable=False, index=True)
    team = db.relationship(Team, info={"label": _l("Team")})
    user_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    user = db.relationship(User, info={"label": _l("Assign to")})


class SlaPolicy(db.Model):
    """Targets in working minutes. The first active policy in order whose conditions
    all hold (an empty condition holds for every ticket) applies to a new ticket."""

    __tablename__ = "svc_sla_policy"
    __label__ = mark("SLA policy")
    __audit__ = True
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, unique=True, info={"label": _l("Name")})
    sequence = db.Column(db.Integer, nullable=False, default=10, index=True,
                         info={"label": _l("Order")})
    active = db.Column(db.Boolean, nullable=False, default=True, info={"label": _l("Active")})
    priority = db.Column(choice(*PRIORITIES, name="svc_sla_priority"),
                         info={"label": _l("Priority")})
    kind = db.Column(choice(*TICKET_KINDS, name="svc_sla_kind"), info={"label": _l("Kind")})
    grade = db.Column(choice(*GRADES, name="svc_sla_grade"), info={"label": _l("Customer grade")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer (service contract)")})
    first_response_minutes = db.Column(db.Integer, info={"label": _l("First response within (working minutes)")})
    next_reply_minutes = db.Column(db.Integer, info={"label": _l("Next reply within (working minutes)")})
    resolution_minutes = db.Column(db.Integer, info={"label": _l("Resolution within (working minutes)")})
    warning_percent = db.Column(db.Integer, nullable=False, default=80,
                                info={"label": _l("Warn at (% of the time used)")})
    calendar_id = db.Column(db.ForeignKey("svc_calendar.id"), index=True)
    calendar = db.relationship(BusinessCalendar, info={"label": _l("Calendar (else the team's)")})
    raise_priority = db.Column(db.Boolean, nullable=False, default=False,
                               info={"label": _l("Raise the priority on breach")})
    reassign_to_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    reassign_to = db.relationship(User, info={"label": _l("Reassign on breach to")})

    def __str__(self):
        return self.name


# -- tickets -----------------------------------------------------------------------------------

class Ticket(OwnedMixin, db.Model):
    """A customer's request, question, complaint or feedback. The owner is the assignee."""

    __tablename__ = "svc_ticket"
    __label__ = mark("Ticket")
    __table_args__ = (
        db.Index("ix_svc_ticket_owner_state", "owner_id", "state", "id"),
        db.Index("ix_svc_ticket_team_state", "team_id", "state", "id"),
        db.Index("ix_svc_ticket_customer_state", "customer_id", "state"),
        # The escalation job's walk by id over the tickets it may have to tell about (the
        # open ones): without it, it reads past every closed ticket first.
        db.Index("ix_svc_ticket_sla_pending", "id", "sla_warn_at",
                 postgresql_where=db.text("sla_warn_at IS NOT NULL"),
                 sqlite_where=db.text("sla_warn_at IS NOT NULL")),
    )
    id = db.Column(db.Integer, primary_key=True)
    number = db.Column(db.String(20), unique=True, info={"label": _l("Number"), "readonly": True})
    subject = db.Column(db.String(250), nullable=False, info={"label": _l("Subject")})
    kind = db.Column(choice(*TICKET_KINDS, name="svc_ticket_kind"), nullable=False,
                     default="inquiry", index=True, info={"label": _l("Kind")})
    channel = db.Column(choice(*CHANNELS, name="svc_ticket_channel"), nullable=False,
                        default="phone", index=True, info={"label": _l("Channel")})
    priority = db.Column(choice(*PRIORITIES, name="svc_ticket_priority"), nullable=False,
                         default="normal", index=True, info={"label": _l("Priority")})
    state = db.Column(choice(*TICKET_STATES, name="svc_ticket_state"), nullable=False,
                      default="new", index=True, info={"label": _l("State"), "readonly": True})
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    contact_id = db.Column(db.ForeignKey("crm_contact.id"), index=True)
    contact = db.relationship(Contact, info={"label": _l("Contact")})
    requester_name = db.Column(db.String(120), info={"label": _l("Requester")})
    requester_email = db.Column(db.String(254), index=True, info={"label": _l("Requester email")})
    requester_phone = db.Column(db.String(40), index=True, info={"label": _l("Requester phone")})
    product_id = db.Column(db.ForeignKey("svc_product.id"), index=True)
    product = db.relationship(ServiceProduct, info={"label": _l("Product")})
    team_id = db.Column(db.ForeignKey("core_team.id"), index=True)
    team = db.relationship(Team, info={"label": _l("Team")})
    description = db.Column(db.Text, info={"label": _l("Description")})
    # SLA: the policy chosen when the ticket was opened; when a reply or resolution
    # happened (facts); and, for the escalation job only, the next deadline and warning.
    sla_policy_id = db.Column(db.ForeignKey("svc_sla_policy.id"), index=True,
                              info={"readonly": True})
    sla_policy = db.relationship(SlaPolicy, info={"label": _l("SLA policy")})
    first_response_at = db.Column(db.DateTime, info={"label": _l("First response"), "readonly": True})
    last_customer_message_at = db.Column(db.DateTime, info={"derived": True})
    last_reply_at = db.Column(db.DateTime, info={"derived": True})
    resolved_at = db.Column(db.DateTime, info={"label": _l("Resolved at"), "readonly": True})
    closed_at = db.Column(db.DateTime, info={"label": _l("Closed at"), "readonly": True})
    sla_due_at = db.Column(db.DateTime, index=True, info={"derived": True, "audit": False})
    sla_warn_at = db.Column(db.DateTime, index=True, info={"derived": True, "audit": False})
    # The resolution target as the reports count it in SQL (sla.refresh keeps it): missed
    # or not at the last change (None: no such target, or not worked out yet), and when
    # it falls due while its clock runs (None while paused or done).
    sla_resolution_missed = db.Column(db.Boolean, info={"derived": True, "audit": False})
    sla_resolution_due_at = db.Column(db.DateTime, info={"derived": True, "audit": False})
    # Complaints: the cause and the corrective action that must be done before closing.
    root_cause_id = db.Column(db.ForeignKey("svc_root_cause.id"), index=True)
    root_cause = db.relationship(RootCause, info={"label": _l("Root cause")})
    corrective_action = db.Column(db.Text, info={"label": _l("Corrective action")})
    action_owner_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    action_owner = db.relationship(User, foreign_keys=[action_owner_id],
                                   info={"label": _l("Action owner")})
    action_due = db.Column(db.Date, index=True, info={"label": _l("Action due")})
    action_done_at = db.Column(db.DateTime, info={"label": _l("Action done at"), "readonly": True})
    # The customer's key to follow the ticket through a signed link (self-service);
    # changed to revoke every link sent before.
    access_key = db.Column(db.String(32), info={"derived": True, "audit": False})

    def __str__(self):
        return f"{self.number} {self.subject}" if self.number else self.subject


class TicketMessage(db.Model):
    """One message of a ticket's conversation: from the customer, a reply sent to
    them, or an internal note they never see."""

    __tablename__ = "svc_ticket_message"
    __label__ = mark("Ticket message")
    __table_args__ = (db.Index("ix_svc_ticket_message_ticket_id", "ticket_id", "id"),)
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.ForeignKey("svc_ticket.id", ondelete="CASCADE"), nullable=False)
    ticket = db.relationship(Ticket, backref=db.backref("messages", lazy="dynamic",
                                                        passive_deletes=True),
                             info={"label": _l("Ticket")})
    kind = db.Column(choice(*MESSAGE_KINDS, name="svc_message_kind"), nullable=False,
                     info={"label": _l("Kind")})
    author_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    author = db.relationship(User, info={"label": _l("Author")})
    from_name = db.Column(db.String(120), info={"label": _l("From")})
    from_address = db.Column(db.String(254), info={"label": _l("From address")})
    body_text = db.Column(db.Text, nullable=False, default="", info={"label": _l("Message")})
    body_html = db.Column(db.Text, info={"label": _l("Message (formatted)")})  # sanitised
    # The Message-ID of the e-mail (received, or the outbox's for a reply): replies
    # that name it join this ticket.
    message_id = db.Column(db.String(250), index=True, info={"label": "Message-ID"})
    outbox_message_id = db.Column(db.ForeignKey("core_message.id"), index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                           info={"label": _l("Date")})


class TicketAttachment(db.Model):
    """A file that came with a message (kept in the core's file store)."""

    __tablename__ = "svc_ticket_attachment"
    __label__ = mark("Ticket attachment")
    id = db.Column(db.Integer, primary_key=True)
    message_id = db.Column(db.ForeignKey("svc_ticket_message.id", ondelete="CASCADE"),
                           nullable=False, index=True)
    message = db.relationship(TicketMessage, backref=db.backref(
        "attachments", cascade="all, delete-orphan", passive_deletes=True),
        info={"label": _l("Message")})
    name = db.Column(db.String(255), nullable=False, info={"label": _l("File name")})
    sha256 = db.Column(db.String(64), nullable=False, index=True, info={"label": "SHA-256"})
    size = db.Column(db.BigInteger, nullable=False, default=0, info={"label": _l("Size")})
    kind = db.Column(db.String(20), nullable=False, default="")


class TicketStateChange(db.Model):
    """When a ticket entered a state: the SLA clock is read from these."""

    __tablename__ = "svc_ticket_state_change"
    __label__ = mark("Ticket state change")
    __table_args__ = (db.Index("ix_svc_ticket_state_change_ticket", "ticket_id", "at"),)
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.ForeignKey("svc_ticket.id", ondelete="CASCADE"), nullable=False)
    ticket = db.relationship(Ticket, backref=db.backref(
        "state_changes", lazy="dynamic", passive_deletes=True,
        order_by="TicketStateChange.at"))
    state = db.Column(choice(*TICKET_STATES, name="svc_state_change_state"), nullable=False)
    at = db.Column(db.DateTime, nullable=False, default=utcnow)


class SlaEscalation(db.Model):
    """One warning or breach of one target of one ticket: the unique key makes each
    escalate once, however many scheduler processes run the job."""

    __tablename__ = "svc_sla_escalation"
    __label__ = mark("SLA escalation")
    __table_args__ = (db.UniqueConstraint("ticket_id", "target", "level", "due_at"),)
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.ForeignKey("svc_ticket.id", ondelete="CASCADE"), nullable=False,
                          index=True)
    ticket = db.relationship(Ticket, info={"label": _l("Ticket")})
    target = db.Column(choice(*SLA_TARGETS, name="svc_escalation_target"), nullable=False,
                       info={"label": _l("Target")})
    level = db.Column(choice(*ESCALATION_LEVELS, name="svc_escalation_level"), nullable=False,
                      info={"label": _l("Level")})
    due_at = db.Column(db.DateTime, nullable=False, info={"label": _l("Due")})
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                           info={"label": _l("Escalated at")})


class SatisfactionRating(db.Model):
    """The customer's rating of a resolved ticket, asked by e-mail."""

    __tablename__ = "svc_rating"
    __label__ = mark("Satisfaction rating")
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.ForeignKey("svc_ticket.id", ondelete="CASCADE"), nullable=False,
                          unique=True)
    ticket = db.relationship(Ticket, backref=db.backref("rating", uselist=False,
                                                        passive_deletes=True),
                             info={"label": _l("Ticket")})
    # Who and what is rated, as they were when the ticket was resolved.
    agent_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    agent = db.relationship(User, info={"label": _l("Agent")})
    team_id = db.Column(db.ForeignKey("core_team.id"), index=True)
    team = db.relationship(Team, info={"label": _l("Team")})
    kind = db.Column(choice(*TICKET_KINDS, name="svc_rating_kind"), index=True,
                     info={"label": _l("Kind")})
    score = db.Column(db.Integer, index=True, info={"label": _l("Rating")})
    comment = db.Column(db.Text, info={"label": _l("Comment")})
    sent_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                        info={"label": _l("Asked at")})
    rated_at = db.Column(db.DateTime, info={"label": _l("Rated at")})
    # Set once the comment page is sent: the link then no longer works.
    closed_at = db.Column(db.DateTime, info={"derived": True})


class ServiceRecord(OwnedMixin, db.Model):
    """Time spent and the fee charged on a ticket; a billable fee may become a sales
    order line (through the core hook ``billing.charge``) when sales is enabled."""

    __tablename__ = "svc_record"
    __label__ = mark("Service record")
    __table_args__ = (db.Index("ix_svc_record_date_billable", "work_date", "billable"),)
    id = db.Column(db.Integer, primary_key=True)
    ticket_id = db.Column(db.ForeignKey("svc_ticket.id", ondelete="CASCADE"), nullable=False,
                          index=True)
    ticket = db.relationship(Ticket, backref=db.backref("service_records", lazy="dynamic",
                                                        passive_deletes=True),
                             info={"label": _l("Ticket")})
    work_date = db.Column(db.Date, nullable=False, default=date.today, index=True,
                          info={"label": _l("Date")})
    minutes = db.Column(db.Integer, nullable=False, default=0,
                        info={"label": _l("Time spent (minutes)")})
    description = db.Column(db.String(500), nullable=False, info={"label": _l("Work done")})
    fee = db.Column(MONEY, nullable=False, default=0, info={"label": _l("Fee")})
    billable = db.Column(db.Boolean, nullable=False, default=True, index=True,
                         info={"label": _l("Billable")})
    # Where the fee was billed (a sales order's number), set by the billing hook.
    billed_at = db.Column(db.DateTime, info={"label": _l("Billed at"), "readonly": True})
    billed_reference = db.Column(db.String(60), info={"label": _l("Billed on"), "readonly": True})


# -- knowledge base ---------------------------------------------------------------------------

class KbFolder(db.Model):
    __tablename__ = "svc_kb_folder"
    __label__ = mark("Knowledge base folder")
    __table_args__ = (db.UniqueConstraint("parent_id", "name"),)
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, info={"label": _l("Name")})
    parent_id = db.Column(db.ForeignKey("svc_kb_folder.id", ondelete="CASCADE"), index=True)
    parent = db.relationship("KbFolder", remote_side=[id], info={"label": _l("Parent folder")})
    sequence = db.Column(db.Integer, nullable=False, default=10, info={"label": _l("Order")})

    def __str__(self):
        return self.name


class KbArticle(OwnedMixin, db.Model):
    """An answer: draft (its author only), internal (agents) or public (the
    self-service page), in Chinese or English."""

    __tablename__ = "svc_kb_article"
    __label__ = mark("Knowledge base article")
    __table_args__ = (db.Index("ix_svc_kb_article_visibility_language", "visibility",
                               "language"),)
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Title")})
    folder_id = db.Column(db.ForeignKey("svc_kb_folder.id"), index=True)
    folder = db.relationship(KbFolder, info={"label": _l("Folder")})
    language = db.Column(choice(*LANGUAGES, name="svc_kb_language"), nullable=False,
                         default="Chinese", index=True, info={"label": _l("Language")})
    visibility = db.Column(choice(*VISIBILITIES, name="svc_kb_visibility"), nullable=False,
                           default="draft", index=True, info={"label": _l("Visibility")})
    keywords = db.Column(db.String(250), info={"label": _l("Keywords")})
    body = db.Column(db.Text, nullable=False, default="", info={"label": _l("Answer")})
    product_id = db.Column(db.ForeignKey("svc_product.id"), index=True)
    product = db.relationship(ServiceProduct, info={"label": _l("Product")})
    views = db.Column(db.Integer, nullable=False, default=0,
                      info={"label": _l("Views"), "readonly": True, "audit": False})

    def __str__(self):
        return self.title


# -- numbers and the state history -------------------------------------------------------------

def next_number(session, on=None):
    year = (on or date.today()).year
    return f"T{year}-{Sequence.next_value(session, f'crm_service.T.{year}'):06d}"


@event.listens_for(Session, "before_flush")
def _number_tickets_and_record_states(session, _context, _instances):
    """A new ticket gets the next number; every state a ticket enters is recorded
    with its time, however it was saved (screen, mail, import, job), for the SLA."""
    for record in list(session.new):
        if isinstance(record, Ticket) and not record.number:
            record.number = next_number(session)
    for record in list(session.new) + list(session.dirty):
        if not isinstance(record, Ticket):
            continue
        history = db.inspect(record).attrs.state.history
        if record in session.new or history.has_changes():
            now = utcnow()
            session.add(TicketStateChange(ticket=record, state=record.state or "new", at=now))
            if record.state == "resolved" and record.resolved_at is None:
                record.resolved_at = now
            elif record.state == "closed":
                record.closed_at = record.closed_at or now
            elif record.state not in DONE_STATES:
                record.resolved_at = record.closed_at = None


def _ticket_rule(user):
    """Agents read their own tickets, their teams' (assigned to a teammate or to the
    team) and nobody's; a service manager reads every ticket."""
    if any(group.code == "service_manager" for group in user.groups):
        return None
    my_teams = db.select(team_members.c.team_id).where(team_members.c.user_id == user.id) \
        .union(db.select(Team.id).where(Team.leader_id == user.id))
    # The owner of a complaint's corrective action reads it too: the reminders send
    # them to it, whichever team handles the complaint.
    return db.or_(Ticket.owner_id.in_(team_user_ids(user.id)), Ticket.team_id.in_(my_teams),
                  db.and_(Ticket.owner_id.is_(None), Ticket.team_id.is_(None)),
                  Ticket.action_owner_id == user.id)


def _article_rule(user):
    """A draft is its author's until it is published (internal or public)."""
    return db.or_(KbArticle.visibility != "draft", KbArticle.owner_id == user.id)


Ticket.__record_rule__ = staticmethod(_ticket_rule)
KbArticle.__record_rule__ = staticmethod(_article_rule)
