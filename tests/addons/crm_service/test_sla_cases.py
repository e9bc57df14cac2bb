"""SLA cases worked out by hand. The standard calendar (data/defaults.py): Monday to
Friday 09:00-12:00 and 13:30-18:00 in Asia/Shanghai (UTC+8), 450 working minutes a
day, with China's 2026 holidays and adjusted working days (调休). Times below are
Shanghai wall-clock times unless they say UTC.

First the pure functions (add_working_minutes, working_minutes), then the same clock
read from a ticket's state history: a pause while waiting for the customer, a reopen,
and a holiday added to the calendar afterwards, which changes the figures of the past."""
from datetime import date, datetime, time, timedelta

import pytest

from addons.crm_service import sla
from addons.crm_service.data import defaults

SHANGHAI = timedelta(hours=8)


def standard_calendar():
    periods = {weekday: [(9 * 3600, 12 * 3600), (13 * 3600 + 1800, 18 * 3600)]
               for weekday in range(5)}
    days = {}
    for _name, first, last, working in defaults.CHINA_HOLIDAYS[2026]:
        for offset in range((last - first).days + 1):
            days[first + timedelta(days=offset)] = None
        days.update(dict(working))
    return sla.Calendar("Asia/Shanghai", periods, days)


CALENDAR = standard_calendar()


def utc(*local):
    return datetime(*local) - SHANGHAI


def local(instant):
    return instant + SHANGHAI


# (case, start (local), working minutes to add, expected end (local))
ADDING = [
    ("overnight", (2026, 3, 3, 17, 0), 120, (2026, 3, 4, 10, 0)),
    ("lunch break", (2026, 3, 2, 11, 0), 90, (2026, 3, 2, 14, 0)),
    ("starting in the lunch break", (2026, 3, 2, 12, 15), 30, (2026, 3, 2, 14, 0)),
    ("ending exactly at the end of the day", (2026, 3, 2, 17, 0), 60, (2026, 3, 2, 18, 0)),
    ("before opening", (2026, 3, 2, 7, 0), 15, (2026, 3, 2, 9, 15)),
    ("weekend", (2026, 3, 6, 16, 0), 180, (2026, 3, 9, 10, 0)),
    ("National Day week", (2026, 9, 30, 17, 0), 120, (2026, 10, 8, 10, 0)),
    ("调休 Saturday 10 October", (2026, 10, 9, 17, 0), 120, (2026, 10, 10, 10, 0)),
    ("调休 Sunday 4 January after New Year", (2025, 12, 31, 17, 0), 120, (2026, 1, 4, 10, 0)),
    # Friday 13 Feb: 30 min; Saturday 14 Feb (调休): 450; 15-23 Feb off; 24 Feb: 20.
    ("Spring Festival", (2026, 2, 13, 17, 30), 500, (2026, 2, 24, 9, 20)),
    ("a whole working week", (2026, 3, 9, 9, 0), 5 * 450, (2026, 3, 13, 18, 0)),
]


@pytest.mark.parametrize("case, start, minutes, expected", ADDING, ids=[c[0] for c in ADDING])
def test_adding_working_minutes(case, start, minutes, expected):
    assert local(sla.add_working_minutes(CALENDAR, utc(*start), minutes)) == datetime(*expected)


# (case, from (local), to (local), expected working minutes)
BETWEEN = [
    ("overnight", (2026, 3, 3, 17, 0), (2026, 3, 4, 10, 0), 120),
    ("a day with its lunch break", (2026, 3, 2, 8, 0), (2026, 3, 2, 19, 0), 450),
    ("inside the lunch break", (2026, 3, 2, 12, 10), (2026, 3, 2, 13, 20), 0),
    ("a weekend", (2026, 3, 6, 18, 0), (2026, 3, 9, 9, 0), 0),
    # 28-30 Sep, 8-9 Oct and Saturday 10 Oct (调休): six days.
    ("two weeks around National Day", (2026, 9, 28, 0, 0), (2026, 10, 12, 0, 0), 6 * 450),
    ("Qingming Monday", (2026, 4, 6, 0, 0), (2026, 4, 7, 0, 0), 0),
    ("backwards", (2026, 3, 4, 10, 0), (2026, 3, 3, 17, 0), 0),
]


@pytest.mark.parametrize("case, start, end, expected", BETWEEN, ids=[c[0] for c in BETWEEN])
def test_working_minutes_between(case, start, end, expected):
    assert sla.working_minutes(CALENDAR, utc(*start), utc(*end)) == expected


def test_the_time_zone_is_the_calendars():
    # 09:00 UTC is 17:00 in Shanghai: two working hours later is 10:00 Shanghai, 02:00 UTC.
    assert sla.add_working_minutes(CALENDAR, datetime(2026, 3, 3, 9, 0), 120) == \
        datetime(2026, 3, 4, 2, 0)
    berlin = sla.Calendar("Europe/Berlin", CALENDAR.periods, {})
    # 09:00 UTC is 10:00 in Berlin in March (before summer time): +150 -> 12:00, the
    # lunch break, 13:30 + 30 -> 14:00 Berlin = 13:00 UTC.
    assert sla.add_working_minutes(berlin, datetime(2026, 3, 3, 9, 0), 150) == \
        datetime(2026, 3, 3, 13, 0)


def test_split_shift_across_midnight():
    """A night shift 22:00-24:00 then 00:00-06:00: the clock runs over midnight."""
    night = sla.Calendar("Asia/Shanghai", {0: [(22 * 3600, 86400)], 1: [(0, 6 * 3600)]}, {})
    assert local(sla.add_working_minutes(night, utc(2026, 3, 2, 23, 0), 120)) == \
        datetime(2026, 3, 3, 1, 0)
    assert sla.working_minutes(night, utc(2026, 3, 2, 21, 0), utc(2026, 3, 3, 7, 0)) == 480


def test_around_the_clock_without_a_calendar():
    assert sla.add_working_minutes(None, datetime(2026, 3, 7, 23, 0), 90) == \
        datetime(2026, 3, 8, 0, 30)
    assert sla.working_minutes(None, datetime(2026, 3, 7), datetime(2026, 3, 8)) == 1440


def test_a_calendar_without_working_time_is_never_due():
    assert sla.add_working_minutes(sla.Calendar("Asia/Shanghai", {}, {}),
                                   datetime(2026, 3, 2), 10) is None


def test_far_apart_costs_no_more():
    """Ten years of working time, worked out in closed form (no day-by-day walk)."""
    start = utc(2026, 3, 2, 9, 0)
    end = sla.add_working_minutes(CALENDAR, start, 450 * 260 * 10)
    assert sla.working_minutes(CALENDAR, start, end) == 450 * 260 * 10


# -- the same clock read from a ticket's history ------------------------------------------------

@pytest.fixture
def desk(service_suite):
    """A policy (first response 60, next reply 120, resolution 450 working minutes) on
    the standard calendar, and a way to make tickets with a history."""
    suite = service_suite
    suite.sql("INSERT INTO svc_sla_policy (name, sequence, active, first_response_minutes, "
              "next_reply_minutes, resolution_minutes, warning_percent, raise_priority) "
              "VALUES ('Case policy', 1, :t, 60, 120, 450, 80, :f)", t=True, f=False)
    return suite


def ticket_with_history(suite, created, history, **columns):
    """A ticket whose state history is ``history``: (state, local time) pairs."""
    from addons.crm_service.models import Ticket
    from core.db import db
    app = suite.app()
    with app.app_context():
        ticket = Ticket(subject="Printer jams", channel="phone", kind="inquiry")
        db.session.add(ticket)
        db.session.commit()
        ticket_id = ticket.id
    policy = suite.sql("SELECT id FROM svc_sla_policy WHERE name = 'Case policy'")[0][0]
    suite.sql("DELETE FROM svc_ticket_state_change WHERE ticket_id = :t", t=ticket_id)
    for state, at in history:
        suite.sql("INSERT INTO svc_ticket_state_change (ticket_id, state, at) "
                  "VALUES (:t, :s, :a)", t=ticket_id, s=state, a=utc(*at))
    values = {"created_at": utc(*created), "state": history[-1][0], "sla_policy_id": policy,
              **{key: utc(*value) if isinstance(value, tuple) else value
                 for key, value in columns.items()}}
    assignments = ", ".join(f"{key} = :{key}" for key in values)
    suite.sql(f"UPDATE svc_ticket SET {assignments} WHERE id = :id", id=ticket_id, **values)
    return app, ticket_id


def read(app, ticket_id, now):
    from addons.crm_service.models import Ticket
    from core.db import db
    with app.app_context():
        return sla.ticket_sla(db.session.get(Ticket, ticket_id), now=utc(*now))


MONDAY_9 = (2026, 3, 2, 9, 0)


def test_waiting_for_the_customer_stops_the_clock(desk):
    # Open Monday 09:00, waiting for the customer 10:00 until Tuesday 09:00.
    app, ticket = ticket_with_history(desk, MONDAY_9, [
        ("open", MONDAY_9), ("waiting for customer", (2026, 3, 2, 10, 0)),
        ("open", (2026, 3, 3, 9, 0))])
    paused = read(app, ticket, (2026, 3, 2, 15, 0))["resolution"]
    assert paused["paused"] and paused["due_at"] is None
    assert paused["remaining_minutes"] == 450 - 60 and not paused["breached"]

    # Tuesday 11:00: 60 + 120 minutes used; 270 left, due Tuesday 17:00.
    figures = read(app, ticket, (2026, 3, 3, 11, 0))
    resolution = figures["resolution"]
    assert resolution["remaining_minutes"] == 270 and not resolution["paused"]
    assert local(resolution["due_at"]) == datetime(2026, 3, 3, 17, 0)
    assert resolution["used_percent"] == 40
    # 80 % of 450 = 360 minutes: Tuesday 11:00 + 180 -> 12:00 + 120 -> 15:30.
    assert local(resolution["warn_at"]) == datetime(2026, 3, 3, 15, 30)
    # No first response: its hour ran out on Monday at 10:00, when the pause began.
    first = figures["first response"]
    assert first["breached"] and local(first["due_at"]) == datetime(2026, 3, 2, 10, 0)
    assert first["remaining_minutes"] == -120
    assert "next reply" not in figures


def test_a_holiday_added_afterwards_changes_the_past(desk):
    app, ticket = ticket_with_history(desk, MONDAY_9, [
        ("open", MONDAY_9), ("waiting for customer", (2026, 3, 2, 10, 0)),
        ("open", (2026, 3, 3, 9, 0))])
    from addons.crm_service.models import BusinessCalendar, CalendarDay
    from core.db import db
    with app.app_context():
        calendar = db.session.query(BusinessCalendar).filter_by(is_default=True).one()
        calendar.days.append(CalendarDay(day=date(2026, 3, 3), kind="holiday", name="Storm"))
        db.session.commit()
    resolution = read(app, ticket, (2026, 3, 3, 11, 0))["resolution"]
    # Tuesday is off now: only Monday's hour counts; 390 left from Wednesday 09:00:
    # 180 before lunch, 210 after -> Wednesday 17:00.
    assert resolution["remaining_minutes"] == 390
    assert local(resolution["due_at"]) == datetime(2026, 3, 4, 17, 0)


def test_a_working_saturday_counts_and_a_working_period_changed_afterwards(desk):
    # Opened Friday 9 October 17:00; Saturday 10 October is a working day (调休).
    friday = (2026, 10, 9, 17, 0)
    app, ticket = ticket_with_history(desk, friday, [("open", friday)])
    resolution = read(app, ticket, (2026, 10, 10, 12, 0))["resolution"]
    assert resolution["remaining_minutes"] == 450 - 60 - 180
    from addons.crm_service.models import BusinessCalendar
    from core.db import db
    with app.app_context():
        calendar = db.session.query(BusinessCalendar).filter_by(is_default=True).one()
        for period in calendar.periods:   # Fridays end at 17:00 from now on, and before
            if period.weekday == 4 and period.start == time(13, 30):
                period.end = time(17, 0)
        db.session.commit()
    resolution = read(app, ticket, (2026, 10, 10, 12, 0))["resolution"]
    assert resolution["remaining_minutes"] == 450 - 180


def test_resolved_time_does_not_count_and_a_reopen_continues(desk):
    app, ticket = ticket_with_history(desk, MONDAY_9, [
        ("open", MONDAY_9), ("resolved", (2026, 3, 2, 11, 0)),
        ("open", (2026, 3, 4, 9, 0))], first_response_at=(2026, 3, 2, 9, 30),
        last_reply_at=(2026, 3, 2, 9, 30))
    figures = read(app, ticket, (2026, 3, 4, 10, 0))
    assert figures["resolution"]["remaining_minutes"] == 450 - 120 - 60
    first = figures["first response"]
    assert first["done_at"] is not None and not first["breached"]
    assert first["remaining_minutes"] == 30 and sla.describe(first) == "met"


def test_next_reply_runs_from_the_customers_message(desk):
    app, ticket = ticket_with_history(desk, MONDAY_9, [("open", MONDAY_9)],
                                      first_response_at=(2026, 3, 2, 9, 20),
                                      last_reply_at=(2026, 3, 2, 9, 20),
                                      last_customer_message_at=(2026, 3, 2, 16, 0))
    following = read(app, ticket, (2026, 3, 3, 9, 30))["next reply"]
    # Monday 16:00-18:00 and Tuesday 09:00-09:30: 150 of 120 minutes.
    assert following["breached"] and following["remaining_minutes"] == -30
    assert local(following["due_at"]) == datetime(2026, 3, 2, 18, 0)
    assert sla.describe(following) == "breached 30 min ago"


def test_a_resolved_ticket_shows_met_or_missed(desk):
    app, ticket = ticket_with_history(desk, MONDAY_9, [
        ("open", MONDAY_9), ("resolved", (2026, 3, 3, 15, 0))],
        resolved_at=(2026, 3, 3, 15, 0))
    resolution = read(app, ticket, (2026, 3, 9, 9, 0))["resolution"]
    # Monday 450 + Tuesday 180 + 90: 720 minutes of 450.
    assert resolution["breached"] and resolution["remaining_minutes"] == -270
    assert resolution["done_at"] is not None
    assert sla.describe(resolution) == "missed by 4 h 30 min"


def test_a_page_of_tickets_takes_a_constant_number_of_queries(desk):
    from sqlalchemy import event
    from addons.crm_service.models import Ticket
    from core.db import db
    app = None
    for _number in range(5):
        app, _ticket = ticket_with_history(desk, MONDAY_9, [("open", MONDAY_9)])
    with app.test_request_context():
        tickets = db.session.query(Ticket).all()
        statements = []
        listener = lambda *args: statements.append(args[2])   # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            result = sla.sla_for_page(tickets, now=utc(2026, 3, 2, 10, 0))
            sla.sla_for_page(tickets, now=utc(2026, 3, 2, 10, 0))   # the request's cache
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    assert len(result) == 5
    assert all(entry["resolution"]["remaining_minutes"] == 390 for entry in result.values())
    # policies, calendars (+ periods, days), team calendars, then one query of histories
    # per call.
    assert len(statements) <= 7, statements


def test_opening_a_ticket_sets_its_policy_and_deadlines(service_suite):
    """Through the flush: the default policy for normal priority (first response 240
    minutes) on the standard calendar."""
    from addons.crm_service.models import Ticket
    from core.db import db
    app = service_suite.app()
    with app.app_context():
        ticket = Ticket(subject="Where is my order?", channel="email", priority="normal")
        db.session.add(ticket)
        db.session.commit()
        assert ticket.sla_policy.name == "Normal tickets"
        calendar = sla.calendar_for(ticket)
        expected = sla.add_working_minutes(calendar, ticket.created_at, 240)
        assert abs((ticket.sla_due_at - expected).total_seconds()) < 2
        assert ticket.sla_warn_at < ticket.sla_due_at
        ticket.priority = "urgent"   # chosen again: 30 minutes
        db.session.commit()
        assert ticket.sla_policy.name == "Urgent tickets"
        expected = sla.add_working_minutes(calendar, ticket.created_at, 30)
        assert abs((ticket.sla_due_at - expected).total_seconds()) < 2
