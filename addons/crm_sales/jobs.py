"""Scheduled jobs of Sales: quotes past their validity expire; contracts about to end
remind their owners, and contracts past their end expire or renew themselves."""
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import String, and_, cast, literal, select

from addons.crm_contacts.jobs import SLOT, in_users_language
from addons.crm_sales.contracts import renew
from addons.crm_sales.models import Contract, Quote
from core import options, workflow
from core.db import db
from core.models import User, utcnow
from core.notifications import notify_from_select

ADDON = "crm_sales"
BATCH = 200
MAX_RENEWALS = 100   # renewals of one contract in one run (a job that did not run for years)


def expire_quotes():
    """Daily: sent quotes whose validity date has passed become "expired" (the
    workflow's "expire", which only the application makes).

    The rows are loaded and changed in batches, not in one UPDATE, so that the audit
    trail records each change like any other. Locked rows (FOR UPDATE SKIP LOCKED on
    PostgreSQL) keep two runs at once off each other's rows; a row that leaves the
    condition when it changes cannot be taken twice."""
    today = date.today()
    expired = 0
    while True:
        quotes = db.session.scalars(
            select(Quote).where(Quote.state == "sent", Quote.valid_until < today)
            .order_by(Quote.id).limit(BATCH).with_for_update(skip_locked=True)).all()
        if not quotes:
            break
        for quote in quotes:
            workflow.move(quote, "expire")
        expired += len(quotes)
        db.session.commit()
    return ngettext("%(num)d quote expired", "%(num)d quotes expired", expired)


def remind_expiring_contracts():
    """Daily: contracts past their end date end (or renew themselves when they renew
    automatically), then the owners of active contracts ending within the setting's
    number of days are reminded, once per contract and end date."""
    today = date.today()
    expired, renewed = end_past_contracts(today)
    days = options.get(ADDON, "contract_reminder_days")
    reminded = notify_from_select(expiring_contracts(today, days)) if days > 0 else 0
    db.session.commit()
    return _("%(reminders)s, %(expired)s, %(renewed)s",
             reminders=ngettext("%(num)d expiry reminder", "%(num)d expiry reminders", reminded),
             expired=ngettext("%(num)d contract expired", "%(num)d contracts expired", expired),
             renewed=ngettext("%(num)d renewed", "%(num)d renewed", renewed))


def end_past_contracts(today):
    """Active contracts whose end date has passed: "expired", or, when they renew
    automatically, followed by their renewal (active, the same length; repeated until a
    renewal covers today, should the job not have run for a while). Changed through the
    ORM, so the audit trail has them. Returns (expired, renewed)."""
    expired = renewed = 0
    while True:
        contracts = db.session.scalars(
            select(Contract).where(Contract.status == "active", Contract.end_date < today)
            .order_by(Contract.id).limit(BATCH).with_for_update(skip_locked=True)).all()
        if not contracts:
            return expired, renewed
        for contract in contracts:
            if contract.auto_renew:
                renewed += renew_until(contract, today)
            else:
                workflow.move(contract, "expire")
                expired += 1
        db.session.commit()


def renew_until(contract, today):
    """Renew an automatically renewing contract as often as needed to reach today."""
    count = 0
    current = contract
    while current.end_date < today and count < MAX_RENEWALS:
        current = renew(db.session, current, "active")
        count += 1
    return count


def expiring_contracts(today, days):
    """One reminder per active contract ending between today and ``days`` from now, for
    its (active) owner. The key holds the end date: a contract extended to a new end
    date reminds again before that one."""
    contract_id = cast(Contract.id, String)
    end = cast(Contract.end_date, String)
    title = in_users_language(lambda: _("Contract ends soon: %(contract)s", contract=SLOT),
                              Contract.number + literal(" ") + Contract.title)
    body = in_users_language(lambda: _("It ends on %(date)s.", date=SLOT), end)
    return (select(Contract.owner_id, title, body,
                   literal("/admin/contract/details/?id=") + contract_id,
                   literal(utcnow()),
                   literal("contract:") + contract_id + literal(":expiry:") + end)
            .join(User, and_(User.id == Contract.owner_id, User.active.is_(True)))
            .where(Contract.status == "active", Contract.end_date >= today,
                   Contract.end_date <= today + timedelta(days=days)))
