"""Reports and dashboards mailed on a schedule: daily, weekly (Mondays) or monthly (on
the 1st), from 7:00, as a PDF or an Excel file. Each recipient's copy is counted within
their own rights and written in their language: a salesperson gets their own figures.

The job runs every hour; a schedule is claimed for the day by one UPDATE (the first
process to set ``last_sent_on`` to today sends it), so two schedulers never send twice."""
import io
import logging
from datetime import date, timedelta

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from openpyxl import Workbook
from sqlalchemy import or_, select, update
from wtforms import SelectField
from wtforms.validators import ValidationError

from addons.crm_reports import blocks
from addons.crm_reports.models import Dashboard, ReportSchedule
from core import exporting, outbox, pdf, reports
from core.admin import ModelView
from core.db import db
from core.i18n import label
from core.notifications import in_language

log = logging.getLogger(__name__)

SEND_FROM_HOUR = 7


# -- what a schedule sends --------------------------------------------------------------------

def source_choices(user):
    """(value, text) of what a user may schedule: the reports and standard dashboards
    they may read, and their own dashboards."""
    found = [(f"standard:{d.key}", _("Dashboard: %(name)s", name=label(d.label)))
             for d in reports.standard_dashboards().values()]
    found += [(f"own:{d.id}", _("Dashboard: %(name)s", name=d.name))
              for d in db.session.scalars(select(Dashboard).where(Dashboard.owner_id == user.id)
                                          .order_by(Dashboard.name))]
    found += [(f"report:{key}", f"{label(r.area)}: {label(r.label)}")
              for key, r in reports.available().items() if r.visible_to(user)]
    return found


def contents(source):
    """(title, [report keys]) of a schedule's source, or None when it is gone (a
    dashboard deleted; a report of an addon disabled stays and says so)."""
    kind, _sep, key = source.partition(":")
    if kind == "report":
        report = reports.available().get(key)
        return (label(report.label) if report else key), [key]
    if kind == "standard":
        dashboard = reports.standard_dashboards().get(key)
        return (label(dashboard.label), list(dashboard.reports)) if dashboard else None
    if kind == "own" and key.isdigit():
        dashboard = db.session.get(Dashboard, int(key))
        return (dashboard.name, dashboard.report_keys()) if dashboard else None
    return None


def period(schedule, today):
    """(start, end) of the figures a schedule sends on ``today``."""
    if schedule.period == "month to date":
        return today.replace(day=1), today
    if schedule.period == "year to date":
        return today.replace(month=1, day=1), today
    if schedule.frequency == "daily":
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    if schedule.frequency == "weekly":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday - timedelta(days=1)
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def due(schedule, today):
    if schedule.frequency == "weekly":
        return today.weekday() == 0
    if schedule.frequency == "monthly":
        return today.day == 1
    return True


def attachment(schedule, user, today):
    """(filename, bytes, content type) of the schedule's figures for ``user``."""
    title, keys = contents(schedule.source) or (schedule.name, [])
    start, end = period(schedule, today)
    filters = reports.Filters(user, start, end)
    found = [blocks.block(reports.available().get(key), filters) for key in keys]
    name = f"{title} {end.isoformat()}"
    if schedule.format == "Excel":
        return f"{name}.xlsx", workbook(found), exporting.MIMETYPES["xlsx"]
    return pdf.safe_filename(name), blocks.pdf_of(title, found, filters), "application/pdf"


def workbook(found):
    """A sheet per report, typed, with the header frozen (core/exporting.py)."""
    book = Workbook(write_only=True)
    for number, block in enumerate(found, start=1):
        result = block.get("result")
        title = "".join(c for c in block["title"] if c not in "[]:*?/\\")
        headers, rows = ([label(column.label) for column in result.columns], result.rows) \
            if result is not None else ([block["message"] or ""], [])
        exporting.add_sheet(book, headers, rows, f"{number} {title}"[:31])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def send(schedule, today):
    """Mail the schedule to each recipient with an address; returns how many."""
    sent = 0
    for user in schedule.recipients:
        if not user.email or not user.active:
            log.warning("scheduled report %s: %s has no email address", schedule.id, user)
            continue
        with in_language(user):
            filename, data, content_type = attachment(schedule, user, today)
            start, end = period(schedule, today)
            subject = _("%(name)s: %(start)s to %(end)s", name=schedule.name,
                        start=start.isoformat(), end=end.isoformat())
            text = _("Attached: %(name)s, counted on what you may read.", name=schedule.name)
        outbox.send_email([user.email], subject, text, attachments=[
            (filename, data, content_type)], related=schedule)
        sent += 1
    return sent


def send_due(today=None, now_hour=None):
    """The hourly job: send every active schedule due today and not sent yet."""
    from datetime import datetime
    today = today or date.today()
    if (now_hour if now_hour is not None else datetime.now().hour) < SEND_FROM_HOUR:
        return 0
    count = 0
    for schedule in db.session.scalars(select(ReportSchedule).where(
            ReportSchedule.active.is_(True),
            or_(ReportSchedule.last_sent_on.is_(None), ReportSchedule.last_sent_on < today))):
        if not due(schedule, today) or not claim(schedule, today):
            continue
        send(schedule, today)
        db.session.commit()
        count += 1
    return count


def claim(schedule, today):
    """Mark the schedule sent today, unless another process did first."""
    claimed = db.session.execute(
        update(ReportSchedule).where(
            ReportSchedule.id == schedule.id,
            or_(ReportSchedule.last_sent_on.is_(None), ReportSchedule.last_sent_on < today))
        .values(last_sent_on=today).execution_options(synchronize_session=False)).rowcount
    return claimed == 1


# -- the screen -------------------------------------------------------------------------------

class SourceField(SelectField):
    """The report or dashboard, among those the user may schedule."""

    def process(self, *args, **kwargs):
        super().process(*args, **kwargs)
        self.choices = source_choices(current_user)


class ScheduleView(ModelView):
    column_list = ("name", "source", "frequency", "format", "recipients", "last_sent_on",
                   "active")
    column_formatters = {"source": lambda view, context, record, name:
                         (contents(record.source) or (record.source,))[0]}
    form_columns = ("name", "source", "frequency", "format", "period", "recipients",
                    "active", "owner")
    form_overrides = {"source": SourceField}
    form_args = {"recipients": {"description": _l(
        "Each gets the figures they may read themselves, in their language.")}}
    allow_import = False

    def on_model_change(self, form, model, is_created):
        unreachable = [user.full_name or user.username for user in model.recipients
                       if not user.email]
        if unreachable:
            raise ValidationError(_("No email address for %(names)s: add one on their "
                                    "account, or take them off.",
                                    names=", ".join(unreachable)))
        if not model.recipients:
            raise ValidationError(_("Choose at least one recipient."))
        super().on_model_change(form, model, is_created)

    def detail_buttons(self, record):
        buttons = super().detail_buttons(record)
        if self.can_edit:
            buttons.append({"label": _("Send now"), "icon": "fa-paper-plane",
                            "url": url_for(".send_now", id=record.id), "post": True})
        return buttons

    @expose("/send-now/", methods=("POST",))
    def send_now(self):
        record = self.requested_record()
        count = send(record, date.today())
        db.session.commit()
        flash(_("Sent to %(count)s recipients.", count=count), "success")
        return redirect(url_for(".details_view", id=record.id))


