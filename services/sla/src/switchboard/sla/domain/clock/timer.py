"""One clock's moves (start, schedule, fall due, pause, resume, stop, retarget), each returning the events it caused.

Every move takes the time it happens at and the calendar the clock counts on; none reads the clock. Events come
back as (true time, event) pairs so the caller can order what several clocks emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypedDict

from switchboard.events import EventPayload
from switchboard.events.calendar import BusinessCalendar, CalendarSpec, add_business_time, business_time_between
from switchboard.events.common import SlaTarget
from switchboard.events.sla import SlaBreached, SlaClockPaused, SlaClockResumed, SlaClockStarted, SlaMet, SlaWarning

from ..policy import TargetSpec
from .state import Clock, ClockState

Emitted = list[tuple[datetime, EventPayload]]
_MINUTE = timedelta(minutes=1)


class _About(TypedDict):
    ticket_id: str
    target: SlaTarget
    policy_id: str
    policy_version: int


@dataclass(frozen=True)
class Stamp:
    """Who emitted events are about: the ticket and the policy version governing it."""

    ticket_id: str
    policy_id: str
    policy_version: int

    def fields(self, target: SlaTarget) -> _About:
        return _About(
            ticket_id=self.ticket_id, target=target, policy_id=self.policy_id, policy_version=self.policy_version
        )


def start(
    target: SlaTarget, spec: TargetSpec, fractions: tuple[float, ...], at: datetime, cal: BusinessCalendar, stamp: Stamp
) -> tuple[Clock, Emitted]:
    """A new running clock from `at`, announced with its deadline."""
    clock = schedule(Clock(target, spec.minutes, spec.business_time, at, warning_fractions=fractions), cal)
    return clock, [(at, _started(clock, stamp, cal))]


def schedule(clock: Clock, cal: BusinessCalendar) -> Clock:
    """Recompute the deadline and the unsent warnings' instants from the clock's start and pauses.

    A paused clock has no deadline unless its budget ran out before the pause (after a recompute to a smaller
    target); then the past deadline and warnings are kept so catching up emits them with their true times.
    """
    if not clock.pending:
        return replace(clock, due_warnings=())
    target = clock.target_minutes * _MINUTE
    deadline = _instant_for(clock, cal, target)
    due: tuple[tuple[float, datetime], ...] = ()
    if deadline is not None:
        instants = ((f, _instant_for(clock, cal, clock.target_minutes * f * _MINUTE)) for f in clock.warning_fractions)
        due = tuple((f, at) for f, at in instants if at is not None and f not in clock.warnings_sent)
    state = ClockState.PAUSED if clock.paused_since is not None else ClockState.RUNNING
    return replace(clock, deadline=deadline, due_warnings=due, state=state)


def fall_due(clock: Clock, at: datetime, stamp: Stamp) -> tuple[Clock, Emitted]:
    """Emit the warnings and the breach that fell due by `at`, each with the true time it fell due."""
    if not clock.pending:
        return clock, []
    emitted: Emitted = []
    sent, remaining = set(clock.warnings_sent), []
    for fraction, due in clock.due_warnings:
        if due <= at and clock.deadline is not None:
            warning = SlaWarning(
                **stamp.fields(clock.target), fraction=fraction, deadline=clock.deadline, warned_at=due
            )
            emitted.append((due, warning))
            sent.add(fraction)
        else:
            remaining.append((fraction, due))
    clock = replace(clock, warnings_sent=frozenset(sent), due_warnings=tuple(remaining))
    if clock.deadline is not None and clock.deadline <= at:
        deadline = clock.deadline
        emitted.append((deadline, SlaBreached(**stamp.fields(clock.target), deadline=deadline, breached_at=deadline)))
        clock = replace(clock, state=ClockState.BREACHED, breached_at=deadline, due_warnings=())
    return clock, emitted


def pause(clock: Clock, at: datetime, reason: str, stamp: Stamp) -> tuple[Clock, Emitted]:
    """Stop counting from `at`. A breached clock pauses silently: there is no deadline left to move."""
    if not clock.active or clock.paused_since is not None:
        return clock, []
    if clock.state is ClockState.BREACHED:
        return replace(clock, paused_since=at, pause_reason=reason), []
    paused = replace(
        clock, state=ClockState.PAUSED, paused_since=at, pause_reason=reason, deadline=None, due_warnings=()
    )
    return paused, [(at, SlaClockPaused(**stamp.fields(clock.target), reason=reason, paused_at=at))]


def resume(clock: Clock, at: datetime, cal: BusinessCalendar, stamp: Stamp) -> tuple[Clock, Emitted]:
    """Count again from `at` with the time that was left: the deadline moves by the business time paused."""
    if not clock.active or clock.paused_since is None:
        return clock, []
    resumed = replace(clock, pauses=_with_pause(clock, clock.paused_since, at), paused_since=None, pause_reason=None)
    if clock.state is ClockState.BREACHED:
        return resumed, []
    resumed = schedule(resumed, cal)
    assert resumed.deadline is not None  # a running clock always has one
    resumed_event = SlaClockResumed(
        **stamp.fields(clock.target), resumed_at=at, deadline=resumed.deadline, calendar=_spec(resumed, cal)
    )
    return resumed, [(at, resumed_event)]


def stop(clock: Clock, at: datetime, cal: BusinessCalendar, stamp: Stamp) -> tuple[Clock, Emitted]:
    """The promise was kept at `at`: met if not breached (announced), else fulfilled late (silently)."""
    if not clock.active:
        return clock, []
    if clock.paused_since is not None:
        clock = replace(clock, pauses=_with_pause(clock, clock.paused_since, at), paused_since=None, pause_reason=None)
    minutes = used(clock, cal, at) / _MINUTE
    stopped = replace(clock, stopped_at=at, used_minutes=minutes, due_warnings=())
    if clock.state is ClockState.BREACHED:
        return stopped, []
    met = replace(stopped, state=ClockState.MET, met_at=at)
    return met, [(at, SlaMet(**stamp.fields(clock.target), met_at=at, used_minutes=minutes))]


def reopen(clock: Clock, at: datetime, cal: BusinessCalendar, stamp: Stamp) -> tuple[Clock, Emitted]:
    """Count on from where a stopped clock stopped, as if the stopped time had been a pause."""
    if clock.stopped_at is None or clock.state is ClockState.CANCELLED:
        return clock, []
    carried = replace(
        clock, pauses=_with_pause(clock, clock.stopped_at, at), stopped_at=None, used_minutes=None, met_at=None
    )
    if clock.state is ClockState.BREACHED:
        return carried, []
    carried = schedule(replace(carried, state=ClockState.RUNNING), cal)
    assert carried.deadline is not None
    resumed_event = SlaClockResumed(
        **stamp.fields(clock.target), resumed_at=at, deadline=carried.deadline, calendar=_spec(carried, cal)
    )
    return carried, [(at, resumed_event)]


def retarget(
    clock: Clock, spec: TargetSpec, fractions: tuple[float, ...], cal: BusinessCalendar, stamp: Stamp
) -> tuple[Clock, Emitted]:
    """Measure the same clock (same start, same pauses) against a new target; a running one is re-announced."""
    if not clock.pending:
        return clock, []
    changed = schedule(
        replace(clock, target_minutes=spec.minutes, business_time=spec.business_time, warning_fractions=fractions), cal
    )
    if changed.paused_since is not None:
        return changed, []
    return changed, [(changed.started_at, _started(changed, stamp, cal))]


def cancel(clock: Clock, at: datetime) -> Clock:
    """Stop measuring without a verdict (merged ticket, or a target the new policy does not have)."""
    if not clock.active:
        return clock
    return replace(clock, state=ClockState.CANCELLED, stopped_at=at, paused_since=None, due_warnings=())


def used(clock: Clock, cal: BusinessCalendar, at: datetime) -> timedelta:
    """Business (or calendar) time the clock has counted by `at`."""
    end = min(at, clock.stopped_at) if clock.stopped_at is not None else at
    pauses = clock.pauses if clock.paused_since is None else (*clock.pauses, (clock.paused_since, end))
    return business_time_between(cal, clock.started_at, end, pauses)


def _instant_for(clock: Clock, cal: BusinessCalendar, amount: timedelta) -> datetime | None:
    """When the clock's count reaches `amount`; None if that lies after a pause still in progress."""
    if clock.paused_since is not None:
        counted = business_time_between(cal, clock.started_at, clock.paused_since, clock.pauses)
        if amount > counted:
            return None
    return add_business_time(cal, clock.started_at, amount, clock.pauses)


def _with_pause(clock: Clock, begin: datetime, end: datetime) -> tuple[tuple[datetime, datetime], ...]:
    return (*clock.pauses, (begin, end)) if end > begin else clock.pauses


def _started(clock: Clock, stamp: Stamp, cal: BusinessCalendar) -> SlaClockStarted:
    assert clock.deadline is not None
    return SlaClockStarted(
        **stamp.fields(clock.target),
        target_minutes=clock.target_minutes,
        business_time=clock.business_time,
        started_at=clock.started_at,
        deadline=clock.deadline,
        calendar=_spec(clock, cal),
    )


def _spec(clock: Clock, cal: BusinessCalendar) -> CalendarSpec | None:
    """The calendar a clock's deadline was counted on, for its events: none for calendar time (every minute)."""
    return cal.spec if clock.business_time else None
