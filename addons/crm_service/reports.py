"""Service reports for crm_reports (declared in the manifest, core/reports.py): ticket
volumes by month, the resolution SLA met and breached by priority, and the customers'
ratings. Within the user's record rules on tickets."""
from collections import Counter

from sqlalchemy import Integer, cast, extract, func, select

from addons.crm_service import sla
from addons.crm_service.models import PRIORITIES, SatisfactionRating, Ticket
from core.dates import month_name
from core.db import db
from core.i18n import mark
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
    within it; by priority. The targets are worked out as on the ticket's page (sla.py)."""
    statement = filters.within_rules(select(Ticket), Ticket).where(
        Ticket.sla_policy_id.is_not(None), filters.in_period(Ticket.created_at)) \
        .order_by(Ticket.id)
    counts = Counter()
    shared = sla.book()
    for batch in db.session.scalars(statement.execution_options(yield_per=BATCH)).partitions():
        priorities = {ticket.id: ticket.priority for ticket in batch}
        for ticket_id, targets in sla.sla_for_page(batch, shared=shared).items():
            target = targets.get("resolution")
            if target is None:
                continue
            priority = priorities[ticket_id]
            outcome = "breached" if target["breached"] else \
                "met" if target["done_at"] is not None else "open"
            counts[priority, outcome] += 1
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
