"""Business-time arithmetic over a `BusinessCalendar`: the one place that turns shifts into UTC intervals.

Everything works per LOCAL date, so DST is honoured: a day's shifts are placed on that day's wall clock and
converted with `zones.local_to_utc`. Amounts are exact `timedelta`s (microseconds) inside; the `*_minutes`
functions are float conveniences over them. All datetimes in and out are timezone-aware UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from .model import BusinessCalendar, CalendarError
from .zones import local_date, local_to_utc

Interval = tuple[datetime, datetime]

#: If the calendar has no business time at all for this long, `add_*` gives up instead of searching forever.
HORIZON = timedelta(days=731)
_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_FAR = datetime(9000, 1, 1, tzinfo=UTC)


def utc(instant: datetime, name: str = "datetime") -> datetime:
    """`instant` in UTC; a naive datetime is a programming error, since it names no instant."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


def open_intervals(calendar: BusinessCalendar, start_utc: datetime, end_utc: datetime) -> Iterator[Interval]:
    """Business time within [start_utc, end_utc) as sorted, disjoint, non-adjacent UTC [start, end) intervals."""
    start, end = utc(start_utc, "start_utc"), utc(end_utc, "end_utc")
    if end <= start:
        return iter(())
    if calendar.always_open:
        return iter([(start, end)])
    last = local_date(calendar.zone, end)
    days = _days(calendar, local_date(calendar.zone, start) - _DAY, until=last)
    return _merged(_clipped(days, start, end))


def add_business_time(
    calendar: BusinessCalendar, start_utc: datetime, amount: timedelta, pauses: Iterable[Interval] = ()
) -> datetime:
    """The earliest instant t >= start_utc with `amount` of business time (outside `pauses`) in [start_utc, t).

    So the deadline of "N business minutes from start": counting begins at the next opening when start is
    outside hours, and a budget used up exactly at closing time ends AT closing time (not at the next
    opening), which keeps add(add(a, n), m) == add(a, n + m). A zero amount gives start itself. Raises
    `CalendarError` when the calendar has no business time at all for `HORIZON` (two years).
    """
    start = utc(start_utc, "start_utc")
    if amount < _ZERO:
        raise ValueError(f"cannot add a negative amount of business time ({amount})")
    if amount == _ZERO:
        return start
    remaining = amount
    for begin, end in _without(_from(calendar, start), _merged_pauses(pauses)):
        if remaining <= end - begin:
            return begin + remaining
        remaining -= end - begin
    raise CalendarError("no business time left before the end of the supported date range")  # pragma: no cover


def business_time_between(
    calendar: BusinessCalendar, a: datetime, b: datetime, pauses: Iterable[Interval] = ()
) -> timedelta:
    """Business time in [a, b) minus that inside any of `pauses` (which may overlap); zero when b <= a."""
    return sum((end - begin for begin, end in _without(open_intervals(calendar, a, b), _merged_pauses(pauses))), _ZERO)


def add_business_minutes(
    calendar: BusinessCalendar, start_utc: datetime, minutes: float, pauses: Iterable[Interval] = ()
) -> datetime:
    """Deadline = start + `minutes` business minutes (fractions allowed); see `add_business_time`."""
    if not math.isfinite(minutes):
        raise ValueError(f"minutes must be a finite number, got {minutes}")
    if minutes < 0:
        raise ValueError(f"cannot add a negative number of business minutes ({minutes})")
    return add_business_time(calendar, start_utc, timedelta(minutes=minutes), pauses)


def business_minutes_between(
    calendar: BusinessCalendar, a: datetime, b: datetime, pauses: Iterable[Interval] = ()
) -> float:
    """Elapsed business minutes from a to b, minus the business minutes inside `pauses`; 0 when b <= a."""
    return business_time_between(calendar, a, b, pauses) / timedelta(minutes=1)


# --- internals ------------------------------------------------------------------------------------------------


def day_intervals(calendar: BusinessCalendar, day: date) -> list[Interval]:
    """UTC intervals of the shifts starting on local date `day`, without the hours that fall on a holiday.

    A holiday removes exactly its own local date (see `model.py`): a shift starting on it counts only its part
    after midnight, on the next date, if that date is a working one; a night shift from a holiday's eve stops at
    the holiday's midnight. So a night desk that starts work on a holiday evening still works the morning after,
    as Zammad's calendars and RT's Business::Hours count it.
    """
    shifts = calendar.shifts_on(day)
    if not shifts:
        return []
    key, out = calendar.time_zone, []
    closed_today = calendar.is_holiday(day)
    closed_tomorrow: bool | None = None  # looked up only for a shift that runs into tomorrow
    for shift in shifts:
        if not shift.overnight:
            if not closed_today:
                out.append((local_to_utc(key, day, shift.start), local_to_utc(key, day, shift.end)))
            continue
        begin, end = local_to_utc(key, day, shift.start), local_to_utc(key, day + _DAY, shift.end)
        midnight = local_to_utc(key, day + _DAY, time(0))
        if closed_tomorrow is None:
            closed_tomorrow = calendar.is_holiday(day + _DAY)
        if closed_today:
            begin = max(begin, midnight)
        if closed_tomorrow:
            end = min(end, midnight)
        if end > begin:
            out.append((begin, end))
    return out


def _days(calendar: BusinessCalendar, first: date, *, until: date | None = None) -> Iterator[Interval]:
    day = first
    while until is None or day <= until:
        yield from day_intervals(calendar, day)
        day += _DAY


def _from(calendar: BusinessCalendar, start: datetime) -> Iterator[Interval]:
    """Business time from `start` on, endlessly; `CalendarError` after `HORIZON` without any."""
    if calendar.always_open:
        yield (start, _FAR)
        return
    day = local_date(calendar.zone, start) - _DAY
    last_open = start
    while True:
        found = [(max(b, start), e) for b, e in day_intervals(calendar, day) if e > start]
        if found:
            yield from found
            last_open = found[-1][1]
        elif local_to_utc(calendar.time_zone, day, time(0)) - last_open > HORIZON:
            raise CalendarError(
                f"no business time in the {HORIZON.days} days after {last_open.isoformat()} "
                f"(calendar in {calendar.time_zone}): check its holidays and overrides"
            )
        day += _DAY


def _clipped(intervals: Iterable[Interval], start: datetime, end: datetime) -> Iterator[Interval]:
    for begin, finish in intervals:
        begin, finish = max(begin, start), min(finish, end)
        if finish > begin:
            yield begin, finish


def _merged(intervals: Iterable[Interval]) -> Iterator[Interval]:
    """Join touching or overlapping sorted intervals."""
    current: Interval | None = None
    for begin, end in intervals:
        if current is not None and begin <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            yield current
        current = (begin, end)
    if current is not None:
        yield current


def _merged_pauses(pauses: Iterable[Interval]) -> list[Interval]:
    cleaned = sorted((utc(b, "pause start"), utc(e, "pause end")) for b, e in pauses)
    return list(_merged((b, e) for b, e in cleaned if e > b))


def _without(intervals: Iterable[Interval], pauses: list[Interval]) -> Iterator[Interval]:
    """The parts of sorted `intervals` outside sorted, disjoint `pauses`."""
    first = 0
    for begin, end in intervals:
        while first < len(pauses) and pauses[first][1] <= begin:
            first += 1
        cursor, index = begin, first
        while index < len(pauses) and pauses[index][0] < end and cursor < end:
            pause_start, pause_end = pauses[index]
            if pause_start > cursor:
                yield cursor, pause_start
            cursor = max(cursor, pause_end)
            index += 1
        if cursor < end:
            yield cursor, end
