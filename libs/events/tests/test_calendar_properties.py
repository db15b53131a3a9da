"""Business-time laws for random calendars (night shifts, holidays, overrides) in zones with and without DST.

The oracle for "is this instant business time?" reads the local wall clock directly, independently of the
interval arithmetic; it skips instants whose wall-clock time is repeated at fall-back, where "first
occurrence" makes wall-clock reading and real time legitimately disagree.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from switchboard.events.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    Holiday,
    Shift,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    business_time_between,
    open_intervals,
)

pytestmark = pytest.mark.unit

ZONES = ("Europe/Kyiv", "America/New_York", "Asia/Baku", "Europe/Istanbul", "Pacific/Kiritimati", "Pacific/Pago_Pago")
TRANSITIONS = [
    datetime.fromisoformat(t)
    for t in (
        "2024-03-31T01:00Z", "2024-10-27T01:00Z", "2025-03-30T01:00Z", "2025-10-26T01:00Z",  # Kyiv
        "2024-03-10T07:00Z", "2024-11-03T06:00Z", "2025-03-09T07:00Z", "2025-11-02T06:00Z",  # New York
    )
]  # fmt: skip
SLOT = 15  # minutes: shift bounds fall on quarter hours, so some land exactly on DST transitions
EPSILON = 1e-6
LAWS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _at(slot: int) -> time:
    return time(slot * SLOT // 60, slot * SLOT % 60)


@st.composite
def calendars(draw: st.DrawFn, around: date | None = None) -> BusinessCalendar:
    """A valid calendar; with `around`, its holidays and overrides fall within days of that date."""
    zone = draw(st.sampled_from(ZONES))
    days: dict[int, list[tuple[int, int]]] = {}
    bound = st.one_of(st.integers(0, 96), st.integers(7, 17))  # often 01:45-04:15, where DST moves the clock
    for day in range(7):
        points = sorted(draw(st.sets(bound, max_size=4)))
        days[day] = [(points[i], points[i + 1]) for i in range(0, len(points) - 1, 2)]
    assume(any(days.values()))
    weekly: dict[int, tuple[Shift, ...]] = {}
    for day, spans in days.items():
        shifts = [Shift(_at(a), _at(b)) if b < 96 else Shift(_at(a), time(0), overnight=True) for a, b in spans]
        last_end = spans[-1][1] if spans else 0
        next_start = days[(day + 1) % 7][0][0] if days[(day + 1) % 7] else 96
        if last_end < 95 and draw(st.booleans()):  # a night shift: from 20:00 or later to 06:00 or earlier
            start = draw(st.integers(max(80, last_end), 95))
            end = draw(st.integers(0, min(24, next_start)))
            shifts.append(Shift(_at(start), _at(end), overnight=True))
        weekly[day] = tuple(shifts)
    low, high = (
        (around - timedelta(days=3), around + timedelta(days=12)) if around else (date(2024, 1, 1), date(2026, 12, 31))
    )
    holidays = draw(st.lists(_holidays(st.dates(low, high)), max_size=3))
    overrides = draw(st.dictionaries(st.dates(low, high), _day_shifts(), max_size=2))
    return BusinessCalendar(zone, weekly, tuple(holidays), overrides)


def scenes() -> st.SearchStrategy[tuple[BusinessCalendar, datetime]]:
    """A calendar and a start, the calendar's holidays and overrides close to the start."""
    return instants().flatmap(lambda start: st.tuples(calendars(around=start.date()), st.just(start)))


def _holidays(day: st.SearchStrategy[date]) -> st.SearchStrategy[Holiday]:
    one = day.map(Holiday)
    ranged = st.tuples(day, st.integers(0, 4)).map(lambda t: Holiday(t[0], t[0] + timedelta(days=t[1])))
    yearly = st.tuples(day, st.integers(0, 5)).map(lambda t: Holiday(t[0], t[0] + timedelta(days=t[1]), yearly=True))
    return st.one_of(one, ranged, yearly)


def _day_shifts() -> st.SearchStrategy[tuple[Shift, ...]]:
    """Override hours between 06:00 and 20:00, clear of any night shift's two ends."""
    span = st.tuples(st.integers(24, 79), st.integers(1, 20)).map(lambda t: (t[0], min(80, t[0] + t[1])))
    return st.one_of(st.just(()), span.map(lambda s: (Shift(_at(s[0]), _at(s[1])),)))


def instants() -> st.SearchStrategy[datetime]:
    anywhere = st.datetimes(datetime(2024, 1, 1), datetime(2026, 6, 1)).map(lambda d: d.replace(tzinfo=UTC))
    near = st.tuples(st.sampled_from(TRANSITIONS), st.integers(-3 * 24 * 60, 3 * 24 * 60)).map(
        lambda t: t[0] + timedelta(minutes=t[1])
    )
    return st.one_of(anywhere, near)


budgets = st.one_of(st.integers(0, 3000), st.floats(0, 3000, allow_nan=False, allow_infinity=False))


def is_business_time(cal: BusinessCalendar, instant: datetime) -> bool:
    """Read the wall clock: inside a shift of its local day (or last night's), and not on a holiday.

    A holiday removes exactly its own date: last night's shift counts after midnight even if it started on a
    holiday evening."""
    local = instant.astimezone(cal.zone)
    day, now = local.date(), local.time().replace(tzinfo=None)
    if cal.is_holiday(day):
        return False
    today = any(s.start <= now and (s.overnight or now < s.end) for s in cal.shifts_on(day))
    eve = day - timedelta(days=1)
    last_night = any(s.overnight and now < s.end for s in cal.shifts_on(eve))
    return today or last_night


def is_repeated(zone: ZoneInfo, instant: datetime) -> bool:
    naive = instant.astimezone(zone).replace(tzinfo=None)
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()


# --- laws -----------------------------------------------------------------------------------------------------


@LAWS
@given(scenes(), budgets)
def test_the_business_time_between_start_and_deadline_is_the_budget(
    scene: tuple[BusinessCalendar, datetime], minutes: float
) -> None:
    cal, start = scene
    deadline = add_business_minutes(cal, start, minutes)
    assert deadline >= start
    assert abs(business_minutes_between(cal, start, deadline) - minutes) < EPSILON


@LAWS
@given(calendars(), instants(), budgets, budgets)
def test_a_bigger_budget_never_gives_an_earlier_deadline(
    cal: BusinessCalendar, start: datetime, first: float, second: float
) -> None:
    low, high = sorted((first, second))
    assert add_business_minutes(cal, start, low) <= add_business_minutes(cal, start, high)


@LAWS
@given(scenes(), st.integers(0, 2000 * 60_000_000), st.integers(0, 2000 * 60_000_000))
def test_adding_in_two_steps_is_adding_once(scene: tuple[BusinessCalendar, datetime], n: int, m: int) -> None:
    cal, start = scene
    # Exact microsecond budgets: even landing exactly on a closing time composes, because the earliest
    # instant with the budget used up IS the closing time, and counting on from there starts at the next opening.
    first, second = timedelta(microseconds=n), timedelta(microseconds=m)
    in_two = add_business_time(cal, add_business_time(cal, start, first), second)
    assert in_two == add_business_time(cal, start, first + second)


@LAWS
@given(scenes(), st.integers(0, 20 * 24 * 60), st.integers(0, 20 * 24 * 60))
def test_business_time_adds_up_over_consecutive_stretches(
    scene: tuple[BusinessCalendar, datetime], first: int, second: int
) -> None:
    cal, a = scene
    b, c = a + timedelta(minutes=first), a + timedelta(minutes=first + second)
    assert business_time_between(cal, a, b) + business_time_between(cal, b, c) == business_time_between(cal, a, c)
    assert business_minutes_between(cal, a, c) <= (c - a) / timedelta(minutes=1)


@LAWS
@given(scenes(), st.integers(1, 10 * 24 * 60), st.lists(st.integers(0, 60 * 24 * 60), max_size=12))
def test_every_business_instant_is_in_a_shift_and_on_no_holiday(
    scene: tuple[BusinessCalendar, datetime], minutes: int, probes: list[int]
) -> None:
    cal, start = scene
    end = start + timedelta(minutes=minutes)
    intervals = list(open_intervals(cal, start, end))
    for (_, first_end), (second_start, _) in itertools.pairwise(intervals):
        assert first_end < second_start  # sorted, disjoint, and touching stretches merged
    tick = timedelta(microseconds=1)
    for begin, finish in intervals:
        assert start <= begin < finish <= end
        for probe in (begin, begin + (finish - begin) / 2, finish - tick):
            if not is_repeated(cal.zone, probe):
                assert is_business_time(cal, probe), probe
        # Maximal: just outside each stretch is closed (unless the window, not the calendar, cut it).
        for outside, cut in ((begin - tick, begin == start), (finish, finish == end)):
            if not cut and not is_repeated(cal.zone, outside):
                assert not is_business_time(cal, outside), outside
    for offset in probes:  # and every instant the wall clock calls business time is in an interval
        probe = start + (end - start) * (offset / (60 * 24 * 60))
        if probe < end and not is_repeated(cal.zone, probe):
            inside = any(b <= probe < f for b, f in intervals)
            assert inside == is_business_time(cal, probe), probe


@LAWS
@given(
    calendars(),
    instants(),
    budgets,
    st.lists(st.tuples(st.integers(0, 30 * 24 * 60), st.integers(0, 3 * 24 * 60)), max_size=4),
)
def test_pauses_are_skipped_and_counted_once(
    cal: BusinessCalendar, start: datetime, minutes: float, raw: list[tuple[int, int]]
) -> None:
    pauses = [(start + timedelta(minutes=a), start + timedelta(minutes=a + n)) for a, n in raw]
    deadline = add_business_minutes(cal, start, minutes, pauses)
    assert abs(business_minutes_between(cal, start, deadline, pauses) - minutes) < EPSILON
    end = start + timedelta(days=40)
    merged: list[tuple[datetime, datetime]] = []
    for b, e in sorted(pauses):
        if merged and b <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        elif e > b:
            merged.append((b, e))
    lost = sum((business_time_between(cal, max(b, start), min(e, end)) for b, e in merged), timedelta(0))
    assert business_time_between(cal, start, end, pauses) == business_time_between(cal, start, end) - lost


@LAWS
@given(st.sampled_from((*ZONES, "UTC")), instants(), st.integers(0, 60 * 24 * 60), budgets)
def test_a_24_7_calendar_is_wall_clock_time_in_any_zone(
    zone: str, start: datetime, minutes: int, budget: float
) -> None:
    end = start + timedelta(minutes=minutes)
    whole = {day: (Shift(time(0), time(0), overnight=True),) for day in range(7)}
    slow = BusinessCalendar(zone, whole, holidays=(Holiday(date(1999, 1, 1)),))  # not the fast path
    expected = [(start, end)] if end > start else []
    assert list(open_intervals(slow, start, end)) == expected
    assert business_minutes_between(ALWAYS_OPEN, start, end) == minutes
    assert business_time_between(slow, start, end) == end - start
    assert add_business_minutes(ALWAYS_OPEN, start, budget) == start + timedelta(minutes=budget)
