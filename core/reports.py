"""Reports: named, filtered queries that each addon contributes; crm_reports shows them as
tables and charts, puts them on dashboards, exports and mails them.

An addon declares its reports, and the standard dashboards made of them, in its manifest:

    "reports": {
        "sales_won_by_owner": {"label": "Won revenue by salesperson", "area": "Sales",
                               "model": "Opportunity", "query": "reports.won_by_owner"},
    },
    "dashboards": {
        "sales": {"label": "Sales", "reports": ["sales_won_by_owner", ...]},
    },

``query`` names a function of the addon that takes a Filters and returns a Result. It
reads only what the user may read: every statement goes through
``filters.within_rules(statement, Model)``, which applies the record rules and the
owner and team chosen. A user sees a report when they may read its model. Reports and
dashboards of a disabled addon are not in ``available()`` and ``standard_dashboards()``:
they leave every screen with their addon. Labels are English, marked for translation in
the addon's code (core.i18n.mark) and shown with core.i18n.label.
"""
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import or_, select

from core import permissions
from core.models import Team, team_members, team_memberships

KINDS = ("text", "number", "decimal", "money", "percent", "date")


@dataclass(frozen=True)
class Column:
    key: str
    label: str            # English, marked; shown with label()
    kind: str = "text"    # one of KINDS: how it is written and typed in a spreadsheet
    total: bool = False   # summed in the table's last row


@dataclass
class Result:
    """What a report found: ``rows`` are tuples in the order of ``columns``. ``chart``
    is None or (index of the label column, [indexes of the value columns]) for a bar
    chart, horizontal when ``horizontal``."""
    columns: list
    rows: list
    chart: tuple = None
    horizontal: bool = False
    message: str = None   # instead of figures: why there are none (a bad setting, say)
    count: int = None     # how many rows in all, when ``rows`` holds only the first
    sums: dict = None     # the totals of all the rows, when ``rows`` holds only the first

    def totals(self):
        """{column index: sum} of the columns with a total."""
        if self.sums is not None:
            return self.sums
        return {index: sum((row[index] or 0) for row in self.rows)
                for index, column in enumerate(self.columns) if column.total}

    def row_count(self):
        return len(self.rows) if self.count is None else self.count

    def first(self, limit):
        """The result with only its first ``limit`` rows, and the count and totals of
        them all."""
        return replace(self, rows=self.rows[:limit], count=self.row_count(),
                       sums=self.totals())

    def to_json(self):
        """The result as JSON-ready data (kept figures): money and dates as text."""
        def plain(value):
            return str(value) if isinstance(value, (Decimal, date)) else value
        return {"columns": [asdict(column) for column in self.columns],
                "rows": [[plain(value) for value in row] for row in self.rows],
                "chart": self.chart, "horizontal": self.horizontal, "message": self.message,
                "count": self.row_count(),
                "sums": [[index, plain(value)] for index, value in self.totals().items()]}

    @classmethod
    def from_json(cls, data):
        """A result from to_json's data, each value read back as its column's kind."""
        columns = [Column(**column) for column in data["columns"]]

        def typed(index, value):
            kind = columns[index].kind
            if value is None or not isinstance(value, str):
                return value
            if kind in ("money", "decimal", "percent", "number"):
                return Decimal(value)
            return date.fromisoformat(value) if kind == "date" else value
        return cls(columns, [tuple(typed(i, v) for i, v in enumerate(row)) for row in data["rows"]],
                   tuple(data["chart"]) if data["chart"] else None, data["horizontal"],
                   data["message"], data["count"],
                   {index: typed(index, value) for index, value in data["sums"]})


@dataclass
class Filters:
    """The choices a report is run with: the period (both ends included), an owner or
    a team, and the report's own options; and the user it is run for."""
    user: object
    start: date
    end: date
    owner_id: int = None
    team_id: int = None
    options: dict = field(default_factory=dict)

    def within_rules(self, statement, model):
        """``statement`` narrowed to the rows of ``model`` the user may read, of the
        chosen owner or team (on models with an owner)."""
        statement = permissions.apply_rules(statement, model, self.user)
        owner = getattr(model, "owner_id", None)
        if owner is not None and self.owner_id is not None:
            statement = statement.where(owner == self.owner_id)
        if owner is not None and self.team_id is not None:
            statement = statement.where(owner.in_(team_member_ids(self.team_id)))
        return statement

    def in_period(self, column):
        """The condition that a date or date-time column falls in the period."""
        start = datetime.combine(self.start, time.min) if _is_datetime(column) else self.start
        return (column >= start) & self.by_end(column)

    def by_end(self, column):
        """The condition that a date or date-time column is not after the period."""
        if _is_datetime(column):
            return column < datetime.combine(self.end + timedelta(days=1), time.min)
        return column <= self.end


def _is_datetime(column):
    try:
        return column.type.python_type is datetime
    except NotImplementedError:
        return False


def team_member_ids(team_id):
    """A select of the members and the leader of a team."""
    people = team_memberships()
    return select(people.c.user_id).where(people.c.team_id == team_id)


def visible_teams(user):
    """The teams a user may narrow a report to: every team for administrators, else the
    ones they are in or lead."""
    statement = select(Team).order_by(Team.name)
    if not user.is_admin:
        statement = statement.where(or_(Team.leader_id == user.id, Team.id.in_(
            select(team_members.c.team_id).where(team_members.c.user_id == user.id))))
    return statement


@dataclass(frozen=True)
class Report:
    key: str
    label: str
    area: str
    model: str
    addon: str
    query: object
    description: str = ""

    def visible_to(self, user):
        return permissions.permits(user, self.model, "r")

    def run(self, filters):
        return self.query(filters)


@dataclass(frozen=True)
class Dashboard:
    key: str
    label: str
    addon: str
    reports: tuple


def _state():
    return current_app.extensions["crm"]


def available():
    """{key: Report} of the enabled addons, in the order their addons load."""
    state = _state()
    if getattr(state, "reports", None) is None:
        from core.workflow import _function
        found = {}
        for name in state.enabled:
            addon = state.registry.addons[name]
            for key, spec in addon.manifest.get("reports", {}).items():
                found[key] = Report(key, spec["label"], spec["area"], spec["model"], name,
                                    _function(addon, spec["query"]),
                                    spec.get("description", ""))
        state.reports = found
    return state.reports


def standard_dashboards():
    """{key: Dashboard} declared by the enabled addons."""
    state = _state()
    if getattr(state, "dashboards", None) is None:
        state.dashboards = {
            key: Dashboard(key, spec["label"], name, tuple(spec["reports"]))
            for name in state.enabled
            for key, spec in state.registry.addons[name].manifest.get("dashboards", {}).items()}
    return state.dashboards
