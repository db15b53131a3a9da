"""Business time in worked examples: DST days, night shifts, holidays, overrides, long targets, and bad calendars."""

from __future__ import annotations

import time as stopwatch
from datetime import UTC, date, datetime, time, timedelta

import pytest
from switchboard.events.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    CalendarError,
    Holiday,
    Shift,
    add_business_minutes,
    business_minutes_between,
    calendar_from_dict,
    open_intervals,
)

pytestmark = pytest.mark.unit


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def office(zone: str, hours: str = "09:00-18:00", **extra: object) -> BusinessCalendar:
    return calendar_from_dict({"time_zone": zone, "weekly": {"mon-fri": [hours]}, **extra})


WHOLE_DAY = (Shift(time(0), time(0), overnight=True),)


# --- DST ------------------------------------------------------------------------------------------------------


def test_kyiv_spring_forward_sunday_has_23_business_hours() -> None:
    cal = BusinessCalendar("Europe/Kyiv", {6: WHOLE_DAY})
    minutes = business_minutes_between(cal, utc("2025-03-30T00:00+02:00"), utc("2025-03-31T00:00+03:00"))
    assert minutes == 23 * 60


def test_kyiv_fall_back_sunday_has_25_business_hours() -> None:
    cal = BusinessCalendar("Europe/Kyiv", {6: WHOLE_DAY})
    minutes = business_minutes_between(cal, utc("2025-10-26T00:00+03:00"), utc("2025-10-27T00:00+02:00"))
    assert minutes == 25 * 60


def test_a_shift_across_kyivs_skipped_hour_is_an_hour_shorter() -> None:
    cal = BusinessCalendar("Europe/Kyiv", {6: (Shift(time(2), time(5)),)})
    assert list(open_intervals(cal, utc("2025-03-29T00:00Z"), utc("2025-03-31T00:00Z"))) == [
        (utc("2025-03-30T02:00+02:00"), utc("2025-03-30T05:00+03:00"))
    ]


def test_a_shift_starting_at_a_time_that_does_not_exist_opens_when_the_clock_jumps() -> None:
    cal = BusinessCalendar("Europe/Kyiv", {6: (Shift(time(3, 30), time(5)),)})
    assert list(open_intervals(cal, utc("2025-03-29T00:00Z"), utc("2025-03-31T00:00Z"))) == [
        (utc("2025-03-30T04:00+03:00"), utc("2025-03-30T05:00+03:00"))
    ]


def test_a_shift_starting_at_a_repeated_time_starts_at_its_first_occurrence() -> None:
    cal = BusinessCalendar("Europe/Kyiv", {6: (Shift(time(3), time(5)),)})
    [(start, end)] = open_intervals(cal, utc("2025-10-25T00:00Z"), utc("2025-10-27T00:00Z"))
    assert start == utc("2025-10-26T03:00+03:00") and end == utc("2025-10-26T05:00+02:00")
    assert (end - start) == timedelta(hours=3)


def test_new_york_night_shift_is_7_hours_at_spring_forward_and_9_at_fall_back() -> None:
    cal = BusinessCalendar("America/New_York", {5: (Shift(time(22), time(6), overnight=True),)})
    spring = list(open_intervals(cal, utc("2025-03-08T00:00Z"), utc("2025-03-10T00:00Z")))
    fall = list(open_intervals(cal, utc("2025-11-01T00:00Z"), utc("2025-11-03T00:00Z")))
    assert spring == [(utc("2025-03-08T22:00-05:00"), utc("2025-03-09T06:00-04:00"))]
    assert fall == [(utc("2025-11-01T22:00-04:00"), utc("2025-11-02T06:00-05:00"))]
    assert [e - s for s, e in spring + fall] == [timedelta(hours=7), timedelta(hours=9)]


def test_new_york_deadline_over_the_spring_forward_weekend_keeps_local_opening_hours() -> None:
    cal = office("America/New_York", "09:00-17:00")
    # Friday 16:00 EST + 2 business hours: one on Friday, one from Monday 09:00 EDT.
    assert add_business_minutes(cal, utc("2025-03-07T16:00-05:00"), 120) == utc("2025-03-10T10:00-04:00")


def test_new_york_deadline_over_the_fall_back_weekend() -> None:
    cal = office("America/New_York", "09:00-17:00")
    assert add_business_minutes(cal, utc("2025-10-31T16:30-04:00"), 60) == utc("2025-11-03T09:30-05:00")


# --- shifts, holidays, overrides --------------------------------------------------------------------------------


def test_a_night_shift_counts_across_midnight() -> None:
    cal = calendar_from_dict({"time_zone": "UTC", "weekly": {"daily": ["22:00-06:00+1"]}})
    start = utc("2025-06-02T23:00Z")
    assert add_business_minutes(cal, start, 600) == utc("2025-06-04T01:00Z")  # 7h to 06:00, 3h from 22:00
    assert business_minutes_between(cal, start, utc("2025-06-04T01:00Z")) == 600


def test_until_midnight_is_written_24_00() -> None:
    cal = calendar_from_dict({"time_zone": "UTC", "weekly": {"mon": ["18:00-24:00"], "tue": ["00:00-02:00"]}})
    assert list(open_intervals(cal, utc("2025-06-02T00:00Z"), utc("2025-06-04T00:00Z"))) == [
        (utc("2025-06-02T18:00Z"), utc("2025-06-03T02:00Z"))  # touching shifts read as one stretch
    ]


def test_christmas_to_new_year_range_holiday() -> None:
    cal = office("Europe/Kyiv", holidays=["2025-12-25..2026-01-01"])
    # Wednesday 24th 17:00: one hour that day, then closed until Friday 2 January.
    assert add_business_minutes(cal, utc("2025-12-24T17:00+02:00"), 120) == utc("2026-01-02T10:00+02:00")


def test_yearly_holiday_recurs() -> None:
    cal = office("Europe/Kyiv", holidays=["yearly 05-01"])
    assert add_business_minutes(cal, utc("2025-04-30T17:00+03:00"), 120) == utc("2025-05-02T10:00+03:00")
    assert add_business_minutes(cal, utc("2026-04-30T17:00+03:00"), 120) == utc("2026-05-04T10:00+03:00")


def test_yearly_holiday_range_may_wrap_new_year() -> None:
    holiday = Holiday.every_year(12, 31, until=(1, 2))
    assert [holiday.covers(date(2027, 12, d)) for d in (30, 31)] == [False, True]
    assert [holiday.covers(date(2028, 1, d)) for d in (1, 2, 3)] == [True, True, False]


def test_february_29_yearly_holiday_only_happens_in_leap_years() -> None:
    holiday = Holiday.every_year(2, 29)
    assert holiday.covers(date(2028, 2, 29)) and not holiday.covers(date(2027, 3, 1))


def test_a_holiday_removes_exactly_its_own_date_from_night_shifts() -> None:
    cal = calendar_from_dict({"time_zone": "UTC", "weekly": {"daily": ["22:00-06:00+1"]}, "holidays": ["2025-06-03"]})
    assert list(open_intervals(cal, utc("2025-06-02T00:00Z"), utc("2025-06-05T00:00Z"))) == [
        (utc("2025-06-02T00:00Z"), utc("2025-06-02T06:00Z")),
        (utc("2025-06-02T22:00Z"), utc("2025-06-03T00:00Z")),  # the eve's night stops at the holiday's midnight
        (utc("2025-06-04T00:00Z"), utc("2025-06-04T06:00Z")),  # the holiday's night counts on the working 4th
        (utc("2025-06-04T22:00Z"), utc("2025-06-05T00:00Z")),
    ]


def test_a_night_shift_starting_on_a_holiday_evening_counts_after_midnight() -> None:
    cal = calendar_from_dict(
        {"time_zone": "Europe/Kyiv", "weekly": {"daily": ["20:00-04:00+1"]}, "holidays": ["2025-12-31"]}
    )
    # a ticket opened on New Year's Eve (a holiday) waits for 00:00 on the 1st, not for 20:00 on the 1st
    opened = utc("2025-12-31T12:00+02:00")
    assert add_business_minutes(cal, opened, 60) == utc("2026-01-01T01:00+02:00")
    assert business_minutes_between(cal, opened, utc("2026-01-01T04:00+02:00")) == 4 * 60


def test_a_night_shift_between_two_holidays_does_not_count() -> None:
    cal = calendar_from_dict(
        {"time_zone": "UTC", "weekly": {"daily": ["22:00-06:00+1"]}, "holidays": ["2025-06-03..2025-06-04"]}
    )
    assert list(open_intervals(cal, utc("2025-06-02T12:00Z"), utc("2025-06-05T12:00Z"))) == [
        (utc("2025-06-02T22:00Z"), utc("2025-06-03T00:00Z")),
        (utc("2025-06-05T00:00Z"), utc("2025-06-05T06:00Z")),  # the 4th's night, after midnight on the working 5th
    ]


def test_an_override_closes_a_normal_day() -> None:
    cal = office("Europe/Istanbul", overrides={"2025-06-02": []})  # a Monday
    assert add_business_minutes(cal, utc("2025-06-02T09:00+03:00"), 60) == utc("2025-06-03T10:00+03:00")


def test_an_override_opens_a_sunday() -> None:
    cal = office("Asia/Baku", overrides={"2025-06-01": ["10:00-14:00"]})  # a Sunday
    assert add_business_minutes(cal, utc("2025-05-30T17:00+04:00"), 120) == utc("2025-06-01T11:00+04:00")


def test_a_three_week_target_ends_at_closing_time_of_the_fifteenth_working_day() -> None:
    cal = office("Europe/Kyiv")
    start = utc("2025-06-02T09:00+03:00")  # a Monday
    deadline = add_business_minutes(cal, start, 15 * 9 * 60)
    assert deadline == utc("2025-06-20T18:00+03:00")
    assert business_minutes_between(cal, start, deadline) == 15 * 9 * 60


def test_zones_on_both_sides_of_the_date_line_see_different_days() -> None:
    monday_only = {0: (Shift(time(0), time(0), overnight=True),)}
    instant = utc("2025-03-03T12:00Z")  # Monday in UTC
    kiritimati = BusinessCalendar("Pacific/Kiritimati", monday_only)  # already Tuesday 02:00 there
    pago_pago = BusinessCalendar("Pacific/Pago_Pago", monday_only)  # still Monday 01:00 there
    assert business_minutes_between(kiritimati, instant, instant + timedelta(hours=1)) == 0
    assert business_minutes_between(pago_pago, instant, instant + timedelta(hours=1)) == 60


def test_always_open_is_calendar_time() -> None:
    start = utc("2025-03-30T00:30+02:00")
    assert add_business_minutes(ALWAYS_OPEN, start, 1440.5) == start + timedelta(minutes=1440.5)
    assert business_minutes_between(ALWAYS_OPEN, start, start + timedelta(days=3)) == 3 * 1440


def test_overlapping_pauses_are_subtracted_once() -> None:
    cal = office("UTC")
    start, end = utc("2025-06-02T09:00Z"), utc("2025-06-02T18:00Z")
    pauses = [
        (utc("2025-06-02T10:00Z"), utc("2025-06-02T12:00Z")),
        (utc("2025-06-02T11:00Z"), utc("2025-06-02T13:00Z")),
    ]
    assert business_minutes_between(cal, start, end, pauses) == 9 * 60 - 3 * 60
    assert add_business_minutes(cal, start, 120, pauses) == utc("2025-06-02T14:00Z")


def test_zero_minutes_from_outside_hours_is_the_start_itself() -> None:
    cal = office("UTC")
    assert add_business_minutes(cal, utc("2025-06-01T03:00Z"), 0) == utc("2025-06-01T03:00Z")
    assert add_business_minutes(cal, utc("2025-06-01T03:00Z"), 1) == utc("2025-06-02T09:01Z")


def test_a_months_long_target_on_a_sparse_calendar_is_quick() -> None:
    cal = calendar_from_dict({"time_zone": "America/New_York", "weekly": {"wed": ["10:00-11:00"]}})
    began = stopwatch.perf_counter()
    deadline = add_business_minutes(cal, utc("2025-01-01T00:00Z"), 52 * 60)
    assert stopwatch.perf_counter() - began < 1.0
    assert deadline == utc("2025-12-24T11:00-05:00")  # 2025 starts on a Wednesday: the 52nd is the 24th


def test_no_business_time_for_two_years_is_an_error_not_a_hang() -> None:
    cal = office("UTC", holidays=["2025-01-01..2028-12-31"])
    with pytest.raises(CalendarError, match="no business time in the 731 days"):
        add_business_minutes(cal, utc("2025-01-01T00:00Z"), 1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(ALWAYS_OPEN, datetime(2025, 1, 1), 1)


# --- bad calendars ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"time_zone": "Europe/Kiev2", "weekly": {"mon": ["09:00-17:00"]}}, "unknown time zone 'Europe/Kiev2'"),
        ({"time_zone": "", "weekly": {"mon": ["09:00-17:00"]}}, "time zone must be an IANA name"),
        (
            {"time_zone": "UTC", "weekly": {"mon": ["09:00-13:00", "12:00-17:00"]}},
            "Monday shift 09:00-13:00 overlaps Monday shift 12:00-17:00",
        ),
        (
            {"time_zone": "UTC", "weekly": {"mon": ["22:00-06:00+1"], "tue": ["05:00-09:00"]}},
            "Monday shift 22:00-06:00\\+1 overlaps Tuesday shift 05:00-09:00",
        ),
        (
            {"time_zone": "UTC", "weekly": {"sun": ["22:00-06:00+1"], "mon": ["05:00-09:00"]}},
            "Sunday shift 22:00-06:00\\+1 overlaps Monday shift 05:00-09:00",
        ),
        ({"time_zone": "UTC", "weekly": {"mon": ["17:00-09:00"]}}, "shift 17:00-09:00 is inverted"),
        ({"time_zone": "UTC", "weekly": {"mon": ["09:00-09:00"]}}, "is inverted"),
        ({"time_zone": "UTC", "weekly": {"mon": ["09:00-17:00+1"]}}, "would last more than 24 hours"),
        ({"time_zone": "UTC", "weekly": {}}, "no working time: no weekday has a shift"),
        ({"time_zone": "UTC", "weekly": {"mon": []}}, "no working time"),
        (
            {"time_zone": "UTC", "weekly": {"mon": ["09:00-17:00"]}, "holidays": ["yearly 01-01..12-31"]},
            "yearly holidays cover the whole year",
        ),
        (
            {"time_zone": "UTC", "weekly": {"mon": ["09:00-17:00"]}, "holidays": ["2025-12-31..2025-12-25"]},
            "holiday range 2025-12-31..2025-12-25 ends before it starts",
        ),
        (
            {"time_zone": "UTC", "weekly": {"mon": ["09:00-17:00"]}, "holidays": ["yearly 02-30"]},
            "yearly holiday 02-30",
        ),
        (
            {"time_zone": "UTC", "weekly": {"sun": ["20:00-08:00+1"]}, "overrides": {"2025-06-02": ["07:00-12:00"]}},
            "overlaps override 2025-06-02 shift 07:00-12:00",
        ),
        (
            {"time_zone": "UTC", "weekly": {"tue": ["06:00-12:00"]}, "overrides": {"2025-06-02": ["23:00-07:00+1"]}},
            "override 2025-06-02 shift 23:00-07:00\\+1 overlaps",
        ),
        ({"time_zone": "UTC", "weekly": {"mon": ["25:00-26:00"]}}, "is not a time of day"),
        ({"time_zone": "UTC", "weekly": {"fri-mon": ["09:00-17:00"]}}, "runs backwards"),
        ({"time_zone": "UTC", "weekly": {"mon": ["9 to 5"]}}, "is not like"),
        ({"time_zone": "UTC", "weekly": {"mon": ["09:00-17:00"]}, "opening": "soon"}, "unknown keys \\['opening'\\]"),
    ],
)
def test_a_bad_calendar_is_refused_with_the_precise_reason(data: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        calendar_from_dict(data)


def test_weekdays_outside_monday_to_sunday_are_refused() -> None:
    with pytest.raises(CalendarError, match="weekday 7 is not 0"):
        BusinessCalendar("UTC", {7: (Shift(time(9), time(17)),)})


def test_shift_times_must_be_local() -> None:
    with pytest.raises(CalendarError, match="local wall-clock"):
        Shift(time(9, tzinfo=UTC), time(17))
