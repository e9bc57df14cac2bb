"""Scheduled jobs of customer management: the daily follow-up reminders."""
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import String, and_, case, cast, exists, func, literal, select, union_all

from addons.crm_contacts.models import Activity, Customer
from core import options
from core.i18n import LANGUAGES
from core.models import User, utcnow
from core.notifications import notify_from_select

ADDON = "crm_contacts"
IDLE_GRADES = ("A", "B")   # grades watched for customers nobody has been in touch with
SLOT = "\x00"              # where the record's own text goes in a translated title


def remind_follow_ups():
    """Daily: remind owners of the follow-ups due and of their A and B customers that
    have gone quiet. Each reminder is written once (its key), however often this runs."""
    today = date.today()
    follow_ups = notify_from_select(due_follow_ups(today))
    idle_query = idle_customers(today)
    idle = notify_from_select(idle_query) if idle_query is not None else 0
    return _("%(follow_ups)s, %(idle)s",
             follow_ups=ngettext("%(num)d follow-up", "%(num)d follow-ups", follow_ups),
             idle=ngettext("%(num)d idle customer", "%(num)d idle customers", idle))


def due_follow_ups(today):
    """One row per activity whose next follow-up date has come, for its owner; the key
    holds the date, so moving the follow-up to a later date reminds again then."""
    activity_id = cast(Activity.id, String)
    title = in_users_language(lambda: _("Follow up: %(subject)s", subject=SLOT),
                              Activity.subject)
    return (select(Activity.owner_id, title, func.coalesce(Customer.name, literal("")),
                   literal("/admin/activity/details/?id=") + activity_id,
                   literal(utcnow()),
                   literal("activity:") + activity_id + literal(":follow-up:")
                   + cast(Activity.next_follow_up, String))
            .join(User, and_(User.id == Activity.owner_id, User.active.is_(True)))
            .outerjoin(Customer, Customer.id == Activity.customer_id)
            .where(Activity.next_follow_up <= today, Activity.status != "cancelled"))


def idle_customers(today):
    """One row per grade A or B customer with no activity (other than cancelled ones)
    in its grade's number of days (0: not watched), for its owner; None when neither
    grade is watched. The key holds the ISO week: at most one reminder a week per
    customer while it stays idle."""
    year, week, _weekday = today.isocalendar()
    selects = []
    for grade in IDLE_GRADES:
        days = options.get(ADDON, f"follow_up_days_{grade}")
        if days and days > 0:
            selects.append(idle_of_grade(grade, days, today, f"{year}-W{week:02d}"))
    return union_all(*selects) if selects else None


def idle_of_grade(grade, days, today, week):
    since = datetime.combine(today - timedelta(days=days), time.min)
    customer_id = cast(Customer.id, String)
    recent = exists().where(Activity.customer_id == Customer.id,
                            Activity.status != "cancelled", Activity.start_at >= since)
    title = in_users_language(
        lambda: _("No activity for %(days)d days: %(customer)s", days=days, customer=SLOT),
        Customer.name)
    return (select(Customer.owner_id.label("user_id"), title.label("title"),
                   literal("").label("body"),
                   (literal("/admin/customer/details/?id=") + customer_id).label("link"),
                   literal(utcnow()).label("due_at"),
                   (literal("customer:") + customer_id + literal(f":idle:{week}")).label("key"))
            .join(User, and_(User.id == Customer.owner_id, User.active.is_(True)))
            # A customer taken on since then has not been neglected for that long.
            .where(Customer.grade == grade, Customer.created_at < since, ~recent))


def in_users_language(message, text_column):
    """A title in each recipient's own language (the joined User's): ``message``
    translated per language, with ``text_column`` put where it says SLOT."""
    default = current_app.extensions["crm"].settings.default_language

    def title_in(language):
        with force_locale(language):
            before, _slot, after = message().partition(SLOT)
        # A long name must not make the title too long for its column.
        return func.substr(literal(before) + text_column + literal(after), 1, 255)

    others = [(User.language == language, title_in(language)) for language in LANGUAGES
              if language != default]
    return case(*others, else_=title_in(default)) if others else title_in(default)
