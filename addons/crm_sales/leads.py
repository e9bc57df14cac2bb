"""Leads: the list, qualification, assignment by rule or in turn, conversion; and the
screens of web-to-lead forms and assignment rules.

Who gets a new lead: the first active assignment rule (by sequence) whose region and
source match it gives the lead to the rule's salesperson, or in turn to the active
members of the rule's team. Leads that arrive without an owner (imported, posted from a
web form, created by a job) are assigned when they are saved; a lead entered on the
screen belongs to whoever entered it, unless an owner is chosen."""
import re
import secrets
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import escape
from sqlalchemy import event, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload
from wtforms import DecimalField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from addons.crm_contacts import duplicates
from addons.crm_contacts.models import CUSTOMER_KINDS, Contact, Customer
from addons.crm_sales.models import AssignmentRule, Lead, Opportunity, Stage, WebForm
from addons.crm_sales.products import OptionalKeepingErrors, not_negative
from core import permissions, workflow
from core.admin import ModelView, ScopedAjaxLoader, scoped_query
from core.dates import DateField
from core.db import db
from core.i18n import lazy_label
from core.models import Sequence, Team, User, team_members, utcnow
from core.notifications import public_url
from core.util import int_ids

# Loose on purpose: a typing slip (no @, a space) is caught; the mail server judges the rest.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


# -- assignment ---------------------------------------------------------------------------

def _related_id(record, name):
    """The id of a many-to-one, from the related record when one is set (a new lead's
    relations may not be flushed to their _id columns yet), without loading anything."""
    related = record.__dict__.get(name)
    return related.id if related is not None else getattr(record, f"{name}_id")


def active_rules(session):
    return session.scalars(select(AssignmentRule).where(AssignmentRule.active.is_(True))
                           .options(selectinload(AssignmentRule.user))
                           .order_by(AssignmentRule.sequence, AssignmentRule.id)).all()


def rule_matches(rule, lead):
    """An empty region or source on the rule matches any lead."""
    return ((rule.region_id is None or rule.region_id == _related_id(lead, "region"))
            and (rule.source_id is None or rule.source_id == _related_id(lead, "source")))


def team_members_by_id(session, team_id):
    """The active members of a team, in a fixed order (by id) for taking turns."""
    return session.scalars(
        select(User).join(team_members, team_members.c.user_id == User.id)
        .where(team_members.c.team_id == team_id, User.active.is_(True))
        .order_by(User.id)).all()


def next_in_turn(session, team_id, members=None):
    """The member of the team whose turn it is. The turn is a database counter (one
    UPDATE ... RETURNING), so web workers and imports running at the same time never
    give two leads the same turn."""
    members = team_members_by_id(session, team_id) if members is None else members
    if not members:
        return None
    turn = Sequence.next_value(session, f"crm_sales.round_robin.{team_id}")
    return members[(turn - 1) % len(members)]


class Assigner:
    """Assigns many leads with the rules and team members read once."""

    def __init__(self, session):
        self.session = session
        self._rules = None
        self._members = {}

    @property
    def rules(self):
        if self._rules is None:
            self._rules = active_rules(self.session)
        return self._rules

    def members(self, team_id):
        if team_id not in self._members:
            self._members[team_id] = team_members_by_id(self.session, team_id)
        return self._members[team_id]

    def owner_for(self, lead):
        """The user the rules give the lead to, or None. A rule whose salesperson is
        inactive and whose team has no active member gives it to no one: the next
        matching rule is tried."""
        for rule in self.rules:
            if not rule_matches(rule, lead):
                continue
            if rule.user is not None and rule.user.active:
                return rule.user
            if rule.team_id is not None:
                owner = next_in_turn(self.session, rule.team_id, self.members(rule.team_id))
                if owner is not None:
                    return owner
        # No rule: a lead from a web form goes in turn to the form's team, if it has one.
        form_id = _related_id(lead, "web_form")
        form = self.session.get(WebForm, form_id) if form_id is not None else None
        if form is not None and form.team_id is not None:
            return next_in_turn(self.session, form.team_id, self.members(form.team_id))
        return None

    def assign(self, lead):
        # No autoflush: flushing a new lead here would have the listener below assign
        # it too, taking a second turn.
        with self.session.no_autoflush:
            owner = self.owner_for(lead)
        if owner is not None:
            lead.owner = owner
        return owner


def assign(session, lead):
    """Give ``lead`` to whom the assignment rules say; returns that user, or None (the
    lead is then left as it was)."""
    return Assigner(session).assign(lead)


@event.listens_for(Session, "before_flush", insert=True)
def _assign_new_leads(session, _context, _instances):
    """New leads that nobody owns (an import, a web form, a job) go by the rules.

    Registered first (insert=True) so that it runs before core.audit, which gives every
    new record still without an owner to the user saving it: a lead the rules do not
    place then stays with whoever imported it (or unowned, when no one is signed in)."""
    leads = [obj for obj in session.new if isinstance(obj, Lead)
             and obj.owner_id is None and obj.__dict__.get("owner") is None]
    if leads:
        assigner = Assigner(session)
        for lead in leads:
            assigner.assign(lead)


# -- the lead screen ---------------------------------------------------------------------

def valid_email(form, field):
    if field.data and not EMAIL.match(field.data.strip()):
        raise ValidationError(_("Not a valid email address."))


class LeadView(ModelView):
    column_list = ["name", "company", "phone", "email", "source", "status", "owner"]
    column_searchable_list = ["name", "company", "phone", "email"]
    column_filters = ["status", "source.name", "region.name", "owner.username", "name",
                      "company", "phone", "email", "city", "created_at", "web_form.name"]
    column_sortable_list = ["name", "company", "status", ("source", "source.name"),
                            ("owner", "owner.username")]
    form_columns = ["name", "company", "title", "phone", "email", "source", "region",
                    "province", "city", "estimated_amount", "owner", "description"]
    column_details_list = ["name", "company", "title", "phone", "email", "source", "region",
                           "province", "city", "status", "estimated_amount", "owner",
                           "web_form", "customer", "converted_at", "description",
                           "created_at", "updated_at"]
    form_args = {"email": {"validators": [valid_email]},
                 "estimated_amount": {"validators": [not_negative]}}

    # -- create and edit ----------------------------------------------------------------

    def on_model_change(self, form, model, is_created):
        if not is_created and model.status == "converted":
            raise ValidationError(_("A converted lead cannot be changed."))
        if is_created and model.owner is None and not self.importing():
            # Entered by hand: the user's own lead (the rules are for leads that arrive
            # by themselves: imported, sent from a web form), set here so that the rules
            # do not take it.
            model.owner = current_user._get_current_object()
        super().on_model_change(form, model, is_created)

    def edit_refusal(self, lead):
        """A converted lead is history: its customer and opportunity carry on."""
        return _("A converted lead cannot be changed.") if lead.status == "converted" else None

    def on_model_delete(self, model):
        if model.status == "converted" or db.session.scalar(
                select(Opportunity.id).where(Opportunity.lead_id == model.id).limit(1)):
            raise ValidationError(_("A converted lead is kept with its opportunity."))
        super().on_model_delete(model)

    # -- qualification -----------------------------------------------------------------

    def detail_buttons(self, record):
        # Qualify and Disqualify are the workflow's buttons (the base view's); Convert
        # opens a page of its own.
        if record.status == "converted" or not self.permits("w") or not may_convert():
            return []
        return [{"label": _("Convert"), "icon": "fa-exchange", "style": "btn-primary",
                 "url": self.get_url(".convert", id=record.id)}]

    # -- assignment --------------------------------------------------------------------

    @action("assign_by_rules", _l("Assign by rules"),
            _l("Give the selected leads to the salespeople the assignment rules name?"))
    def action_assign_by_rules(self, ids):
        """The base view has already narrowed ``ids`` to leads the user may see; it needs
        "w". Converted leads stay with whoever converted them."""
        leads = (self.get_query().filter(Lead.id.in_(ids), Lead.status != "converted")
                 .order_by(Lead.id).all()) if ids else []
        assigner = Assigner(db.session)
        assigned = sum(1 for lead in leads if assigner.assign(lead) is not None)
        db.session.commit()
        flash(_("%(assigned)d of %(count)d leads assigned by the rules.", assigned=assigned,
                count=len(leads)), "success" if assigned else "warning")

    # -- conversion --------------------------------------------------------------------

    @expose("/convert/", methods=("GET", "POST"))
    def convert(self):
        """Customer (existing or new), contact and opportunity from the lead, in one
        transaction; then the opportunity's page."""
        lead = self.get_one(request.args.get("id", ""))
        if not self.permits("w"):   # a GET needs only "r" in the base view
            abort(403)
        if lead.status == "converted":
            flash(_("This lead is already converted."), "error")
            return redirect(self.get_url(".details_view", id=lead.id))
        if not may_convert():
            abort(403)
        may_create_customer = permissions.permits(current_user, "Customer", "c")
        candidates, hidden = self._candidates(lead)
        form = conversion_form(lead, candidates, may_create_customer)
        stage = first_open_stage(db.session)
        if stage is None:
            flash(_("There is no open pipeline stage: add one under Sales > Configuration "
                    "> Stages."), "error")
        elif form.validate_on_submit():
            opportunity = self._convert(lead, form, stage)
            if opportunity is not None:
                flash(_("Lead converted."), "success")
                return redirect(url_for("opportunity.details_view", id=opportunity.id))
        return self.render("crm_sales/lead_convert.html", lead=lead, form=form, stage=stage,
                           candidates=candidates, hidden=hidden,
                           may_create_customer=may_create_customer,
                           labels=duplicates.LABELS,
                           customer_url=lambda c: url_for("customer.details_view", id=c.id))

    def _candidates(self, lead):
        """Customers like the lead (same name, phone or email) that the user may read,
        and how many more exist that the user may not."""
        found = duplicates.candidates(db.session, lead.company or lead.name, lead.phone,
                                      lead.email, limit=50)
        visible_ids = set(db.session.scalars(permissions.apply_rules(
            select(Customer.id).where(Customer.id.in_([c.id for c, _m in found])), Customer)))
        visible = [(c, matched) for c, matched in found if c.id in visible_ids]
        return visible[:20], len(found) - len(visible)

    def _convert(self, lead, form, stage):
        """Everything checked first, then written and committed once; None (with the
        reason flashed or on the form) when something is refused."""
        problem = workflow.refusal(lead, workflow.of(Lead).transitions["convert"], current_user)
        if problem:
            flash(problem, "error")
            return None
        owner_id = lead.owner_id or current_user.id   # an unowned lead: whoever converts it
        if form.customer.data == "new":
            customer = Customer(name=form.customer_name.data.strip(), kind=form.customer_kind.data,
                                phone=lead.phone, email=lead.email, source_id=lead.source_id,
                                region_id=lead.region_id, province=lead.province,
                                city=lead.city, owner_id=owner_id)
        else:
            # Among the customers the user may read, whatever id was posted.
            customer = db.session.scalar(permissions.apply_rules(
                select(Customer).where(Customer.id.in_(int_ids([form.customer.data]))),
                Customer))
            if customer is None:
                form.customer.errors.append(_("Not a valid choice."))
                return None
        for model in ([Customer] if customer.id is None else []) + [Contact, Opportunity]:
            if not permissions.may_own(current_user, model, owner_id):
                flash(_("You may not give new customers, contacts or opportunities to "
                        "%(owner)s, who owns this lead.", owner=lead.owner), "error")
                return None
        contact = Contact(customer=customer, name=form.contact_name.data.strip(),
                          title=lead.title, phone=lead.phone, email=lead.email,
                          is_primary=customer.id is None, owner_id=owner_id)
        opportunity = Opportunity(
            name=form.opportunity_name.data.strip(), customer=customer, contact=contact,
            lead=lead, amount=form.amount.data or 0, stage=stage, probability=stage.probability,
            expected_close=form.expected_close.data, owner_id=owner_id)
        lead.customer = customer
        lead.converted_at = utcnow()
        lead.owner_id = owner_id
        try:
            workflow.move(lead, "convert", current_user)
            db.session.add_all([customer, contact, opportunity])
            db.session.commit()
        except workflow.Refused as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return None
        except SQLAlchemyError as exc:
            db.session.rollback()
            flash(_("The lead could not be converted: %(error)s",
                    error=getattr(exc, "orig", exc)), "error")
            return None
        return opportunity


def may_convert():
    """Conversion makes a contact and an opportunity (and perhaps a customer)."""
    return (permissions.permits(current_user, "Contact", "c")
            and permissions.permits(current_user, "Opportunity", "c"))


def first_open_stage(session):
    return session.scalar(select(Stage).where(Stage.kind == "open")
                          .order_by(Stage.sequence, Stage.id).limit(1))


class ConversionForm(FlaskForm):
    customer = RadioField(_l("Customer"), validators=[DataRequired()])
    customer_name = StringField(_l("Name of the new customer"), validators=[Length(max=200)])
    customer_kind = SelectField(_l("Kind"), choices=[(kind, lazy_label(kind))
                                                     for kind in CUSTOMER_KINDS])
    contact_name = StringField(_l("Contact"), validators=[DataRequired(), Length(max=100)])
    opportunity_name = StringField(_l("Opportunity"), validators=[DataRequired(),
                                                                  Length(max=200)])
    amount = DecimalField(_l("Amount"), places=2, validators=[Optional(), not_negative])
    expected_close = DateField(_l("Expected close"), validators=[Optional()])

    def validate_customer_name(self, field):
        if self.customer.data == "new" and not (field.data or "").strip():
            raise ValidationError(_("Give the new customer a name."))


def conversion_form(lead, candidates, may_create_customer):
    """The form, filled from the lead on the first showing. The choices of customer are
    the look-alikes the user may read, and a new one if the user may create customers."""
    choices = [(str(customer.id), str(customer)) for customer, _matched in candidates]
    if may_create_customer:
        choices.append(("new", _("A new customer")))
    form = ConversionForm(data={
        "customer": choices[0][0] if choices else None,
        "customer_name": lead.company or lead.name,
        "customer_kind": "company" if lead.company else "individual",
        "contact_name": lead.name,
        "opportunity_name": lead.company or lead.name,
        "amount": lead.estimated_amount,
    })
    form.customer.choices = choices
    return form


# -- web-to-lead forms and assignment rules ---------------------------------------------

def web_address(form, field):
    """Only http(s) addresses: the visitor's browser is sent there."""
    value = (field.data or "").strip()
    if value and not is_web_address(value):
        raise ValidationError(_("Give a full address starting with http:// or https://."))


def is_web_address(value):
    parts = urlsplit(value or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not re.search(r"\s", value)


def my_teams():
    """The teams the user leads or belongs to (all of them for an administrator): what a
    sales manager may route leads to."""
    query = db.session.query(Team).order_by(Team.name)
    if current_user.is_admin:
        return query
    mine = select(team_members.c.team_id).where(team_members.c.user_id == current_user.id)
    return query.filter(or_(Team.leader_id == current_user.id, Team.id.in_(mine)))


class RoutingLoader(ScopedAjaxLoader):
    """Look-ups of salespeople and teams on the rule and form screens. Users and teams
    are not records a sales manager may read on a screen of their own; what they may
    pick is who may own leads they manage (core.permissions.may_own), and their teams."""

    def get_query(self):
        if self.model is User:
            return scoped_query(User, Lead)
        if self.model is Team:
            return my_teams()
        return super().get_query()


class RoutingView(ModelView):
    def _create_ajax_loader(self, name, options):
        return RoutingLoader(name, self.session, self.model, options)


def snippet(form):
    """The HTML a webmaster pastes into the company's website: the form posting to
    /public/lead/<token>, with the honeypot field "website" hidden from people."""
    action_url = f"{public_url()}{url_for('crm_sales_public.lead_form', token=form.token)}"

    def field(label, control):
        return f"  <p><label>{escape(label)}<br>{control}</label></p>"

    return "\n".join([
        f'<form action="{escape(action_url)}" method="post" accept-charset="UTF-8">',
        field(_("Your name") + " *", '<input name="name" maxlength="100" required>'),
        field(_("Company name"), '<input name="company" maxlength="200">'),
        field(_("Email"), '<input type="email" name="email" maxlength="254">'),
        field(_("Phone"), '<input type="tel" name="phone" maxlength="40">'),
        field(_("Message"), '<textarea name="message" rows="5" maxlength="5000"></textarea>'),
        "  <!-- Left empty by people, filled in by robots: do not remove. -->",
        '  <p style="position:absolute;left:-10000px" aria-hidden="true">'
        '<input name="website" tabindex="-1" autocomplete="off"></p>',
        f'  <p><button type="submit">{escape(_("Send"))}</button></p>',
        "</form>",
    ])


class WebFormView(RoutingView):
    column_list = ["name", "source", "team", "thanks_url", "active"]
    column_searchable_list = ["name"]
    column_filters = ["name", "source.name", "team.name", "active"]
    form_columns = ["name", "source", "team", "thanks_url", "active"]
    column_details_list = ["name", "source", "team", "thanks_url", "active"]
    form_args = {"thanks_url": {"validators": [web_address]}}
    details_template = "crm_sales/webform_details.html"

    def on_model_change(self, form, model, is_created):
        if is_created:
            model.token = new_token()
        model.thanks_url = (model.thanks_url or "").strip() or None
        super().on_model_change(form, model, is_created)

    def render(self, template, **kwargs):
        record = kwargs.get("model")
        if template == self.details_template and record is not None:
            kwargs["public_link"] = public_url() + url_for("crm_sales_public.lead_form",
                                                           token=record.token)
            kwargs["snippet"] = snippet(record)
        return super().render(template, **kwargs)

    def detail_buttons(self, record):
        if not self.permits("w"):
            return []
        return [{"label": _("New token"), "url": self.get_url(".new_token", id=record.id),
                 "post": True, "icon": "fa-refresh", "style": "btn-outline-danger",
                 "confirm": _("The form on the website stops working until it is "
                              "replaced with the new snippet. Go on?")}]

    def on_model_delete(self, model):
        if db.session.scalar(select(Lead.id).where(Lead.web_form_id == model.id).limit(1)):
            raise ValidationError(_("Leads came from this form: untick Active instead."))
        super().on_model_delete(model)

    @expose("/new-token/", methods=("POST",))
    def new_token(self):
        form = self.get_one(request.args.get("id", ""))
        form.token = new_token()
        db.session.commit()
        flash(_("New token made: paste the new snippet into the website."), "success")
        return redirect(self.get_url(".details_view", id=form.id))


def new_token():
    return secrets.token_urlsafe(24)


def user_or_team(form, field):
    """A rule gives leads to someone: a salesperson, or a team in turn."""
    if form.user.data is None and field.data is None:
        raise ValidationError(_("Choose a salesperson or a team."))


class AssignmentRuleView(RoutingView):
    column_list = ["sequence", "name", "region", "source", "user", "team", "active"]
    column_default_sort = [("sequence", False), ("id", False)]
    column_sortable_list = ["sequence", "name", "active"]
    column_searchable_list = ["name"]
    column_filters = ["name", "region.name", "source.name", "user.username", "team.name",
                      "active"]
    form_columns = ["name", "sequence", "region", "source", "user", "team", "active"]
    column_details_list = form_columns
    form_args = {"team": {"validators": [user_or_team, OptionalKeepingErrors()]}}
    column_descriptions = {
        "user": _l("Gets every lead the rule matches; or leave empty and choose a team."),
        "team": _l("Its active members get the leads in turn."),
        "region": _l("Empty: any region."),
        "source": _l("Empty: any source."),
    }
