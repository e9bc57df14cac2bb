"""Date and date-time inputs for every form: plain text boxes that take what is typed
or pasted in ISO form ("2026-12-09", "2026-12-09 14:00", with seconds too) and never
rewrite it, plus the core's own picker (core/static/core/crm-dates.js):
Monday first, its words in the user's language.

The base view's model converter gives every Date and DateTime column these fields; a
form an addon declares itself uses them too (``from core.dates import DateField``).
The list filters on dates take the same spellings (``DateFilterConverter``).
"""
from datetime import date, datetime, time

from babel.dates import format_skeleton, get_day_names, get_month_names
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from wtforms import fields, widgets

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"   # as shown: no seconds, no microseconds
DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
                    "%Y-%m-%dT%H:%M:%S")


def parse_date(text):
    """``date`` from "2026-12-09"; ValueError for anything else."""
    return datetime.strptime(" ".join(str(text).split()), DATE_FORMAT).date()


def parse_datetime(text):
    """``datetime`` from "2026-12-09 14:00" (seconds and a "T" allowed); ValueError
    for anything else. Extra spaces (as pasted) do not count."""
    text = " ".join(str(text).split())
    for spelling in DATETIME_FORMATS:
        try:
            return datetime.strptime(text, spelling)
        except ValueError:
            continue
    raise ValueError(text)


class DateInput(widgets.TextInput):
    """A text box the picker attaches to (by its data-role); the browser's own date
    box is not used: it cannot take a pasted ISO date, and its week starts where the
    browser's language says."""
    role = "crm-date"
    placeholder = "YYYY-MM-DD"

    def __call__(self, field, **kwargs):
        kwargs.setdefault("data-role", self.role)
        kwargs.setdefault("placeholder", self.placeholder)
        kwargs.setdefault("autocomplete", "off")
        kwargs.setdefault("spellcheck", "false")
        kwargs["type"] = "text"   # a template's type="date" would bring the browser's box
        return super().__call__(field, **kwargs)


class DateTimeInput(DateInput):
    role = "crm-datetime"
    placeholder = "YYYY-MM-DD HH:MM"


class TypedField:
    """The reading both fields share: empty is no value (required or optional say the
    rest); anything ``read`` cannot parse is an error on the field that says how to
    write it."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = " ".join(valuelist).strip()
        self.data = None
        if not text:
            return
        try:
            self.data = self.read(text)
        except ValueError:
            raise ValueError(self.how_to_write()) from None


class DateField(TypedField, fields.DateField):
    """A date typed or picked as YYYY-MM-DD. What was typed is shown back as typed."""
    widget = DateInput()

    def __init__(self, label=None, validators=None, format=DATE_FORMAT, **kwargs):
        super().__init__(label, validators, format=format, **kwargs)

    def read(self, text):
        return parse_date(text)

    def how_to_write(self):
        return _("Enter a date as YYYY-MM-DD.")


class DateTimeField(TypedField, fields.DateTimeField):
    """A date and time typed or picked as YYYY-MM-DD HH:MM (seconds allowed), shown
    without seconds. A stored value with seconds that comes back as shown keeps its
    seconds, so saving a form does not change a time nobody touched."""
    widget = DateTimeInput()

    def __init__(self, label=None, validators=None, format=DATETIME_FORMAT, **kwargs):
        super().__init__(label, validators, format=format, **kwargs)

    def read(self, text):
        value = parse_datetime(text)
        before = self.object_data
        if isinstance(before, datetime) and value == before.replace(second=0, microsecond=0):
            return before
        return value

    def how_to_write(self):
        return _("Enter a date and time as YYYY-MM-DD HH:MM.")


def shown(value):
    """A date-time as the inputs show it, "2026-12-09 14:00" (lists, pages)."""
    return value.strftime(DATETIME_FORMAT) if isinstance(value, datetime) else value


def picker_texts():
    """What the picker writes, in the user's language (a JSON blob on every page)."""
    locale = get_locale()
    months = get_month_names("wide", "stand-alone", locale=locale)
    days = get_day_names("short", "format", locale=locale)
    return {
        "months": [months[number] for number in range(1, 13)],
        "days": [days[number] for number in range(7)],   # Monday first, as the calendar
        # In their own context: "Today" and "Clear" mean other things elsewhere.
        "today": pgettext("date picker", "Today"), "now": pgettext("date picker", "Now"),
        "clear": pgettext("date picker", "Clear"), "close": pgettext("date picker", "Close"),
        "previous": pgettext("date picker", "Previous month"),
        "next": pgettext("date picker", "Next month"), "time": pgettext("date picker", "Time"),
    }


def init_app(app):
    app.jinja_env.globals["date_picker_texts"] = picker_texts


# -- list filters ----------------------------------------------------------------------
# Flask-Admin's date filters read exactly "%Y-%m-%d %H:%M:%S" for a date-time; these
# take what the inputs take. A date alone on a date-time filter means the whole day.

def _datetime_bound(text, end=False):
    text = text.strip()
    try:
        day = parse_date(text)
    except ValueError:
        return parse_datetime(text)
    return datetime.combine(day, time.max if end else time.min)


def _date_range(text):
    parts = text.split(" to ")
    if len(parts) != 2:
        raise ValueError(text)
    return [parse_date(part) for part in parts]


def _datetime_range(text):
    parts = text.split(" to ")
    if len(parts) != 2:
        raise ValueError(text)
    return [_datetime_bound(parts[0]), _datetime_bound(parts[1], end=True)]


class _DateValue:
    def clean(self, value):
        return parse_date(value)


class _DateTimeValue:
    def clean(self, value):
        return _datetime_bound(value)


class _DateRange:
    def clean(self, value):
        return _date_range(value)

    def validate(self, value):
        try:
            start, end = _date_range(value)
        except ValueError:
            return False
        return start <= end


class _DateTimeRange(_DateRange):
    def clean(self, value):
        return _datetime_range(value)

    def validate(self, value):
        try:
            start, end = _datetime_range(value)
        except ValueError:
            return False
        return start <= end


def _lenient(mixin, base):
    return type(base.__name__, (mixin, base), {})


class DateFilterConverter(sqla_filters.FilterConverter):
    date_filters = tuple(
        _lenient(_DateRange if issubclass(f, sqla_filters.DateBetweenFilter) else _DateValue, f)
        if f is not sqla_filters.FilterEmpty else f
        for f in sqla_filters.FilterConverter.date_filters)
    datetime_filters = tuple(
        _lenient(_DateTimeRange if issubclass(f, sqla_filters.DateTimeBetweenFilter)
                 else _DateTimeValue, f)
        if f is not sqla_filters.FilterEmpty else f
        for f in sqla_filters.FilterConverter.datetime_filters)


# -- periods of reports (by month, quarter or year) -----------------------------------------

def add_months(year, month, count):
    """(year, month) ``count`` months after (before, when negative) year/month."""
    index = year * 12 + month - 1 + count
    return index // 12, index % 12 + 1


def period_of(period, year, month):
    """The key of the month, quarter or year a month falls in: 2026-03, 2026-Q1, 2026."""
    if period == "month":
        return f"{year}-{month:02d}"
    if period == "quarter":
        return f"{year}-Q{(month - 1) // 3 + 1}"
    return str(year)


PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}
# The periods a report's page offers, with how many of the latest it shows.
REPORT_PERIODS = {"month": (_l("Month"), 12), "quarter": (_l("Quarter"), 8),
                  "year": (_l("Year"), 5)}


def month_name(year, month):
    """A month as the user's language writes it: Mar 2026, 2026年3月."""
    return format_skeleton("yMMM", date(year, month, 1), locale=get_locale())


def recent_periods(period, today, count=None):
    """The first day and the (key, title) of the last ``count`` months, quarters or
    years (as REPORT_PERIODS says when not given), the current one last: a month
    titled by its name, the others by their key."""
    count = count or REPORT_PERIODS[period][1]
    step = PERIOD_MONTHS[period]
    first_month = (today.month - 1) // step * step + 1
    starts = [add_months(today.year, first_month, step * n) for n in range(1 - count, 1)]
    return date(*starts[0], 1), [
        (period_of(period, y, m), month_name(y, m) if period == "month"
         else period_of(period, y, m)) for y, m in starts]
