"""A calendar as event data: the spec SLA stores, carried by its events, rebuilt by a consumer into the same calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from switchboard.events import Envelope, decode, encode
from switchboard.events.calendar import (
    BusinessCalendar,
    CalendarError,
    CalendarSpec,
    business_minutes_between,
    calendar_from_dict,
    calendar_of,
)
from switchboard.events.common import SlaTarget
from switchboard.events.sla import SlaClockStarted

pytestmark = pytest.mark.unit

STORED: dict[str, Any] = {
    "time_zone": "Europe/Kyiv",
    "weekly": {"mon-fri": ["09:00-18:00"], "sat": ["10:00-14:00"], "sun": ["22:00-06:00+1"]},
    "holidays": ["2025-12-25..2026-01-01", "yearly 05-01"],
    "overrides": {"2025-06-07": [], "2025-06-09": ["12:00-16:00"]},
}


def test_a_calendar_read_under_its_id_carries_the_spec_that_rebuilds_it() -> None:
    read = calendar_from_dict(STORED, calendar_id="kyiv")

    assert read.spec == CalendarSpec(
        id="kyiv",
        time_zone="Europe/Kyiv",
        weekly={"mon-fri": ("09:00-18:00",), "sat": ("10:00-14:00",), "sun": ("22:00-06:00+1",)},
        holidays=("2025-12-25..2026-01-01", "yearly 05-01"),
        overrides={"2025-06-07": (), "2025-06-09": ("12:00-16:00",)},
    )
    assert read.spec.as_document() == STORED
    rebuilt = calendar_of(read.spec)
    assert rebuilt == read == calendar_from_dict(STORED)  # same hours; the spec takes no part in equality
    assert rebuilt.spec == read.spec
    assert calendar_from_dict(STORED).spec is None  # read without an id: nothing to name


def test_yaml_dates_become_the_text_json_would_have_given() -> None:
    from_yaml = STORED | {"holidays": [date(2025, 12, 25)], "overrides": {date(2025, 6, 7): []}}
    spec = calendar_from_dict(from_yaml, calendar_id="kyiv").spec

    assert spec is not None and spec.holidays == ("2025-12-25",) and dict(spec.overrides) == {"2025-06-07": ()}
    assert calendar_of(spec) == calendar_from_dict(from_yaml)


def test_an_event_carries_the_calendar_over_the_wire_and_the_consumer_counts_the_same_minutes() -> None:
    calendar = calendar_from_dict(STORED, calendar_id="kyiv")
    start, end = datetime(2025, 6, 6, 12, 0, tzinfo=UTC), datetime(2025, 6, 9, 13, 0, tzinfo=UTC)
    event = SlaClockStarted(
        ticket_id="t-1",
        target=SlaTarget.RESOLUTION,
        policy_id="office",
        policy_version=1,
        target_minutes=600,
        business_time=True,
        started_at=start,
        deadline=end,
        calendar=calendar.spec,
    )
    record = encode(Envelope.new(event, source="/switchboard/sla", subject="t-1"))
    back = decode(record.value, {k: v.encode() for k, v in record.headers.items()}).data

    assert isinstance(back, SlaClockStarted) and back.calendar == calendar.spec
    assert back.calendar is not None
    counted = business_minutes_between(calendar_of(back.calendar), start, end)
    assert counted == business_minutes_between(calendar, start, end)
    # Kyiv time: Fri 15:00-18:00, Sat closed by its override, Sun 22:00 to Mon 06:00, Mon 12:00-16:00 by its override.
    assert counted == (3 + 8 + 4) * 60


def test_a_spec_that_is_no_usable_calendar_still_decodes_but_is_refused_when_built() -> None:
    spec = CalendarSpec.model_validate({"id": "mars", "time_zone": "Mars/Olympus", "weekly": {"mon": ["09:00-17:00"]}})

    with pytest.raises(CalendarError, match="unknown time zone 'Mars/Olympus'"):
        calendar_of(spec)


def test_the_same_spec_is_built_once() -> None:
    spec = CalendarSpec.of("kyiv", STORED)
    again = CalendarSpec.model_validate_json(spec.model_dump_json())

    assert isinstance(calendar_of(spec), BusinessCalendar) and calendar_of(spec) is calendar_of(again)
