"""Calendars from plain data (YAML, JSON, stored documents, an event's `CalendarSpec`): one format everywhere.

::

    time_zone: Europe/Kyiv
    weekly: {mon-fri: ["09:00-18:00"], sat: ["10:00-14:00"], sun: ["22:00-06:00+1"]}   # "+1": ends next day
    holidays: ["2025-12-25..2026-01-01", "2025-05-01", "yearly 01-01", "yearly 12-24..12-26"]
    overrides: {"2025-06-01": ["10:00-14:00"], "2025-06-02": []}                    # [] closes the day

A shift ending at "24:00" runs until midnight (it is `Shift(start, 00:00, overnight=True)`). Unknown keys are
errors, so a typo never silently changes business hours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from functools import lru_cache
from typing import Any

from .model import BusinessCalendar, CalendarError, Holiday, Shift
from .spec import CalendarSpec

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_KEYS = frozenset({"time_zone", "weekly", "holidays", "overrides"})
_SHIFT = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*(\+1)?\s*$")
_YEARLY = re.compile(r"^yearly\s+(\d{2})-(\d{2})(?:\.\.(\d{2})-(\d{2}))?$")


def calendar_from_dict(data: Mapping[str, Any], *, calendar_id: str | None = None) -> BusinessCalendar:
    """A validated calendar from the format above; `CalendarError` names what is wrong.

    Given the calendar's id, the calendar carries its spec (`BusinessCalendar.spec`), for the events that name
    the calendar a clock counts on.
    """
    if not isinstance(data, Mapping):
        raise CalendarError(f"calendar must be a mapping, got {data!r}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise CalendarError(f"calendar: unknown keys {unknown}; allowed: {sorted(_KEYS)}")
    weekly: dict[int, tuple[Shift, ...]] = {}
    for key, shifts in dict(data.get("weekly") or {}).items():
        for day in _weekdays(key):
            if day in weekly:
                raise CalendarError(f"weekday {DAYS[day]} is given twice in weekly hours")
            weekly[day] = tuple(parse_shift(text) for text in shifts)
    overrides = {
        _date(key): tuple(parse_shift(text) for text in shifts)
        for key, shifts in dict(data.get("overrides") or {}).items()
    }
    holidays = tuple(parse_holiday(text) for text in data.get("holidays") or ())
    spec = None if calendar_id is None else CalendarSpec.of(calendar_id, data)
    return BusinessCalendar(str(data.get("time_zone", "")), weekly, holidays, overrides, spec=spec)


def calendar_of(spec: CalendarSpec) -> BusinessCalendar:
    """The calendar an event's spec describes (`CalendarError` if it is not usable), built once per distinct spec:
    a consumer folding many tickets meets the same few calendars again and again."""
    return _built(spec.model_dump_json())


@lru_cache(maxsize=256)
def _built(spec_json: str) -> BusinessCalendar:
    spec = CalendarSpec.model_validate_json(spec_json)
    return calendar_from_dict(spec.as_document(), calendar_id=spec.id)


def parse_shift(text: str) -> Shift:
    """'09:00-17:00', '22:00-06:00+1' (ends the next day) or '18:00-24:00' (until midnight)."""
    match = _SHIFT.match(str(text))
    if not match:
        raise CalendarError(f"shift {text!r} is not like '09:00-17:00' or '22:00-06:00+1'")
    start, end, next_day = match.groups()
    if end == "24:00":
        if next_day:
            raise CalendarError(f"shift {text!r}: 24:00 already means midnight, drop the '+1'")
        return Shift(_time(start, text), time(0), overnight=True)
    return Shift(_time(start, text), _time(end, text), overnight=bool(next_day))


def parse_holiday(text: str) -> Holiday:
    """'2025-12-25', '2025-12-25..2026-01-01', 'yearly 01-01' or 'yearly 12-24..12-26' (may wrap New Year)."""
    value = str(text).strip()
    yearly = _YEARLY.match(value)
    if yearly:
        month, day, end_month, end_day = yearly.groups()
        until = (int(end_month), int(end_day)) if end_month else None
        return Holiday.every_year(int(month), int(day), until=until)
    first, _, last = value.partition("..")
    return Holiday(_date(first), _date(last) if last else None)


def _weekdays(key: object) -> list[int]:
    text = str(key).strip().lower()
    if text == "daily":
        return list(range(7))
    first, _, last = text.partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise CalendarError(f"weekly key {key!r} is not a day like 'mon', a range like 'mon-fri', or 'daily'")
    low, high = DAYS.index(first), DAYS.index(last or first)
    if high < low:
        raise CalendarError(f"weekday range {key!r} runs backwards")
    return list(range(low, high + 1))


def _time(text: str, shift: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise CalendarError(f"shift {shift!r}: {text} is not a time of day")
    return time(hours, minutes)


def _date(value: object) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise CalendarError(f"{value!r} is not a date like 2025-12-25") from None
