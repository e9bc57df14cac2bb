"""Market tasks (市场任务): the work a campaign needs (book the stand, print the
brochures, call the organiser), each with an assignee (its owner) and a due date.

A task is "to do" until its assignee marks it done (the workflow's "done" and
"reopen", declared in the manifest). The daily job ``remind_due`` reminds each assignee
of their tasks due today or overdue, once per task and day however often it runs,
written in a few statements whatever the number of tasks."""
from datetime import date

from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from addons.crm_marketing.models import Campaign, choice
from core import notifications
from core.admin import ModelView
from core.db import db
from core.i18n import mark
from core.models import OwnedMixin, User, utcnow
from core.record import text_of

TASK_STATES = (mark("to do"), mark("done"))
BATCH = 1000


class MarketTask(OwnedMixin, db.Model):
    """A piece of marketing work for its owner (the assignee), due on a date."""

    __tablename__ = "mkt_task"
    __label__ = mark("Market task")
    # The reminder job's walk: the open tasks by due date.
    __table_args__ = (db.Index("ix_mkt_task_state_due", "state", "due_on"),)
    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.ForeignKey("mkt_campaign.id", ondelete="SET NULL"), index=True)
    campaign = db.relationship(Campaign, info={"label": _l("Campaign")})
    title = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Title")})
    description = db.Column(db.Text, info={"label": _l("Description")})
    due_on = db.Column(db.Date, index=True, info={"label": _l("Due on")})
    state = db.Column(choice(*TASK_STATES, name="mkt_task_state"), nullable=False,
                      default="to do", info={"label": _l("State"), "readonly": True})
    done_at = db.Column(db.DateTime, info={"label": _l("Done at"), "readonly": True})

    def __str__(self):
        return self.title


# -- the workflow's effects (manifest: workflows.MarketTask) -------------------------------------

def on_done(task, _user):
    task.done_at = utcnow()


def on_reopen(task, _user):
    task.done_at = None


# -- the screen ----------------------------------------------------------------------------------

class AssigneeFilter(BaseSQLAFilter):
    """"Assignee: me / nobody": one's own tasks (the "mine" filter), or those no one has."""

    crm_url_name = "assignee"   # the link's name, in every language

    def __init__(self):
        super().__init__(MarketTask.owner_id, _l("Assignee"),
                         options=(("me", _l("me")), ("nobody", _l("nobody"))))

    def apply(self, query, value, alias=None):
        if value == "nobody":
            return query.filter(MarketTask.owner_id.is_(None))
        return query.filter(MarketTask.owner_id == current_user.id)

    def operation(self):
        return _l("is")

    def clean(self, value):
        return value


def is_overdue(task, today=None):
    return task.state != "done" and task.due_on is not None \
        and task.due_on < (today or date.today())


def due_text(view, context, task, name):
    """The due date, red once an open task is past it."""
    if task.due_on is None:
        return ""
    if is_overdue(task):
        return Markup('<span class="text-danger font-weight-bold crm-task-overdue" title="{}">'
                      '{}</span>').format(_("Overdue"), text_of(task.due_on))
    return text_of(task.due_on)


class TaskView(ModelView):
    column_list = ["title", "campaign", "due_on", "state", "owner", "done_at"]
    column_searchable_list = ["title"]
    column_filters = [AssigneeFilter(), "state", "due_on", "campaign.name", "owner.username",
                      "done_at"]
    column_sortable_list = ["title", "due_on", "state", "done_at",
                            ("campaign", "campaign.name"), ("owner", "owner.username")]
    column_default_sort = ("id", True)
    column_labels = {"owner": _l("Assignee"), "owner.username": _l("Assignee"),
                     "campaign.name": _l("Campaign")}
    column_formatters = {"due_on": due_text}
    form_columns = ["title", "campaign", "due_on", "owner", "description"]
    column_details_list = ["title", "campaign", "due_on", "state", "owner", "done_at",
                           "description", "created_at"]
    state_field = "state"
    form_ajax_refs = {
        "campaign": {"fields": ["name"], "page_size": 10},
        "owner": {"fields": ["username", "full_name"], "page_size": 10},
    }


# -- the daily reminders (manifest: jobs, crm_marketing.task_reminders) ---------------------------

def remind_due(today=None):
    """Remind each assignee of their open tasks due today or before: once per task and
    day (the reminder's key holds the date), a batch of tasks in three statements (the
    tasks with their assignees, the reminders, their e-mail copies' users)."""
    today = today or date.today()
    link = task_link()
    reminded, last_id = 0, 0
    while True:
        tasks = db.session.scalars(
            select(MarketTask).join(User, User.id == MarketTask.owner_id)
            .options(contains_eager(MarketTask.owner))
            .where(MarketTask.state == "to do", MarketTask.due_on <= today,
                   User.active.is_(True), MarketTask.id > last_id)
            .order_by(MarketTask.id).limit(BATCH)).all()
        if not tasks:
            break
        last_id = tasks[-1].id
        reminded += notifications.notify_many([reminder(task, today, link) for task in tasks])
        db.session.commit()
    return ngettext("%(num)d task reminder", "%(num)d task reminders", reminded)


def reminder(task, today, link):
    """(users, title, body, link, key) for notifications.notify_many."""
    def title():
        if task.due_on < today:
            return _("Overdue task: %(title)s", title=task.title)
        return _("Task due today: %(title)s", title=task.title)

    def body():
        return _("Due on %(date)s.", date=task.due_on.isoformat())

    return ([task.owner], title, body, link(task.id),
            f"crm_marketing.task:{task.id}:{today.isoformat()}")


def task_link():
    """A function from a task's id to its page's path; the app's screens and URL map
    walked once, not once per task."""
    template = notifications.record_link("MarketTask", 0)
    if template is None:
        return lambda _task_id: None
    base = template[:-1]
    return lambda task_id: f"{base}{task_id}"
