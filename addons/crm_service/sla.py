"""The SLA clock: business calendars as arithmetic, the policy a ticket is measured by,
and each target's figures (time left, breached, paused) worked out from the ticket's
state history every time they are asked for.

Nothing here is stored as a fact: changing a calendar (a holiday added afterwards) or a
ticket's history changes the figures of the past too. ``Ticket.sla_due_at`` and
``sla_warn_at`` are only the escalation job's index, kept by ``refresh`` (a flush
listener below, whatever saved the ticket) and by the job itself.

Working time is counted in seconds on one axis per calendar: ``Calendar.value(t)`` is
the working seconds from a fixed Monday to the instant ``t``, in closed form (whole
weeks, the days of the week, then the holidays and adjusted working days before it,
found by bisection), so the time between two instants, and the instant a number of
working minutes after another, cost a handful of operations however far apart."""
import bisect
import functools
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import get_timezone_location
from flask import g, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session, selectinload

from addons.crm_service.models import (
    DONE_STATES,
    PAUSED_STATES,
    PRIORITIES,
    BusinessCalendar,
    CalendarDay,
    ServiceTeam,
    SlaPolicy,
    Ticket,
    TicketMessage,
    TicketStateChange,
    WorkingPeriod,
)
from core.db import db, one_of
from core.models import utcnow

DEFAULT_TIME_ZONE = "Asia/Shanghai"
EPOCH = date(2000, 1, 3)          # a Monday: day 0 of every calendar's axis
EPOCH_ORDINAL = EPOCH.toordinal()
DAY_SECONDS = 86400
SEARCH_DAYS = 366 * 20            # a calendar with no working time is never due
TARGETS = ("first response", "next reply", "resolution")
STOPPED_STATES = frozenset(PAUSED_STATES) | frozenset(DONE_STATES)


@functools.cache
def zone_names():
    """The time zones a calendar may be in: places that both languages can name (aliases
    and zones without a Chinese name left out), and UTC."""
    found = []
    for name in available_timezones():
        if "/" not in name or name.startswith(("Etc/", "SystemV/")):
            continue
        english = get_timezone_location(name, locale="en")
        chinese = get_timezone_location(name, locale="zh_Hans_CN")
        if "/" not in english and not english.startswith("Unknown") \
                and not re.search("[A-Za-z]", chinese):
            found.append(name)
    return sorted(found) + ["UTC"]


def zone_label(name):
    """A time zone as people read it, in their language: "中国（上海）时间"."""
    if name == "UTC" or not name:
        return name or ""
    try:
        return get_timezone_location(name, locale=get_locale() or "en")
    except LookupError:
        return name


def zone_choices():
    return sorted(((name, zone_label(name)) for name in zone_names()),
                  key=lambda choice: (choice[0] != DEFAULT_TIME_ZONE, choice[1]))


def seconds_of(moment, end=False):
    """A time of day as seconds since midnight; an end at 00:00 is the midnight that
    ends the day (a period "22:00-00:00")."""
    value = moment.hour * 3600 + moment.minute * 60 + moment.second
    return DAY_SECONDS if end and value == 0 else value


# -- a calendar as arithmetic ------------------------------------------------------------------

class Calendar:
    """A business calendar compiled: ``periods`` {weekday: [(start, end) seconds]},
    ``days`` {date: None for a holiday, or the weekday a working day is worked like}.
    Without periods and days it works around the clock (24x7), in UTC.

    Days are counted as ordinals from EPOCH (a Monday), so a day's weekday is its
    number modulo 7; a zone whose offset never changes (Asia/Shanghai) converts by
    adding it, without the time zone library."""

    def __init__(self, zone=None, periods=None, days=None, name=""):
        self.name = name
        self.zone = _zone(zone) if periods is not None else timezone.utc
        self.offset = _fixed_offset(self.zone)
        if periods is None:   # around the clock
            periods = {weekday: [(0, DAY_SECONDS)] for weekday in range(7)}
        self.periods = {weekday: _merged(periods.get(weekday, ())) for weekday in range(7)}
        self.day_total = [sum(end - start for start, end in self.periods[weekday])
                          for weekday in range(7)]
        self.week_total = sum(self.day_total)
        self.week_prefix = [sum(self.day_total[:weekday]) for weekday in range(8)]
        self.days = dict(days or {})
        self.worked_like = {day.toordinal() - EPOCH_ORDINAL: worked
                            for day, worked in self.days.items()}
        self.special = sorted(self.worked_like)
        self._day_starts = {}
        # deltas[i]: what the special days before special[i] add to (or take from) the
        # plain weekly count.
        self.deltas = [0]
        for number in self.special:
            worked = self.worked_like[number]
            self.deltas.append(self.deltas[-1] - self.day_total[number % 7]
                               + (0 if worked is None else self.day_total[worked]))

    @classmethod
    def of(cls, calendar):
        """The compiled form of a BusinessCalendar (or of None: around the clock)."""
        if calendar is None:
            return AROUND_THE_CLOCK
        if isinstance(calendar, Calendar):
            return calendar
        periods = {}
        for period in calendar.periods:
            periods.setdefault(period.weekday, []).append(
                (seconds_of(period.start), seconds_of(period.end, end=True)))
        days = {day.day: (day.like_weekday if day.kind == "working day" else None)
                for day in calendar.days}
        return cls(calendar.time_zone, periods, days, name=calendar.name)

    def periods_on(self, number):
        """The working periods of day ``number`` (days since EPOCH)."""
        if number in self.worked_like:
            worked = self.worked_like[number]
            return () if worked is None else self.periods[worked]
        return self.periods[number % 7]

    def day_start(self, number):
        """Working seconds from the epoch to the start of day ``number``. Remembered:
        the tickets of a page or a job's run fall on the same few weeks, and the search
        for a day asks about the same days again and again."""
        found = self._day_starts.get(number)
        if found is None:
            weeks, weekday = divmod(number, 7)
            found = self._day_starts[number] = (
                weeks * self.week_total + self.week_prefix[weekday]
                + self.deltas[bisect.bisect_left(self.special, number)])
        return found

    def local(self, instant):
        """A naive UTC instant as naive local wall-clock time."""
        if self.offset is not None:
            return instant + self.offset
        return instant.replace(tzinfo=timezone.utc).astimezone(self.zone).replace(tzinfo=None)

    def utc(self, local):
        if self.offset is not None:
            return local - self.offset
        return local.replace(tzinfo=self.zone).astimezone(timezone.utc).replace(tzinfo=None)

    def value(self, instant):
        """Working seconds from the epoch to ``instant`` (naive UTC)."""
        local = self.local(instant)
        number = local.toordinal() - EPOCH_ORDINAL
        clock = (local.hour * 3600 + local.minute * 60 + local.second
                 + local.microsecond / 1e6)
        worked = 0
        for start, end in self.periods_on(number):
            if start >= clock:
                break
            worked += (end if end < clock else clock) - start
        return self.day_start(number) + worked

    def instant(self, value, after):
        """The first instant (naive UTC, to the second) at which ``value`` working
        seconds are reached, searching from the day of ``after``; None if never."""
        first = self.local(after).toordinal() - EPOCH_ORDINAL
        number = self._day_reaching(value, first)
        if number is None:
            return None
        done = self.day_start(number)
        for start, end in self.periods_on(number):
            if done + (end - start) >= value:
                seconds = round(start + (value - done))
                local = datetime.fromordinal(number + EPOCH_ORDINAL) + timedelta(seconds=seconds)
                return self.utc(local)
            done += end - start
        return None

    def _day_reaching(self, value, first):
        """The first day from ``first`` by whose end ``value`` is reached: guessed from
        the weekly hours, then searched around the guess (holidays move it a little)."""
        def reached_by_end_of(number):
            return self.day_start(number + 1) >= value

        if self.week_total <= 0 and not self.special:
            return None
        guess = first
        if self.week_total > 0:
            guess = first + max(0, int((value - self.day_start(first)) * 7 // self.week_total))
        step = 1
        if reached_by_end_of(guess):          # the answer is the guess or before it
            high, low = guess, max(first, guess - step)
            while low > first and reached_by_end_of(low):
                high, step = low, step * 2
                low = max(first, high - step)
            if reached_by_end_of(low):
                return low
        else:                                 # after it
            low, high = guess + 1, guess + 1
            while not reached_by_end_of(high):
                low, step = high + 1, step * 2
                high = low + step
                if high - first > SEARCH_DAYS:
                    return None
        while low < high:                     # low not reached (or first), high reached
            middle = (low + high) // 2
            if reached_by_end_of(middle):
                high = middle
            else:
                low = middle + 1
        return high


def _fixed_offset(zone):
    """The zone's offset from UTC when it has been the same for decades, else None."""
    offsets = {datetime(year, month, 1, tzinfo=zone).utcoffset()
               for year in range(1995, 2040) for month in (1, 4, 7, 10)}
    return offsets.pop() if len(offsets) == 1 else None


def _zone(name):
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def _merged(periods):
    """Periods sorted, empty ones dropped, overlapping ones joined (forms refuse
    overlaps; this keeps the arithmetic right whatever the table holds)."""
    merged = []
    for start, end in sorted(periods):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


AROUND_THE_CLOCK = Calendar()


def working_minutes(calendar, start_utc, end_utc):
    """Whole working minutes between two naive UTC instants (0 if end is before start)."""
    calendar = Calendar.of(calendar)
    return max(0, int((calendar.value(end_utc) - calendar.value(start_utc)) // 60))


def add_working_minutes(calendar, start_utc, minutes):
    """The naive UTC instant ``minutes`` working minutes after ``start_utc``; None when
    the calendar has no working time left."""
    calendar = Calendar.of(calendar)
    if minutes <= 0:
        return start_utc
    return calendar.instant(calendar.value(start_utc) + minutes * 60, start_utc)


# -- policies and calendars, loaded once per request or job run -------------------------------

class Book:
    """The policies, calendars and team calendars, read once (three or four queries)
    and then shared by every ticket of a page or a job's batch."""

    def __init__(self, session=None):
        self.session = session or db.session
        self._policies = self._calendars = self._teams = None
        self._by_id = None

    @property
    def policies(self):
        if self._policies is None:
            self._policies = list(self.session.scalars(
                select(SlaPolicy).order_by(SlaPolicy.sequence, SlaPolicy.id)))
        return self._policies

    def policy(self, policy_id):
        if self._by_id is None:   # (asked for every ticket: a dict, not a search)
            self._by_id = {policy.id: policy for policy in self.policies}
        return self._by_id.get(policy_id)

    def calendars(self):
        """{calendar id: Calendar}, and None: the default calendar (24x7 without one)."""
        if self._calendars is None:
            rows = self.session.scalars(select(BusinessCalendar).order_by(BusinessCalendar.id)
                                        .options(selectinload(BusinessCalendar.periods),
                                                 selectinload(BusinessCalendar.days))).all()
            self._calendars = {row.id: Calendar.of(row) for row in rows}
            default = next((row.id for row in rows if row.is_default), None)
            self._calendars[None] = self._calendars.get(default, AROUND_THE_CLOCK)
        return self._calendars

    def team_calendars(self):
        if self._teams is None:
            self._teams = dict(self.session.execute(
                select(ServiceTeam.team_id, ServiceTeam.calendar_id)
                .where(ServiceTeam.calendar_id.is_not(None))).all())
        return self._teams

    def calendar_for(self, ticket, policy=None):
        """The policy's calendar, else the team's, else the default, else 24x7."""
        policy = policy if policy is not None else self.policy(ticket.sla_policy_id)
        calendars = self.calendars()
        calendar_id = policy.calendar_id if policy is not None else None
        if calendar_id is None and ticket.team_id is not None:
            calendar_id = self.team_calendars().get(ticket.team_id)
        return calendars.get(calendar_id) or calendars[None]

    def choose(self, ticket):
        """The first active policy in order whose conditions all hold for ``ticket``."""
        grade = ticket.customer.grade if ticket.customer is not None else None
        customer_id = ticket.customer.id if ticket.customer is not None else ticket.customer_id
        # A ticket not yet written has no column defaults yet.
        priority = ticket.priority or Ticket.__table__.c.priority.default.arg
        kind = ticket.kind or Ticket.__table__.c.kind.default.arg
        for policy in self.policies:
            if policy.active and all(wanted is None or wanted == actual for wanted, actual in (
                    (policy.priority, priority), (policy.kind, kind),
                    (policy.grade, grade), (policy.customer_id, customer_id))):
                return policy
        return None


def book():
    """The request's Book (one per request), or a new one outside requests."""
    if not has_request_context():
        return Book()
    if "crm_sla_book" not in g:
        g.crm_sla_book = Book()
    return g.crm_sla_book


def policy_for(ticket):
    """The SLA policy that applies to ``ticket`` now (conditions matched), or None."""
    return Book().choose(ticket)


def calendar_for(ticket):
    """The compiled calendar ``ticket`` is measured on."""
    return book().calendar_for(ticket)


# -- the clock of one ticket -------------------------------------------------------------------

def running_intervals(changes, start, end):
    """[(from, to)] within [start, end] while the ticket was in a state the clock runs
    in. ``changes``: (state, at) in time order; the first state reaches back to start."""
    intervals = []
    for index, (state, at) in enumerate(changes):
        until = changes[index + 1][1] if index + 1 < len(changes) else end
        begin = start if index == 0 else max(at, start)
        until = min(until, end)
        if state not in STOPPED_STATES and until > begin:
            intervals.append((begin, until))
    return intervals


def measure(calendar, intervals, target_minutes, warning_percent, running_to=None):
    """One target's figures from the intervals the clock ran in; ``running_to``: the
    instant the clock still runs at (now), or None when it stands still."""
    target = target_minutes * 60
    warn = target * warning_percent / 100
    used = 0.0
    due_at = warn_at = None
    for begin, until in intervals:
        start_value = calendar.value(begin)
        worked = calendar.value(until) - start_value
        if warn_at is None and used + worked >= warn:
            warn_at = calendar.instant(start_value + warn - used, begin)
        if due_at is None and used + worked >= target:
            due_at = calendar.instant(start_value + target - used, begin)
        used += worked
    if running_to is not None:
        now_value = calendar.value(running_to)
        if warn_at is None:
            warn_at = calendar.instant(now_value + warn - used, running_to)
        if due_at is None:
            due_at = calendar.instant(now_value + target - used, running_to)
    left = target - used
    return {"due_at": due_at, "warn_at": warn_at,
            "remaining_minutes": int(left // 60) if left >= 0 else -int(-left // 60),
            "breached": used > target, "paused": running_to is None,
            "used_percent": int(used * 100 // target) if target else 0}


def figures(ticket, changes, policy, calendar, now):
    """{target: figures} for the targets of ``policy`` that apply to ``ticket`` now."""
    if policy is None:
        return {}
    if not changes:   # (a ticket written behind the application's back)
        changes = [(ticket.state, ticket.created_at)]
    # The state at ``now`` (the last entered by then), which is the ticket's own except
    # when figures of a moment past are asked for.
    running_now = next((state for state, at in reversed(changes) if at <= now),
                       changes[0][0]) not in STOPPED_STATES
    resolved = ticket.resolved_at if ticket.state in DONE_STATES else None
    waiting_since = ticket.last_customer_message_at
    answered = ticket.last_reply_at or ticket.first_response_at
    # A ticket resolved without a reply (solved on the phone) ends its first response
    # target there too: met or missed then, never breached for ever after.
    wanted = [("first response", policy.first_response_minutes, ticket.created_at,
               ticket.first_response_at or resolved),
              ("resolution", policy.resolution_minutes, ticket.created_at, resolved)]
    if ticket.first_response_at is not None and waiting_since is not None \
            and answered is not None and waiting_since > answered:
        wanted.insert(1, ("next reply", policy.next_reply_minutes, waiting_since, None))
    result = {}
    for target, minutes, start, done_at in wanted:
        if not minutes or start is None:
            continue
        end = done_at or now
        entry = measure(calendar, running_intervals(changes, start, end), minutes,
                        policy.warning_percent or 100,
                        running_to=now if done_at is None and running_now else None)
        entry["done_at"] = done_at
        entry["target"] = target
        result[target] = entry
    return result


def state_changes(ticket_ids, session=None):
    """{ticket id: [(state, at), ...]} in one query for all of them."""
    session = session or db.session
    found = {ticket_id: [] for ticket_id in ticket_ids}
    if not found:
        return found
    rows = session.execute(
        select(TicketStateChange.ticket_id, TicketStateChange.state, TicketStateChange.at)
        .where(or_(*one_of(session, TicketStateChange.ticket_id, list(found))))
        .order_by(TicketStateChange.ticket_id, TicketStateChange.at, TicketStateChange.id))
    for ticket_id, state, at in rows:
        found[ticket_id].append((state, at))
    return found


def sla_for_page(tickets, now=None, shared=None):
    """{ticket id: {target: figures}} for a page of tickets: one query for their state
    histories, the policies and calendars once per request."""
    now = now or utcnow()
    shared = shared or book()
    tickets = [ticket for ticket in tickets if ticket.id is not None]
    histories = state_changes([ticket.id for ticket in tickets if ticket.sla_policy_id],
                              shared.session)
    result = {}
    for ticket in tickets:
        policy = shared.policy(ticket.sla_policy_id)
        result[ticket.id] = figures(ticket, histories.get(ticket.id, []), policy,
                                    shared.calendar_for(ticket, policy), now)
    return result


def ticket_sla(ticket, now=None):
    """{target: {"due_at", "remaining_minutes", "breached", "paused", "done_at",
    "used_percent", "warn_at"}} of one ticket."""
    return sla_for_page([ticket], now).get(ticket.id, {})


def next_deadlines(entries):
    """(sla_due_at, sla_warn_at) for the escalation job's index: the earliest due and
    warning times of the targets still running (a warning time may be past)."""
    running = [entry for entry in entries.values()
               if entry["done_at"] is None and not entry["paused"]]
    due = [entry["due_at"] for entry in running if entry["due_at"] is not None]
    warn = [entry["warn_at"] for entry in running if entry["warn_at"] is not None]
    return (min(due) if due else None, min(warn) if warn else None)


# -- words for the screens --------------------------------------------------------------------

def duration_text(minutes):
    hours, minutes = divmod(abs(int(minutes)), 60)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


def describe(entry):
    """One target's state in words: "2 h 15 min left", "breached 40 min ago"
    (working time), "paused", "met", "missed by 1 h 5 min"."""
    if entry["done_at"] is not None:
        if entry["breached"]:
            return _("missed by %(time)s", time=duration_text(entry["remaining_minutes"]))
        return _("met")
    if entry["breached"]:
        return _("breached %(time)s ago", time=duration_text(entry["remaining_minutes"]))
    if entry["paused"]:
        return _("paused")
    return _("%(time)s left", time=duration_text(entry["remaining_minutes"]))


def tone(entry, warning_percent=80):
    """A Bootstrap colour for the target's badge."""
    if entry["breached"]:
        return "danger"
    if entry["done_at"] is not None:
        return "success"
    if entry["paused"]:
        return "secondary"
    return "warning" if entry["used_percent"] >= warning_percent else "info"


# -- keeping the escalation job's index ----------------------------------------------------------

WATCHED = ("state", "priority", "kind", "customer_id", "customer", "team_id", "team",
           "first_response_at", "last_customer_message_at", "last_reply_at", "resolved_at",
           "sla_policy_id", "sla_policy")
CHOICE = ("priority", "kind", "customer_id", "customer")
CONFIGURATION = (BusinessCalendar, WorkingPeriod, CalendarDay, SlaPolicy, ServiceTeam)


def refresh(ticket, now=None, shared=None, history=None):
    """Set ``ticket``'s policy (when it opens, or its priority, kind or customer
    changes), ``sla_due_at`` and ``sla_warn_at``. ``history``: its (state, at) changes
    when known (a flush passes those not yet written)."""
    shared = shared or Book()
    inspected = db.inspect(ticket)
    choose = inspected.pending or any(
        inspected.attrs[name].history.has_changes() for name in CHOICE)
    if choose and not ticket.__dict__.pop("_sla_keep_policy", False):
        policy = shared.choose(ticket)
        ticket.sla_policy = policy
    else:
        policy = ticket.sla_policy
    if policy is None:
        ticket.sla_due_at = ticket.sla_warn_at = None
        ticket.sla_resolution_missed = ticket.sla_resolution_due_at = None
        return
    if history is None:
        history = state_changes([ticket.id], shared.session)[ticket.id] if ticket.id else []
    now = now or utcnow()
    if ticket.created_at is None:   # (set on insert; the clock starts now)
        ticket.created_at = now
    entries = figures(ticket, history, policy, shared.calendar_for(ticket, policy), now)
    ticket.sla_due_at, ticket.sla_warn_at = next_deadlines(entries)
    ticket.sla_resolution_missed, ticket.sla_resolution_due_at = resolution_columns(entries)


def resolution_columns(entries):
    """(sla_resolution_missed, sla_resolution_due_at) of a ticket's figures: whether the
    resolution target is missed by now, and when it falls due while its clock runs."""
    entry = entries.get("resolution")
    if entry is None:
        return None, None
    running = entry["done_at"] is None and not entry["paused"]
    return entry["breached"], entry["due_at"] if running else None


def unremembered():
    """The condition on tickets whose resolution target is not worked out in their
    columns yet (written behind the application's back, or before those columns were)."""
    return Ticket.sla_resolution_missed.is_(None) & Ticket.sla_policy_id.in_(
        select(SlaPolicy.id).where(SlaPolicy.resolution_minutes > 0))


def remember_resolutions(batch=2000):
    """The job: work out the resolution columns of the tickets that lack them, a batch
    at a time; returns how many. (After the upgrade that made the columns, it fills in
    every earlier ticket once; then only tickets written by other means.)"""
    count, last_id, shared = 0, 0, Book()
    while True:
        tickets = db.session.scalars(select(Ticket).where(unremembered(), Ticket.id > last_id)
                                     .order_by(Ticket.id).limit(batch)).all()
        if not tickets:
            return count
        found = sla_for_page(tickets, shared=shared)
        for ticket in tickets:
            ticket.sla_resolution_missed, ticket.sla_resolution_due_at = \
                resolution_columns(found[ticket.id])
        last_id = tickets[-1].id
        count += len(tickets)
        db.session.commit()


@event.listens_for(Session, "before_flush")
def _refresh_changed_tickets(session, _context, _instances):
    """Tickets whose state, priority, kind, customer, team or conversation changed get
    their SLA index again, however they were saved; a changed calendar or policy sends
    every open ticket it may measure to the escalation job, which works them out again
    (``sla_warn_at`` now)."""
    changed = set()
    for record in list(session.new) + list(session.dirty):
        if isinstance(record, Ticket):
            inspected = db.inspect(record)
            if inspected.pending or any(inspected.attrs[name].history.has_changes()
                                        for name in WATCHED):
                changed.add(record)
        elif isinstance(record, TicketMessage) and record.ticket is not None:
            changed.add(record.ticket)
    if any(_changes_clock(session, record)
           for record in (*session.new, *session.dirty, *session.deleted)):
        _one_default_calendar(session)
        session.info["crm_sla_reindex"] = True
    if not changed:
        return
    pending = {}
    for record in session.new:
        if isinstance(record, TicketStateChange) and record.ticket is not None:
            pending.setdefault(record.ticket, []).append((record.state, record.at or utcnow()))
    with session.no_autoflush:
        shared = Book(session)
        stored = state_changes([t.id for t in changed if t.id is not None], session)
        for ticket in changed:
            history = sorted(stored.get(ticket.id, []) + pending.get(ticket, []),
                             key=lambda change: change[1])
            refresh(ticket, shared=shared, history=history)


def _changes_clock(session, record):
    """Does saving ``record`` change how open tickets are measured? (A service team's
    round-robin pointer moves with every new ticket: only its calendar counts.)"""
    if not isinstance(record, CONFIGURATION):
        return False
    if isinstance(record, ServiceTeam) and record in session.dirty:
        inspected = db.inspect(record)
        return any(inspected.attrs[name].history.has_changes() for name in ("calendar_id",
                                                                              "calendar"))
    return True


def _one_default_calendar(session):
    """A calendar made the default takes the mark from any other."""
    chosen = [record for record in (*session.new, *session.dirty)
              if isinstance(record, BusinessCalendar) and record.is_default]
    if not chosen:
        return
    keep = chosen[-1]
    with session.no_autoflush:
        others = session.scalars(select(BusinessCalendar).where(
            BusinessCalendar.is_default.is_(True))).all()
    for other in {*others, *chosen} - {keep}:
        other.is_default = False


@event.listens_for(Session, "after_flush")
def _reindex_after_configuration(session, _context):
    """Open tickets with a policy go to the escalation job after a calendar, working
    period, holiday, policy or service team changed: one statement, whatever the number."""
    if not session.info.pop("crm_sla_reindex", False):
        return
    session.connection().execute(
        update(Ticket.__table__)
        .where(Ticket.__table__.c.sla_policy_id.is_not(None),
               Ticket.__table__.c.state.not_in(DONE_STATES))
        .values(sla_warn_at=utcnow()))


def raised(priority):
    """The priority one step up (urgent stays urgent)."""
    index = PRIORITIES.index(priority) if priority in PRIORITIES else 1
    return PRIORITIES[min(index + 1, len(PRIORITIES) - 1)]
