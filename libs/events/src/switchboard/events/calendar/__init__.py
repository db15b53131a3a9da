"""Business time: calendars of shifts, holidays and overrides, and the arithmetic over them (the one place for it).

SLA counts its deadlines with it and reporting its business minutes, so both count the same way; it lives with
the event catalogue because events carry calendars (`CalendarSpec`, on `SlaClockStarted`).

Build a `BusinessCalendar` (it validates itself, raising `CalendarError`) directly, from plain data with
`calendar_from_dict`, or from an event's spec with `calendar_of`; then ask `open_intervals`,
`add_business_minutes` / `add_business_time` and `business_minutes_between` / `business_time_between`.
`ALWAYS_OPEN` is the 24/7 calendar, for targets that count calendar time.
"""

from .arithmetic import (
    HORIZON,
    Interval,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    business_time_between,
    open_intervals,
    utc,
)
from .model import ALWAYS_OPEN, WEEKDAYS, BusinessCalendar, CalendarError, Holiday, Shift, validate_calendar
from .parse import calendar_from_dict, calendar_of, parse_holiday, parse_shift
from .spec import CalendarSpec

__all__ = [
    "ALWAYS_OPEN",
    "HORIZON",
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarError",
    "CalendarSpec",
    "Holiday",
    "Interval",
    "Shift",
    "add_business_minutes",
    "add_business_time",
    "business_minutes_between",
    "business_time_between",
    "calendar_from_dict",
    "calendar_of",
    "open_intervals",
    "parse_holiday",
    "parse_shift",
    "utc",
    "validate_calendar",
]
