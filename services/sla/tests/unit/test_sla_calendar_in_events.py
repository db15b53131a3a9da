"""A clock's events carry the calendar it counts on, as SLA stored it, so that a consumer counts business time the
same way (reporting's business minutes): SLA's own wiring over the in-memory database, read as a subscriber would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from switchboard.events import Envelope, EventPayload, decode, encode
from switchboard.events.calendar import CalendarSpec, add_business_minutes, calendar_of
from switchboard.events.common import Actor, SlaTarget, TicketStatus
from switchboard.events.sla import SlaClockResumed, SlaClockStarted
from switchboard.events.tickets import TicketStatusChanged
from switchboard.runtime.testing import RecordingRelay, memory_database
from switchboard.sla.app import Sla
from switchboard.sla.store import SlaStore

from tests.factories import ticket_opened

pytestmark = pytest.mark.unit

T0 = datetime(2025, 6, 2, 5, 0, tzinfo=UTC)  # Monday 08:00 in Kyiv: an hour before the office opens
MINUTE = timedelta(minutes=1)
KYIV: dict[str, Any] = {
    "time_zone": "Europe/Kyiv",
    "weekly": {"mon-fri": ["09:00-18:00"]},
    "holidays": ["yearly 01-01"],
}
OFFICE = {
    "id": "office",
    "calendar": "kyiv",
    "targets": {"first_response": 60, "resolution": {"minutes": 2880, "business_time": False}},
}


async def started() -> tuple[Sla, RecordingRelay]:
    relay = RecordingRelay()
    sla = Sla.over(SlaStore(memory_database(), namespace="t"), relay=relay, clock=lambda: T0 + 30 * MINUTE)
    await sla.store.setup()
    await sla.config.setup()
    await sla.commands.handle_put_calendar("kyiv", KYIV)
    await sla.commands.handle_put_policies([OFFICE])
    return sla, relay


def delivered(payload: EventPayload, at: datetime) -> Envelope:
    return Envelope.new(payload, source="/switchboard/intake", subject="T-1", time=at)


def status(before: TicketStatus, after: TicketStatus, at: datetime) -> Envelope:
    changed = TicketStatusChanged(
        ticket_id="T-1", from_status=before, to_status=after, changed_by=Actor.AGENT, changed_at=at
    )
    return delivered(changed, at)


def over_the_wire(event: EventPayload) -> EventPayload:
    record = encode(Envelope.new(event, source="/switchboard/sla", subject="T-1"))
    return decode(record.value, {k: v.encode() for k, v in record.headers.items()}).data


async def test_a_business_time_clock_announces_its_calendar_and_a_calendar_time_clock_none() -> None:
    sla, relay = await started()
    await sla.subscribers.on_events([delivered(ticket_opened("T-1", T0), T0)])

    starts = {e.target: e for e in map(over_the_wire, relay.events) if isinstance(e, SlaClockStarted)}
    first, resolution = starts[SlaTarget.FIRST_RESPONSE], starts[SlaTarget.RESOLUTION]
    assert first.business_time and first.calendar == CalendarSpec(
        id="kyiv", time_zone="Europe/Kyiv", weekly={"mon-fri": ("09:00-18:00",)}, holidays=("yearly 01-01",)
    )
    assert first.deadline == T0 + 120 * MINUTE  # 09:00 opening + 60 business minutes, in UTC
    # What a consumer rebuilds from the event counts as SLA counted: the same deadline.
    assert add_business_minutes(calendar_of(first.calendar), first.started_at, first.target_minutes) == first.deadline
    assert not resolution.business_time and resolution.calendar is None


async def test_a_resumed_clock_names_the_calendar_as_edited_while_it_was_paused() -> None:
    sla, relay = await started()
    await sla.subscribers.on_events([delivered(ticket_opened("T-1", T0), T0)])
    await sla.subscribers.on_events([status(TicketStatus.NEW, TicketStatus.PENDING, T0 + 10 * MINUTE)])
    later = KYIV | {"weekly": {"mon-fri": ["10:00-18:00"]}}
    await sla.commands.handle_put_calendar("kyiv", later)  # the office now opens an hour later
    await sla.subscribers.on_events([status(TicketStatus.PENDING, TicketStatus.OPEN, T0 + 20 * MINUTE)])

    [resumed] = [e for e in relay.events if isinstance(e, SlaClockResumed) and e.target is SlaTarget.FIRST_RESPONSE]
    assert resumed.calendar == CalendarSpec.of("kyiv", later)
    assert resumed.deadline == T0 + 180 * MINUTE  # 10:00 opening + 60, counted on the calendar it names
