"""How a ticket's clocks react to what happens on the ticket: `decide(state, input) -> (state, SLA events)`.

Each input acts at its own (true) time: first everything that fell due before it is emitted (so a reply
processed after a missed deadline yields the breach first), then the input takes effect. Nothing due after the
input's time is emitted, even if `now` is later: inputs still waiting in the backlog (after downtime) may yet
stop the clock, so only a `Tick` moves the clocks up to `now`. An input stamped after `now` (a producer's clock
running ahead) acts at `now`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from switchboard.events import EventPayload
from switchboard.events.calendar import BusinessCalendar, utc
from switchboard.events.common import SlaTarget, TicketStatus
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.routing import TicketRouted
from switchboard.events.tickets import TicketMerged, TicketOpened, TicketReopened, TicketStatusChanged, TicketUpdated

from ..policy import STOPPING, AccountFacts, Policy, ReopenRule, TicketFacts, select_policy
from . import timer
from .common import calendar_for, catch_up, clock_calendar, ordered, stamp_of, time_of, with_clock
from .state import LateInput, SlaInput, Tick, TicketClocks
from .timer import Emitted, Stamp


def decide(
    state: TicketClocks,
    event: SlaInput,
    *,
    now: datetime,
    policies: Sequence[Policy],
    calendars: Mapping[str, BusinessCalendar],
    account: AccountFacts | None = None,
    event_id: str | None = None,
) -> tuple[TicketClocks, list[EventPayload]]:
    """The ticket's new SLA state and the `support.sla` events `event` causes, in the order they happened.

    `policies` are the current policies in selection order (first match wins); `calendars` maps calendar ids
    to calendars. `account` is what the service knows of the customer's account, read only at `TicketOpened`.
    `event_id` (the envelope id) makes a redelivery a no-op; without it a hash of the payload is used.
    A `Tick` is never deduplicated: it only emits what fell due and has not been emitted.
    """
    now = utc(now, "now")
    if isinstance(event, Tick):
        state, emitted = catch_up(state, min(utc(event.at, "tick"), now))
        return state, ordered(emitted)
    if event.ticket_id != state.ticket_id:
        raise ValueError(f"event for ticket {event.ticket_id} given to the clocks of ticket {state.ticket_id}")
    key = event_id or input_key(event)
    if key in state.processed:
        return state, []
    state = replace(state, processed=state.processed | {key})
    if not isinstance(event, TicketOpened):
        if state.opened_at is None:
            return replace(state, deferred=(*state.deferred, event)), []
        return _step(state, event, now, policies, calendars)
    if state.opened_at is not None:
        return state, []
    at = min(utc(event.opened_at, "opened_at"), now)
    state, emitted = _open(state, event, at, policies, calendars, account or AccountFacts())
    out = ordered(emitted)
    for late in sorted(state.deferred, key=time_of):
        state, more = _step(replace(state, deferred=()), late, now, policies, calendars)
        out += more
    return replace(state, deferred=()), out


def reapply(
    state: TicketClocks, *, now: datetime, policies: Sequence[Policy], calendars: Mapping[str, BusinessCalendar]
) -> tuple[TicketClocks, list[EventPayload]]:
    """An admin re-applies the policies in force: the ticket's facts select a policy again (perhaps a newer
    version of the same one), whose targets apply from each clock's original start, as on a priority change."""
    now = utc(now, "now")
    if state.facts is None:
        return state, []
    after, emitted = _refact(replace(state, facts=None), state.facts, now, policies, calendars)
    return after, ordered(emitted)


def input_key(event: EventPayload) -> str:
    """A stable key for an input without an envelope id: an interaction's id, else a hash of the payload."""
    if isinstance(event, InteractionRecorded):
        return f"interaction:{event.interaction_id}"
    digest = hashlib.sha256(event.model_dump_json().encode()).hexdigest()[:32]
    return f"{getattr(event, 'type', type(event).__name__)}:{digest}"


def _step(
    state: TicketClocks,
    event: LateInput,
    now: datetime,
    policies: Sequence[Policy],
    calendars: Mapping[str, BusinessCalendar],
) -> tuple[TicketClocks, list[EventPayload]]:
    """Catch up to the input's own time, apply it, and catch up to that time again: a recompute can put a
    deadline or a warning in the past, and it fell due before this input, so it comes out now."""
    at = min(utc(time_of(event), "event time"), now)
    state, before = catch_up(state, at)
    state, during = _apply(state, event, at, policies, calendars)
    state, after = catch_up(state, at)
    return state, ordered(before) + ordered(during) + ordered(after)


def _apply(
    state: TicketClocks,
    event: LateInput,
    at: datetime,
    policies: Sequence[Policy],
    calendars: Mapping[str, BusinessCalendar],
) -> tuple[TicketClocks, Emitted]:
    if state.merged:
        return state, []
    match event:
        case InteractionRecorded(author_type="agent", public=True):
            if state.first_reply_at is None:
                return _stop(replace(state, first_reply_at=at), SlaTarget.FIRST_RESPONSE, at, calendars)
            return _stop(state, SlaTarget.NEXT_RESPONSE, at, calendars)
        case InteractionRecorded(author_type="customer"):
            return _arm_next_response(state, at, calendars)
        case TicketStatusChanged():
            return _status(state, event.to_status, at, calendars)
        case TicketReopened():
            state = replace(state, status=TicketStatus.OPEN) if state.status in STOPPING else state
            return _reopen(state, at, calendars)
        case TicketUpdated(priority=priority) if priority is not None and state.facts is not None:
            return _refact(state, replace(state.facts, priority=priority), at, policies, calendars)
        case TicketRouted() if state.facts is not None:
            facts = replace(state.facts, priority=event.priority, queue=event.queue_id)
            return _refact(state, facts, at, policies, calendars)
        case TicketMerged():
            clocks = {target: timer.cancel(clock, at) for target, clock in state.clocks.items()}
            return replace(state, merged=True, clocks=clocks), []
    return state, []


def _open(
    state: TicketClocks,
    event: TicketOpened,
    at: datetime,
    policies: Sequence[Policy],
    calendars: Mapping[str, BusinessCalendar],
    account: AccountFacts,
) -> tuple[TicketClocks, Emitted]:
    facts = TicketFacts(event.priority, event.channel, account.tier, account.key_account)
    policy = select_policy(policies, facts)
    state = replace(state, facts=facts, policy=policy, opened_at=at, status=event.status)
    emitted: Emitted = []
    for target in (SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION):
        state, more = _start(state, target, at, calendars)
        emitted += more
    return state, emitted


def _start(
    state: TicketClocks,
    target: SlaTarget,
    at: datetime,
    calendars: Mapping[str, BusinessCalendar],
    *,
    now: datetime | None = None,
) -> tuple[TicketClocks, Emitted]:
    """Start `target`'s clock at `at` if the policy has it; if the ticket is waiting, paused from `now` (the time
    of the input, which is later than `at` when a new policy adds a target retroactively)."""
    policy = state.policy
    if policy is None or target not in policy.targets:
        return state, []
    spec, stamp = policy.targets[target], stamp_of(state)
    clock, emitted = timer.start(
        target, spec, policy.warning_fractions, at, calendar_for(policy, spec.business_time, calendars), stamp
    )
    if state.status in policy.pause_on:
        clock, paused = timer.pause(clock, now or at, f"status:{state.status}", stamp)
        emitted += paused
    return with_clock(state, clock), emitted


def _stop(
    state: TicketClocks, target: SlaTarget, at: datetime, calendars: Mapping[str, BusinessCalendar]
) -> tuple[TicketClocks, Emitted]:
    clock = state.clocks.get(target)
    if clock is None or not clock.active:
        return state, []
    clock, emitted = timer.stop(clock, at, clock_calendar(state, clock, calendars), stamp_of(state))
    return with_clock(state, clock), emitted


def _arm_next_response(
    state: TicketClocks, at: datetime, calendars: Mapping[str, BusinessCalendar]
) -> tuple[TicketClocks, Emitted]:
    """A customer wrote after our first reply: the next reply is now owed, unless one already is."""
    current = state.clocks.get(SlaTarget.NEXT_RESPONSE)
    if state.first_reply_at is None or state.status is TicketStatus.CLOSED or (current and current.active):
        return state, []
    return _start(state, SlaTarget.NEXT_RESPONSE, at, calendars)


def _status(
    state: TicketClocks, to: TicketStatus, at: datetime, calendars: Mapping[str, BusinessCalendar]
) -> tuple[TicketClocks, Emitted]:
    before, state = state.status, replace(state, status=to)
    policy = state.policy
    if policy is None:
        return state, []
    emitted: Emitted = []
    if to in STOPPING:
        for target in SlaTarget:
            state, more = _stop(state, target, at, calendars)
            emitted += more
        return state, emitted
    if before in STOPPING:  # reopened without a TicketReopened first: same rule
        state, emitted = _reopen(state, at, calendars)
    stamp = stamp_of(state)
    for clock in list(state.clocks.values()):
        if to in policy.pause_on:
            clock, more = timer.pause(clock, at, f"status:{to}", stamp)
        else:
            clock, more = timer.resume(clock, at, clock_calendar(state, clock, calendars), stamp)
        state, emitted = with_clock(state, clock), emitted + more
    return state, emitted


def _reopen(
    state: TicketClocks, at: datetime, calendars: Mapping[str, BusinessCalendar]
) -> tuple[TicketClocks, Emitted]:
    """The resolution clock of a reopened ticket resumes, or restarts, per the policy."""
    clock = state.clocks.get(SlaTarget.RESOLUTION)
    if state.policy is None or clock is None or clock.stopped_at is None:
        return state, []
    if state.policy.reopen is ReopenRule.RESTART:
        return _start(state, SlaTarget.RESOLUTION, at, calendars)
    clock, emitted = timer.reopen(clock, at, clock_calendar(state, clock, calendars), stamp_of(state))
    return with_clock(state, clock), emitted


def _refact(
    state: TicketClocks,
    facts: TicketFacts,
    at: datetime,
    policies: Sequence[Policy],
    calendars: Mapping[str, BusinessCalendar],
) -> tuple[TicketClocks, Emitted]:
    """New facts (priority, queue) may select another policy: its targets apply from each clock's ORIGINAL start,
    keeping the pauses; a clock whose new deadline already passed is breached (at that deadline) by catching up."""
    if facts == state.facts:
        return state, []
    state, policy = replace(state, facts=facts), select_policy(policies, facts)
    if policy is None or policy == state.policy:
        return state, []
    state, stamp = replace(state, policy=policy), Stamp(state.ticket_id, policy.id, policy.version)
    emitted: Emitted = []
    for target in SlaTarget:
        clock, spec = state.clocks.get(target), policy.targets.get(target)
        if clock is not None and clock.active:
            if spec is None:
                state = with_clock(state, timer.cancel(clock, at))
                continue
            cal = calendar_for(policy, spec.business_time, calendars)
            clock, more = timer.retarget(clock, spec, policy.warning_fractions, cal, stamp)
            state, emitted = with_clock(state, clock), emitted + more
        elif clock is None and spec is not None and state.opened_at is not None and _owed(state, target):
            state, more = _start(state, target, state.opened_at, calendars, now=at)
            emitted += more
    return state, emitted


def _owed(state: TicketClocks, target: SlaTarget) -> bool:
    """Whether a target a new policy adds is still owed (next response only starts on a customer message)."""
    if state.status in STOPPING:
        return False
    return target is SlaTarget.RESOLUTION or (target is SlaTarget.FIRST_RESPONSE and state.first_reply_at is None)
