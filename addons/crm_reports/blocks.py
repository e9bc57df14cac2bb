"""A report run for one user and shown: its table as text, its chart, its totals; the
same block on the report's page, on a dashboard, in the PDF and in a mailed report.

Blocks are plain data (text, numbers, the chart's SVG markup), so the PDF templates,
which get no database records (core/pdf.py), use them as the pages do."""
from datetime import date, datetime, timedelta

from flask import request
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from core import charts, pdf, reports
from core.db import db
from core.i18n import label, money_text
from core.models import Team, User, utcnow
from core.util import int_ids

MAX_CHART_BARS = 25       # the rest stay in the table
MAX_ROWS = 500            # on a page or in a PDF; the Excel file has every row
DATE_FORMAT = "%Y-%m-%d"


def cell_text(column, value):
    if value is None:
        return ""
    if column.kind in ("money", "decimal"):
        return money_text(value)
    if column.kind == "number":
        return format_decimal(value, format="#,##0")
    if column.kind == "percent":
        return f"{format_decimal(value, format='#,##0.#')} %"
    if column.kind == "date":
        return format_date(value)
    return str(value)


def chart_of(result, title):
    """The result's bar chart (the first MAX_CHART_BARS rows), or None."""
    if not result.chart or not result.rows:
        return None
    label_index, value_indexes = result.chart
    shown = result.rows[:MAX_CHART_BARS]
    money = all(result.columns[i].kind == "money" for i in value_indexes)
    value_text = money_text if money else (lambda v: format_decimal(v, format="#,##0"))
    labels = [str(row[label_index]) for row in shown]
    series = [(label(result.columns[i].label), [row[i] or 0 for row in shown])
              for i in value_indexes]
    if result.horizontal:
        return charts.bar_chart(labels, series, value_text=value_text, horizontal=True,
                                width=600, height=30 * len(shown) + 60, description=title)
    return charts.bar_chart(labels, series, value_text=value_text, description=title)


def run(report, filters):
    """The report's Result for the filters' user, or None when it is not theirs to read
    (or no enabled addon offers it)."""
    if report is None or not report.visible_to(filters.user):
        return None
    return report.run(filters)


def block(report, filters, link=None, result=None, limit=MAX_ROWS):
    """{"key", "title", "area", "message", "columns", "rows", "totals", "chart", "link"}
    of a report (a Report, or None for a key no enabled addon offers) for the user: its
    ``result`` when given (kept figures), else counted now; at most ``limit`` rows, and
    where there are more, the ``link`` to the report's page (on a dashboard), which has
    them all."""
    if report is None:
        return {"title": _("Report not available"), "message": _(
            "This report belongs to an addon that is not enabled. Enable the addon, or "
            "remove the report from this dashboard."), "rows": [], "columns": []}
    title = label(report.label)
    found = {"key": report.key, "title": title, "area": label(report.area), "link": link,
             "message": None, "columns": [], "rows": [], "totals": None, "chart": None}
    if not report.visible_to(filters.user):
        found["message"] = _("You may not read the records this report counts.")
        return found
    result = result if result is not None else report.run(filters)
    if result.message:
        found["message"] = result.message
        return found
    found["columns"] = [{"label": label(column.label), "kind": column.kind}
                        for column in result.columns]
    found["rows"] = [[cell_text(column, value) for column, value in zip(result.columns, row)]
                     for row in result.rows[:limit]]
    if result.row_count() > limit:
        count = format_decimal(result.row_count(), "#,##0")
        found["more"] = _("The first %(shown)s of %(count)s rows.", shown=limit, count=count) \
            if link else _("The first %(shown)s of %(count)s rows; the Excel file has them "
                           "all.", shown=limit, count=count)
    if not result.rows:
        found["message"] = _("Nothing to count in this period.")
        return found
    totals = result.totals()
    if totals:
        found["totals"] = [cell_text(column, totals[i]) if i in totals else ""
                           for i, column in enumerate(result.columns)]
        found["totals"][0] = found["totals"][0] or _("Total")
    found["chart"] = chart_of(result, title)
    found["result"] = result
    return found


# -- the filters every report and dashboard takes ---------------------------------------------

def default_period(today):
    """From the first day of the year to today."""
    return today.replace(month=1, day=1), today


def read_filters(user, args=None):
    """(Filters, form values, errors) from the query string: start and end (YYYY-MM-DD,
    the year so far by default), owner and team (ids of those the user may choose)."""
    args = request.args if args is None else args
    errors = []
    start, end = default_period(date.today())
    values = {}
    for name in ("start", "end"):
        text = (args.get(name) or "").strip()[:10]
        values[name] = text
        if text:
            try:
                day = datetime.strptime(text, DATE_FORMAT).date()
            except ValueError:
                errors.append(_("Enter dates as YYYY-MM-DD."))
                continue
            start, end = (day, end) if name == "start" else (start, day)
    if start > end:
        errors.append(_("The period ends before it starts."))
        start, end = default_period(date.today())
    owner_id = next(iter(int_ids([args.get("owner", "")])), None)
    team_id = next(iter(int_ids([args.get("team", "")])), None)
    if team_id is not None and team_id not in {team.id for team in teams_of(user)}:
        team_id = None
    values.update(start=start.isoformat(), end=end.isoformat(), owner=owner_id, team=team_id)
    return reports.Filters(user, start, end, owner_id, team_id), values, errors


def teams_of(user):
    return db.session.scalars(reports.visible_teams(user)).all()


def owners():
    return db.session.execute(select(User.id, User.full_name, User.username)
                              .where(User.active.is_(True)).order_by(User.username)).all()


def filter_text(filters):
    """The filters as a line of text, for a PDF's header and a mail."""
    parts = [_("Period: %(start)s to %(end)s", start=format_date(filters.start),
               end=format_date(filters.end))]
    if filters.owner_id is not None:
        user = db.session.get(User, filters.owner_id)
        parts.append(_("Owner: %(name)s", name=(user.full_name or user.username)
                       if user else filters.owner_id))
    if filters.team_id is not None:
        team = db.session.get(Team, filters.team_id)
        parts.append(_("Team: %(name)s", name=team.name if team else filters.team_id))
    return " · ".join(parts)


def as_of_text(moment=None):
    """A moment (naive UTC, as stored) in the user's time zone; now by default."""
    return format_datetime(moment or utcnow(), "short")


def period_links(today):
    """(label, start, end) of the quick periods."""
    first_of_month = today.replace(day=1)
    last_month_end = first_of_month - timedelta(days=1)
    quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    return [(_("This month"), first_of_month, today),
            (_("Last month"), last_month_end.replace(day=1), last_month_end),
            (_("This quarter"), quarter_start, today),
            (_("This year"), today.replace(month=1, day=1), today),
            (_("Last year"), date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
            (_("Last 12 months"), (today - timedelta(days=365)) + timedelta(days=1), today)]




def pdf_of(title, found, filters, counted_at=None):
    """One PDF of report blocks, with the filters and the time they were counted
    printed in its header."""
    return pdf.render("crm_reports/report_pdf.html", title=title, blocks=found,
                      filters=filter_text(filters), as_of=as_of_text(counted_at))
