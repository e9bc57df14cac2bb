"""Reports's own reports (declared in the manifest): customers ranked by what they bring,
from every purchase the enabled addons record (orders, imported sales history) in the
period, for the customers the user may read.

- ABC: classes by share of revenue (the breakpoints are settings, 80/15/5 % by
  default), and the grade each customer would get where it differs from theirs.
- RFM: recency, frequency and monetary scores 1-5 by quintile over the period, the
  named segment of each customer, and the segments' sizes and revenue.
- Falling: the customers whose revenue fell from the period before to this one."""
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from flask import g, has_request_context
from sqlalchemy import func, select

from addons.crm_contacts.models import Customer
from addons.crm_reports import scoring
from addons.crm_reports.analysis import purchases_union
from core import options
from core.db import db
from core.i18n import label, mark
from core.reports import Column, Result

ADDON = "crm_reports"
CUSTOMER = Column("customer", mark("Customer"))
REVENUE = Column("revenue", mark("Revenue"), "money", total=True)
# The grade an ABC class suggests (grade D, for customers not worth following, is a
# person's choice and never suggested).
SUGGESTED_GRADE = {"A": "A", "B": "B", "C": "C"}


def _figures(filters):
    """[(customer id, name, code, grade, revenue, purchase days, last day)] of the
    customers the user may read who bought in the period; once a request for the same
    filters (a dashboard shows several reports of them)."""
    key = (filters.user.id, filters.start, filters.end, filters.owner_id, filters.team_id)
    found = g.setdefault("crm_customer_figures", {}) if has_request_context() else {}
    if key not in found:
        found[key] = _read_figures(filters)
    return found[key]


def _read_figures(filters):
    customer, day, amount = purchases_union().c
    statement = filters.within_rules(
        select(Customer.id, Customer.name, Customer.code, Customer.grade,
               func.sum(amount), func.count(func.distinct(day)), func.max(day))
        .join(Customer, Customer.id == customer), Customer) \
        .where(filters.in_period(day)).group_by(Customer.id, Customer.name, Customer.code,
                                               Customer.grade)
    return [(cid, name, code, grade, Decimal(revenue or 0), days, last)
            for cid, name, code, grade, revenue, days, last in db.session.execute(statement)]


def _name(name, code):
    return f"{name} ({code})" if code else name


def breakpoints():
    return tuple(options.get(ADDON, key) for key in ("abc_a_share", "abc_b_share",
                                                      "abc_c_share"))


def abc(filters):
    """Customers from the largest revenue down, with their share, the running share,
    their ABC class and, where it differs from their grade, the grade it suggests."""
    columns = [CUSTOMER, REVENUE, Column("share", mark("Share %"), "percent"),
               Column("running", mark("Running share %"), "percent"),
               Column("class", mark("ABC class")), Column("grade", mark("Grade")),
               Column("suggested", mark("Suggested grade"))]
    shares = breakpoints()
    problem = scoring.check_breakpoints(shares)
    if problem:
        return Result(columns, [], message=label(problem))
    found = _figures(filters)
    classes = scoring.abc_classes({row[0]: row[4] for row in found}, shares)
    total = sum((row[4] for row in found if row[4] > 0), Decimal(0))
    rows, running = [], Decimal(0)
    for cid, name, code, grade, revenue, _days, _last in sorted(
            found, key=lambda row: (-row[4], str(row[0]))):
        running += max(revenue, 0)
        share = round(100 * revenue / total, 1) if total else None
        suggested = SUGGESTED_GRADE[classes[cid]]
        rows.append((_name(name, code), revenue, share,
                     round(100 * running / total, 1) if total else None, classes[cid],
                     grade or "", suggested if suggested != grade and grade != "D" else ""))
    return Result(columns, rows)


def _rfm(filters):
    found = _figures(filters)
    scores = scoring.rfm_scores({row[0]: (row[6], row[5], row[4]) for row in found},
                                filters.end)
    return found, scores


def rfm(filters):
    """Each customer's last purchase, purchase days and revenue in the period, their R,
    F and M scores and their segment; the best first."""
    found, scores = _rfm(filters)
    rows = []
    for cid, name, code, _grade, revenue, days, last in found:
        r, f, m = scores[cid]
        rows.append((_name(name, code), last, days, revenue, r, f, m,
                     label(scoring.rfm_segment(r, f))))
    rows.sort(key=lambda row: (-(row[4] + row[5] + row[6]), -row[3], row[0]))
    return Result([CUSTOMER, Column("last", mark("Last purchase"), "date"),
                   Column("purchases", mark("Purchases"), "number", total=True), REVENUE,
                   Column("r", mark("R"), "number"), Column("f", mark("F"), "number"),
                   Column("m", mark("M"), "number"), Column("segment", mark("Segment"))],
                  rows)


def rfm_segments(filters):
    """How many customers each RFM segment holds, and their revenue in the period."""
    found, scores = _rfm(filters)
    customers, revenue = defaultdict(int), defaultdict(Decimal)
    for cid, _name, _code, _grade, amount, _days, _last in found:
        segment = scoring.rfm_segment(*scores[cid][:2])
        customers[segment] += 1
        revenue[segment] += amount
    rows = [(label(segment), customers[segment], revenue[segment])
            for segment, *_bounds in scoring.SEGMENTS if customers[segment]]
    return Result([Column("segment", mark("Segment")),
                   Column("customers", mark("Customers"), "number", total=True), REVENUE],
                  rows, chart=(0, [1]), horizontal=True)


def falling(filters):
    """Customers whose revenue fell: the period against the one of the same length
    just before it, the largest drop first (key customers slipping away)."""
    length = filters.end - filters.start
    before = replace(filters, start=filters.start - length - timedelta(days=1),
                     end=filters.start - timedelta(days=1))
    now = {row[0]: row for row in _figures(filters)}
    rows = []
    for cid, name, code, _grade, revenue, _days, _last in _figures(before):
        current = now[cid][4] if cid in now else Decimal(0)
        if current < revenue:
            rows.append((_name(name, code), revenue, current, current - revenue,
                         round(100 * (current - revenue) / revenue, 1) if revenue > 0 else None))
    rows.sort(key=lambda row: (row[3], row[0]))
    return Result([CUSTOMER, Column("before", mark("Revenue in the period before"), "money",
                                    total=True),
                   Column("now", mark("Revenue in the period"), "money", total=True),
                   Column("change", mark("Change"), "money", total=True),
                   Column("change_percent", mark("Change %"), "percent")], rows)
