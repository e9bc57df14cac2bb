"""The screens of Reports: every report of the enabled addons (a table and a chart,
filtered by period, owner and team, exported to Excel and PDF), the dashboards (the
standard ones the addons declare and the users' own copies), the imported sales history
and the customer-value analysis."""
from datetime import date

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectMultipleField

from addons.crm_contacts.models import Customer
from addons.crm_reports import analysis, blocks, kept
from addons.crm_reports.models import CustomerValue, Dashboard
from core import exporting, pdf, permissions, reports
from core.admin import ModelView
from core.db import db
from core.i18n import label, money_text
from core.record import link_to


# A dashboard's tables show their first rows (a year of months); their report, all.
DASHBOARD_ROWS = 12


def _read_filters():
    """(Filters, form values) of the request; what is wrong in them said on the page."""
    filters, values, errors = blocks.read_filters(current_user)
    for error in errors:
        flash(error, "error")
    return filters, values


def _filter_args(values):
    return {key: value for key, value in values.items() if value not in (None, "")}


def _page_context(filters, values):
    return {"values": values, "owners": blocks.owners(),
            "teams": blocks.teams_of(current_user),
            "periods": [(text, start.isoformat(), end.isoformat())
                        for text, start, end in blocks.period_links(date.today())]}


def _pdf(title, found, filters, counted_at=None):
    return pdf.response(blocks.pdf_of(title, found, filters, counted_at),
                        f"{title} {filters.end.isoformat()}.pdf")


class ReportView(ModelView):
    """Every report the user may read, by area, and each one's page."""

    allow_create = allow_edit = allow_delete = allow_import = allow_export = False
    can_view_details = False

    def _report(self, key):
        report = reports.available().get(key)
        if report is None or not report.visible_to(current_user):
            abort(404)
        return report

    @expose("/")
    def index_view(self):
        areas = {}
        for report in reports.available().values():
            if report.visible_to(current_user):
                areas.setdefault(label(report.area), []).append(
                    (label(report.label), url_for(".show", key=report.key)))
        return self.render("crm_reports/report_list.html", areas=areas)

    @expose("/<key>/")
    def show(self, key):
        report = self._report(key)
        filters, values = _read_filters()
        found = blocks.block(report, filters)
        args = _filter_args(values)
        return self.render(
            "crm_reports/report.html", block=found, as_of=blocks.as_of_text(),
            xlsx_url=url_for(".xlsx", key=key, **args), pdf_url=url_for(".pdf", key=key, **args),
            can_export=self.permits("x"), **_page_context(filters, values))

    @expose("/<key>/xlsx")
    def xlsx(self, key):
        report = self._report(key)
        if not self.permits("x"):
            abort(403)
        filters, _values, _errors = blocks.read_filters(current_user)
        result = report.run(filters)
        return exporting.response(
            "xlsx", f"{label(report.label)} {filters.end.isoformat()}.xlsx",
            [label(column.label) for column in result.columns], result.rows)

    @expose("/<key>/pdf")
    def pdf(self, key):
        report = self._report(key)
        if not self.permits("x"):
            abort(403)
        filters, _values, _errors = blocks.read_filters(current_user)
        return _pdf(label(report.label), [blocks.block(report, filters)], filters)


class ReportChoices(SelectMultipleField):
    """The reports on a dashboard, stored as their keys one a line. A report of an addon
    that is not enabled stays chosen (and listed) until the user takes it off."""

    def process(self, *args, **kwargs):
        super().process(*args, **kwargs)
        found = [(key, f"{label(report.area)}: {label(report.label)}")
                 for key, report in reports.available().items()
                 if report.visible_to(current_user)]
        known = {key for key, _text in found}
        stored = self.object_data.split() if isinstance(self.object_data, str) else []
        self.choices = found + [(key, _("%(key)s (its addon is not enabled)", key=key))
                                for key in stored if key not in known]

    def process_data(self, value):
        self.data = [key for key in (value or "").split() if key] \
            if isinstance(value, str) else list(value or [])

    def populate_obj(self, obj, name):
        setattr(obj, name, "\n".join(self.data or []))


class DashboardView(ModelView):
    """The standard dashboards of the enabled addons and the user's own, each shown as
    its reports' charts and tables under one set of filters, and printed as one PDF."""

    can_view_details = False
    allow_import = allow_export = False
    column_list = ("name", "based_on")
    form_columns = ("name", "reports")
    form_overrides = {"reports": ReportChoices}
    form_args = {"reports": {"label": _l("Reports"), "description": _l(
        "Hold Ctrl (or ⌘) to choose several.")}}

    @expose("/")
    def index_view(self):
        standard = [(dashboard.key, label(dashboard.label))
                    for dashboard in reports.standard_dashboards().values()
                    if any(reports.available().get(key) and reports.available()[key]
                           .visible_to(current_user) for key in dashboard.reports)]
        own = self.get_query().order_by(Dashboard.name).all() if self.permits("r") else []
        return self.render("crm_reports/dashboard_list.html", standard=standard, own=own,
                           can_create=self.permits("c"), can_edit=self.permits("w"),
                           can_delete=self.permits("d"))

    def _standard(self, key):
        dashboard = reports.standard_dashboards().get(key)
        if dashboard is None:
            abort(404)
        return dashboard

    def _own(self, record_id):
        record = self.get_one(str(record_id))
        if record is None:
            abort(404)
        return record

    def _blocks(self, source, keys, filters, args, limit):
        """(The blocks of a dashboard's reports, when their figures were counted or None
        for now): kept figures where a dashboard took long to count (kept.py)."""
        available, (results, counted_at) = reports.available(), kept.figures(source, keys, filters)
        return [blocks.block(available.get(key), filters, url_for("report.show", key=key, **args),
                             results.get(key), limit) for key in keys], counted_at

    def _show(self, title, keys, pdf_endpoint, source, edit_url=None, **ids):
        if request.method == "POST":     # "Count again": forget the kept figures
            kept.forget(current_user, source)
            return redirect(request.full_path)
        filters, values = _read_filters()
        args = _filter_args(values)
        found, counted_at = self._blocks(source, keys, filters, args, DASHBOARD_ROWS)
        return self.render(
            "crm_reports/dashboard.html", title=title, blocks=found,
            as_of=blocks.as_of_text(counted_at), kept=counted_at is not None,
            pdf_url=url_for(pdf_endpoint, **ids, **args), clone_from=source,
            edit_url=edit_url, can_clone=self.permits("c"), can_export=self.permits("x"),
            **_page_context(filters, values))

    @expose("/standard/<key>/", methods=("GET", "POST"))
    def standard(self, key):
        dashboard = self._standard(key)
        return self._show(label(dashboard.label), dashboard.reports, ".standard_pdf",
                          f"standard:{key}", key=key)

    @expose("/standard/<key>/pdf")
    def standard_pdf(self, key):
        dashboard = self._standard(key)
        return self._print(label(dashboard.label), dashboard.reports, f"standard:{key}")

    @expose("/own/<int:record_id>/", methods=("GET", "POST"))
    def own(self, record_id):
        record = self._own(record_id)
        return self._show(record.name, record.report_keys(), ".own_pdf", f"own:{record.id}",
                          edit_url=url_for(".edit_view", id=record.id) if self.permits("w")
                          else None, record_id=record.id)

    @expose("/own/<int:record_id>/pdf")
    def own_pdf(self, record_id):
        record = self._own(record_id)
        return self._print(record.name, record.report_keys(), f"own:{record.id}")

    def _print(self, title, keys, source):
        """The dashboard as on its page, every row a page of the report would show."""
        if not self.permits("x"):
            abort(403)
        filters, values, _errors = blocks.read_filters(current_user)
        found, counted_at = self._blocks(source, keys, filters, _filter_args(values),
                                         blocks.MAX_ROWS)
        return _pdf(title, found, filters, counted_at)

    @expose("/clone/", methods=("POST",))
    def clone(self):
        """A copy of a standard dashboard or of one's own, to change: the copy is the
        user's, and no update of the suite touches it."""
        if not self.permits("c"):
            abort(403)
        kind, _sep, source = request.form.get("source", "").partition(":")
        if kind == "standard":
            original = self._standard(source)
            name, keys, based_on = label(original.label), original.reports, original.key
        elif kind == "own" and source.isdigit():
            original = self._own(int(source))
            name, keys, based_on = original.name, original.report_keys(), original.based_on
        else:
            abort(400)
        copy = Dashboard(name=_("%(name)s (my copy)", name=name)[:100],
                         reports="\n".join(keys), based_on=based_on, owner_id=current_user.id)
        db.session.add(copy)
        db.session.commit()
        flash(_("Your copy is made: choose its name and reports."), "success")
        return redirect(url_for(".edit_view", id=copy.id, url=url_for(".own",
                                                                         record_id=copy.id)))

    def get_save_return_url(self, model, is_created=False):
        return url_for(".own", record_id=model.id)


# -- the customer-value analysis ----------------------------------------------------------------

class CustomerValueView(ModelView):
    """The latest customer-value analysis, for the customers the user may read: the most
    valuable ahead (expected value over the horizon), with P(alive) and past revenue."""

    allow_create = allow_edit = allow_delete = allow_import = False
    can_view_details = False
    column_list = ("customer", "revenue", "frequency", "last_purchase", "p_alive",
                   "expected_purchases", "expected_value")
    column_sortable_list = ("revenue", "frequency", "last_purchase", "p_alive",
                            "expected_purchases", "expected_value")
    column_default_sort = ("expected_value", True)
    column_filters = ("revenue", "frequency", "last_purchase", "p_alive", "expected_value")
    column_searchable_list = ()
    column_formatters = {
        "customer": lambda view, context, record, name: link_to(record.customer),
        "revenue": lambda view, context, record, name: money_text(record.revenue),
        "expected_value": lambda view, context, record, name: money_text(record.expected_value),
        "p_alive": lambda view, context, record, name: f"{record.p_alive:.0%}",
        "expected_purchases": lambda view, context, record, name:
            f"{record.expected_purchases:.1f}",
    }
    list_template = "crm_reports/customer_value_list.html"

    def _narrowed(self, query):
        run = analysis.latest_run()
        query = query.filter(CustomerValue.run_id == (run.id if run else None))
        condition = permissions.rule_filter(Customer)
        if condition is not None:
            query = query.filter(CustomerValue.customer_id.in_(
                select(Customer.id).where(condition)))
        return self.narrowed(query)

    def narrowed(self, query):
        return query

    def get_query(self):
        return self._narrowed(super().get_query())

    def get_count_query(self):
        return self._narrowed(super().get_count_query())

    def render(self, template, **kwargs):
        if template == self.list_template:
            run = analysis.latest_run()
            kwargs.update(run=run, failed=analysis.latest_run(False),
                          horizon=analysis.horizon_text(run) if run else "",
                          parameters={name: "—" if getattr(run, name) is None
                                      else f"{getattr(run, name):.3g}"
                                      for name in ("r", "alpha", "a", "b", "p", "q", "gamma")}
                          if run else {})
        return super().render(template, **kwargs)


class ChurnRiskView(CustomerValueView):
    """Customers who bought again and again and are probably gone: who to call first,
    the largest past revenue ahead."""

    column_default_sort = ("revenue", True)

    def narrowed(self, query):
        return query.filter(analysis.at_risk())
