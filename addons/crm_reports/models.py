"""Reports and analysis: the dashboards users made by cloning a standard one, the sales
history brought from an old system, and the customer-value analysis the nightly job (or
`python run.py analyse customer-value`) keeps.

Standard dashboards are not stored: they are read from the enabled addons' manifests
(core/reports.py), so an update of the suite changes them and never touches a clone."""
from flask_babel import lazy_gettext as _l

from addons.crm_contacts.models import Customer, choice
from core.db import db
from core.i18n import mark
from core.models import OwnedMixin, User, utcnow

MONEY = db.Numeric(14, 2)
RUN_STATES = (mark("done"), mark("failed"))
UNITS = (mark("day"), mark("week"))


class Dashboard(OwnedMixin, db.Model):
    """A user's own dashboard: a name and the reports on it, in order."""
    __tablename__ = "rep_dashboard"
    __label__ = mark("Dashboard")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, info={"label": _l("Name")})
    # The report keys, one a line: a report of an addon disabled later stays listed and
    # shows a message in its place until the addon is enabled again.
    reports = db.Column(db.Text, nullable=False, default="", info={"label": _l("Reports")})
    based_on = db.Column(db.String(60), info={"label": _l("Copied from")})

    def report_keys(self):
        return [key for key in (self.reports or "").split() if key]

    def __str__(self):
        return self.name or ""


class SalesHistory(db.Model):
    """A past sale from another system: who bought, when, for how much. Counted with the
    suite's own orders in the customer analysis."""
    __tablename__ = "rep_sales_history"
    __label__ = mark("Sales history")
    __table_args__ = (db.Index("ix_rep_sales_history_customer_date", "customer_id", "date"),)
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("crm_customer.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    date = db.Column(db.Date, nullable=False, index=True, info={"label": _l("Date")})
    amount = db.Column(MONEY, nullable=False, info={"label": _l("Amount")})
    reference = db.Column(db.String(60), info={"label": _l("Reference")})

    def __str__(self):
        return f"{self.customer} {self.date}"


class ValueRun(db.Model):
    """One run of the customer-value analysis: when, on what, and the fitted models, or
    why they could not be fitted."""
    __tablename__ = "rep_value_run"
    __label__ = mark("Customer-value analysis")
    id = db.Column(db.Integer, primary_key=True)
    ran_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                       info={"label": _l("Run at")})
    until = db.Column(db.Date, nullable=False, info={"label": _l("Purchases until")})
    unit = db.Column(choice(*UNITS, name="rep_value_run_unit"), nullable=False,
                     default="day", info={"label": _l("Time unit")})
    horizon = db.Column(db.Integer, nullable=False, info={"label": _l("Horizon")})
    state = db.Column(choice(*RUN_STATES, name="rep_value_run_state"), nullable=False,
                      index=True, info={"label": _l("State")})
    message = db.Column(db.Text, info={"label": _l("Message")})
    customers = db.Column(db.Integer, nullable=False, default=0,
                          info={"label": _l("Customers")})
    r = db.Column(db.Float)
    alpha = db.Column(db.Float)
    a = db.Column(db.Float)
    b = db.Column(db.Float)
    p = db.Column(db.Float)
    q = db.Column(db.Float)
    gamma = db.Column(db.Float)

    def __str__(self):
        return f"{self.until}"


class CustomerValue(db.Model):
    """A customer's figures in one run of the analysis."""
    __tablename__ = "rep_customer_value"
    __label__ = mark("Customer value")
    __table_args__ = (db.Index("ix_rep_customer_value_run_value", "run_id", "expected_value"),)
    id = db.Column(db.Integer, primary_key=True)
    run_id = db.Column(db.ForeignKey("rep_value_run.id", ondelete="CASCADE"), nullable=False,
                       index=True)
    run = db.relationship(ValueRun, info={"label": _l("Analysis run")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    frequency = db.Column(db.Integer, nullable=False, info={"label": _l("Repeat purchases")})
    recency = db.Column(db.Float, nullable=False, info={"label": _l("Time to last purchase")})
    age = db.Column(db.Float, nullable=False, info={"label": _l("Time as a customer")})
    revenue = db.Column(MONEY, nullable=False, info={"label": _l("Revenue")})
    last_purchase = db.Column(db.Date, nullable=False, info={"label": _l("Last purchase")})
    p_alive = db.Column(db.Float, nullable=False, index=True,
                        info={"label": _l("Probability still a customer")})
    expected_purchases = db.Column(db.Float, nullable=False,
                                   info={"label": _l("Expected purchases")})
    expected_value = db.Column(MONEY, nullable=False, info={"label": _l("Expected value")})
    # By the purchases of the year up to the run's day; none without any that year.
    rfm_segment = db.Column(db.String(30), index=True, info={"label": _l("RFM segment")})

    def __str__(self):
        return str(self.customer)


FREQUENCIES = (mark("daily"), mark("weekly"), mark("monthly"))
FORMATS = (mark("PDF"), mark("Excel"))
PERIODS = (mark("previous period"), mark("month to date"), mark("year to date"))

schedule_recipients = db.Table(
    "rep_schedule_recipient",
    db.Column("schedule_id", db.ForeignKey("rep_schedule.id", ondelete="CASCADE"),
              primary_key=True),
    db.Column("user_id", db.ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True,
              index=True))


class ReportSchedule(OwnedMixin, db.Model):
    """A report or dashboard mailed to users, each counted within their own rights:
    daily, weekly (Mondays) or monthly (on the 1st), as a PDF or an Excel file."""
    __tablename__ = "rep_schedule"
    __label__ = mark("Scheduled report")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, info={"label": _l("Name")})
    # "report:KEY", "standard:KEY" (a standard dashboard) or "own:ID" (a user's).
    source = db.Column(db.String(80), nullable=False, info={"label": _l("Report or dashboard")})
    frequency = db.Column(choice(*FREQUENCIES, name="rep_schedule_frequency"), nullable=False,
                          default="weekly", info={"label": _l("How often")})
    format = db.Column(choice(*FORMATS, name="rep_schedule_format"), nullable=False,
                       default="PDF", info={"label": _l("Format")})
    period = db.Column(choice(*PERIODS, name="rep_schedule_period", length=20),
                       nullable=False, default="previous period", info={"label": _l("Period")})
    active = db.Column(db.Boolean, nullable=False, default=True, index=True,
                       info={"label": _l("Active")})
    last_sent_on = db.Column(db.Date, info={"label": _l("Last sent on"), "readonly": True})
    recipients = db.relationship(User, secondary=schedule_recipients,
                                 info={"label": _l("Recipients")})

    def __str__(self):
        return self.name or ""


class KeptFigures(db.Model):
    """A dashboard's figures kept for one user, set of filters and language, because
    they took long to count (kept.py): shown again the same day with the time they were
    counted, and counted again each night while the user keeps opening them."""
    __tablename__ = "rep_kept_figures"
    __label__ = mark("Kept dashboard figures")
    __table_args__ = (db.Index("ix_rep_kept_figures_user_source", "user_id", "source"),)
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("core_user.id", ondelete="CASCADE"), nullable=False)
    source = db.Column(db.String(80), nullable=False)   # "standard:KEY" or "own:ID"
    language = db.Column(db.String(20), nullable=False)
    start = db.Column(db.Date, nullable=False)
    end = db.Column(db.Date, nullable=False)
    owner_id = db.Column(db.Integer)     # the filters chosen: a user, a team, or none
    team_id = db.Column(db.Integer)
    # What the user may read when they were counted: kept figures of other rights are
    # never shown (a user moved to another group or team sees theirs counted anew).
    rights = db.Column(db.String(40), nullable=False)
    counted_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    counted_on = db.Column(db.Date, nullable=False, index=True)
    viewed_on = db.Column(db.Date, nullable=False, index=True)
    seconds = db.Column(db.Float, nullable=False)
    results = db.Column(db.Text, nullable=False)   # {report key: Result.to_json()}
