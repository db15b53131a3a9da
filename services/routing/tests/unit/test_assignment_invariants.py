"""Whatever happens, in whatever order: nobody holds more than they can, and a ticket has at most one agent.

A hypothesis state machine routes tickets, changes presence, releases, times out, answers, assigns by hand and
edits the roster at random, and after every step checks the board and the decisions it published.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from switchboard.events.common import Channel, Presence, Priority, Tier
from switchboard.events.routing import TicketAssigned, TicketUnassigned
from switchboard.routing.domain.assignment import (
    AssignmentDecision,
    AssignmentError,
    Board,
    RoutedTicket,
    assign_manually,
    candidates,
    empty_board,
    on_agent_responded,
    on_no_response,
    on_presence,
    on_released,
    on_roster_changed,
    on_routed,
)
from switchboard.routing.domain.roster import Agent, Queue, Roster, Team, build_roster

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TICKETS = [f"t-{n}" for n in range(12)]
AGENTS = ["ali", "ayse", "bora", "mehmet", "zeynep", "ghost"]  # 'ghost' is never on the roster
CHANNELS = [Channel.CHAT, Channel.EMAIL, Channel.PHONE]
QUEUES = ["billing", "tech", "vip"]


def make_roster(capacity: int, skill: int) -> Roster:
    """One of a few rosters the machine switches between: capacities and skills shrink and grow."""

    def desk(chat: int, email: int) -> dict[Channel, int]:
        return {Channel.CHAT: max(0, chat + capacity), Channel.EMAIL: max(0, email + capacity), Channel.PHONE: 1}

    both = frozenset({"billing-team", "tech-team"})
    agents = [
        Agent("ali", "Ali", Tier.L1, {"billing": skill}, frozenset({"tr"}), frozenset({"billing-team"}), desk(1, 2)),
        Agent("ayse", "Ayşe", Tier.L2, {"billing": 3, "api": 2}, frozenset({"tr", "en"}), both, desk(2, 1)),
        Agent("bora", "Bora", Tier.L1, {"api": skill}, frozenset({"en"}), frozenset({"tech-team"}), desk(1, 1)),
        Agent("mehmet", "Mehmet", Tier.L3, {"billing": skill, "api": 1}, frozenset({"tr"}), both, desk(0, 2)),
        Agent("zeynep", "Zeynep", Tier.L1, {"api": 3}, frozenset({"en", "tr"}), frozenset({"tech-team"}), desk(1, 0)),
    ]
    return build_roster(
        agents=agents,
        teams=[Team("billing-team", "Billing"), Team("tech-team", "Tech")],
        queues=[
            Queue("billing", "billing-team", required_skills={"billing": 1}, response_limit_minutes=10),
            Queue("tech", "tech-team", strategy="round_robin", response_limit_minutes=5),
            Queue("vip", "billing-team", tier=Tier.L2),
        ],
        skills=("api", "billing"),
    )


ROSTERS = [make_roster(capacity, skill) for capacity in (-1, 0, 1) for skill in (1, 3)]
START_ROSTER = make_roster(0, 1)

tickets = st.sampled_from(TICKETS)
agents = st.sampled_from(AGENTS)
minutes = st.integers(min_value=0, max_value=20)


class AssignmentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.board = empty_board(START_ROSTER)
        self.now = START
        self.holders: dict[str, str] = {}  # the board as the published decisions tell it
        self.log: list[tuple[Callable[..., tuple[Board, list[AssignmentDecision]]], tuple[Any, ...]]] = []
        self.decisions: list[AssignmentDecision] = []

    def apply(self, reaction: Callable[..., tuple[Board, list[AssignmentDecision]]], *args: Any) -> None:
        self.log.append((reaction, args))
        self.board, decisions = reaction(self.board, *args)
        self.decisions += decisions
        for decision in decisions:
            if isinstance(decision, TicketAssigned):
                assert decision.ticket_id not in self.holders, "assigned while still held"
                assert decision.assigned_at == self.now
                self.holders[decision.ticket_id] = decision.agent_id
            elif isinstance(decision, TicketUnassigned):
                assert self.holders.get(decision.ticket_id) == decision.agent_id, "unassigned by someone not holding it"
                assert decision.unassigned_at == self.now
                del self.holders[decision.ticket_id]

    def tick(self, elapsed: int) -> datetime:
        self.now += timedelta(minutes=elapsed)
        return self.now

    @rule(
        ticket_id=tickets,
        queue=st.sampled_from(QUEUES),
        channel=st.sampled_from(CHANNELS),
        priority=st.sampled_from(list(Priority)),
        language=st.sampled_from([None, None, "tr", "en-GB", "az"]),
        skills=st.sampled_from([{}, {"billing": 2}, {"api": 3}]),
        elapsed=minutes,
    )
    def route(
        self,
        ticket_id: str,
        queue: str,
        channel: Channel,
        priority: Priority,
        language: str | None,
        skills: dict[str, int],
        elapsed: int,
    ) -> None:
        now = self.tick(elapsed)
        self.apply(on_routed, RoutedTicket(ticket_id, queue, channel, priority, now, skills, language), now)

    @initialize(on_shift=st.sets(agents))
    def start_shift(self, on_shift: set[str]) -> None:
        for agent_id in sorted(on_shift):
            self.apply(on_presence, agent_id, Presence.ONLINE, self.now)

    # Online twice as often as away or offline, so that agents are around to take tickets.
    @rule(agent_id=agents, presence=st.sampled_from([Presence.ONLINE, *Presence]), elapsed=minutes)
    def presence(self, agent_id: str, presence: Presence, elapsed: int) -> None:
        self.apply(on_presence, agent_id, presence, self.tick(elapsed))

    def some_ticket(self, data: st.DataObject) -> str:
        """Mostly a ticket on the board (held ones first), sometimes any id: unknown tickets must be harmless."""
        held = sorted(t for t, slot in self.board.slots.items() if slot.agent_id)
        return data.draw(st.sampled_from(held) if held else tickets) if data.draw(st.booleans()) else data.draw(tickets)

    @rule(data=st.data(), reason=st.sampled_from(["solved", "reassigned", "escalated", "manual"]), elapsed=minutes)
    def release(self, data: st.DataObject, reason: str, elapsed: int) -> None:
        self.apply(on_released, self.some_ticket(data), reason, self.tick(elapsed))

    @rule(data=st.data(), elapsed=minutes)
    def silence(self, data: st.DataObject, elapsed: int) -> None:
        self.apply(on_no_response, self.some_ticket(data), self.tick(elapsed))

    @rule(data=st.data(), elapsed=minutes)
    def respond(self, data: st.DataObject, elapsed: int) -> None:
        ticket_id = self.some_ticket(data)
        holder = self.board.holder(ticket_id)
        agent_id = data.draw(st.sampled_from([holder, *AGENTS]) if holder else agents)
        self.apply(on_agent_responded, ticket_id, agent_id, self.tick(elapsed))

    @rule(data=st.data(), agent_id=agents, elapsed=minutes)
    def assign_by_hand(self, data: st.DataObject, agent_id: str, elapsed: int) -> None:
        try:
            self.apply(assign_manually, self.some_ticket(data), agent_id, self.tick(elapsed))
        except AssignmentError:
            self.log.pop()

    @rule(roster=st.sampled_from(ROSTERS), elapsed=minutes)
    def edit_roster(self, roster: Roster, elapsed: int) -> None:
        self.apply(on_roster_changed, roster, self.tick(elapsed))

    @invariant()
    def nobody_holds_more_than_their_capacity(self) -> None:
        for agent_id, seat in self.board.seats.items():
            agent = self.board.roster.agents.get(agent_id)
            for channel in Channel:
                load = self.board.load(agent_id, channel)
                assert 0 <= load <= (agent.capacity_for(channel) if agent else 0), (agent_id, channel, load)
            if seat.presence == Presence.OFFLINE:
                assert not seat.tickets, f"{agent_id} is offline and holds {sorted(seat.tickets)}"

    @invariant()
    def a_ticket_is_held_by_at_most_one_agent_or_waits_once(self) -> None:
        held = [t for seat in self.board.seats.values() for t in seat.tickets]
        assert len(held) == len(set(held)), "a ticket is in two seats"
        waiting = [t for line in self.board.waiting.values() for t in line]
        assert len(waiting) == len(set(waiting)), "a ticket waits twice"
        assert not set(held) & set(waiting), "a held ticket also waits"
        assert set(held) | set(waiting) == set(self.board.slots), "a ticket is neither held nor waiting"
        for ticket_id, slot in self.board.slots.items():
            if slot.agent_id is not None:
                assert ticket_id in self.board.seat(slot.agent_id).tickets
            else:
                assert ticket_id in self.board.waiting[slot.ticket.queue_id]

    @invariant()
    def the_published_decisions_tell_the_same_story_as_the_board(self) -> None:
        on_board = {t: s.agent_id for t, s in self.board.slots.items() if s.agent_id is not None}
        assert self.holders == on_board

    @invariant()
    def no_ticket_waits_while_someone_could_take_it(self) -> None:
        for line in self.board.waiting.values():
            for ticket_id in line:
                assert not candidates(self.board, self.board.slots[ticket_id].ticket), ticket_id

    @invariant()
    def queues_are_in_priority_then_age_order(self) -> None:
        for queue_id in self.board.waiting:
            line = self.board.waiting_in(queue_id)
            assert list(line) == sorted(
                line, key=lambda t: (-list(Priority).index(t.priority), t.routed_at, t.ticket_id)
            )

    def teardown(self) -> None:
        """Replaying the same inputs from the same start gives the same board and the same decisions."""
        board = empty_board(START_ROSTER)
        replayed: list[AssignmentDecision] = []
        for reaction, args in self.log:
            board, decisions = reaction(board, *args)
            replayed += decisions
        assert replayed == self.decisions
        assert board == self.board


AssignmentMachine.TestCase.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_assignments_keep_capacity_and_single_ownership_under_any_interleaving = AssignmentMachine.TestCase


def test_the_machine_sees_both_kinds_of_decision() -> None:
    """A guard against a machine that never gets anyone assigned (and so proves nothing)."""
    machine = AssignmentMachine()
    machine.presence("ayse", Presence.ONLINE, 0)
    machine.route("t-1", "billing", Channel.EMAIL, Priority.NORMAL, None, {}, 1)
    machine.presence("ayse", Presence.OFFLINE, 1)
    machine.teardown()

    assert [type(d) for d in machine.decisions] == [TicketAssigned, TicketUnassigned]
