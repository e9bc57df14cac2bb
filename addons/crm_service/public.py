"""The self-service pages at /service/, for customers with no login: the public
articles of the knowledge base with a search, a form to submit a request (a ticket),
and the page of one's ticket, reached through a signed link, to follow and answer it.

These pages are ours (no other site posts to them), so every form carries this site's
CSRF token; the core exempts public blueprints from its app-wide check, so the forms
check it themselves (Flask-WTF's FlaskForm). A hidden field people leave empty catches
robots, and a rate limit per visitor address (core.ratelimit) stops a storm of tickets.

A ticket's link (``ticket_link``) is signed with the site's secret and carries the
ticket's id and its access key: changing the key (Ticket.access_key) revokes every
link sent before. The pages speak the visitor's language (?lang=zh or ?lang=en, then
the browser's)."""
import re
import secrets

from flask import (Blueprint, abort, current_app, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import get_locale
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from addons.crm_service import knowledge, tickets
from addons.crm_service.models import TICKET_KINDS, Ticket, TicketMessage
from core import company, notifications, options, ratelimit
from core.outbox import EMAIL
from core.db import db
from core.i18n import language_from_query, lazy_label

blueprint = Blueprint("crm_service_public", __name__, url_prefix="/service")

FOLLOW_SALT = "crm_service.follow"
HONEYPOT = "website"
MESSAGE_LENGTH = 10000
REPLIES_PER_REQUEST = 4       # a visitor may answer this many times per request allowed
PHONE = re.compile(r"^[0-9+()\-.\s]*$")


# -- the link to follow a ticket ---------------------------------------------------------------

def serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=FOLLOW_SALT)


def ticket_link(ticket):
    """The absolute address the customer follows ``ticket`` at, no login needed. Gives
    the ticket an access key when it has none (the caller commits)."""
    if not ticket.access_key:
        ticket.access_key = secrets.token_hex(16)
    if ticket.id is None:
        db.session.flush()
    return notifications.signed_link(f"{blueprint.name}.follow", serializer(),
                       [ticket.id, ticket.access_key])


def ticket_of(token):
    """The ticket a link names, or 404: an altered token, or one whose key was changed."""
    try:
        ticket_id, key = notifications.unsigned(serializer(), token)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    ticket = db.session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None or not ticket.access_key or not isinstance(key, str) \
            or not secrets.compare_digest(ticket.access_key, key):
        abort(404)
    return ticket


# -- language and the frame ----------------------------------------------------------------------

blueprint.before_request(language_from_query)


def article_language():
    return knowledge.ARTICLE_LANGUAGE.get(str(get_locale()), "English")


def page(template, status=200, **context):
    return render_template(template, company_name=company.name(), **context), status


@blueprint.errorhandler(404)
def not_found(_error):
    return page("crm_service/public_refused.html", 404, message=_(
        "This page does not exist, or the link is not valid (any more). Ask us for a new "
        "link if you need one."))


# -- the knowledge base ----------------------------------------------------------------------------

@blueprint.route("/")
def index():
    text = request.args.get("q", "").strip()[:200]
    articles = knowledge.public_articles(text, article_language())
    return page("crm_service/public_index.html", articles=articles, query=text)


@blueprint.route("/article/<int:article_id>")
def article(article_id):
    found = knowledge.public_article(article_id)
    if found is None:
        abort(404)
    return page("crm_service/public_article.html", article=found,
                body=knowledge.render_body(found.body))


# -- submitting a request --------------------------------------------------------------------------

def text(field):
    """A text field's value, stripped ("" when it was not sent at all)."""
    return (field.data or "").strip()


def email_or_phone(form, field):
    if not text(form.email) and not text(form.phone):
        raise ValidationError(_("Give an email address or a phone number, so that we can "
                                "answer you."))


def email_format(form, field):
    if text(field) and not EMAIL.match(text(field)):
        raise ValidationError(_("The email address does not look right."))


class RequestForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(_l("Please give your name.")),
                                                    Length(max=120)])
    email = EmailField(_l("Email"), validators=[email_or_phone, email_format,
                                                  Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40), Regexp(
        PHONE, message=_l("A phone number has only digits, spaces and + - ( )."))])
    kind = SelectField(_l("What is it about?"), default="inquiry",
                       choices=[(kind, lazy_label(kind)) for kind in TICKET_KINDS])
    subject = StringField(_l("Subject"), validators=[
        DataRequired(_l("Please give a subject.")), Length(max=250)])
    message = TextAreaField(_l("Message"), validators=[
        DataRequired(_l("Please write your message.")), Length(max=MESSAGE_LENGTH)])


class ReplyForm(FlaskForm):
    message = TextAreaField(_l("Your answer"), validators=[
        DataRequired(_l("Please write your message.")), Length(max=MESSAGE_LENGTH)])


def per_hour():
    return options.get("crm_service", "public_tickets_per_hour")


@blueprint.route("/request", methods=("GET", "POST"))
def submit():
    form = RequestForm()
    if request.method == "POST" and request.form.get(HONEYPOT, "").strip():
        return page("crm_service/public_thanks.html", ticket=None)   # a robot: nothing kept
    if not form.validate_on_submit():
        return page("crm_service/public_request.html", 400 if form.errors else 200, form=form)
    if not ratelimit.allows("service_request", per_hour=per_hour()):
        return too_many()
    email = text(form.email) or None
    ticket = tickets.open_ticket(
        subject=text(form.subject), body_text=text(form.message), channel="web form",
        kind=form.kind.data, requester_name=text(form.name), requester_email=email,
        requester_phone=text(form.phone) or None)
    link = ticket_link(ticket)
    if email:
        tickets.acknowledge(ticket)   # the number and this link, by e-mail
    db.session.commit()
    return page("crm_service/public_thanks.html", ticket=ticket, link=link)


def too_many():
    return page("crm_service/public_refused.html", 429, message=_(
        "Too many messages from your address. Please try again later."))


# -- following one's ticket ------------------------------------------------------------------------

@blueprint.route("/ticket/<token>", methods=("GET", "POST"))
def follow(token):
    ticket = ticket_of(token)
    form = ReplyForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
        elif not ratelimit.allows("service_reply", per_hour=per_hour() * REPLIES_PER_REQUEST):
            return too_many()
        else:
            tickets.customer_message(ticket, body_text=text(form.message),
                                     from_name=ticket.requester_name,
                                     from_address=ticket.requester_email)
            db.session.commit()
            return redirect(url_for(".follow", token=token, sent=1) + "#conversation", 303)
    conversation = db.session.scalars(
        select(TicketMessage).where(TicketMessage.ticket_id == ticket.id,
                                    TicketMessage.kind != "note")
        .options(selectinload(TicketMessage.attachments))
        .order_by(TicketMessage.created_at, TicketMessage.id)).all()
    return page("crm_service/public_ticket.html", status, ticket=ticket, form=form,
                conversation=conversation, sent=request.args.get("sent") == "1")
