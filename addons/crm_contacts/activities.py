"""Activities: their list screen with the overlap warning, the calendar, and the
"My activities today" section of the Today page."""
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import partial

from babel.dates import format_skeleton, get_day_names
from flask import request, url_for
from flask_admin import expose
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms.fields import HiddenField
from wtforms.validators import ValidationError

from addons.crm_contacts.models import Activity, Contact, Customer
from addons.crm_contacts.views import prefill_customer
from core import hooks, permissions
from core import record as record_page
from core.admin import FormWarning, ModelView
from core.db import db
from core.models import User

# An activity without an end takes an hour of its people's time.
DEFAULT_LENGTH = timedelta(hours=1)
# Kind: label and Font Awesome 4 icon.
KINDS = {
    "call": (_l("Call"), "fa-phone"),
    "visit": (_l("Visit"), "fa-car"),
    "meeting": (_l("Meeting"), "fa-users"),
    "email": (_l("Email"), "fa-envelope-o"),
    "task": (_l("Task"), "fa-check-square-o"),
    "plan": (_l("Work plan"), "fa-list-alt"),
}
CALENDAR_LIMIT = 1000   # activities shown at most in one month or week
TODAY_LIMIT = 20


# -- time arithmetic, shared by the form warning, the calendar and Today ---------------

def end_of(activity):
    return activity.end_at or activity.start_at + DEFAULT_LENGTH


def during(start, end):
    """The condition "the activity's time meets [start, end)", an activity without an
    end lasting an hour: start_at < end and coalesce(end_at, start_at + 1h) > start.
    Written without date arithmetic in SQL, which SQLite and PostgreSQL spell
    differently; the hour is taken off ``start`` in Python instead."""
    return and_(Activity.start_at < end,
                or_(Activity.end_at > start,
                    and_(Activity.end_at.is_(None), Activity.start_at > start - DEFAULT_LENGTH)))


def involving(user_ids):
    """Activities owned by, or with as participant, any of ``user_ids``."""
    return or_(Activity.owner_id.in_(user_ids), Activity.participants.any(User.id.in_(user_ids)))


def overlapping(session, start, end, user_ids, exclude_id=None):
    """The non-cancelled activities of any of ``user_ids`` (owner or participant) whose
    time overlaps [start, end); ``end`` None counts as one hour. One SQL statement, with
    owners and participants joined in (no query per activity). No record rules here:
    callers decide what the user may see."""
    end = end or start + DEFAULT_LENGTH
    statement = (select(Activity)
                 .where(during(start, end), Activity.status != "cancelled",
                        involving(list(user_ids)))
                 .options(joinedload(Activity.owner), joinedload(Activity.participants))
                 .order_by(Activity.start_at, Activity.id))
    if exclude_id is not None:
        statement = statement.where(Activity.id != exclude_id)
    return session.scalars(statement).unique().all()


def people_of(activity):
    """{user id: user} of the owner and the participants."""
    people = {user.id: user for user in activity.participants}
    if activity.owner is not None:
        people[activity.owner.id] = activity.owner
    return people


def person_name(user):
    return user.full_name or user.username


def parse_datetime(text):
    try:
        return datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None


def parse_date(text):
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


# -- the list screen and the forms ----------------------------------------------------

def end_after_start(form, field):
    """An activity cannot end before it starts (a form error on the end)."""
    start = form.start_at.data
    if field.data is not None and start is not None and field.data < start:
        raise ValidationError(_("The end is before the start."))


class ActivityView(ModelView):
    column_list = ["start_at", "kind", "subject", "customer", "contact", "status",
                   "next_follow_up", "owner"]
    column_searchable_list = ["subject"]
    column_default_sort = ("start_at", True)
    form_args = {"end_at": {"validators": [end_after_start]}}
    # "Log activity" on any record's page: ?regarding=Opportunity:5 (core.record).
    form_extra_fields = {"regarding": HiddenField()}
    return_to_origin = True

    def create_form(self, obj=None):
        """The calendar's "+" links open the form with the start (and end) filled in:
        /admin/activity/new/?start_at=2026-11-25 09:00:00; the customer's page, with
        the customer: ?customer=ID."""
        form = prefill_customer(super().create_form(obj))
        if request.method == "GET" and request.args.get("regarding"):
            prefill_regarding(form, record_page.find(request.args["regarding"]))
        if request.method == "GET":
            for name in ("start_at", "end_at"):
                value = parse_datetime(request.args.get(name))
                if value is not None:
                    getattr(form, name).data = value
        return form

    def on_model_change(self, form, model, is_created):
        if is_created and "regarding" in form and form.regarding.data:
            about = record_page.find(form.regarding.data)
            if about is None:
                raise ValidationError(_("The record this activity is about was not found."))
            model.record_model, model.record_id = type(about).__name__, about.id
        super().on_model_change(form, model, is_created)

    def form_warnings(self, form, record_id):
        warnings = super().form_warnings(form, record_id)
        start = form.start_at.data
        if start is None or form.status.data == "cancelled":
            return warnings
        # A new activity without an owner gets the current user (see core.audit).
        owner = form.owner.data or current_user
        people = {user.id: user for user in [owner, *(form.participants.data or [])]}
        others = overlapping(db.session, start, form.end_at.data, people, record_id)
        if others:
            warnings.append(self._overlap_warning(others, people))
        return warnings

    def _overlap_warning(self, others, people):
        """Links to the overlapping activities the user may see; only a count of the
        others, so that no one learns more of a colleague's diary than that."""
        visible_ids = set(db.session.scalars(permissions.apply_rules(
            select(Activity.id).where(Activity.id.in_([a.id for a in others])), Activity)))
        visible = [a for a in others if a.id in visible_ids]
        hidden = len(others) - len(visible)
        texts = []
        if visible:
            texts.append(ngettext(
                "This time overlaps %(num)d activity of the same people:",
                "This time overlaps %(num)d activities of the same people:", len(visible)))
        if hidden:
            texts.append(ngettext("%(num)d other activity you cannot see overlaps it too.",
                                  "%(num)d other activities you cannot see overlap it too.",
                                  hidden))
        links = [(self._overlap_label(activity, people),
                  url_for("activity.details_view", id=activity.id)) for activity in visible]
        return FormWarning(" ".join(texts), links)

    @staticmethod
    def _overlap_label(activity, people):
        involved = people_of(activity)
        shared = [involved[uid] for uid in people if uid in involved]
        return _("%(people)s: %(subject)s, %(start)s - %(end)s",
                 people=", ".join(person_name(user) for user in shared),
                 subject=activity.subject,
                 start=activity.start_at.strftime("%Y-%m-%d %H:%M"),
                 end=end_of(activity).strftime("%H:%M"))


def prefill_regarding(form, about):
    """The form of an activity about ``about`` (a record of any model the user may
    read): its reference, and its customer and contact where it has them."""
    if about is None:
        return
    form.regarding.data = record_page.reference(about)
    customer = about if isinstance(about, Customer) else getattr(about, "customer", None)
    if isinstance(customer, Customer) and form.customer.data is None:
        form.customer.data = customer
    contact = getattr(about, "contact", None)
    if isinstance(contact, Contact) and form.contact.data is None:
        form.contact.data = contact


# -- the calendar ------------------------------------------------------------------------

def visible_range(mode, day):
    """[first, last) of the days on screen: 6 weeks around the month, or one week;
    weeks start on Monday."""
    if mode == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7)
    first_of_month = day.replace(day=1)
    first = first_of_month - timedelta(days=first_of_month.weekday())
    return first, first + timedelta(days=42)


def neighbours(mode, day):
    """The dates the previous and next links open."""
    if mode == "week":
        return day - timedelta(days=7), day + timedelta(days=7)
    first_of_month = day.replace(day=1)
    previous = (first_of_month - timedelta(days=1)).replace(day=1)
    following = (first_of_month + timedelta(days=31)).replace(day=1)
    return previous, following


def days_of(activity):
    """The days an activity covers (one, unless it runs past midnight)."""
    first = activity.start_at.date()
    # An activity ending at midnight sharp does not take the next day.
    last = max(first, (end_of(activity) - timedelta(microseconds=1)).date())
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def clashes(activities):
    """Ids of the activities that overlap another activity of the same person on the
    same day (cancelled ones never clash). Worked out from the rows already loaded."""
    by_person_day = defaultdict(list)
    for activity in activities:
        if activity.status == "cancelled":
            continue
        for person in people_of(activity):
            for day in days_of(activity):
                by_person_day[(person, day)].append(activity)
    marked = set()
    for same in by_person_day.values():
        for index, one in enumerate(same):
            for other in same[index + 1:]:
                if one.start_at < end_of(other) and other.start_at < end_of(one):
                    marked.update((one.id, other.id))
    return marked


def by_day(activities, first, last):
    """{day: its activities, in time order} for every day in [first, last)."""
    days = {first + timedelta(days=n): [] for n in range((last - first).days)}
    for activity in activities:
        for covered in days_of(activity):
            if covered in days:
                days[covered].append(activity)
    return days


def calendar_url(current, **changes):
    """The calendar with some of view, date and who changed from ``current``."""
    wanted = {**current, **changes}
    return url_for(".index_view", view=wanted["view"], date=wanted["date"].isoformat(),
                   who=wanted["who"])


class CalendarView(ActivityView):
    """The activities of a month or a week, the user's own or their teams'."""

    @expose("/")
    def index_view(self):
        mode = request.args.get("view") if request.args.get("view") in ("month", "week") \
            else "month"
        day = parse_date(request.args.get("date")) or date.today()
        who = "team" if request.args.get("who") == "team" else "me"
        first, last = visible_range(mode, day)
        activities = self.activities_between(first, last, who)
        here = partial(calendar_url, {"view": mode, "date": day, "who": who})
        back = here()
        previous, following = neighbours(mode, day)
        days = by_day(activities[:CALENDAR_LIMIT], first, last)
        return self.render(
            "crm_contacts/calendar.html", mode=mode, day=day, who=who, today=date.today(),
            title=self.title(mode, first, last, day), days=days,
            weeks=[list(days)[n:n + 7] for n in range(0, len(days), 7)],
            weekdays=self.weekday_names(), clashes=clashes(activities),
            too_many=len(activities) > CALENDAR_LIMIT, limit=CALENDAR_LIMIT,
            previous=previous, following=following, calendar_url=here, kinds=KINDS,
            link_for=lambda activity: self.link_for(activity, back),
            add_link=lambda on: self.add_link(on, back))

    def activities_between(self, first, last, who):
        """Everything on screen in one query (plus one for the participants): through
        get_query, so the record rules narrow it like every other screen."""
        start = datetime.combine(first, time.min)
        end = datetime.combine(last, time.min)
        if who == "team":
            mine = Activity.owner_id.in_(permissions.team_user_ids(current_user.id))
        else:
            mine = involving([current_user.id])
        query = (self.get_query().filter(during(start, end), mine)
                 .options(joinedload(Activity.owner), selectinload(Activity.participants))
                 .order_by(Activity.start_at, Activity.id))
        return query.limit(CALENDAR_LIMIT + 1).all()

    def link_for(self, activity, back):
        endpoint = "activity.edit_view" if self.can_edit else "activity.details_view"
        return url_for(endpoint, id=activity.id, url=back)

    def add_link(self, day, back):
        if not self.can_create:
            return None
        start = datetime.combine(day, time(9, 0))
        return url_for("activity.create_view", start_at=str(start), url=back)

    @staticmethod
    def title(mode, first, last, day):
        if mode == "week":
            sunday = last - timedelta(days=1)
            return f"{format_date(first, 'medium')} – {format_date(sunday, 'medium')}"
        return format_skeleton("yMMMM", day, locale=get_locale())

    @staticmethod
    def weekday_names():
        names = get_day_names("abbreviated", locale=get_locale())
        return [names[index] for index in range(7)]   # babel: 0 is Monday


# -- the Today page ----------------------------------------------------------------------

@hooks.connect("today.sections")
def my_activities_today(user):
    """The user's planned activities of today (owned or taking part), within the
    record rules like everything else."""
    if not permissions.permits(user, "Activity", "r"):
        return None
    start = datetime.combine(date.today(), time.min)
    statement = (select(Activity)
                 .where(Activity.status == "planned", during(start, start + timedelta(days=1)),
                        involving([user.id]))
                 .order_by(Activity.start_at, Activity.id).limit(TODAY_LIMIT))
    activities = db.session.scalars(permissions.apply_rules(statement, Activity, user)).all()
    return {"title": _("My activities today"),
            "empty": _("No activities planned for today."),
            "items": [{"title": activity.subject,
                       "link": url_for("activity.details_view", id=activity.id),
                       "when": activity.start_at.strftime("%H:%M")}
                      for activity in activities]}
