"""The customer base by grade, source, region, industry and lifecycle stage: reports for
crm_reports (declared in the manifest, core/reports.py). Each is one GROUP BY over the
customers the user may read that existed at the period's end; "new" counts the ones
created in the period."""
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from addons.crm_contacts.models import Customer, Industry, Region, Source
from core.db import db
from core.i18n import mark
from core.record import choice_text
from core.reports import Column, Result

COLUMNS = (Column("customers", mark("Customers"), "number", total=True),
           Column("new", mark("New in the period"), "number", total=True))


def _distribution(filters, group, name_of, heading, joined=None):
    """Customers and new customers per value of ``group``, largest first."""
    new = func.sum(case((filters.in_period(Customer.created_at), 1), else_=0))
    statement = select(group, func.count(), new).select_from(Customer)
    if joined is not None:
        statement = statement.outerjoin(*joined)
    statement = filters.within_rules(statement, Customer) \
        .where(filters.by_end(Customer.created_at)).group_by(group).order_by(func.count().desc())
    rows = [(name_of(value), count, int(added or 0))
            for value, count, added in db.session.execute(statement)]
    return Result([Column("group", heading)] + list(COLUMNS), rows, chart=(0, [1]),
                  horizontal=True)


def by_grade(filters):
    return _distribution(filters, Customer.grade,
                         lambda grade: grade or _("No grade"), mark("Grade"))


def by_stage(filters):
    return _distribution(filters, Customer.stage, choice_text, mark("Lifecycle stage"))


def by_source(filters):
    return _distribution(filters, Source.name, lambda name: name or _("No source"),
                         mark("Source"), (Source, Source.id == Customer.source_id))


def by_region(filters):
    return _distribution(filters, Region.name, lambda name: name or _("No region"),
                         mark("Region"), (Region, Region.id == Customer.region_id))


def by_industry(filters):
    return _distribution(filters, Industry.name, lambda name: name or _("No industry"),
                         mark("Industry"), (Industry, Industry.id == Customer.industry_id))
