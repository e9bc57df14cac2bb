"""Satisfaction: when a ticket is resolved the customer is asked, by e-mail, to rate the
answer from 1 to 5 with one click, and may add a comment.

The links (/service/rating/<token>) need no login. Each is signed with the site's
secret and a time stamp (itsdangerous), names the ticket, the score and when the
rating was asked, and expires after the setting rating_link_days. As with approval
links (core/approval_links.py), opening one records nothing (mail scanners and link
previews open links): it shows the score chosen and a comment box, and the button posts
them, with the page's CSRF token. The first post is kept; the links then no longer
work ("already rated"). A ticket resolved again is asked again, and the earlier links
stop working.

The ratings screen lists them, with the averages per agent, team and kind over a
period (RatingView.averages, one GROUP BY each)."""
import calendar
from datetime import date, datetime, time, timedelta

from flask import Blueprint, current_app, render_template, request
from flask_admin import expose
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from addons.crm_service import tickets
from addons.crm_service.models import SatisfactionRating, Ticket
from core import company, notifications, options, outbox
from core.admin import ModelView
from core.db import db
from core.i18n import label, language_from_query
from core.models import Team, User, utcnow

blueprint = Blueprint("crm_service_rating", __name__, url_prefix="/service/rating")
blueprint.before_request(language_from_query)

RATING_SALT = "crm_service.rating"
SCORES = (1, 2, 3, 4, 5)
COMMENT_LENGTH = 4000
SUMMARY_ROWS = 5


# -- asking ------------------------------------------------------------------------------------

def ask_rating(ticket, user):
    """The effect of the workflow's "resolve": (re)start the ticket's rating and e-mail
    the customer the rating links, in their language, at the address replies go to (a
    phoned-in ticket has its contact's). Nothing when the ticket has no address. The
    caller commits."""
    address = tickets.recipient_of(ticket)
    if not address:
        return None
    rating = ticket.rating or SatisfactionRating(ticket=ticket)
    rating.agent_id, rating.team_id, rating.kind = ticket.owner_id, ticket.team_id, ticket.kind
    rating.score = rating.comment = rating.rated_at = rating.closed_at = None
    # The links carry it to the microsecond (kept by SQLite and PostgreSQL alike).
    rating.sent_at = utcnow()
    db.session.add(rating)
    if ticket.id is None:
        db.session.flush()
    language = tickets.customer_language(ticket)
    with force_locale(language):
        links = {score: rating_link(ticket, rating, score, language) for score in SCORES}
        comment_link = rating_link(ticket, rating, None, language)
        subject = _("[%(number)s] How did we do?", number=ticket.number)
        context = {"ticket": ticket, "links": links, "comment_link": comment_link,
                   "company_name": company.name(), "days": link_days()}
        text = email_text(**context)
        html = render_template("crm_service/rating_email.html", **context)
    return outbox.send_email([address], subject, text, html=html, related=ticket)


def email_text(ticket, links, comment_link, company_name, days):
    """The plain-text part of the rating request (the HTML part is a template)."""
    lines = [_("Your request %(number)s, “%(subject)s”, has been answered. How satisfied "
               "are you with our help? One click is enough:", number=ticket.number,
               subject=ticket.subject), ""]
    words = {1: f" ({_('poor')})", 5: f" ({_('excellent')})"}
    lines += [f"{score} {'★' * score}{words.get(score, '')}: {link}"
              for score, link in links.items()]
    lines += ["", _("Or tell us more: %(link)s", link=comment_link), "",
              _("The links work for %(days)d days.", days=days),
              _("If your problem is not solved, reply to this email and the request opens "
                "again."), "", company_name]
    return "\n".join(lines)


def link_days():
    return max(1, options.get("crm_service", "rating_link_days"))


def serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RATING_SALT)


def stamp(moment):
    """When a request for a rating was made, to the microsecond: a ticket resolved,
    reopened and resolved again within a second still gets a new link."""
    return calendar.timegm(moment.utctimetuple()) * 1_000_000 + moment.microsecond


def rating_link(ticket, rating, score, language):
    """The absolute address of a rating link: ``score`` 1..5, or None for the comment
    page with no score chosen yet."""
    link = notifications.signed_link(f"{blueprint.name}.rate", serializer(),
                              [ticket.id, score, stamp(rating.sent_at)])
    return f"{link}?lang={'zh' if language != 'en' else 'en'}"


# -- the rating pages (public) ---------------------------------------------------------------------

class LinkRefused(Exception):
    """The page cannot rate: str() says why; ``status`` is the HTTP status."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def read_token(token):
    """(rating, score or None) of a link, or raise LinkRefused: altered, expired, or
    replaced by a newer request for a rating."""
    try:
        ticket_id, score, asked = notifications.unsigned(serializer(), token,
                                                  max_age=link_days() * 86400)
    except SignatureExpired:
        raise LinkRefused(_("This rating link has expired. Thank you all the same: you "
                            "can still answer us by email."), 410) from None
    except (BadSignature, ValueError, TypeError):
        raise LinkRefused(_("This link is not valid."), 400) from None
    rating = db.session.scalar(select(SatisfactionRating).where(
        SatisfactionRating.ticket_id == ticket_id)) if isinstance(ticket_id, int) else None
    if rating is None or score not in (*SCORES, None):
        raise LinkRefused(_("This link is not valid."), 400)
    if stamp(rating.sent_at) != asked:
        raise LinkRefused(_("This link is no longer in use: a newer rating request was "
                            "sent for this request."), 410)
    return rating, score


class RatingForm(FlaskForm):
    score = RadioField(_l("Your rating"), coerce=int,
                       choices=[(score, str(score)) for score in SCORES],
                       validators=[InputRequired(_l("Choose a rating from 1 to 5."))])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Length(max=COMMENT_LENGTH)])


@blueprint.route("/<token>", methods=("GET", "POST"))
def rate(token):
    try:
        rating, score = read_token(token)
    except LinkRefused as refused:
        return rating_page(refused.status, message=str(refused))
    ticket = db.session.get(Ticket, rating.ticket_id)
    if rating.closed_at is not None:
        return rating_page(200, ticket=ticket, done=True, already=True)
    form = RatingForm(score=score)
    if request.method != "POST":   # GET, or HEAD: never a rating
        return rating_page(200, ticket=ticket, form=form)
    if not form.validate_on_submit():
        return rating_page(400, ticket=ticket, form=form)
    now = utcnow()
    # Once: only while no rating was posted and the link is the current request's.
    kept = db.session.execute(
        update(SatisfactionRating)
        .where(SatisfactionRating.id == rating.id, SatisfactionRating.closed_at.is_(None),
               SatisfactionRating.sent_at == rating.sent_at)
        .values(score=form.score.data, comment=(form.comment.data or "").strip() or None,
                rated_at=now, closed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return rating_page(200, ticket=ticket, done=True, already=kept != 1)


def rating_page(status, **context):
    return render_template("crm_service/rating_page.html", company_name=company.name(),
                           scores=SCORES, **context), status


# -- the ratings screen -----------------------------------------------------------------------------

def score_text(_view, _context, rating, _name):
    return "★" * rating.score + f" {rating.score}" if rating.score else ""


class RatingView(ModelView):
    """The ratings, read only (they are the customers' words), and their averages."""

    allow_create = allow_edit = allow_delete = allow_import = False
    column_list = ["ticket", "score", "comment", "agent", "team", "kind", "sent_at", "rated_at"]
    column_sortable_list = ["score", "kind", "sent_at", "rated_at",
                            ("agent", "agent.username")]
    column_filters = ["score", "kind", "sent_at", "rated_at", "agent.username", "team.name"]
    column_searchable_list = ["comment"]
    column_default_sort = ("sent_at", True)
    column_details_list = ["ticket", "score", "comment", "agent", "team", "kind", "sent_at",
                           "rated_at"]
    column_formatters = {"score": score_text}
    column_export_list = column_list
    list_template = "crm_service/rating_list.html"

    @expose("/averages/")
    def averages(self):
        start, end = period(request.args.get("start", ""), request.args.get("end", ""))
        return self.render("crm_service/rating_averages.html", start=start, end=end,
                           tables=average_tables(start, end))


def period(start_text, end_text):
    """The days asked for (YYYY-MM-DD), by default the last 90 days to today."""
    end = _day(end_text) or date.today()
    start = _day(start_text) or end - timedelta(days=89)
    return (start, end) if start <= end else (end, start)


def _day(text):
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def average_tables(start, end):
    """[(title, [row])] per agent, team and kind: each row has the name, how many were
    asked in the period, how many rated, and their average score (None when none)."""
    within = (SatisfactionRating.sent_at >= datetime.combine(start, time.min),
              SatisfactionRating.sent_at < datetime.combine(end + timedelta(days=1), time.min))
    figures = (func.count(SatisfactionRating.id), func.count(SatisfactionRating.score),
               func.avg(SatisfactionRating.score))
    agent_name = func.coalesce(func.nullif(User.full_name, ""), User.username)
    groups = (
        (_("Per agent"), agent_name,
         lambda q: q.outerjoin(User, User.id == SatisfactionRating.agent_id)),
        (_("Per team"), Team.name,
         lambda q: q.outerjoin(Team, Team.id == SatisfactionRating.team_id)),
        (_("Per kind"), SatisfactionRating.kind, lambda q: q),
    )
    tables = []
    for title, name, joined in groups:
        query = joined(select(name, *figures).select_from(SatisfactionRating)).where(*within) \
            .group_by(name).order_by(func.avg(SatisfactionRating.score).desc().nulls_last(), name)
        tables.append((title, [{"name": label(row[0]) if row[0] else _("(none)"),
                                "asked": row[1], "rated": row[2],
                                "average": float(row[3]) if row[3] is not None else None}
                               for row in db.session.execute(query)]))
    return tables


# -- the customer's page (hooks.py shows it) ---------------------------------------------------------

def ratings_summary(customer_id):
    """A customer's ratings: {"asked", "rated", "average" (None when none), "latest":
    [{"ticket_id", "number", "subject", "score", "comment", "rated_at"}]}, in two
    queries."""
    of_customer = select(SatisfactionRating).join(Ticket).where(
        Ticket.customer_id == customer_id).subquery()
    asked, rated, average = db.session.execute(select(
        func.count(of_customer.c.id), func.count(of_customer.c.score),
        func.avg(of_customer.c.score))).one()
    latest = db.session.execute(
        select(Ticket.id, Ticket.number, Ticket.subject, SatisfactionRating.score,
               SatisfactionRating.comment, SatisfactionRating.rated_at)
        .join(SatisfactionRating, SatisfactionRating.ticket_id == Ticket.id)
        .where(Ticket.customer_id == customer_id, SatisfactionRating.score.is_not(None))
        .order_by(SatisfactionRating.rated_at.desc(), SatisfactionRating.id.desc())
        .limit(SUMMARY_ROWS)).all() if rated else []
    return {"asked": asked, "rated": rated,
            "average": round(float(average), 2) if average is not None else None,
            "latest": [{"ticket_id": row[0], "number": row[1], "subject": row[2],
                        "score": row[3], "comment": row[4], "rated_at": row[5]}
                       for row in latest]}
