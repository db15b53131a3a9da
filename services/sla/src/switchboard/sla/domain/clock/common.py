"""What every move of a ticket's clocks shares: catching up, ordering events, and finding a clock's calendar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from switchboard.events import EventPayload
from switchboard.events.calendar import ALWAYS_OPEN, BusinessCalendar
from switchboard.events.common import SlaTarget
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.routing import TicketRouted
from switchboard.events.tickets import TicketMerged, TicketReopened, TicketStatusChanged, TicketUpdated

from ..policy import Policy, PolicyError
from . import timer
from .state import Clock, LateInput, TicketClocks
from .timer import Emitted, Stamp

_ORDER = {target: n for n, target in enumerate(SlaTarget)}


def catch_up(state: TicketClocks, at: datetime) -> tuple[TicketClocks, Emitted]:
    """Bring the ticket up to `at`: every clock's warnings and breach that fell due by then (`timer.fall_due`)."""
    if state.policy is None:
        return state, []
    stamp = stamp_of(state)
    emitted: Emitted = []
    for clock in list(state.clocks.values()):
        clock, more = timer.fall_due(clock, at, stamp)
        state, emitted = with_clock(state, clock), emitted + more
    return state, emitted


def ordered(emitted: Emitted) -> list[EventPayload]:
    """Events by the time they truly happened, then by target (first response, next response, resolution)."""
    return [event for _, _, event in sorted(((at, _ORDER[_target(e)], e) for at, e in emitted), key=lambda x: x[:2])]


def _target(event: EventPayload) -> SlaTarget:
    target = getattr(event, "target", None)
    assert isinstance(target, SlaTarget)
    return target


def with_clock(state: TicketClocks, clock: Clock) -> TicketClocks:
    """The state with `clock` in place of its target's clock (a new mapping: states are never mutated)."""
    return replace(state, clocks={**state.clocks, clock.target: clock})


def stamp_of(state: TicketClocks) -> Stamp:
    """What the ticket's events are about; only called once a policy governs the ticket."""
    assert state.policy is not None
    return Stamp(state.ticket_id, state.policy.id, state.policy.version)


def clock_calendar(state: TicketClocks, clock: Clock, calendars: Mapping[str, BusinessCalendar]) -> BusinessCalendar:
    """The calendar `clock` counts on under the ticket's policy."""
    assert state.policy is not None
    return calendar_for(state.policy, clock.business_time, calendars)


def calendar_for(policy: Policy, business_time: bool, calendars: Mapping[str, BusinessCalendar]) -> BusinessCalendar:
    """The calendar a target counts on: the policy's for business time, every minute for calendar time."""
    if not business_time:
        return ALWAYS_OPEN
    try:
        return calendars[policy.calendar_id]
    except KeyError:
        raise PolicyError(
            f"policy {policy.id!r} v{policy.version} uses unknown calendar {policy.calendar_id!r}"
        ) from None


def time_of(event: LateInput) -> datetime:
    """When an input happened, by its own timestamp (each payload names it differently)."""
    match event:
        case InteractionRecorded():
            return event.occurred_at
        case TicketStatusChanged():
            return event.changed_at
        case TicketReopened():
            return event.reopened_at
        case TicketUpdated():
            return event.updated_at
        case TicketRouted():
            return event.routed_at
        case TicketMerged():
            return event.merged_at
