"""The Sales dashboard: forecast and won revenue per month, owner and team, and the
funnel read from the stage history; plus this month's figures on the home page.

Every figure is a SQL GROUP BY within the record rules (a salesperson sees their own
deals only). Months are bucketed by extracting year and month, which SQLite and
PostgreSQL both compile; quarters and years are folded from the months in Python."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from flask import render_template, request, url_for
from flask_admin import expose
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Integer, and_, case, cast, distinct, extract, func, or_, select
from sqlalchemy.orm import aliased

from addons.crm_sales import money
from addons.crm_sales.models import Opportunity, Stage, StageChange
from addons.crm_sales.pipeline import name_label
from core import charts, dates, hooks, permissions
from core.admin import ModelView, scoped_query
from core.db import db
from core.dates import add_months, month_name, period_of, recent_periods
from core.i18n import money_text
from core.models import Team, User, team_memberships
from core.util import int_ids

FORECAST_MONTHS = 12
PERIODS = dates.REPORT_PERIODS


def forecast_buckets(today):
    """(key, label) of the forecast's columns: overdue, the next 12 months, later, and
    deals without a close date."""
    months = [add_months(today.year, today.month, n) for n in range(FORECAST_MONTHS)]
    return ([("overdue", _("Overdue"))]
            + [(period_of("month", y, m), month_name(y, m)) for y, m in months]
            + [("later", _("Later")), ("none", _("No date"))])


def forecast_bucket(year, month, today):
    if year is None:
        return "none"
    last = add_months(today.year, today.month, FORECAST_MONTHS - 1)
    if (year, month) < (today.year, today.month):
        return "overdue"
    if (year, month) > last:
        return "later"
    return period_of("month", year, month)


def year_month(column):
    return (cast(extract("year", column), Integer), cast(extract("month", column), Integer))


# -- the figures ------------------------------------------------------------------------------

@dataclass
class Table:
    """Figures by row (owner or team) and column (month, quarter...), with totals."""

    columns: list
    cells: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(Decimal)))
    names: dict = field(default_factory=dict)

    def add(self, row, column, amount):
        self.cells[row][column] += amount

    def rows(self):
        """(name, {column: amount}, row total) by name."""
        found = [(self.names.get(row, str(row)), cells, sum(cells.values(), Decimal(0)))
                 for row, cells in self.cells.items()]
        return sorted(found, key=lambda item: str(item[0]).lower())

    def column_totals(self):
        totals = defaultdict(Decimal)
        for cells in self.cells.values():
            for column, amount in cells.items():
                totals[column] += amount
        return totals


def expected(amount_x_probability):
    """Expected revenue from SUM(amount x probability): divided by 100 here, in
    Decimal, rounded half-up to cents."""
    return money.cents(money.to_decimal(amount_x_probability or 0) / 100)


class Figures:
    """The dashboard's numbers for the user, narrowed by the chosen owner or team."""

    def __init__(self, user, today, owner_id=None, team_id=None):
        self.user, self.today = user, today
        self.conditions = []
        if owner_id is not None:
            self.conditions.append(Opportunity.owner_id == owner_id)
        if team_id is not None:
            teams = team_memberships()
            self.conditions.append(Opportunity.owner_id.in_(
                select(teams.c.user_id).where(teams.c.team_id == team_id)))

    def within_rules(self, statement):
        return permissions.apply_rules(statement.where(*self.conditions), Opportunity, self.user)

    def forecast(self):
        """(by owner, by team) of expected revenue of open deals by close month."""
        open_deals = Opportunity.stage_id.in_(select(Stage.id).where(Stage.kind == "open"))
        return self.per_owner_and_team(
            forecast_buckets(self.today), Opportunity.expected_close,
            Opportunity.amount * Opportunity.probability, open_deals,
            lambda y, m, amount: (forecast_bucket(y, m, self.today), expected(amount)))

    def won(self, period):
        """(by owner, by team) of won revenue per period, over the last few periods."""
        start, columns = recent_periods(period, self.today)
        won_deals = and_(Opportunity.stage_id.in_(select(Stage.id).where(Stage.kind == "won")),
                         Opportunity.closed_on >= start)
        return self.per_owner_and_team(
            columns, Opportunity.closed_on, Opportunity.amount, won_deals,
            lambda y, m, amount: (period_of(period, y, m), money.to_decimal(amount)))

    def per_owner_and_team(self, columns, date_column, worth, condition, cell):
        """Two tables of SUM(worth) by year and month of ``date_column``: per owner, and
        per team (the teams the owner is in). Two GROUP BY queries; ``cell`` turns a
        (year, month, sum) into the column key and the figure."""
        owners, teams = Table(columns), Table(columns)
        year, month = year_month(date_column)
        total = func.sum(worth)
        by_owner = self.within_rules(select(Opportunity.owner_id, year, month, total)
                                     .where(condition)).group_by(Opportunity.owner_id, year,
                                                                 month)
        for owner_id, y, m, amount in db.session.execute(by_owner):
            owners.add(owner_id, *cell(y, m, amount))
        team = team_memberships()
        by_team = self.within_rules(
            select(team.c.team_id, year, month, total).select_from(Opportunity)
            .outerjoin(team, team.c.user_id == Opportunity.owner_id).where(condition)) \
            .group_by(team.c.team_id, year, month)
        for team_id, y, m, amount in db.session.execute(by_team):
            teams.add(team_id, *cell(y, m, amount))
        return self.named(owners, teams)

    def named(self, owners, teams):
        """Fill in the names of the rows: one query for the users, one for the teams."""
        user_ids = [i for i in owners.cells if i is not None]
        users = db.session.execute(select(User.id, User.full_name, User.username)
                                   .where(User.id.in_(user_ids))).all() if user_ids else []
        owners.names = {uid: full or username for uid, full, username in users}
        owners.names[None] = _("No owner")
        team_ids = [i for i in teams.cells if i is not None]
        teams.names = dict(db.session.execute(select(Team.id, Team.name)
                                              .where(Team.id.in_(team_ids))).all()) \
            if team_ids else {}
        teams.names[None] = _("No team")
        return owners, teams

    def funnel(self, start):
        """Per stage: the deals that reached it since ``start`` and how many of them went
        on to a later stage. A deal counts in every open stage up to the furthest one it
        reached (by sequence; a lost stage is no progress, the stage it was lost from
        is), as in the cumulative funnels of other CRMs: a deal dragged past a stage, or
        entered straight into a later one or as won (an import, the demo), has passed
        the stages before. Counting only the stages a deal was moved into left every
        stage at 0 % when deals skipped them. Closed stages show the deals that entered
        them. Two GROUP BY queries, whatever the number of deals."""
        since = datetime.combine(start, time.min)
        to_stage, from_stage = aliased(Stage), aliased(Stage)
        per_deal = self.within_rules(
            select(func.max(case((to_stage.kind != "lost", to_stage.sequence))).label("to"),
                   func.max(case((from_stage.kind != "lost", from_stage.sequence)))
                   .label("left"))
            .select_from(StageChange)
            .join(to_stage, to_stage.id == StageChange.to_stage_id)
            .outerjoin(from_stage, from_stage.id == StageChange.from_stage_id)
            .join(Opportunity, Opportunity.id == StageChange.opportunity_id)
            .where(StageChange.at >= since)).group_by(StageChange.opportunity_id).subquery()
        furthest = defaultdict(int)   # sequence of the furthest stage reached -> deals
        for entered_to, left, deals in db.session.execute(
                select(per_deal.c.to, per_deal.c.left, func.count())
                .group_by(per_deal.c.to, per_deal.c.left)):
            reached = [sequence for sequence in (entered_to, left) if sequence is not None]
            if reached:
                furthest[max(reached)] += deals
        entered = dict(db.session.execute(self.within_rules(
            select(StageChange.to_stage_id, func.count(distinct(StageChange.opportunity_id)))
            .join(Opportunity, Opportunity.id == StageChange.opportunity_id)
            .where(StageChange.at >= since)).group_by(StageChange.to_stage_id)).all())
        stages = db.session.scalars(select(Stage).order_by(Stage.sequence, Stage.id)).all()
        rows = []
        for stage in stages:
            row = {"stage": name_label(stage), "kind": stage.kind,
                   "entered": entered.get(stage.id, 0), "went_on": None, "rate": None}
            if stage.kind == "open":
                reached = sum(n for at, n in furthest.items() if at >= stage.sequence)
                went = sum(n for at, n in furthest.items() if at > stage.sequence)
                row.update(entered=reached, went_on=went,
                           rate=round(100 * went / reached) if reached else None)
            rows.append(row)
        return rows

    def this_month(self):
        """(expected revenue of open deals closing this month, won this month) of the
        user's own deals: the home page panel."""
        first = self.today.replace(day=1)
        following = date(*add_months(first.year, first.month, 1), 1)
        kinds = select(Stage.id, Stage.kind).subquery()
        statement = self.within_rules(
            select(func.sum(case((and_(kinds.c.kind == "open",
                                       Opportunity.expected_close >= first,
                                       Opportunity.expected_close < following),
                                  Opportunity.amount * Opportunity.probability), else_=0)),
                   func.sum(case((and_(kinds.c.kind == "won", Opportunity.closed_on >= first,
                                       Opportunity.closed_on < following),
                                  Opportunity.amount), else_=0)))
            .join(kinds, kinds.c.id == Opportunity.stage_id)
            .where(Opportunity.owner_id == self.user.id,
                   or_(kinds.c.kind == "open", Opportunity.closed_on >= first)))
        forecast, won = db.session.execute(statement).one()
        return expected(forecast), money.cents(money.to_decimal(won or 0))


# -- the screen ------------------------------------------------------------------------------

def forecast_chart(table, totals):
    """Expected revenue per forecast column; overdue deals in red."""
    keys = [key for key, _title in table.columns]
    amounts = [totals[key] for key in keys]
    return charts.bar_chart(
        [title for _key, title in table.columns], [(_("Expected revenue"), amounts)],
        value_text=money_text, highlight={keys.index("overdue"): charts.RED},
        description=_("Forecast: expected revenue of open deals by close month"))


def won_chart(table, totals):
    return charts.bar_chart(
        [title for _key, title in table.columns],
        [(_("Won revenue"), [totals[key] for key, _title in table.columns])],
        value_text=money_text, colors=[charts.GREEN], description=_("Won revenue"))


def funnel_chart(rows):
    """Deals that reached each open stage, and those won: the funnel's shape."""
    shown = [row for row in rows if row["kind"] != "lost"]
    return charts.bar_chart(
        [row["stage"] for row in shown], [(_("Reached"), [row["entered"] for row in shown])],
        value_text=lambda number: format_decimal(number, format="#,##0"), horizontal=True,
        highlight={index: charts.GREEN for index, row in enumerate(shown)
                   if row["kind"] == "won"},
        width=600, height=36 * len(shown) + 50, description=_("Funnel"))


class DashboardView(ModelView):
    """Forecast, won revenue and funnel on one page, with period, owner and team
    filters."""

    # Figures only: the form pages a screen inherits stay switched off here.
    allow_create = allow_edit = allow_delete = allow_export = allow_import = False
    can_view_details = False

    @expose("/")
    def index_view(self):
        period = request.args.get("period") if request.args.get("period") in PERIODS \
            else "month"
        owners = scoped_query(User, Opportunity).order_by(User.username).all()
        teams = self.visible_teams()
        owner_id = next((u.id for u in owners if [u.id] == int_ids([request.args.get(
            "owner", "")])), None)
        team_id = next((t.id for t in teams if [t.id] == int_ids([request.args.get(
            "team", "")])), None)
        figures = Figures(current_user, date.today(), owner_id, team_id)
        forecast_owners, forecast_teams = figures.forecast()
        won_owners, won_teams = figures.won(period)
        start, _columns = recent_periods(period, figures.today)
        forecast_totals = forecast_owners.column_totals()
        won_totals = won_owners.column_totals()
        funnel = figures.funnel(start)
        return self.render(
            "crm_sales/dashboard.html", period=period, periods=PERIODS, owners=owners,
            teams=teams, owner_id=owner_id, team_id=team_id, start=start,
            forecast_owners=forecast_owners, forecast_teams=forecast_teams,
            forecast_totals=forecast_totals,
            forecast_chart=forecast_chart(forecast_owners, forecast_totals),
            won_owners=won_owners, won_teams=won_teams, won_totals=won_totals,
            won_chart=won_chart(won_owners, won_totals),
            funnel=funnel, funnel_chart=funnel_chart(funnel), money=money_text,
            user_name=lambda user: user.full_name or user.username)

    @staticmethod
    def visible_teams():
        """All teams for those who see every deal; otherwise the user's own teams."""
        query = db.session.query(Team).order_by(Team.name)
        if permissions.scope(current_user, "Opportunity") != "all":
            mine = team_memberships()
            query = query.filter(Team.id.in_(select(mine.c.team_id)
                                             .where(mine.c.user_id == current_user.id)))
        return query.all()


# -- the home page ---------------------------------------------------------------------------

@hooks.connect("dashboard.panels")
def sales_this_month():
    """This month's forecast and won amounts of the user's own deals."""
    user = current_user
    if not permissions.permits(user, "Opportunity", "r"):
        return None
    forecast, won = Figures(user, date.today()).this_month()
    return {"title": _("My sales this month"),
            "html": Markup(render_template(
                "crm_sales/opportunity_home_panel.html", forecast=money_text(forecast),
                won=money_text(won), link=url_for("sales_dashboard.index_view")))}
