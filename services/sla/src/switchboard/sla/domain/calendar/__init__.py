"""Business time: calendars of shifts, holidays and overrides, and the arithmetic over them (the one place for it).

Build a `BusinessCalendar` (it validates itself, raising `CalendarError`), then ask `open_intervals`,
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
)
from .model import ALWAYS_OPEN, WEEKDAYS, BusinessCalendar, CalendarError, Holiday, Shift, validate_calendar

__all__ = [
    "ALWAYS_OPEN",
    "HORIZON",
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarError",
    "Holiday",
    "Interval",
    "Shift",
    "add_business_minutes",
    "add_business_time",
    "business_minutes_between",
    "business_time_between",
    "open_intervals",
    "validate_calendar",
]
