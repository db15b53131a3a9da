"""Laws of a ticket's clocks over random timelines: what is emitted does not depend on when the timer fires or how
late the inputs are processed, a redelivery emits nothing, and the stored state round-trips."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from switchboard.events import EventPayload
from switchboard.events.calendar import calendar_from_dict
from switchboard.events.common import Actor, Channel, Priority, TicketStatus
from switchboard.events.interactions import InteractionKind, InteractionRecorded
from switchboard.events.sla import SlaBreached, SlaWarning
from switchboard.events.tickets import TicketReopened, TicketStatusChanged, TicketUpdated
from switchboard.sla.domain.clock import SlaInput, Tick, TicketClocks, decide, next_due
from switchboard.sla.domain.config import policy_from_dict
from switchboard.sla.domain.policy import Policy

from tests.factories import ticket_opened

pytestmark = pytest.mark.unit

CALENDARS = {
    "kyiv": calendar_from_dict({"time_zone": "Europe/Kyiv", "weekly": {"mon-fri": ["09:00-18:00"]}}),
    "ny": calendar_from_dict({"time_zone": "America/New_York", "weekly": {"mon-fri": ["09:00-17:00"]}}),
    "nights": calendar_from_dict({"time_zone": "UTC", "weekly": {"daily": ["22:00-06:00+1"]}}),
}
STARTS = [datetime.fromisoformat(t) for t in ("2025-06-02T08:00+03:00", "2025-03-07T15:00-05:00", "2025-10-31T20:00Z")]
ACTIONS = ["agent", "customer", "note", "pending", "on_hold", "open", "solved", "closed", "reopen", "urgent", "normal"]
STATE = TypeAdapter(TicketClocks)
LAWS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def policies(calendar: str) -> list[Policy]:
    return [
        policy_from_dict(
            {
                "id": "urgent",
                "calendar": calendar,
                "when": {"priority": ["urgent"]},
                "targets": {"first_response": 30, "next_response": 45, "resolution": 120},
                "warnings": [0.5, 0.75, 0.9],
                "reopen": "restart",
            }
        ),
        policy_from_dict(
            {
                "id": "standard",
                "calendar": calendar,
                "targets": {
                    "first_response": 60,
                    "next_response": {"minutes": 120, "business_time": False},
                    "resolution": 480,
                },
            }
        ),
    ]


def timeline(start: datetime, steps: Sequence[tuple[int, str]]) -> list[SlaInput]:
    """The inputs intake would publish for these actions, skipping the ones its rules would refuse."""
    at, status = start, TicketStatus.NEW
    inputs: list[SlaInput] = []
    inputs.append(ticket_opened("T", start))

    def move(to: TicketStatus) -> TicketStatusChanged:
        return TicketStatusChanged(
            ticket_id="T", from_status=status, to_status=to, changed_by=Actor.AGENT, changed_at=at
        )

    for number, (gap, action) in enumerate(steps):
        at += timedelta(minutes=gap)
        if status is TicketStatus.CLOSED:
            break
        if action in ("agent", "customer", "note"):
            inputs.append(
                InteractionRecorded(
                    ticket_id="T",
                    interaction_id=f"I-{number}",
                    kind=InteractionKind.INTERNAL_NOTE if action == "note" else InteractionKind.AGENT_REPLY,
                    channel=Channel.EMAIL,
                    public=action != "note",
                    author_type="customer" if action == "customer" else "agent",
                    occurred_at=at,
                )
            )
        elif action in ("urgent", "normal"):
            inputs.append(
                TicketUpdated(ticket_id="T", priority=Priority(action), changed_by=Actor.AGENT, updated_at=at)
            )
        elif action == "reopen" and status is TicketStatus.SOLVED:
            inputs += [
                TicketReopened(ticket_id="T", reopened_by=Actor.CUSTOMER, reopened_at=at),
                move(TicketStatus.OPEN),
            ]
            status = TicketStatus.OPEN
        elif (action == "closed" and status is TicketStatus.SOLVED) or action in (
            "pending",
            "on_hold",
            "open",
            "solved",
        ):
            to = TicketStatus(action)
            if status is not TicketStatus.SOLVED and to is not status:
                inputs.append(move(to))
                status = to
    return inputs


def time_of(event: SlaInput) -> datetime:
    for name in ("at", "opened_at", "occurred_at", "changed_at", "reopened_at", "updated_at"):
        if hasattr(event, name):
            moment: datetime = getattr(event, name)
            return moment
    raise AssertionError(event)


def run(
    inputs: Sequence[SlaInput], calendar: str, *, timer: bool, late: bool, twice: bool = False
) -> list[EventPayload]:
    """Decide every input; `timer` fires Ticks when due, `late` processes everything after the last input."""
    end = time_of(inputs[-1]) + timedelta(days=30)
    state = TicketClocks("T")
    out: list[EventPayload] = []
    rules: dict[str, Any] = {"policies": policies(calendar), "calendars": CALENDARS}
    for number, event in enumerate(inputs):
        while timer and (due := next_due(state)) is not None and due <= time_of(event):
            state, emitted = decide(state, Tick(due), now=due, **rules)
            out += emitted
        now = end if late else time_of(event)
        state, emitted = decide(state, event, now=now, event_id=f"E{number}", **rules)
        out += emitted
        for emitted_event in emitted:
            assert max(_times(emitted_event)) <= now  # nothing is announced before it happened
        if twice:
            again, repeated = decide(state, event, now=now, event_id=f"E{number}", **rules)
            assert repeated == [] and again == state
            assert STATE.validate_json(STATE.dump_json(state)) == state
    state, emitted = decide(state, Tick(end), now=end, **rules)
    due = next_due(state)
    assert due is None or due > end
    return out + emitted


def _times(event: EventPayload) -> list[datetime]:
    """When the event says something happened (not the deadline it announces)."""
    happened = ("started_at", "paused_at", "resumed_at", "warned_at", "breached_at", "met_at")
    return [value for name, value in event.model_dump().items() if name in happened]


def key(events: Sequence[EventPayload]) -> list[str]:
    return sorted(event.model_dump_json() for event in events)


scenarios = st.tuples(
    st.sampled_from(STARTS),
    st.sampled_from(sorted(CALENDARS)),
    st.lists(st.tuples(st.integers(0, 8 * 60), st.sampled_from(ACTIONS)), min_size=8, max_size=30),
)


@LAWS
@given(scenarios)
def test_what_is_emitted_does_not_depend_on_when_the_timer_fires_or_how_late_inputs_are_processed(
    scenario: tuple[datetime, str, list[tuple[int, str]]],
) -> None:
    start, calendar, steps = scenario
    inputs = timeline(start.astimezone(UTC), steps)
    ideal = run(inputs, calendar, timer=True, late=False, twice=True)
    without_timer = run(inputs, calendar, timer=False, late=False)
    after_downtime = run(inputs, calendar, timer=False, late=True)
    assert key(ideal) == key(without_timer)
    assert after_downtime == without_timer


@LAWS
@given(scenarios)
def test_each_warning_and_breach_is_emitted_once_at_its_true_time(
    scenario: tuple[datetime, str, list[tuple[int, str]]],
) -> None:
    start, calendar, steps = scenario
    emitted = run(timeline(start.astimezone(UTC), steps), calendar, timer=True, late=False)
    breaches = [(e.target, e.deadline) for e in emitted if isinstance(e, SlaBreached)]
    warnings = [(e.target, e.fraction, e.deadline) for e in emitted if isinstance(e, SlaWarning)]
    assert len(breaches) == len(set(breaches)) and len(warnings) == len(set(warnings))
    assert all(e.breached_at == e.deadline for e in emitted if isinstance(e, SlaBreached))
    assert all(e.warned_at < e.deadline for e in emitted if isinstance(e, SlaWarning))
