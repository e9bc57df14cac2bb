"""The records the service desk needs to be used at all, added on every enable where
missing: the standard business calendar (Monday to Friday, 09:00-12:00 and 13:30-18:00,
with China's public holidays and adjusted working days), SLA policies by priority,
complaint root causes and knowledge base folders. Names are stored in English and shown
in the user's language; administrators rename, change or add to them on the
Configuration screens.

China's holidays: the State Council publishes each year's in the November before
(国务院办公厅关于2026年部分节假日安排的通知, 2025-11-04). 2027's was not published when
this was written: administrators add its days on the calendar's screen; a later
version adds them to a calendar that has no day of that year yet."""
from datetime import date, time, timedelta

from sqlalchemy import extract, select

from addons.crm_service.models import (
    BusinessCalendar,
    CalendarDay,
    KbFolder,
    RootCause,
    SlaPolicy,
    WorkingPeriod,
)
from core.i18n import mark

STANDARD_CALENDAR = mark("Standard working hours")
WORKING_HOURS = ((time(9, 0), time(12, 0)), (time(13, 30), time(18, 0)))
MONDAY, TUESDAY, WEDNESDAY, FRIDAY = 0, 1, 2, 4

# year: [(holiday name, first day off, last day off, [(working day, worked like)])].
# A working day (调休) is worked like the weekday it was swapped with.
CHINA_HOLIDAYS = {
    2026: [
        (mark("New Year's Day"), date(2026, 1, 1), date(2026, 1, 3),
         [(date(2026, 1, 4), FRIDAY)]),
        (mark("Spring Festival"), date(2026, 2, 15), date(2026, 2, 23),
         [(date(2026, 2, 14), FRIDAY), (date(2026, 2, 28), MONDAY)]),
        (mark("Qingming Festival"), date(2026, 4, 4), date(2026, 4, 6), []),
        (mark("Labour Day"), date(2026, 5, 1), date(2026, 5, 5),
         [(date(2026, 5, 9), TUESDAY)]),
        (mark("Dragon Boat Festival"), date(2026, 6, 19), date(2026, 6, 21), []),
        (mark("Mid-Autumn Festival"), date(2026, 9, 25), date(2026, 9, 27), []),
        (mark("National Day"), date(2026, 10, 1), date(2026, 10, 7),
         [(date(2026, 9, 20), TUESDAY), (date(2026, 10, 10), WEDNESDAY)]),
    ],
}
ADJUSTED_WORKING_DAY = mark("Adjusted working day")

# name, priority, first response, next reply, resolution (working minutes: a working
# day of the standard calendar is 450 minutes)
POLICIES = [
    (mark("Urgent tickets"), "urgent", 30, 60, 240),
    (mark("High priority tickets"), "high", 60, 120, 450),
    (mark("Normal tickets"), "normal", 240, 480, 1350),
    (mark("Low priority tickets"), "low", 480, 900, 2250),
]
ROOT_CAUSES = [mark("Product defect"), mark("Late delivery"), mark("Installation or setup"),
               mark("Wrong or missing information"), mark("Staff attitude"),
               mark("Billing error"), mark("Other")]
KB_FOLDERS = [mark("Frequently asked questions"), mark("Troubleshooting"),
              mark("Product guides")]


def load(session):
    calendar = session.scalar(select(BusinessCalendar).where(
        BusinessCalendar.name == STANDARD_CALENDAR))
    if calendar is None and session.scalar(select(BusinessCalendar.id).limit(1)) is None:
        calendar = BusinessCalendar(name=STANDARD_CALENDAR, is_default=True,
                                    time_zone="Asia/Shanghai")
        calendar.periods = [WorkingPeriod(weekday=weekday, start=start, end=end)
                            for weekday in range(5) for start, end in WORKING_HOURS]
        session.add(calendar)
    if calendar is not None:
        add_missing_years(session, calendar)
    if session.scalar(select(SlaPolicy.id).limit(1)) is None:
        session.add_all(SlaPolicy(name=name, sequence=10 * (index + 1), priority=priority,
                                  first_response_minutes=first, next_reply_minutes=following,
                                  resolution_minutes=resolution, warning_percent=80)
                        for index, (name, priority, first, following, resolution)
                        in enumerate(POLICIES))
    if session.scalar(select(RootCause.id).limit(1)) is None:
        session.add_all(RootCause(name=name) for name in ROOT_CAUSES)
    if session.scalar(select(KbFolder.id).limit(1)) is None:
        session.add_all(KbFolder(name=name, sequence=10 * (index + 1))
                        for index, name in enumerate(KB_FOLDERS))
    session.flush()


def add_missing_years(session, calendar):
    """China's holidays of each year the calendar has no day of yet (a year an
    administrator has started keeping is left to them)."""
    kept = set() if calendar.id is None else {int(year) for year in session.scalars(
        select(extract("year", CalendarDay.day)).where(CalendarDay.calendar_id == calendar.id)
        .distinct())}
    for year, holidays in CHINA_HOLIDAYS.items():
        if year in kept:
            continue
        for name, first, last, working in holidays:
            for offset in range((last - first).days + 1):
                calendar.days.append(CalendarDay(day=first + timedelta(days=offset),
                                                 kind="holiday", name=name, like_weekday=0))
            for day, like in working:
                calendar.days.append(CalendarDay(day=day, kind="working day", like_weekday=like,
                                                 name=ADJUSTED_WORKING_DAY))
