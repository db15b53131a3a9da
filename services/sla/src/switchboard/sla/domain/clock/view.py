"""Reading a ticket's clocks: when the timer must next fire, and the view `GET /v1/sla/tickets/{id}` returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from switchboard.events.calendar import BusinessCalendar, utc
from switchboard.events.common import SlaTarget

from .common import calendar_for, catch_up
from .state import ClockState, TicketClocks
from .timer import used

_MINUTE = timedelta(minutes=1)


def next_due(state: TicketClocks) -> datetime | None:
    """The earliest moment a `Tick` must be decided (the next warning or deadline of a clock still counting).

    The service stores it as the ticket's timer. It may lie in the past (a breach that fell due while the service
    was down): fire at once. None when no clock can warn or breach any more.
    """
    moments = [
        moment
        for clock in state.clocks.values()
        if clock.pending
        for moment in (*(at for _, at in clock.due_warnings), clock.deadline)
        if moment is not None
    ]
    return min(moments, default=None)


@dataclass(frozen=True)
class TargetView:
    """One target as a support lead reads it. `left_minutes` is negative by how late a breached target is."""

    target: SlaTarget
    state: ClockState
    paused: bool
    business_time: bool
    target_minutes: int
    started_at: datetime
    deadline: datetime | None
    used_minutes: float
    left_minutes: float
    breached_at: datetime | None
    met_at: datetime | None


@dataclass(frozen=True)
class TicketSlaView:
    """The SLA of one ticket at `as_of`: the governing policy version and each target's standing."""

    ticket_id: str
    as_of: datetime
    policy_id: str | None
    policy_version: int | None
    targets: tuple[TargetView, ...]
    next_due: datetime | None


def view(state: TicketClocks, now: datetime, *, calendars: Mapping[str, BusinessCalendar]) -> TicketSlaView:
    """The ticket's SLA as of `now`, as if the timer had just fired (a missed deadline shows as breached even
    before its `Tick` is decided). Used and left minutes count on each target's own calendar."""
    now = utc(now, "now")
    current, _ = catch_up(state, now)
    targets = []
    for target in SlaTarget:
        clock = current.clocks.get(target)
        if clock is None or current.policy is None:
            continue
        spent = used(clock, calendar_for(current.policy, clock.business_time, calendars), now) / _MINUTE
        targets.append(
            TargetView(
                target=target,
                state=clock.state,
                paused=clock.paused_since is not None,
                business_time=clock.business_time,
                target_minutes=clock.target_minutes,
                started_at=clock.started_at,
                deadline=clock.deadline,
                used_minutes=spent,
                left_minutes=clock.target_minutes - spent,
                breached_at=clock.breached_at,
                met_at=clock.met_at,
            )
        )
    return TicketSlaView(
        ticket_id=state.ticket_id,
        as_of=now,
        policy_id=current.policy_id,
        policy_version=current.policy_version,
        targets=tuple(targets),
        next_due=next_due(current),
    )
