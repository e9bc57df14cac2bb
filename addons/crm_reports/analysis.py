"""The customer-value analysis run on the database: every customer's purchases (the
suite's orders and the imported sales history, gathered through the hook
``customer.purchases``), the BG/NBD and Gamma-Gamma models fitted to them
(customer_value.py), and per customer P(alive), expected purchases and expected value,
kept as a ValueRun with its CustomerValue rows for the screens.

Each addon that records sales answers ``customer.purchases`` with a select of
(customer id, date, amount); crm_sales gives its orders (not cancelled), this addon its
sales history. A run that cannot fit the models is kept too, as failed, with why."""
import json
import logging
from datetime import date, timedelta
from decimal import Decimal

import click

from flask import current_app, render_template, url_for
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import and_, case, delete, func, not_, select, union_all

from addons.crm_contacts.models import Customer
from addons.crm_reports import customer_value, scoring
from addons.crm_reports.models import CustomerValue, SalesHistory, ValueRun
from core import hooks, permissions
from core.db import db
from core.i18n import LazyLabel, label

log = logging.getLogger(__name__)

UNIT_DAYS = {"day": 1, "week": 7}
# A customer at risk of churning: bought again at least this often, and is more
# probably gone than not.
CHURN_MIN_REPEATS = 2
CHURN_P_ALIVE = 0.5
DEFAULT_HORIZON = {"day": 365, "week": 52}   # a year ahead
RFM_DAYS = 365         # the window of the segments kept with a run
KEEP_RUNS = 3          # the customer rows of older runs are deleted; the runs stay
BATCH = 5000            # rows written at a time


@hooks.connect("customer.purchases")
def sales_history_purchases():
    return select(SalesHistory.customer_id, SalesHistory.date, SalesHistory.amount)


def purchases_union():
    """A subquery of (customer id, day, amount) over every source: columns in that
    order (their names are the first source's)."""
    # The addons enabled now, read from the database: a job or `init --demo` may run
    # in an app built before the last addon was enabled.
    registry = current_app.extensions["crm"].registry
    sources = hooks.Hooks(registry.enabled(db.session)).call("customer.purchases")
    return (union_all(*sources) if len(sources) > 1 else sources[0]).subquery()


def summaries(until):
    """Per customer who bought by ``until``, in one GROUP BY: (customer id, first and
    last purchase day, days with a purchase, total amount, amount of the first day,
    and over the RFM year up to ``until``: last purchase day, purchase days, amount).
    A purchase is a day's orders and history together."""
    customer, day, amount = purchases_union().c
    by_day = select(customer.label("customer_id"), day.label("day"),
                    func.sum(amount).label("amount")) \
        .where(day <= until).group_by(customer, day).subquery()
    ranked = select(by_day, func.min(by_day.c.day).over(partition_by=by_day.c.customer_id)
                    .label("first")).subquery()
    recent = ranked.c.day >= until - timedelta(days=RFM_DAYS - 1)
    return select(
        ranked.c.customer_id, func.min(ranked.c.first), func.max(ranked.c.day), func.count(),
        func.sum(ranked.c.amount),
        func.sum(case((ranked.c.day == ranked.c.first, ranked.c.amount), else_=0)),
        func.max(case((recent, ranked.c.day))), func.sum(case((recent, 1), else_=0)),
        func.sum(case((recent, ranked.c.amount), else_=0))) \
        .group_by(ranked.c.customer_id).order_by(ranked.c.customer_id)


def analyse(until=None, unit="day", horizon=None):
    """Fit the models to the purchases up to ``until`` (today by default) and keep the
    run; returns the ValueRun, failed with a message when the models could not be
    fitted. Commits."""
    until = until or date.today()
    horizon = horizon or DEFAULT_HORIZON[unit]
    rows = db.session.execute(summaries(until)).all()
    run = ValueRun(until=until, unit=unit, horizon=horizon, state="failed")
    try:
        if not rows:
            raise customer_value.FitError(f"no purchases up to {until.isoformat()}")
        data = customer_value.summarised((row[:6] for row in rows), until, UNIT_DAYS[unit])
        found = customer_value.value_customers(data, until, UNIT_DAYS[unit], horizon)
    except customer_value.FitError as exc:
        run.message = str(exc)
        db.session.add(run)
        db.session.commit()
        log.warning("customer-value analysis up to %s failed: %s", until, exc)
        return run
    run.state, run.customers = "done", len(found.data.keys)
    purchase_model, value_model = found.purchases, found.values
    run.r, run.alpha, run.a, run.b = (purchase_model.r, purchase_model.alpha,
                                      purchase_model.a, purchase_model.b)
    run.p, run.q, run.gamma = value_model.p, value_model.q, value_model.gamma
    db.session.add(run)
    db.session.flush()
    _keep_customers(run, found, {row[0]: (row[4], row[2]) for row in rows},
                    _segments(rows, until))
    _forget_old_runs()
    db.session.commit()
    return run


def _segments(rows, until):
    """{customer id: RFM segment} by the purchases of the year up to ``until``."""
    recent = {row[0]: (row[6], row[7], float(row[8])) for row in rows if row[6] is not None}
    return {key: scoring.rfm_segment(r, f)
            for key, (r, f, _m) in scoring.rfm_scores(recent, until).items()}


def _keep_customers(run, found, totals, segments):
    data = found.data
    rows = []
    for index, customer_id in enumerate(data.keys):
        revenue, last = totals[customer_id]
        rows.append({"rfm_segment": segments.get(customer_id),
            "run_id": run.id, "customer_id": customer_id, "frequency": int(data.x[index]),
            "recency": float(data.t_x[index]), "age": float(data.T[index]),
            "revenue": _money(revenue), "last_purchase": last,
            "p_alive": float(found.p_alive[index]),
            "expected_purchases": float(found.expected_purchases[index]),
            "expected_value": _money(found.expected_value[index])})
        if len(rows) == BATCH:
            db.session.execute(CustomerValue.__table__.insert(), rows)
            rows = []
    if rows:
        db.session.execute(CustomerValue.__table__.insert(), rows)


def _money(value):
    return Decimal(str(round(float(value), 2)))


def _forget_old_runs():
    kept = select(ValueRun.id).order_by(ValueRun.id.desc()).limit(KEEP_RUNS).subquery()
    db.session.execute(delete(CustomerValue).where(
        CustomerValue.run_id.not_in(select(kept.c.id))))


def latest_run(done_only=True):
    statement = select(ValueRun).order_by(ValueRun.id.desc()).limit(1)
    if done_only:
        statement = statement.where(ValueRun.state == "done")
    return db.session.scalars(statement).first()


def as_json(run):
    """The run as `analyse customer-value --json` writes it."""
    rows = db.session.execute(
        select(Customer.name, Customer.code, CustomerValue.frequency, CustomerValue.recency,
               CustomerValue.age, CustomerValue.p_alive, CustomerValue.expected_purchases,
               CustomerValue.expected_value)
        .join(Customer, Customer.id == CustomerValue.customer_id)
        .where(CustomerValue.run_id == run.id).order_by(CustomerValue.expected_value.desc(),
                                                        Customer.id))
    return {
        "until": run.until.isoformat(), "unit": run.unit, "horizon": run.horizon,
        "bgnbd": {"r": run.r, "alpha": run.alpha, "a": run.a, "b": run.b},
        "gamma_gamma": {"p": run.p, "q": run.q, "gamma": run.gamma},
        "customers": [{"name": name, "code": code, "frequency": frequency,
                       "recency": recency, "T": age, "p_alive": p_alive,
                       "expected_purchases": expected, "expected_value": float(value)}
                      for name, code, frequency, recency, age, p_alive, expected, value
                      in rows]}


def nightly():
    """The scheduled run: up to yesterday, in days."""
    analyse(date.today() - timedelta(days=1))


# -- python run.py analyse customer-value ----------------------------------------------------

@click.group("analyse")
def analyse_cli():
    """Customer analysis."""


@analyse_cli.command("customer-value")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Count purchases up to this day (YYYY-MM-DD; default today).")
@click.option("--unit", type=click.Choice(list(UNIT_DAYS)), default="day", show_default=True,
              help="Time unit of the models.")
@click.option("--horizon", type=click.IntRange(min=1),
              help="Units ahead to predict (default a year).")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, writable=True),
              help="Also write the models and every customer's figures to this file.")
def customer_value_command(until, unit, horizon, json_file):
    """Fit BG/NBD and Gamma-Gamma to every customer's purchases and keep each customer's
    P(alive), expected purchases and expected value for the screens."""
    from core.cli import app_context, fail   # (the core's command line, at run time)
    with app_context():
        run = analyse(until.date() if until else None, unit, horizon)
        if run.state != "done":
            fail(f"the models could not be fitted: {run.message}")
        click.echo(f"Customer value up to {run.until}: {run.customers} customers; "
                   f"BG/NBD r={run.r:.4g} alpha={run.alpha:.4g} a={run.a:.4g} b={run.b:.4g}; "
                   f"Gamma-Gamma p={run.p:.4g} q={run.q:.4g} gamma={run.gamma:.4g}")
        if json_file:
            with open(json_file, "w", encoding="utf-8") as handle:
                json.dump(as_json(run), handle, ensure_ascii=False, indent=1)
            click.echo(f"Written to {json_file}")


# -- the customer's page ------------------------------------------------------------------------

@hooks.connect("details.Customer")
def customer_value_panel(customer):
    """The latest analysis's figures for this customer, with their date; for those who
    may read the analysis."""
    if not permissions.permits(current_user, "CustomerValue", "r"):
        return None
    found = db.session.execute(
        select(CustomerValue, ValueRun).join(ValueRun, ValueRun.id == CustomerValue.run_id)
        .where(CustomerValue.customer_id == customer.id, ValueRun.state == "done")
        .order_by(ValueRun.id.desc()).limit(1)).first()
    if found is None:
        return None
    figures, run = found
    return {"title": _("Customer value"), "order": 85,
            "link": url_for("customer_value.index_view"),
            "html": Markup(render_template("crm_reports/panel_customer_value.html",
                                           figures=figures, run=run,
                                           horizon_text=horizon_text))}


def horizon_text(run):
    """"365 days", "52 weeks"."""
    if run.unit == "week":
        return ngettext("%(num)d week", "%(num)d weeks", run.horizon)
    return ngettext("%(num)d day", "%(num)d days", run.horizon)



# -- the customer list's filters (and so crm_marketing's segments) -----------------------------

class LatestRunFilter(BaseSQLAFilter):
    """Customers by their figures in the latest analysis. ``crm_url_name`` keeps the
    link the same in every language (core.admin.ModelView.get_filter_arg)."""

    def __init__(self, name, url_name, options=None):
        super().__init__(Customer.id, name, options=options)
        self.crm_url_name = url_name

    def apply(self, query, value, alias=None):
        run = latest_run()
        chosen = select(CustomerValue.customer_id).where(
            CustomerValue.run_id == (run.id if run else None), *self.conditions(value))
        return query.filter(Customer.id.in_(chosen))

    def operation(self):
        return _l("is")


class SegmentFilter(LatestRunFilter):
    def conditions(self, value):
        return [CustomerValue.rfm_segment == value]


def at_risk():
    """The condition on a customer's figures that they are at risk of churning."""
    return and_(CustomerValue.frequency >= CHURN_MIN_REPEATS,
                CustomerValue.p_alive < CHURN_P_ALIVE)


class ChurnRiskFilter(LatestRunFilter):
    def conditions(self, value):
        return [at_risk() if value == "1" else not_(at_risk())]


@hooks.connect("filters.Customer")
def customer_filters(screen):
    """The RFM segment and the churn risk of the latest analysis, on the customer list:
    a marketing user saves the filtered list as a segment to reach them."""
    return [SegmentFilter(_l("RFM segment"), "rfm segment", options=[
                (name, LazyLabel(label, name)) for name, *_bounds in scoring.SEGMENTS]),
            ChurnRiskFilter(_l("Churn risk"), "churn risk", options=[
                ("1", _l("Yes")), ("0", _l("No"))])]
