"""The customer's lifecycle stage (prospect, active, dormant, lost), moved on by rules
that other addons declare: Sales says a won deal or a payment makes a customer active.

    from addons.crm_contacts import lifecycle

    lifecycle.rule(Opportunity, "active", when=deal_won_now)

``when(session, record)`` is asked of every record of that model a save adds or
changes, before the save is written; when it answers yes, the record's customer moves
to the stage, if it is in one of ``from_stages``. So the move is part of the same save
(the same transaction, whatever wrote it: a form, the board, an import, a job) and is
audited like any change of the customer. Rules say only "moves on": a customer set to
another stage by hand stays there until the next deal or payment.
"""
from collections import namedtuple

from sqlalchemy import event
from sqlalchemy.orm import Session

from addons.crm_contacts.models import Customer

Rule = namedtuple("Rule", "model stage when from_stages customer")
RULES = []
# A deal or a payment wakes a dormant or lost customer too: they are buying again.
NOT_ACTIVE = ("prospect", "dormant", "lost")


def rule(model, stage, when, from_stages=NOT_ACTIVE, customer="customer"):
    """Declare: a ``model`` record for which ``when(session, record)`` holds moves its
    ``customer`` (the attribute naming it) to ``stage``. Declared once, at import."""
    declared = Rule(model, stage, when, tuple(from_stages), customer)
    if declared not in RULES:
        RULES.append(declared)
    return declared


# Before the other listeners (insert=True), so that what they do for a changed customer
# (its keys, who changed it and when) covers a stage moved here too.
@event.listens_for(Session, "before_flush", insert=True)
def _move_customers_on(session, _context, _instances):
    if not RULES:
        return
    for record in list(session.new) + list(session.dirty):
        for declared in RULES:
            if not isinstance(record, declared.model) or record in session.deleted:
                continue
            if not declared.when(session, record):
                continue
            customer = customer_of(session, record, declared.customer)
            if customer is not None and customer.stage in declared.from_stages:
                customer.stage = declared.stage


def customer_of(session, record, name):
    """The customer a record names, by its relationship or, when only its column was
    set (an import, a script), by the column: a new record does not load the other."""
    customer = getattr(record, name, None)
    if customer is None and getattr(record, f"{name}_id", None) is not None:
        customer = session.get(Customer, getattr(record, f"{name}_id"))
    return customer if isinstance(customer, Customer) else None
