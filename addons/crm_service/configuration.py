"""The service desk's configuration screens: SLA policies, business calendars (their
working periods and holidays edited on the calendar's own form), service teams and
ticket routing rules."""
from datetime import time

from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import SelectField, fields
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from addons.crm_service import sla
from addons.crm_service.models import WEEKDAYS, CalendarDay, WorkingPeriod
from core.admin import ModelView
from core.dates import TypedField
from core.i18n import label, lazy_label

LONGEST_TARGET = 60 * 24 * 366   # minutes: a year of working time is plenty


def weekday_choices():
    return [(number, lazy_label(name)) for number, name in enumerate(WEEKDAYS)]


def weekday_name(number):
    return label(WEEKDAYS[number]) if number is not None and 0 <= number < 7 else ""


class ClockField(TypedField, fields.Field):
    """A time of day typed as HH:MM; "24:00" (stored as 00:00) ends a period at
    midnight. What was typed is shown back as typed (core.dates' reading)."""

    widget = fields.StringField.widget

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"placeholder": "HH:MM", "autocomplete": "off",
                                        "size": 6})
        super().__init__(label, validators, **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.strftime("%H:%M") if self.data is not None else ""

    def read(self, text):
        hours, colon, minutes = text.partition(":")
        if not (colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
            raise ValueError(text)
        hours, minutes = int(hours), int(minutes)
        if (hours, minutes) == (24, 0):
            return time(0, 0)
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
        raise ValueError(text)

    def how_to_write(self):
        return _("Enter a time as HH:MM.")


def required_time(form, field):
    if field.data is None and not field.errors:
        raise ValidationError(_("Enter a time as HH:MM."))


class PeriodInline(InlineFormAdmin):
    """Working hours: a row per period (a day may have several: a lunch break)."""

    form_columns = ["id", "weekday", "start", "end"]

    def postprocess_form(self, form_class):
        form_class.weekday = SelectField(_l("Weekday"), coerce=int, choices=weekday_choices,
                                         validators=[InputRequired()])
        form_class.start = ClockField(_l("Start time"), validators=[required_time])
        form_class.end = ClockField(_l("End time"), validators=[required_time],
                                    description=_l("24:00 for midnight."))
        return form_class


class DayInline(InlineFormAdmin):
    """Public holidays, and weekend days that become working days (调休)."""

    form_columns = ["id", "day", "kind", "like_weekday", "name"]

    def postprocess_form(self, form_class):
        form_class.like_weekday = SelectField(
            _l("Worked like"), coerce=int, choices=weekday_choices, default=0,
            description=_l("For a working day: whose hours it has."))
        return form_class


def check_periods(form):
    """Each period ends after it starts, and no two periods of a weekday overlap; errors
    on the period's fields. True when all are fine."""
    fine = True
    by_weekday = {}
    for entry in _kept(form, "periods"):
        start, end, weekday = entry.form.start.data, entry.form.end.data, entry.form.weekday.data
        if start is None or end is None:
            continue
        start_s, end_s = sla.seconds_of(start), sla.seconds_of(end, end=True)
        if end_s <= start_s:
            entry.form.end.errors.append(_("The period ends before it starts."))
            fine = False
            continue
        by_weekday.setdefault(weekday, []).append((start_s, end_s, entry))
    for weekday, periods in by_weekday.items():
        periods.sort(key=lambda period: period[:2])
        for before, after in zip(periods, periods[1:]):
            if after[0] < before[1]:
                after[2].form.start.errors.append(_(
                    "This period overlaps another on %(weekday)s.",
                    weekday=weekday_name(weekday)))
                fine = False
    return fine


def check_days(form):
    """A date appears once; errors on the repeated date."""
    fine = True
    seen = set()
    for entry in _kept(form, "days"):
        day = entry.form.day.data
        if day is None:
            continue
        if day in seen:
            entry.form.day.errors.append(_("This date is listed twice."))
            fine = False
        seen.add(day)
    return fine


def _kept(form, name):
    field = getattr(form, name, None)
    if field is None or not hasattr(field, "entries"):
        return []
    return [entry for entry in field.entries if not field.should_delete(entry)]


def _errors_as_lists(form):
    """Fields that were not validated keep a tuple of errors: make them lists."""
    for name in ("periods", "days"):
        for entry in getattr(getattr(form, name, None), "entries", []):
            for field in entry.form:
                if not isinstance(field.errors, list):
                    field.errors = list(field.errors)


def periods_text(_view, _context, calendar, _name):
    """The working hours on the calendar's page: a line per weekday ("Monday
    09:00-12:00, 13:30-18:00"), escaped."""
    lines = []
    for number in range(7):
        spans = [f"{p.start:%H:%M}-{'24:00' if p.end == time(0) else format(p.end, '%H:%M')}"
                 for p in calendar.periods if p.weekday == number]
        if spans:
            lines.append(Markup("{}: {}").format(weekday_name(number), ", ".join(spans)))
    return Markup("<br>").join(lines) if lines else _("Around the clock (no working hours set)")


def days_text(_view, _context, calendar, _name):
    lines = []
    for day in calendar.days:
        kind = label(day.kind)
        if day.kind == "working day":
            kind = _("%(kind)s, worked like %(weekday)s", kind=kind,
                     weekday=weekday_name(day.like_weekday))
        lines.append(Markup("{} {} ({})").format(day.day.isoformat(), label(day.name), kind))
    return Markup("<br>").join(lines)


class CalendarView(ModelView):
    column_list = ["name", "time_zone", "is_default"]
    column_searchable_list = ["name"]
    column_filters = ["name", "time_zone", "is_default"]
    column_default_sort = [("name", False)]
    form_columns = ["name", "time_zone", "is_default", "periods", "days"]
    column_details_list = ["name", "time_zone", "is_default", "periods", "days"]
    column_formatters = {"name": lambda _v, _c, record, _n: label(record.name),
                         "time_zone": lambda _v, _c, record, _n: sla.zone_label(record.time_zone)}
    column_formatters_detail = {"periods": periods_text, "days": days_text,
                                "time_zone": lambda _v, _c, record, _n: sla.zone_label(
                                    record.time_zone)}
    form_overrides = {"time_zone": SelectField}
    form_args = {"time_zone": {"choices": sla.zone_choices, "default": sla.DEFAULT_TIME_ZONE,
                               "description": _l("Working hours are this zone's local times.")},
                 "is_default": {"description": _l(
                     "Used for tickets whose policy and team name no calendar. Only one "
                     "calendar is the default.")}}
    inline_models = [PeriodInline(WorkingPeriod), DayInline(CalendarDay)]
    allow_import = False   # periods and days live on the form only

    def validate_form(self, form):
        valid = super().validate_form(form)
        if not hasattr(form, "periods"):
            return valid
        _errors_as_lists(form)
        checked = check_periods(form)
        checked = check_days(form) and checked
        return valid and checked


def positive_minutes(form, field):
    if field.data is not None and not 1 <= field.data <= LONGEST_TARGET:
        raise ValidationError(_("Between 1 and %(most)d minutes.", most=LONGEST_TARGET))


TARGET_FIELDS = ("first_response_minutes", "next_reply_minutes", "resolution_minutes")


def check_some_target(form):
    """A policy sets at least one target (an error on the first response field)."""
    if any(field not in form for field in TARGET_FIELDS):
        return True
    if any(form[field].data for field in TARGET_FIELDS) or any(
            form[field].errors for field in TARGET_FIELDS):
        return True
    form["first_response_minutes"].errors = [*form["first_response_minutes"].errors,
                                             _("Set at least one target.")]
    return False


MINUTES = {"validators": [Optional(), positive_minutes]}


class SlaPolicyView(ModelView):
    column_list = ["sequence", "name", "active", "priority", "kind", "grade", "customer",
                   "first_response_minutes", "resolution_minutes", "calendar"]
    column_searchable_list = ["name"]
    column_filters = ["name", "active", "priority", "kind", "grade", "customer.name",
                      "calendar.name"]
    column_default_sort = [("sequence", False), ("id", False)]
    form_columns = ["name", "sequence", "active", "priority", "kind", "grade", "customer",
                    "first_response_minutes", "next_reply_minutes", "resolution_minutes",
                    "warning_percent", "calendar", "raise_priority", "reassign_to"]
    column_details_list = form_columns
    column_formatters = {"name": lambda _v, _c, record, _n: label(record.name)}
    column_descriptions = {
        "calendar": _l("Empty: the team's calendar, else the default calendar, else "
                       "around the clock (24 hours, 7 days)."),
        "sequence": _l("The first active policy in this order whose conditions all hold "
                       "applies to a new ticket; an empty condition holds for every ticket."),
        "next_reply_minutes": _l("From a customer's message after a reply to the next reply."),
        "warning_percent": _l("The assignee is warned when this share of a target is used."),
    }
    form_args = {"first_response_minutes": MINUTES, "next_reply_minutes": MINUTES,
                 "resolution_minutes": MINUTES,
                 "warning_percent": {"validators": [InputRequired(), NumberRange(
                     1, 100, message=_l("Between 1 and 100."))], "default": 80}}

    def validate_form(self, form):
        valid = super().validate_form(form)
        return check_some_target(form) and valid


class ServiceTeamView(ModelView):
    column_list = ["team", "calendar", "assignment", "email"]
    column_filters = ["assignment", "calendar.name", "team.name"]
    column_searchable_list = ["email"]
    form_columns = ["team", "calendar", "assignment", "email"]
    column_details_list = form_columns
    column_descriptions = {
        "calendar": _l("Empty: the default calendar. A policy's own calendar comes first."),
        "assignment": _l("Round robin: in turn among the team's members; least open: to the "
                         "member with the fewest open tickets; manual: to nobody."),
        "email": _l("Tickets e-mailed to this address go to this team."),
    }


class RoutingRuleView(ModelView):
    column_list = ["sequence", "kind", "product", "grade", "team", "user"]
    column_filters = ["kind", "grade", "product.name", "team.name"]
    column_searchable_list = []
    column_default_sort = [("sequence", False), ("id", False)]
    form_columns = ["sequence", "kind", "product", "grade", "team", "user"]
    column_details_list = form_columns
    column_descriptions = {
        "sequence": _l("The first rule in this order whose conditions all hold routes a new "
                       "ticket; an empty condition holds for every ticket."),
        "user": _l("Empty: the team's assignment method chooses."),
    }
