"""Billing service fees: billable service records of one customer become lines of a
sales order, through the core hook ``billing.charge`` (Sales handles it; Service does
not import Sales). Without a handler (Sales disabled) fees are service revenue only
and no "Bill" action is offered.

    reference = bill(records, user)   # raises hooks.Refused; the caller commits

The records are marked billed (when, and the order's number) in the caller's
transaction, with the order lines: both are written, or neither."""
from flask import current_app
from flask_babel import gettext as _

from core import hooks
from core.models import utcnow

HOOK = "billing.charge"


def may_bill():
    """Does an enabled addon take fees to bill?"""
    return bool(current_app.extensions["crm"].hooks.handlers(HOOK))


def refusal(records):
    """Why ``records`` cannot be billed together, or None."""
    if not records:
        return _("Select the service records to bill.")
    if any(record.billed_at is not None for record in records):
        return _("Some of these records have been billed already.")
    if any(not record.billable for record in records):
        return _("Only billable records can be billed.")
    if any(not record.fee or record.fee <= 0 for record in records):
        return _("Only records with a fee can be billed.")
    customers = {record.ticket.customer_id for record in records}
    if None in customers:
        return _("A fee can be billed only on a ticket with a customer.")
    if len(customers) > 1:
        return _("Select the records of one customer: each customer is billed on their "
                 "own order.")
    return None


def bill(records, user):
    """Bill ``records`` (locked by the caller) for ``user``; returns the reference the
    handlers gave (the order's number)."""
    problem = refusal(records)
    if problem:
        raise hooks.Refused(problem)
    lines = [{"description": f"{record.ticket.number} {record.description}",
              "quantity": 1, "unit_price": record.fee,
              "source": ("ServiceRecord", record.id)} for record in records]
    references = current_app.extensions["crm"].hooks.call(
        HOOK, customer_id=records[0].ticket.customer_id, lines=lines, user=user)
    if not references:
        raise hooks.Refused(_("No enabled addon bills fees: they stay service revenue."))
    reference = ", ".join(str(found) for found in references)[:60]
    now = utcnow()
    for record in records:
        record.billed_at, record.billed_reference = now, reference
    return reference
