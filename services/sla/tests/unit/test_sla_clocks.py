"""A ticket's clocks beyond the scenarios: early inputs, redeliveries, bad wiring, stored state and the view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter
from switchboard.events import EventPayload
from switchboard.events.calendar import BusinessCalendar, calendar_from_dict
from switchboard.events.common import Actor, Channel, SlaTarget, TicketStatus
from switchboard.events.interactions import InteractionKind, InteractionRecorded
from switchboard.events.sla import SlaClockPaused, SlaClockStarted, SlaMet
from switchboard.events.tickets import TicketOpened, TicketStatusChanged
from switchboard.sla.domain.clock import ClockState, SlaInput, Tick, TicketClocks, decide, input_key, next_due, view
from switchboard.sla.domain.config import policy_from_dict
from switchboard.sla.domain.policy import AccountFacts, PolicyError

from tests.factories import ticket_opened

pytestmark = pytest.mark.unit

OPEN_AT = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)  # Monday 09:00 in Kyiv
CALENDARS: dict[str, BusinessCalendar] = {
    "default": calendar_from_dict({"time_zone": "Europe/Kyiv", "weekly": {"mon-fri": ["09:00-18:00"]}})
}
POLICIES = [
    policy_from_dict({"id": "vip", "when": {"tier": ["enterprise"]}, "targets": {"first_response": 15}}),
    policy_from_dict({"id": "standard", "targets": {"first_response": 60, "next_response": 120, "resolution": 480}}),
]


def minutes(n: float) -> datetime:
    return OPEN_AT + timedelta(minutes=n)


def opened(at: datetime = OPEN_AT, ticket: str = "T-1") -> TicketOpened:
    return ticket_opened(ticket, at)


def reply(at: datetime, author: str = "agent", interaction: str = "I-1") -> InteractionRecorded:
    kind = InteractionKind.AGENT_REPLY if author == "agent" else InteractionKind.CUSTOMER_MESSAGE
    return InteractionRecorded(
        ticket_id="T-1",
        interaction_id=interaction,
        kind=kind,
        channel=Channel.EMAIL,
        public=True,
        author_type="agent" if author == "agent" else "customer",
        occurred_at=at,
    )


def status(at: datetime, before: TicketStatus, after: TicketStatus) -> TicketStatusChanged:
    return TicketStatusChanged(
        ticket_id="T-1", from_status=before, to_status=after, changed_by=Actor.AGENT, changed_at=at
    )


def given(*inputs: SlaInput, now: datetime | None = None, **options: Any) -> tuple[TicketClocks, list[EventPayload]]:
    state, out = TicketClocks("T-1"), []
    for event in inputs:
        # Inputs act at their own times whenever they are processed, so by default they are processed much later.
        moment = now or (event.at if isinstance(event, Tick) else minutes(10_000))
        state, emitted = decide(state, event, now=moment, policies=POLICIES, calendars=CALENDARS, **options)
        out += emitted
    return state, out


def described(events: list[EventPayload]) -> list[tuple[str, str]]:
    return [(type(e).__name__, str(getattr(e, "target", ""))) for e in events]


# --- ordering across topics and redeliveries --------------------------------------------------------------------


def test_inputs_before_the_opening_wait_for_it_and_then_count_at_their_own_times() -> None:
    # Interactions and tickets are different topics: the reply can be decided before the ticket exists.
    state, early = given(reply(minutes(30)), status(minutes(40), TicketStatus.OPEN, TicketStatus.PENDING))
    assert early == [] and len(state.deferred) == 2
    state, out = decide(state, opened(), now=minutes(45), policies=POLICIES, calendars=CALENDARS)
    assert described(out) == [
        ("SlaClockStarted", "first_response"),
        ("SlaClockStarted", "resolution"),
        ("SlaMet", "first_response"),
        ("SlaClockPaused", "resolution"),
    ]
    assert isinstance(out[2], SlaMet) and out[2].met_at == minutes(30) and out[2].used_minutes == 30
    assert isinstance(out[3], SlaClockPaused) and out[3].paused_at == minutes(40)
    assert state.deferred == ()


def test_a_redelivery_without_an_envelope_id_is_recognised_by_its_payload() -> None:
    pending = status(minutes(10), TicketStatus.NEW, TicketStatus.PENDING)
    state, first = given(opened(), pending, now=minutes(10))
    again, second = decide(state, pending, now=minutes(11), policies=POLICIES, calendars=CALENDARS)
    assert [type(e) for e in first].count(SlaClockPaused) == 2 and second == [] and again == state
    assert input_key(pending) == input_key(pending.model_copy()) != input_key(opened())


def test_a_redelivered_opening_with_another_envelope_id_still_opens_once() -> None:
    state, _ = given(opened(), event_id="E-1")
    again, out = decide(state, opened(), now=OPEN_AT, policies=POLICIES, calendars=CALENDARS, event_id="E-2")
    assert out == [] and again.clocks == state.clocks


def test_an_input_for_another_ticket_is_refused() -> None:
    with pytest.raises(ValueError, match="event for ticket T-2 given to the clocks of ticket T-1"):
        given(opened(ticket="T-2"))


def test_a_policy_on_a_calendar_nobody_configured_is_a_policy_error() -> None:
    lost = [policy_from_dict({"id": "lost", "calendar": "mars", "targets": {"resolution": 60}})]
    with pytest.raises(PolicyError, match="policy 'lost' v1 uses unknown calendar 'mars'"):
        decide(TicketClocks("T-1"), opened(), now=OPEN_AT, policies=lost, calendars=CALENDARS)


def test_the_account_decides_the_policy_at_opening() -> None:
    state, out = given(opened(), account=AccountFacts(tier="enterprise"))
    assert state.policy_id == "vip" and state.facts is not None and state.facts.account_tier == "enterprise"
    assert described(out) == [("SlaClockStarted", "first_response")]


def test_an_input_stamped_in_the_future_acts_now() -> None:
    state, _ = given(opened(), now=OPEN_AT)
    _, out = decide(state, reply(minutes(50)), now=minutes(20), policies=POLICIES, calendars=CALENDARS)
    assert isinstance(out[0], SlaMet) and out[0].met_at == minutes(20)


def test_a_tick_from_the_future_only_reaches_now() -> None:
    state, _ = given(opened(), now=OPEN_AT)
    _, out = decide(state, Tick(minutes(600)), now=minutes(50), policies=POLICIES, calendars=CALENDARS)
    assert [getattr(e, "fraction", None) for e in out] == [0.75]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        decide(TicketClocks("T-1"), opened(), now=datetime(2025, 6, 2), policies=POLICIES, calendars=CALENDARS)


# --- timer and view ---------------------------------------------------------------------------------------------


def test_a_new_ticket_needs_no_timer_until_it_has_clocks() -> None:
    assert next_due(TicketClocks("T-1")) is None
    state, _ = given(opened())
    assert next_due(state) == minutes(45)


def test_the_view_shows_a_missed_deadline_as_breached_before_the_timer_fires() -> None:
    state, _ = given(opened(), now=OPEN_AT)
    shown = {t.target: t for t in view(state, minutes(90), calendars=CALENDARS).targets}
    first = shown[SlaTarget.FIRST_RESPONSE]
    assert first.state is ClockState.BREACHED and first.breached_at == minutes(60)
    assert first.used_minutes == 90 and first.left_minutes == -30
    assert shown[SlaTarget.RESOLUTION].state is ClockState.RUNNING
    assert state.clocks[SlaTarget.FIRST_RESPONSE].state is ClockState.RUNNING  # viewing changed nothing


def test_the_view_of_a_paused_clock_has_no_deadline_and_stops_counting() -> None:
    state, _ = given(opened(), reply(minutes(30)), status(minutes(60), TicketStatus.OPEN, TicketStatus.PENDING))
    sla = view(state, minutes(600), calendars=CALENDARS)
    resolution = next(t for t in sla.targets if t.target is SlaTarget.RESOLUTION)
    assert resolution.paused and resolution.state is ClockState.PAUSED and resolution.deadline is None
    assert resolution.used_minutes == 60 and resolution.left_minutes == 420
    assert sla.policy_id == "standard" and sla.policy_version == 1 and sla.next_due is None


# --- stored state -----------------------------------------------------------------------------------------------


def test_the_state_survives_a_json_round_trip_and_decides_the_same_afterwards() -> None:
    adapter = TypeAdapter(TicketClocks)
    state, _ = given(
        opened(),
        reply(minutes(20)),
        reply(minutes(30), author="customer", interaction="I-2"),
        status(minutes(40), TicketStatus.OPEN, TicketStatus.PENDING),
        now=minutes(40),
    )
    stored = adapter.validate_json(adapter.dump_json(state))
    assert stored == state
    resume = status(minutes(100), TicketStatus.PENDING, TicketStatus.OPEN)
    assert decide(stored, resume, now=minutes(100), policies=POLICIES, calendars=CALENDARS) == decide(
        state, resume, now=minutes(100), policies=POLICIES, calendars=CALENDARS
    )


def test_early_inputs_are_stored_too() -> None:
    adapter = TypeAdapter(TicketClocks)
    state, _ = given(reply(minutes(30)))
    assert adapter.validate_json(adapter.dump_json(state)) == state


def test_started_events_name_the_policy_version_that_governs_the_ticket() -> None:
    _, out = given(opened())
    assert all(isinstance(e, SlaClockStarted) and (e.policy_id, e.policy_version) == ("standard", 1) for e in out)
