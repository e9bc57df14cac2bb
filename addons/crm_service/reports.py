"""Service reports for crm_reports (declared in the manifest, core/reports.py): ticket
volumes by month, the resolution SLA met and breached by priority, and the customers'
ratings. Within the user's record rules on tickets."""
from collections import Counter

from sqlalchemy import Integer, and_, case, cast, extract, func, or_, select

from addons.crm_service import sla
from addons.crm_service.models import DONE_STATES, PRIORITIES, SatisfactionRating, Ticket
from core.dates import month_name
from core.db import db
from core.i18n import mark
from core.models import utcnow
from core.record import choice_text
from core.reports import Column, Result

BATCH = 500


def _months(filters, column):
    """{(year, month): tickets} of ``column`` in the period."""
    year, month = (cast(extract(part, column), Integer) for part in ("year", "month"))
    statement = filters.within_rules(select(year, month, func.count(Ticket.id)), Ticket) \
        .where(filters.in_period(column)).group_by(year, month)
    return {(y, m): count for y, m, count in db.session.execute(statement)}


def volumes(filters):
    """Tickets opened and resolved in each month of the period."""
    opened, resolved = _months(filters, Ticket.created_at), _months(filters, Ticket.resolved_at)
    rows = [(month_name(y, m), opened.get((y, m), 0), resolved.get((y, m), 0))
            for y, m in sorted(set(opened) | set(resolved))]
    return Result([Column("month", mark("Month")),
                   Column("opened", mark("Opened"), "number", total=True),
                   Column("resolved", mark("Resolved"), "number", total=True)],
                  rows, chart=(0, [1, 2]))


def sla_by_priority(filters):
    """Of the tickets opened in the period under an SLA: how many met their resolution
    target, how many breached it (resolved late, or open past it), how many are open
    within it; by priority. The targets are worked out as on the ticket's page (sla.py),
    kept in the tickets' resolution columns and counted in SQL; tickets whose columns
    are not worked out yet (written by other means) are worked out here."""
    counts = Counter()
    _count_remembered(filters, counts)
    _count_unremembered(filters, counts)
    rows = []
    for priority in PRIORITIES:
        met, breached, still = (counts[priority, outcome] for outcome in
                                ("met", "breached", "open"))
        if met + breached + still:
            rows.append((choice_text(priority), met, breached, still,
                         round(100 * met / (met + breached), 1) if met + breached else None))
    return Result([Column("priority", mark("Priority")),
                   Column("met", mark("Met"), "number", total=True),
                   Column("breached", mark("Breached"), "number", total=True),
                   Column("open", mark("Open within it"), "number", total=True),
                   Column("rate", mark("Met %"), "percent")], rows, chart=(0, [1, 2]))


def _in_period(filters, statement):
    return filters.within_rules(statement, Ticket).where(
        Ticket.sla_policy_id.is_not(None), filters.in_period(Ticket.created_at))


def _count_remembered(filters, counts):
    done = Ticket.state.in_(DONE_STATES)
    # (Never NULL: a NULL in a CASE condition would count the ticket nowhere.)
    missed = or_(Ticket.sla_resolution_missed.is_(True),
                 and_(Ticket.sla_resolution_due_at.is_not(None),
                      Ticket.sla_resolution_due_at < utcnow()))
    statement = _in_period(filters, select(
        Ticket.priority, func.sum(case((and_(done, ~missed), 1), else_=0)),
        func.sum(case((missed, 1), else_=0)),
        func.sum(case((and_(~done, ~missed), 1), else_=0)))) \
        .where(Ticket.sla_resolution_missed.is_not(None)).group_by(Ticket.priority)
    for priority, met, breached, still in db.session.execute(statement):
        counts[priority, "met"] += int(met or 0)
        counts[priority, "breached"] += int(breached or 0)
        counts[priority, "open"] += int(still or 0)


def _count_unremembered(filters, counts):
    statement = _in_period(filters, select(Ticket)).where(sla.unremembered()) \
        .order_by(Ticket.id)
    shared = sla.book()
    for batch in db.session.scalars(statement.execution_options(yield_per=BATCH)).partitions():
        priorities = {ticket.id: ticket.priority for ticket in batch}
        for ticket_id, targets in sla.sla_for_page(batch, shared=shared).items():
            target = targets.get("resolution")
            if target is None:
                continue
            outcome = "breached" if target["breached"] else \
                "met" if target["done_at"] is not None else "open"
            counts[priorities[ticket_id], outcome] += 1


def ratings(filters):
    """The ratings customers gave in the period, by score."""
    statement = filters.within_rules(
        select(SatisfactionRating.score, func.count(SatisfactionRating.id))
        .join(Ticket, Ticket.id == SatisfactionRating.ticket_id), Ticket) \
        .where(SatisfactionRating.score.is_not(None),
               filters.in_period(SatisfactionRating.rated_at)) \
        .group_by(SatisfactionRating.score).order_by(SatisfactionRating.score.desc())
    rows = [("★" * score, count) for score, count in db.session.execute(statement)]
    return Result([Column("score", mark("Rating")),
                   Column("ratings", mark("Ratings"), "number", total=True)],
                  rows, chart=(0, [1]), horizontal=True)
