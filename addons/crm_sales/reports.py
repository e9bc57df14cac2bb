"""Sales reports for crm_reports (declared in the manifest, core/reports.py): the pipeline
and funnel, the forecast, won revenue by salesperson, team and month, orders by month,
lead sources and expenses. Each is a GROUP BY within the record rules and the owner or
team chosen; money is summed in SQL and rounded to cents here."""
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from addons.crm_contacts.models import Source
from addons.crm_sales import money
from addons.crm_sales.dashboard import Figures, expected, year_month
from addons.crm_sales.models import (Expense, ExpenseCategory, Lead, Opportunity, SalesOrder,
                                     Stage)
from core.dates import month_name
from core.db import db
from core.i18n import label, mark
from core.models import Team, User, team_memberships
from core.reports import Column, Result

DEALS = Column("deals", mark("Deals"), "number", total=True)


def _cents(value):
    return money.cents(money.to_decimal(value or 0))


def _won():
    return Opportunity.stage_id.in_(select(Stage.id).where(Stage.kind == "won"))


def pipeline(filters):
    """Open deals by stage today: how many, their amount and expected revenue."""
    statement = filters.within_rules(
        select(Stage.name, func.count(Opportunity.id), func.sum(Opportunity.amount),
               func.sum(Opportunity.amount * Opportunity.probability))
        .join(Stage, Stage.id == Opportunity.stage_id).where(Stage.kind == "open"),
        Opportunity).group_by(Stage.id, Stage.name, Stage.sequence).order_by(Stage.sequence)
    rows = [(label(name), count, _cents(amount), expected(weighted))
            for name, count, amount, weighted in db.session.execute(statement)]
    return Result([Column("stage", mark("Stage")), DEALS,
                   Column("amount", mark("Amount"), "money", total=True),
                   Column("expected", mark("Expected revenue"), "money", total=True)],
                  rows, chart=(0, [2, 3]))


def funnel(filters):
    """Deals that reached each stage since the period's start, and the share that went
    on (the Sales dashboard's funnel)."""
    found = Figures(filters.user, filters.end, filters.owner_id, filters.team_id) \
        .funnel(filters.start)
    rows = [(row["stage"], row["entered"], row["went_on"],
             row["rate"] if row["rate"] is not None else None) for row in found]
    return Result([Column("stage", mark("Stage")), Column("reached", mark("Reached"), "number"),
                   Column("went_on", mark("Went on"), "number"),
                   Column("rate", mark("Went on %"), "percent")],
                  rows, chart=(0, [1]), horizontal=True)


def forecast(filters):
    """Expected revenue of open deals by close month, from the period's end on."""
    owners, _teams = Figures(filters.user, filters.end, filters.owner_id,
                             filters.team_id).forecast()
    totals = owners.column_totals()
    return Result([Column("month", mark("Close month")),
                   Column("expected", mark("Expected revenue"), "money", total=True)],
                  [(title, totals.get(key, 0)) for key, title in owners.columns],
                  chart=(0, [1]))


def _won_by(filters, key, name_of, heading, joined, inner=False, then=None):
    """Won deals and revenue per ``key`` (reached by the ``joined`` table and, for teams,
    ``then`` another), largest first."""
    statement = select(key, func.count(Opportunity.id), func.sum(Opportunity.amount)) \
        .select_from(Opportunity)
    statement = statement.join(*joined) if inner else statement.outerjoin(*joined)
    if then is not None:
        statement = statement.join(*then)
    statement = filters.within_rules(statement, Opportunity).where(
        _won(), filters.in_period(Opportunity.closed_on)).group_by(key) \
        .order_by(func.sum(Opportunity.amount).desc())
    rows = [(name_of(value), count, _cents(amount))
            for value, count, amount in db.session.execute(statement)]
    return Result([Column("name", heading), DEALS,
                   Column("won", mark("Won revenue"), "money", total=True)],
                  rows, chart=(0, [2]), horizontal=True)


def won_by_owner(filters):
    return _won_by(filters, func.coalesce(func.nullif(User.full_name, ""), User.username),
                   lambda name: name or _("No owner"), mark("Salesperson"),
                   (User, User.id == Opportunity.owner_id))


def won_by_team(filters):
    """Won revenue per team of the deal's owner (a deal counts in each of its owner's
    teams, so the rows may add up to more than the total won)."""
    team = team_memberships()
    return _won_by(filters, Team.name, str, mark("Team"),
                   (team, team.c.user_id == Opportunity.owner_id), inner=True,
                   then=(Team, Team.id == team.c.team_id))


def won_by_month(filters):
    year, month = year_month(Opportunity.closed_on)
    statement = filters.within_rules(
        select(year, month, func.count(Opportunity.id), func.sum(Opportunity.amount)),
        Opportunity).where(_won(), filters.in_period(Opportunity.closed_on)) \
        .group_by(year, month).order_by(year, month)
    rows = [(month_name(y, m), count, _cents(amount))
            for y, m, count, amount in db.session.execute(statement)]
    return Result([Column("month", mark("Month")), DEALS,
                   Column("won", mark("Won revenue"), "money", total=True)],
                  rows, chart=(0, [2]))


def orders_by_month(filters):
    """Orders (not cancelled) by order month: how many and their total."""
    return by_month(filters, SalesOrder, SalesOrder.order_date, SalesOrder.total,
                    SalesOrder.state != "cancelled")


def by_month(filters, model, date_column, amount, *conditions):
    """Records of ``model`` in the period by month of ``date_column``: how many, and the
    sum of ``amount`` (Purchase's orders by month too)."""
    year, month = year_month(date_column)
    statement = filters.within_rules(select(year, month, func.count(model.id), func.sum(amount)),
                                     model) \
        .where(*conditions, filters.in_period(date_column)) \
        .group_by(year, month).order_by(year, month)
    rows = [(month_name(y, m), count, _cents(total))
            for y, m, count, total in db.session.execute(statement)]
    return Result([Column("month", mark("Month")),
                   Column("orders", mark("Orders"), "number", total=True),
                   Column("total", mark("Total"), "money", total=True)],
                  rows, chart=(0, [2]))


def lead_sources(filters):
    """Leads received in the period by source, and how many were converted."""
    converted = func.sum(case((Lead.status == "converted", 1), else_=0))
    statement = filters.within_rules(
        select(Source.name, func.count(Lead.id), converted).select_from(Lead)
        .outerjoin(Source, Source.id == Lead.source_id), Lead) \
        .where(filters.in_period(Lead.created_at)).group_by(Source.name) \
        .order_by(func.count(Lead.id).desc())
    rows = [(name or _("No source"), count, int(won or 0),
             round(100 * int(won or 0) / count) if count else None)
            for name, count, won in db.session.execute(statement)]
    return Result([Column("source", mark("Source")),
                   Column("leads", mark("Leads"), "number", total=True),
                   Column("converted", mark("Converted"), "number", total=True),
                   Column("rate", mark("Converted %"), "percent")],
                  rows, chart=(0, [1, 2]), horizontal=True)


def expenses(filters):
    """Approved expenses of the period by category."""
    statement = filters.within_rules(
        select(ExpenseCategory.name, func.count(Expense.id), func.sum(Expense.amount))
        .join(ExpenseCategory, ExpenseCategory.id == Expense.category_id), Expense) \
        .where(Expense.state == "approved", filters.in_period(Expense.expense_date)) \
        .group_by(ExpenseCategory.name).order_by(func.sum(Expense.amount).desc())
    rows = [(label(name), count, _cents(amount))
            for name, count, amount in db.session.execute(statement)]
    return Result([Column("category", mark("Category")),
                   Column("count", mark("Expenses"), "number", total=True),
                   Column("amount", mark("Amount"), "money", total=True)],
                  rows, chart=(0, [2]), horizontal=True)
