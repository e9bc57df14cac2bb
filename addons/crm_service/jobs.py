"""Scheduled jobs of the service desk: SLA warnings and escalations, and the closing of
tickets resolved some days ago.

Both may run in several scheduler processes at once. Escalation claims its tickets with
FOR UPDATE SKIP LOCKED on PostgreSQL, and each warning or breach is a row of
SlaEscalation whose unique key (ticket, target, level, due time) is inserted with ON
CONFLICT DO NOTHING: only the process whose row went in notifies and acts, so each
breach escalates once however often and wherever the job runs."""
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from addons.crm_service import sla
from addons.crm_service.models import DONE_STATES, SlaEscalation, Ticket
from core import notifications, options, workflow
from core.db import db, insert_new
from core.i18n import label
from core.models import Team, User, utcnow

ADDON = "crm_service"
BATCH = 500
# What the clock needs of a ticket: read as plain rows, not loaded as records.
CLOCK_COLUMNS = (Ticket.id, Ticket.state, Ticket.created_at, Ticket.first_response_at,
                 Ticket.last_customer_message_at, Ticket.last_reply_at, Ticket.resolved_at,
                 Ticket.sla_policy_id, Ticket.team_id)


def escalate(now=None):
    """Warn the assignee of each target past its warning threshold; on a breach, tell
    the assignee and the team leader, and raise the priority or reassign as the policy
    says. Looks only at tickets whose ``sla_warn_at`` has come (an index), works their
    figures out exactly, and moves ``sla_warn_at`` on to their next moment."""
    now = now or utcnow()
    session = db.session
    shared = sla.Book(session)
    last_id, escalated = 0, 0
    while True:
        rows = session.execute(_candidates(now, last_id)).all()
        if not rows:
            break
        last_id = rows[-1].id
        histories = sla.state_changes([row.id for row in rows], session)
        wanted, index = [], []
        for row in rows:
            policy = shared.policy(row.sla_policy_id)
            calendar = shared.calendar_for(row, policy)
            entries = sla.figures(row, histories[row.id], policy, calendar, now)
            wanted += [{"ticket_id": row.id, "target": target, "level": level,
                        "due_at": entry["due_at"], "created_at": now}
                       for target, entry in entries.items()
                       for level in [crossed(entry, now)] if level]
            due, _warn = sla.next_deadlines(entries)
            index.append({"ticket": row.id, "due": due, "warn": next_moment(entries, now)})
        inserted = _insert(session, wanted)
        if inserted:
            _act(session, inserted, shared, now)
        session.execute(INDEX_UPDATE, index)
        session.commit()
        escalated += len(inserted)
    return f"{escalated} escalated"


# The job's own bookkeeping, in one executemany per batch: ``updated_at`` is set to
# itself, or its onupdate would make every ticket the job looks at seem changed by someone.
INDEX_UPDATE = (update(Ticket.__table__).where(Ticket.__table__.c.id == bindparam("ticket"))
                .values(sla_due_at=bindparam("due"), sla_warn_at=bindparam("warn"),
                        updated_at=Ticket.__table__.c.updated_at))


def _candidates(now, after_id):
    # Another process running the job at the same moment takes other tickets
    # (PostgreSQL; SQLite, one writer at a time, compiles no FOR UPDATE).
    return (select(*CLOCK_COLUMNS)
            .where(Ticket.sla_warn_at <= now, Ticket.state.not_in(DONE_STATES),
                   Ticket.id > after_id)
            .order_by(Ticket.id).limit(BATCH)
            .with_for_update(skip_locked=True, of=Ticket.__table__))


def crossed(entry, now):
    """"breach", "warning" or None: the highest level a running target has reached."""
    if entry["done_at"] is not None or entry["paused"] or entry["due_at"] is None:
        return None
    if entry["breached"]:
        return "breach"
    if entry["warn_at"] is not None and entry["warn_at"] <= now:
        return "warning"
    return None


def next_moment(entries, now):
    """When the job must look at the ticket again: the next warning or due time still
    ahead of a running target, or None (nothing left to tell until it changes)."""
    ahead = []
    for entry in entries.values():
        if entry["done_at"] is not None or entry["paused"]:
            continue
        for moment in (entry["warn_at"], entry["due_at"]):
            if moment is not None and moment > now:
                ahead.append(moment)
                break
    return min(ahead) if ahead else None


def _insert(session, wanted):
    """The escalations that were not there yet, as rows (id, ticket_id, target, level,
    due_at): the others were made by an earlier run or another process."""
    if not wanted:
        return []
    table = SlaEscalation.__table__
    return insert_new(table, wanted, (table.c.id, table.c.ticket_id, table.c.target,
                                      table.c.level, table.c.due_at), session)


def _act(session, inserted, shared, now):
    """Notify and act for each escalation this run made (records loaded in one query)."""
    tickets = {ticket.id: ticket for ticket in session.scalars(
        select(Ticket).where(Ticket.id.in_({row.ticket_id for row in inserted}))
        .options(joinedload(Ticket.owner), joinedload(Ticket.team).joinedload(Team.leader)))}
    acted, reminders = set(), []
    links = _ticket_links(tickets)
    for row in inserted:
        ticket = tickets[row.ticket_id]
        policy = shared.policy(ticket.sla_policy_id)
        due = shared.calendar_for(ticket, policy).local(row.due_at).strftime("%Y-%m-%d %H:%M")
        if row.level == "warning":
            reminders.append(_reminder(_people(ticket.owner) or _people(_leader(ticket)),
                                       row, ticket, due, links[ticket.id]))
            continue
        reminders.append(_reminder(_people(ticket.owner, _leader(ticket)), row, ticket, due,
                                   links[ticket.id]))
        if ticket.id not in acted and policy is not None:
            acted.add(ticket.id)   # one step per ticket and run, whatever breached
            new_owner = _apply_policy(session, ticket, policy)
            if new_owner is not None:
                reminders.append(_reminder([new_owner], row, ticket, due, links[ticket.id]))
    # The batch's reminders in a few multi-row statements, not one INSERT a user.
    notifications.notify_many(reminders)


def _apply_policy(session, ticket, policy):
    """Raise the priority one step, and reassign, as the policy says. The policy
    chosen stays: a raised priority must not bring a stricter one at once. Returns the
    new assignee, or None."""
    if policy.raise_priority and ticket.priority != sla.raised(ticket.priority):
        ticket.__dict__["_sla_keep_policy"] = True
        ticket.priority = sla.raised(ticket.priority)
    if policy.reassign_to_id and policy.reassign_to_id != ticket.owner_id:
        new_owner = session.get(User, policy.reassign_to_id)
        if new_owner is not None and new_owner.active:
            ticket.__dict__["_sla_keep_policy"] = True
            ticket.owner = new_owner
            return new_owner
    return None


def _leader(ticket):
    return ticket.team.leader if ticket.team is not None else None


def _people(*users):
    found = {}   # by id: flask-login's users compare by their session token
    for user in users:
        if user is not None and user.active:
            found.setdefault(user.id, user)
    return list(found.values())


def _reminder(users, row, ticket, due, link):
    """A reminder under the bell (and by e-mail for those who chose it), once per
    escalation and user, in each user's language: (users, title, body, link, key) for
    notifications.notify_many."""
    def title():
        if row.level == "warning":
            return _("SLA warning: %(target)s of %(ticket)s is due at %(time)s",
                     target=label(row.target), ticket=ticket.number or "", time=due)
        return _("SLA breached: %(target)s of %(ticket)s was due at %(time)s",
                 target=label(row.target), ticket=ticket.number or "", time=due)

    return (users, title, lambda: ticket.subject, link, f"crm_service.sla:{row.id}")


def _ticket_links(ticket_ids):
    """{ticket id: its page's path}. record_link walks the app's screens and URL map:
    once for the batch, the ids put into the query string it built ("?id=0")."""
    template = notifications.record_link("Ticket", 0)
    if template is None:
        return dict.fromkeys(ticket_ids)
    base = template[:-1]
    return {ticket_id: f"{base}{ticket_id}" for ticket_id in ticket_ids}


def close_resolved(now=None):
    """Close tickets resolved more than ``close_after_days`` ago, through the workflow
    as the application; a complaint whose corrective action is not done stays open (the
    close transition's condition says why)."""
    days = options.get(ADDON, "close_after_days")
    if days <= 0:
        return "off"
    cutoff = (now or utcnow()) - timedelta(days=days)
    session = db.session
    last_id, closed = 0, 0
    while True:
        tickets = session.scalars(
            select(Ticket).where(Ticket.state == "resolved", Ticket.resolved_at <= cutoff,
                                 Ticket.id > last_id).order_by(Ticket.id).limit(BATCH)
            .with_for_update(skip_locked=True, of=Ticket.__table__)).all()
        if not tickets:
            break
        last_id = tickets[-1].id
        for ticket in tickets:
            try:
                workflow.move(ticket, "close", None)
                closed += 1
            except workflow.Refused:
                continue
        session.commit()
    return f"{closed} closed"
