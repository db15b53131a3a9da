"""Business calendars: working shifts per weekday, holidays and per-date overrides, validated when built.

What counts as business time, in local wall-clock terms of the calendar's zone:

- a *shift* belongs to the local day it starts on and runs [start, end); an overnight shift ends the next day;
- a local day's shifts are its `overrides` entry if it has one (an empty entry closes the day), else its
  weekday's shifts from `weekly`;
- a *holiday* removes exactly its own local date, from midnight to midnight, and nothing else: no business
  time lies on it, so an overnight shift from its eve stops at midnight, and an overnight shift that starts on
  its evening counts from midnight on, when the next date is a working date (the after-midnight hours lie on
  that date, as Zammad's calendars and RT's Business::Hours count them). Two holidays in a row close the
  night between them too. (An override does not beat a holiday: to open on a holiday, drop the holiday.)

How those local times become UTC across DST is in `zones.py`; the text format that describes a calendar is in
`parse.py`, and the same description as event data in `spec.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from itertools import pairwise
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .spec import CalendarSpec

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_US = 86_400_000_000
_WEEK_US = 7 * _DAY_US
_ANY_LEAP_YEAR = 2000
_K = TypeVar("_K")


class CalendarError(ValueError):
    """A calendar that cannot be used, or business time that cannot be found; the message says exactly why."""


def _us(at: time) -> int:
    return ((at.hour * 60 + at.minute) * 60 + at.second) * 1_000_000 + at.microsecond


@dataclass(frozen=True)
class Shift:
    """Working hours starting on a local day: [start, end), ending the next day when `overnight`.

    The rule: without `overnight` a shift ends the same day, so `end` must be after `start` (else it is
    inverted); with `overnight` it ends the next day at `end`, which must not be after `start` (a shift lasts
    at most 24 hours). "Until midnight" is `Shift(time(18), time(0), overnight=True)`; a whole day is
    `Shift(time(0), time(0), overnight=True)`. Times are naive local wall-clock times.
    """

    start: time
    end: time
    overnight: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.start, time) or not isinstance(self.end, time):
            raise CalendarError(f"shift bounds must be times of day, got {self.start!r} and {self.end!r}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise CalendarError(f"shift {self} must use local wall-clock times without a time zone")
        if not self.overnight and self.end <= self.start:
            raise CalendarError(
                f"shift {self} is inverted: it ends at or before it starts (mark it overnight if it ends the next day)"
            )
        if self.overnight and self.end > self.start:
            raise CalendarError(f"overnight shift {self} would last more than 24 hours")

    @property
    def span_us(self) -> tuple[int, int]:
        """Start and end in microseconds after the local midnight that begins the shift's day."""
        return _us(self.start), _us(self.end) + (_DAY_US if self.overnight else 0)

    def __str__(self) -> str:
        def hhmm(at: time) -> str:
            return at.isoformat(timespec="minutes" if not (at.second or at.microsecond) else "auto")

        return f"{hhmm(self.start)}-{hhmm(self.end)}{'+1' if self.overnight else ''}"


@dataclass(frozen=True)
class Holiday:
    """Closed local days: one date, an inclusive range `first..last`, or the same month/day(s) every year.

    A yearly holiday ignores the year of `first` and `last`, and its range may wrap over New Year
    (12-24..01-02). Build them with `Holiday(date)`, `Holiday(first, last)` or `Holiday.every_year(...)`.
    """

    first: date
    last: date | None = None
    yearly: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        for bound in (self.first, self.last):
            if bound is not None and (isinstance(bound, datetime) or not isinstance(bound, date)):
                raise CalendarError(f"holiday bounds must be dates, got {bound!r}")
        if not self.yearly and self.last is not None and self.last < self.first:
            raise CalendarError(f"holiday range {self.first}..{self.last} ends before it starts")

    @classmethod
    def every_year(cls, month: int, day: int, *, until: tuple[int, int] | None = None, name: str = "") -> Holiday:
        """A holiday on `month`/`day` every year, through `until` = (month, day) when it lasts several days."""
        try:
            first = date(_ANY_LEAP_YEAR, month, day)
            last = date(_ANY_LEAP_YEAR, *until) if until is not None else None
        except ValueError as error:
            raise CalendarError(f"yearly holiday {month:02}-{day:02}: {error}") from None
        return cls(first, last, yearly=True, name=name)

    def covers(self, day: date) -> bool:
        """Whether the office is closed on local date `day` because of this holiday."""
        last = self.last or self.first
        if not self.yearly:
            return self.first <= day <= last
        key, low, high = (day.month, day.day), (self.first.month, self.first.day), (last.month, last.day)
        return low <= key <= high if low <= high else key >= low or key <= high


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works, in its own time zone; building one validates it (see `validate_calendar`).

    `weekly` maps a weekday (0 = Monday .. 6 = Sunday) to its shifts; missing days are closed. `overrides` maps a
    local date to the shifts that replace that day's weekly hours (an empty tuple closes it).

    `spec` is the description the calendar was read from, when it was read from a stored one under an id: SLA's
    events carry it, so that whoever counts business time after SLA counts on the very same calendar. It takes
    no part in comparisons: two calendars with the same hours are equal, whatever they were read from.
    """

    time_zone: str
    weekly: Mapping[int, tuple[Shift, ...]]
    holidays: tuple[Holiday, ...] = ()
    overrides: Mapping[date, tuple[Shift, ...]] = field(default_factory=dict)
    spec: CalendarSpec | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        def tuples(mapping: Mapping[_K, tuple[Shift, ...]]) -> dict[_K, tuple[Shift, ...]]:
            return {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in mapping.items()}

        object.__setattr__(self, "weekly", tuples(self.weekly))
        object.__setattr__(self, "overrides", tuples(self.overrides))
        object.__setattr__(self, "holidays", tuple(self.holidays))
        validate_calendar(self)
        # Private sorted copies, read-only by convention (plain dicts stay serialisable).
        object.__setattr__(self, "weekly", {d: _sorted(s) for d, s in sorted(self.weekly.items())})
        object.__setattr__(self, "overrides", {d: _sorted(s) for d, s in sorted(self.overrides.items())})

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @cached_property
    def always_open(self) -> bool:
        """True for a plain 24/7 calendar, whose business time is simply calendar time (a fast path)."""
        whole_day = (Shift(time(0), time(0), overnight=True),)
        return not self.holidays and not self.overrides and all(self.weekly.get(d) == whole_day for d in range(7))

    def shifts_on(self, day: date) -> tuple[Shift, ...]:
        """The shifts starting on local date `day`, ignoring holidays."""
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), ())

    def is_holiday(self, day: date) -> bool:
        return any(holiday.covers(day) for holiday in self.holidays)


def _sorted(shifts: tuple[Shift, ...]) -> tuple[Shift, ...]:
    return tuple(sorted(shifts, key=lambda shift: shift.span_us))


def validate_calendar(calendar: BusinessCalendar) -> None:
    """Raise `CalendarError` saying precisely what is wrong, or return if the calendar is usable.

    Checked: the zone is a known IANA name; weekdays are 0..6; shifts are `Shift`s (inverted ones cannot be
    built); no two shifts overlap, across midnight and across the week's end too, nor around an override;
    override keys are dates; holidays are `Holiday`s with ordered ranges; some working time exists.
    """
    _check_zone(calendar.time_zone)
    for weekday, shifts in calendar.weekly.items():
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            raise CalendarError(f"weekday {weekday!r} is not 0 (Monday) .. 6 (Sunday)")
        _check_shifts(shifts, f"{WEEKDAYS[weekday]} shifts")
    for day, shifts in calendar.overrides.items():
        if isinstance(day, datetime) or not isinstance(day, date):
            raise CalendarError(f"override key {day!r} is not a date")
        _check_shifts(shifts, f"override {day}")
    for holiday in calendar.holidays:
        if not isinstance(holiday, Holiday):
            raise CalendarError(f"holiday {holiday!r} is not a Holiday")
    _check_weekly_overlaps(calendar.weekly)
    for day in calendar.overrides:
        _check_around(calendar, day)
    if not any(calendar.weekly.values()):
        raise CalendarError("calendar has no working time: no weekday has a shift")
    yearly = [holiday for holiday in calendar.holidays if holiday.yearly]
    if yearly and all(any(h.covers(day) for h in yearly) for day in _days_of(2025)):
        raise CalendarError("calendar has no working time: yearly holidays cover the whole year")


def _check_zone(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise CalendarError(f"time zone must be an IANA name such as 'Europe/Kyiv', got {name!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarError(f"unknown time zone {name!r}") from None


def _check_shifts(shifts: object, where: str) -> None:
    if not isinstance(shifts, tuple) or not all(isinstance(shift, Shift) for shift in shifts):
        raise CalendarError(f"{where} must be a tuple of Shift, got {shifts!r}")


def _check_weekly_overlaps(weekly: Mapping[int, tuple[Shift, ...]]) -> None:
    placed = [
        (day * _DAY_US + start + week, day * _DAY_US + end + week, f"{WEEKDAYS[day]} shift {shift}")
        for day, shifts in weekly.items()
        for shift in shifts
        for start, end in [shift.span_us]
        for week in (0, _WEEK_US)  # a copy one week later catches Sunday night running into Monday
    ]
    _check_no_overlap(placed)


def _check_around(calendar: BusinessCalendar, day: date) -> None:
    """An override must fit the night before it and the morning after it."""
    placed = []
    for offset, each in enumerate((day - timedelta(days=1), day, day + timedelta(days=1))):
        label = f"override {each} shift" if each in calendar.overrides else f"{each} ({WEEKDAYS[each.weekday()]}) shift"
        for shift in calendar.shifts_on(each):
            start, end = shift.span_us
            placed.append((offset * _DAY_US + start, offset * _DAY_US + end, f"{label} {shift}"))
    _check_no_overlap(placed)


def _check_no_overlap(placed: list[tuple[int, int, str]]) -> None:
    for (_, end, first), (start, _, second) in pairwise(sorted(placed)):
        if start < end:
            raise CalendarError(f"{first} overlaps {second}")


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


#: Every minute counts: business time equals calendar time (used for calendar-time targets).
ALWAYS_OPEN = BusinessCalendar("UTC", {day: (Shift(time(0), time(0), overnight=True),) for day in range(7)})
