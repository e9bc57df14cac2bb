"""Service records: the time spent and the fee charged on a ticket, billable or not;
the revenue they make by month, quarter or year (per agent and per team); and the
"Bill" action that puts billable fees on a sales order when Sales is enabled
(billing.py). A billed record no longer changes: the order has its fee."""
from datetime import date
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Integer, cast, extract, func, select
from sqlalchemy.orm import joinedload
from wtforms.validators import NumberRange, ValidationError

from addons.crm_service import billing
from addons.crm_service.models import ServiceRecord, Ticket
from core import charts, dates, hooks, permissions
from core.admin import ModelView
from core.db import db
from core.dates import period_of, recent_periods
from core.i18n import money_text
from core.models import Team, User
from core.util import int_ids

LARGEST_FEE = Decimal("999999999999.99")   # what the fee column (14, 2) holds
LARGEST_MINUTES = 100000
PANEL_ROWS = 10
PERIODS = dates.REPORT_PERIODS


def fee_at_most(form, field):
    if field.data is not None and field.data > LARGEST_FEE:
        raise ValidationError(_("The fee is too large."))


class ServiceRecordView(ModelView):
    """Time and fees per ticket. Agents see their own records, managers all."""

    column_list = ["work_date", "ticket", "customer", "description", "minutes", "fee",
                   "billable", "billed_reference", "owner"]
    column_labels = {"customer": _l("Customer"), "owner": _l("Agent")}
    column_sortable_list = ["work_date", "minutes", "fee", "billable", "billed_reference",
                            ("ticket", "ticket.number"), ("owner", "owner.username")]
    column_searchable_list = ["description", "ticket.number", "billed_reference"]
    column_filters = ["work_date", "billable", "billed_at", "billed_reference", "fee",
                      "minutes", "ticket.number", "owner.username"]
    column_details_list = ["ticket", "customer", "work_date", "minutes", "fee", "billable",
                           "description", "billed_at", "billed_reference", "owner",
                           "created_at"]
    column_export_list = ["work_date", "ticket", "customer", "description", "minutes", "fee",
                          "billable", "billed_at", "billed_reference", "owner"]
    column_default_sort = ("work_date", True)
    form_columns = ["ticket", "work_date", "minutes", "fee", "billable", "description",
                    "owner"]
    form_ajax_refs = {"ticket": {"fields": ["number", "subject"], "page_size": 10},
                      "owner": {"fields": ["username", "full_name"], "page_size": 10}}
    form_args = {
        "minutes": {"validators": [NumberRange(0, LARGEST_MINUTES, _l(
            "The time spent is between 0 and 100000 minutes."))]},
        "fee": {"validators": [NumberRange(0, None, _l("A fee cannot be negative.")),
                               fee_at_most]},
    }
    list_template = "crm_service/service_record_list.html"

    column_formatters = {
        "customer": lambda view, context, record, name: record.ticket.customer or "",
        "fee": lambda view, context, record, name: money_text(record.fee),
    }

    def get_query(self):
        return super().get_query().options(
            joinedload(ServiceRecord.ticket).joinedload(Ticket.customer),
            joinedload(ServiceRecord.owner))

    # -- the form: a new record for a ticket; billed records stay as billed --------------

    def create_form(self, obj=None):
        """?ticket=ID (the ticket page's button) fills in the ticket, when visible."""
        form = super().create_form(obj)
        ids = int_ids([request.args.get("ticket", "")])
        if request.method == "GET" and ids and "ticket" in form:
            form.ticket.data = permissions.apply_rules(
                db.session.query(Ticket).filter(Ticket.id == ids[0]), Ticket).one_or_none()
        return form

    def edit_refusal(self, record):
        if record.billed_at is not None:
            return _("This fee is billed on %(reference)s: it can no longer be changed.",
                     reference=record.billed_reference)
        return None

    def on_model_change(self, form, model, is_created):
        if not is_created and model.billed_at is not None:
            raise ValidationError(_("This fee is billed: it can no longer be changed."))

    def on_model_delete(self, model):
        if model.billed_at is not None:
            raise ValidationError(_("This fee is billed on %(reference)s: it cannot be "
                                    "deleted.", reference=model.billed_reference))

    # -- billing ------------------------------------------------------------------------

    @action("bill", _l("Bill on a sales order"),
            _l("Put the selected fees on a sales order of their customer?"))
    def action_bill(self, ids):
        """The selected billable, unbilled records of one customer onto an order: all
        of them in one transaction, or none."""
        records = db.session.scalars(
            select(ServiceRecord).where(ServiceRecord.id.in_(ids))
            .order_by(ServiceRecord.id).with_for_update()).all() if ids else []
        try:
            reference = billing.bill(records, current_user._get_current_object())
            db.session.commit()
            flash(ngettext("%(num)d fee billed on %(reference)s.",
                           "%(num)d fees billed on %(reference)s.", len(records),
                           reference=reference), "success")
        except hooks.Refused as exc:
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(get_redirect_target() or self.get_url(".index_view"))

    def is_action_allowed(self, name):
        if name == "bill" and not billing.may_bill():
            return False
        return super().is_action_allowed(name)

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["may_bill"] = billing.may_bill()
        return super().render(template, **kwargs)

    # -- revenue by period ----------------------------------------------------------------

    @expose("/revenue/")
    def revenue_view(self):
        period = request.args.get("period") if request.args.get("period") in PERIODS \
            else "month"
        start, columns = recent_periods(period, date.today())
        agents, teams = revenue(period, start, columns)
        totals = agents.column_totals()
        chart = charts.bar_chart([title for _key, title in columns],
                                 [(_("Billable fees"), [totals[key] for key, _t in columns])],
                                 value_text=money_text, description=_("Service revenue"))
        return self.render("crm_service/revenue.html", period=period, periods=PERIODS,
                           columns=columns, agents=agents, teams=teams, totals=totals,
                           chart=chart, money=money_text, may_bill=billing.may_bill())


# -- periods and figures ------------------------------------------------------------------------


class Table:
    """Fees by row (an agent or a team) and column (a period), with totals."""

    def __init__(self, columns):
        self.columns = columns
        self.cells = {}
        self.names = {}

    def add(self, row, column, amount):
        cells = self.cells.setdefault(row, {})
        cells[column] = cells.get(column, Decimal(0)) + Decimal(str(amount or 0))

    def rows(self):
        """(name, {column: amount}, row total), by name."""
        found = [(self.names.get(row) or "—", cells, sum(cells.values(), Decimal(0)))
                 for row, cells in self.cells.items()]
        return sorted(found, key=lambda item: str(item[0]).lower())

    def column_totals(self):
        totals = {key: Decimal(0) for key, _title in self.columns}
        for cells in self.cells.values():
            for column, amount in cells.items():
                totals[column] = totals.get(column, Decimal(0)) + amount
        return totals


def revenue(period, start, columns):
    """(per agent, per team) Tables of the billable fees from ``start`` on, by period of
    the work's date: two GROUP BY queries within the record rules (an agent sees their
    own records), and one for the names. A record counts for its ticket's team."""
    year = cast(extract("year", ServiceRecord.work_date), Integer)
    month = cast(extract("month", ServiceRecord.work_date), Integer)
    fees = func.sum(ServiceRecord.fee)
    where = (ServiceRecord.billable.is_(True), ServiceRecord.work_date >= start)
    agents, teams = Table(columns), Table(columns)
    for table, key in ((agents, ServiceRecord.owner_id), (teams, Ticket.team_id)):
        statement = permissions.apply_rules(
            select(key, year, month, fees).select_from(ServiceRecord)
            .join(Ticket, Ticket.id == ServiceRecord.ticket_id).where(*where)
            .group_by(key, year, month), ServiceRecord)
        for row, y, m, amount in db.session.execute(statement):
            table.add(row, period_of(period, int(y), int(m)), amount)
    user_ids = [row for row in agents.cells if row is not None]
    team_ids = [row for row in teams.cells if row is not None]
    if user_ids:
        agents.names = {user.id: user.full_name or user.username for user in
                        db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    if team_ids:
        teams.names = dict(db.session.execute(select(Team.id, Team.name)
                                              .where(Team.id.in_(team_ids))).all())
    return agents, teams


# -- on the ticket's page: its records, and a button to add one ------------------------------

@hooks.connect("details.Ticket")
def ticket_records_panel(ticket):
    """The ticket's service records the user may read, with the total time and fees."""
    if not permissions.permits(current_user, "ServiceRecord", "r"):
        return None
    visible = permissions.apply_rules(
        select(ServiceRecord).where(ServiceRecord.ticket_id == ticket.id), ServiceRecord)
    records = db.session.scalars(visible.options(joinedload(ServiceRecord.owner))
                                 .order_by(ServiceRecord.work_date.desc(),
                                           ServiceRecord.id.desc()).limit(PANEL_ROWS)).all()
    if not records:
        return None
    every = visible.subquery()
    minutes, fees = db.session.execute(select(func.coalesce(func.sum(every.c.minutes), 0),
                                              func.coalesce(func.sum(every.c.fee), 0))).one()
    return {"title": _("Time and fees"), "order": 60,
            "link": url_for("service_record.index_view", flt0_ticket_svc_ticket_number_equals=ticket.number),
            "html": Markup(render_template(
                "crm_service/ticket_records_panel.html", records=records, minutes=minutes,
                fees=fees, money=money_text))}


@hooks.connect("actions.Ticket")
def record_time_button(ticket):
    if not permissions.permits(current_user, "ServiceRecord", "c"):
        return None
    return [{"label": _("Record time or a fee"), "icon": "fa-clock-o",
             "url": url_for("service_record.create_view", ticket=ticket.id)}]
