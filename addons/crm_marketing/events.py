"""Events and trade shows (项目参展): who registered for an event campaign or was met at
its stand, and who came.

Registrations come from three places: the event's public page (/m/e/<token>, no
login), the Event registrations screen (typed in after the show, or marked attended
at the door), and an import of a file (badge scans, a list from the organiser). Each
new registration, whichever way it comes, brings one CampaignResponse of kind
"registration" to its campaign (made in the flush, so no path can forget it), which
the campaign's results count.

The public page's token is the campaign's id signed with the site's secret: a forged
or altered token, a campaign that is not an event, or an event done or cancelled
answers 404. The form carries this site's CSRF token, a hidden field people leave
empty catches robots, and a rate limit per visitor address stops a flood."""
import re

from flask import (Blueprint, abort, current_app, flash, make_response, render_template,
                   request, url_for)
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup
from sqlalchemy import case, event, false, func, select, update
from sqlalchemy.orm import Session
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from addons.crm_contacts.models import Contact, Customer
from addons.crm_marketing.models import Campaign, CampaignResponse, choice
from addons.crm_marketing.responses import responded
from core import hooks, notifications, permissions, ratelimit
from core.admin import ModelView
from core.db import db
from core.i18n import mark
from core.models import utcnow
from core.outbox import EMAIL
from core.util import int_ids

EVENT = "event or trade show"
CLOSED_STATES = ("done", "cancelled")
HOW = (mark("registered"), mark("met at the stand"))
SALT = "crm_marketing.event"
HONEYPOT = "website"
# Posts one visitor address may make to one event's page per hour: a stand's tablet or
# an office behind one address registers several people, a robot many more.
PER_HOUR = 20
PHONE = re.compile(r"^[0-9+()\-.\s]*$")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class EventRegistration(db.Model):
    """Someone registered for an event, or met at its stand, and whether they came."""

    __tablename__ = "mkt_event_registration"
    __label__ = mark("Event registration")
    __table_args__ = (db.Index("ix_mkt_event_registration_campaign", "campaign_id", "id"),
                      db.Index("ix_mkt_event_registration_email", "campaign_id", "email"))
    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.ForeignKey("mkt_campaign.id", ondelete="CASCADE"),
                            nullable=False)
    campaign = db.relationship(Campaign, info={"label": _l("Event")})
    name = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Name")})
    company = db.Column(db.String(200), info={"label": _l("Company name")})
    email = db.Column(db.String(254), info={"label": _l("Email")})
    phone = db.Column(db.String(40), info={"label": _l("Phone")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id", ondelete="SET NULL"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    contact_id = db.Column(db.ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True)
    contact = db.relationship(Contact, info={"label": _l("Contact")})
    how = db.Column(choice(*HOW, name="mkt_event_registration_how"), nullable=False,
                    default="registered", index=True, info={"label": _l("How")})
    registered_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                              info={"label": _l("Registered at")})
    attended = db.Column(db.Boolean, nullable=False, default=False, index=True,
                         info={"label": _l("Attended")})
    note = db.Column(db.Text, info={"label": _l("Note")})
    # The campaign response the registration brought (made in the flush, below).
    response_id = db.Column(db.ForeignKey("mkt_response.id", ondelete="SET NULL"),
                            index=True, info={"derived": True})
    response = db.relationship(CampaignResponse)

    def __str__(self):
        return self.name


@event.listens_for(Session, "before_flush")
def _respond(session, _context, _instances):
    """Every new registration (page, screen, import) gives its campaign one response of
    kind "registration"; a value left out falls back to its default here, since an
    explicit None would otherwise reach the database. A registration of a customer's
    contact is the customer's too."""
    for registration in [obj for obj in [*session.new, *session.dirty]
                         if isinstance(obj, EventRegistration)]:
        if registration.contact is not None and registration.customer is None:
            registration.customer = registration.contact.customer
    for registration in [obj for obj in session.new if isinstance(obj, EventRegistration)]:
        registration.registered_at = registration.registered_at or utcnow()
        registration.how = registration.how or "registered"
        registration.attended = bool(registration.attended)
        if registration.response is not None or registration.response_id is not None:
            continue
        registration.response = CampaignResponse(
            **_same(registration, "campaign"), **_same(registration, "customer"),
            **_same(registration, "contact"), kind="registration",
            responded_at=registration.registered_at, name=registration.name,
            email=registration.email, phone=registration.phone)


def _same(registration, name):
    """The registration's related record ``name`` for the response: the record where it
    is set, else its id (a new record loads no relation by its key)."""
    related = getattr(registration, name)
    return {name: related} if related is not None else {f"{name}_id": getattr(
        registration, f"{name}_id")}


def accepts_registrations(campaign):
    return campaign is not None and campaign.kind == EVENT and campaign.state not in CLOSED_STATES


def counts(campaign_id):
    """(registrations, attended) of a campaign, in one query."""
    registered, attended = db.session.execute(
        select(func.count(), func.sum(case((EventRegistration.attended.is_(True), 1), else_=0)))
        .where(EventRegistration.campaign_id == campaign_id)).one()
    return registered or 0, attended or 0


def matching_contact(email):
    """The one contact with this address (as typed or in lower case), or None."""
    if not email:
        return None
    found = db.session.scalars(select(Contact).where(
        Contact.email.in_({email, email.lower()})).limit(2)).all()
    return found[0] if len(found) == 1 else None


def stripped(field):
    return (field.data or "").strip()


def email_format(_form, field):
    """An address that looks like one, or none (the message made now: the admin's
    forms show only plain text as a field's error)."""
    if stripped(field) and not EMAIL.match(stripped(field)):
        raise ValidationError(_("The email address does not look right."))


# -- the screen ------------------------------------------------------------------------------------

class EventFilter(BaseSQLAFilter):
    """"Event is ...": the registrations of one event campaign, by its id (event
    names may repeat from year to year). The campaign page links to it."""

    crm_url_name = "event"   # the link's name, in every language

    def __init__(self):
        # The options are read per request (RegistrationView._get_filter_groups):
        # Flask-Admin would read them once, when the screen is made.
        super().__init__(EventRegistration.campaign_id, _l("Event"))

    @staticmethod
    def events():
        """(id, name) of the latest event campaigns the user may read."""
        query = permissions.apply_rules(
            select(Campaign.id, Campaign.name).where(Campaign.kind == EVENT), Campaign)
        return [(str(campaign_id), name) for campaign_id, name in db.session.execute(
            query.order_by(Campaign.start_date.desc(), Campaign.id.desc()).limit(200))]

    def apply(self, query, value, alias=None):
        ids = int_ids([value])
        return query.filter(EventRegistration.campaign_id == ids[0] if ids else false())

    def operation(self):
        return _l("is")

    def clean(self, value):
        return value


class RegistrationView(ModelView):
    """Registrations of events: filtered by event (the campaign page's link), marked
    attended or absent several at once, imported from the organiser's list."""

    column_list = ["campaign", "name", "company", "email", "phone", "customer", "how",
                   "registered_at", "attended"]
    column_searchable_list = ["name", "company", "email", "phone"]
    column_filters = [EventFilter(), "campaign.name", "how", "attended", "registered_at",
                      "customer.name"]
    column_sortable_list = ["name", "company", "email", "how", "registered_at", "attended",
                            ("campaign", "campaign.name"), ("customer", "customer.name")]
    column_labels = {"campaign.name": _l("Event"), "customer.name": _l("Customer")}
    column_default_sort = ("id", True)
    form_columns = ["campaign", "name", "company", "email", "phone", "customer", "contact",
                    "how", "registered_at", "attended", "note"]
    column_details_list = form_columns
    form_ajax_refs = {
        # Only events are offered; on_model_change refuses any other campaign posted.
        "campaign": {"fields": ["name"], "page_size": 10, "filters": [f"kind = '{EVENT}'"]},
        "customer": {"fields": ["name", "code"], "page_size": 10},
        "contact": {"fields": ["name", "email", "mobile"], "page_size": 10},
    }
    form_args = {"email": {"validators": [email_format]}}

    def _get_filter_groups(self):
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                if isinstance(self._filters[item["index"]], EventFilter):
                    item["options"] = EventFilter.events()
        return groups

    def on_model_change(self, form, registration, is_created):
        campaign = registration.campaign
        if campaign is not None and campaign.kind != EVENT:
            refuse(form, "campaign", _("Choose a campaign of kind “event or trade show”."))
        contact, customer = registration.contact, registration.customer
        if contact is not None and customer is not None and contact.customer_id != customer.id:
            refuse(form, "contact", _("This contact works for another customer."))
        super().on_model_change(form, registration, is_created)
        if is_created:
            db.session.add(registration)
            _responded(registration)

    @action("mark_attended", _l("Mark attended"))
    def action_mark_attended(self, ids):
        done = self._set_attended(ids, True)
        flash(ngettext("%(num)d registration marked attended.",
                       "%(num)d registrations marked attended.", done), "success")

    @action("mark_absent", _l("Mark absent"))
    def action_mark_absent(self, ids):
        done = self._set_attended(ids, False)
        flash(ngettext("%(num)d registration marked absent.",
                       "%(num)d registrations marked absent.", done), "success")

    def _set_attended(self, ids, attended):
        # ``ids``: only the rows the user may see (the core's bulk action path, which
        # also asked for the write right).
        if not ids:
            return 0
        db.session.execute(update(EventRegistration).where(EventRegistration.id.in_(ids))
                           .values(attended=attended)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        return len(ids)


def refuse(form, name, message):
    """A message on the form's field (or an import row's column), and the save refused."""
    if name in form:
        form[name].errors.append(message)
    raise ValidationError(message)


# -- on the campaign's page ------------------------------------------------------------------------

@hooks.connect("details.Campaign")
def registrations_panel(campaign):
    """An event's registrations and attendance, its public registration link, and the
    way to its list."""
    if campaign.kind != EVENT or not permissions.permits(current_user, "EventRegistration", "r"):
        return None
    registered, attended = counts(campaign.id)
    list_url = url_for("event_registration.index_view", flt0_event_is=campaign.id)
    html = render_template(
        "crm_marketing/event_panel.html", registered=registered, attended=attended,
        public_link=public_link(campaign) if accepts_registrations(campaign) else None,
        list_url=list_url,
        new_url=url_for("event_registration.create_view")
        if permissions.permits(current_user, "EventRegistration", "c") else None)
    return {"title": _("Registrations"), "order": 20, "html": Markup(html), "link": list_url,
            "link_text": _("Registrations")}


# -- the public registration page ------------------------------------------------------------------

blueprint = Blueprint("crm_marketing_events", __name__, url_prefix="/m/e")


def serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def public_link(campaign):
    """The absolute address of the event's registration page, to publish."""
    return notifications.signed_link(f"{blueprint.name}.register", serializer(), campaign.id)


def open_event(token):
    """The event campaign a token names, while it takes registrations; else 404."""
    try:
        campaign_id = notifications.unsigned(serializer(), token)
    except BadSignature:
        abort(404)
    campaign = db.session.get(Campaign, campaign_id) \
        if isinstance(campaign_id, int) and not isinstance(campaign_id, bool) else None
    if not accepts_registrations(campaign):
        abort(404)
    return campaign


class RegistrationForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Please give your name.")), Length(max=200)])
    company = StringField(_l("Company name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Please give your email address.")), email_format, Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40), Regexp(
        PHONE, message=_l("A phone number has only digits, spaces and + - ( )."))])


def page(template, status=200, **context):
    response = make_response(render_template(template, **context), status)
    response.headers.update(NO_STORE)
    return response


@blueprint.errorhandler(404)
def not_found(_error):
    return page("crm_marketing/event_refused.html", 404, message=_(
        "This registration page does not exist, or the event no longer takes registrations."))


@blueprint.route("/<token>", methods=("GET", "POST"))
def register(token):
    campaign = open_event(token)
    form = RegistrationForm()
    if request.method == "POST" and request.form.get(HONEYPOT, "").strip():
        return page("crm_marketing/event_thanks.html", campaign=campaign)   # a robot
    if not form.validate_on_submit():
        return page("crm_marketing/event_register.html", 400 if form.errors else 200,
                    form=form, campaign=campaign)
    if not ratelimit.allows("marketing_event", campaign.id, per_hour=PER_HOUR):
        return page("crm_marketing/event_refused.html", 429, message=_(
            "Too many registrations from your address. Please try again later."))
    register_visitor(campaign, name=stripped(form.name), company=stripped(form.company) or None,
                     email=stripped(form.email), phone=stripped(form.phone) or None)
    db.session.commit()
    return page("crm_marketing/event_thanks.html", campaign=campaign)


def register_visitor(campaign, name, company, email, phone):
    """A registration from the public page (the caller commits). An address already
    registered for the event (in any case) is kept once: the page thanks the visitor all
    the same, and tells no one who registered."""
    already = db.session.scalar(select(EventRegistration.id).where(
        EventRegistration.campaign_id == campaign.id,
        func.lower(EventRegistration.email) == email.lower()).limit(1))
    if already is not None:
        return None
    contact = matching_contact(email)
    registration = EventRegistration(
        campaign=campaign, name=name, company=company, email=email, phone=phone,
        how="registered", registered_at=utcnow(), attended=False, contact=contact,
        customer=contact.customer if contact is not None else None)
    db.session.add(registration)
    _responded(registration)
    return registration


def _responded(registration):
    """Let other addons act on the registration's response (made at the flush)."""
    db.session.flush()
    if registration.response is not None:
        responded(registration.response)
