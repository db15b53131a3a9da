"""Whatever roster changes come in between, every routed open ticket is assigned or waiting in exactly one queue.

A hypothesis state machine plays the assigner: it routes tickets (some to queues the roster does not have),
changes presence, releases tickets and stores new rosters (queues added and removed, agents removed, capacities
changed; every roster keeps the default queue, as the API requires), applying each input to the board as the
assigner does: an input the board refuses is logged and skipped. After every step it checks that the board
holds each open ticket in one place on the roster in force, that the roster in force is the last one stored,
and that the published events tell where each ticket is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from switchboard.events.common import Channel, Presence, Priority
from switchboard.events.routing import TicketAssigned, TicketRouted, TicketUnassigned
from switchboard.routing.domain.assignment import (
    Board,
    RoutedTicket,
    empty_board,
    on_presence,
    on_released,
    on_roster_changed,
    on_routed,
)
from switchboard.routing.domain.roster import Agent, Queue, Roster, RosterError, Team, build_roster

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DEFAULT = "general"
TICKETS = [f"t-{n}" for n in range(10)]
AGENTS = ["ali", "ayse", "bora", "mehmet"]
OPTIONAL_QUEUES = ["billing", "tech", "vip"]  # a roster has any of these, and always the default queue
CHANNELS = [Channel.CHAT, Channel.EMAIL]
TEAMS = {"support": ("general", "vip"), "finance": ("billing",), "tech-team": ("tech",)}
AGENT_TEAMS = {
    "ali": frozenset({"support"}),
    "ayse": frozenset({"finance", "support"}),
    "bora": frozenset({"tech-team"}),
    "mehmet": frozenset({"finance", "tech-team"}),
}


def make_roster(queues: frozenset[str], agents: frozenset[str], capacity: int) -> Roster:
    team_of = {queue: team for team, served in TEAMS.items() for queue in served}
    return build_roster(
        agents=[
            Agent(agent_id, agent_id.title(), teams=AGENT_TEAMS[agent_id], capacity={c: capacity for c in CHANNELS})
            for agent_id in sorted(agents)
        ],
        teams=[Team(team_id, team_id.title()) for team_id in TEAMS],
        queues=[Queue(queue_id, team_of[queue_id]) for queue_id in sorted(queues | {DEFAULT})],
        skills=(),
    )


Reaction = Callable[..., tuple[Board, list[Any]]]


class PlacesMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.roster = make_roster(frozenset(OPTIONAL_QUEUES), frozenset(AGENTS), 1)  # the last roster stored
        self.board = empty_board(self.roster)
        self.now = START
        self.open: set[str] = set()  # routed and not released, as the inputs tell it
        self.announced: dict[str, str] = {}  # ticket -> queue of the last `TicketRouted` published about it
        self.holders: dict[str, str] = {}  # ticket -> agent, as the published assignments tell it
        self.log: list[tuple[Reaction, tuple[Any, ...]]] = []

    def apply(self, reaction: Reaction, *args: Any) -> None:
        """As the assigner applies an input: a refused one is skipped and the board stays as it was."""
        self.log.append((reaction, args))
        try:
            self.board, decisions = reaction(self.board, *args)
        except RosterError:
            return
        for decision in decisions:
            if isinstance(decision, TicketRouted):
                assert decision.reason, "a ticket moved by the board is announced with the reason"
                self.announced[decision.ticket_id] = decision.queue_id
            elif isinstance(decision, TicketAssigned):
                self.holders[decision.ticket_id] = decision.agent_id
                assert decision.queue_id == self.announced[decision.ticket_id], "assigned from another queue"
            elif isinstance(decision, TicketUnassigned):
                assert self.holders.pop(decision.ticket_id) == decision.agent_id

    def tick(self, elapsed: int) -> datetime:
        self.now += timedelta(minutes=elapsed)
        return self.now

    @rule(
        ticket_id=st.sampled_from(TICKETS),
        queue=st.sampled_from([DEFAULT, *OPTIONAL_QUEUES, "retired"]),  # 'retired' is on no roster
        channel=st.sampled_from(CHANNELS),
        priority=st.sampled_from(list(Priority)),
        elapsed=st.integers(0, 30),
    )
    def route(self, ticket_id: str, queue: str, channel: Channel, priority: Priority, elapsed: int) -> None:
        now = self.tick(elapsed)
        self.open.add(ticket_id)
        self.announced[ticket_id] = queue  # the routing decision, published before the board hears of it
        self.apply(on_routed, RoutedTicket(ticket_id, queue, channel, priority, now), now)

    @rule(agent_id=st.sampled_from(AGENTS), presence=st.sampled_from([Presence.ONLINE, *Presence]))
    def presence(self, agent_id: str, presence: Presence) -> None:
        self.apply(on_presence, agent_id, presence, self.tick(1))

    @rule(ticket_id=st.sampled_from(TICKETS), reason=st.sampled_from(["solved", "escalated"]))
    def release(self, ticket_id: str, reason: str) -> None:
        self.apply(on_released, ticket_id, reason, self.tick(1))
        self.open.discard(ticket_id)

    @rule(
        queues=st.frozensets(st.sampled_from(OPTIONAL_QUEUES)),
        agents=st.frozensets(st.sampled_from(AGENTS)),
        capacity=st.integers(0, 3),
    )
    def store_roster(self, queues: frozenset[str], agents: frozenset[str], capacity: int) -> None:
        self.roster = make_roster(queues, agents, capacity)
        self.apply(on_roster_changed, self.roster, self.tick(1))

    @invariant()
    def the_board_works_to_the_roster_last_stored(self) -> None:
        assert self.board.roster == self.roster, "the board refused a roster the API stored"

    @invariant()
    def every_open_ticket_is_held_or_waits_in_exactly_one_queue_on_the_roster(self) -> None:
        assert set(self.board.slots) == self.open, "the board lost or kept tickets"
        for ticket_id in sorted(self.open):
            holders = [a for a, seat in self.board.seats.items() if ticket_id in seat.tickets]
            lines = [q for q, line in self.board.waiting.items() for t in line if t == ticket_id]
            assert len(holders) + len(lines) == 1, (ticket_id, holders, lines)
            slot = self.board.slots[ticket_id]
            assert slot.ticket.queue_id in self.roster.queues, (ticket_id, slot.ticket.queue_id)
            if lines:
                assert lines == [slot.ticket.queue_id] and slot.agent_id is None
            else:
                assert holders == [slot.agent_id] and slot.agent_id in self.roster.agents

    @invariant()
    def the_published_events_say_where_each_ticket_is(self) -> None:
        for ticket_id in self.open:
            slot = self.board.slots.get(ticket_id)
            assert slot is not None and self.announced[ticket_id] == slot.ticket.queue_id, ticket_id
        on_board = {t: s.agent_id for t, s in self.board.slots.items() if s.agent_id is not None}
        assert {t: a for t, a in self.holders.items() if t in self.open} == on_board

    @invariant()
    def nobody_holds_more_than_their_capacity(self) -> None:
        for agent_id in self.board.seats:
            agent = self.board.roster.agents.get(agent_id)
            for channel in CHANNELS:
                assert self.board.load(agent_id, channel) <= (agent.capacity_for(channel) if agent else 0)

    def teardown(self) -> None:
        """The assigner's replay of the same inputs rebuilds the same board."""
        board = empty_board(make_roster(frozenset(OPTIONAL_QUEUES), frozenset(AGENTS), 1))
        for reaction, args in self.log:
            try:
                board, _ = reaction(board, *args)
            except RosterError:
                continue
        assert board == self.board


PlacesMachine.TestCase.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_every_routed_open_ticket_is_assigned_or_waits_in_exactly_one_queue = PlacesMachine.TestCase


def test_the_machine_moves_tickets_out_of_a_removed_queue() -> None:
    """A guard against a machine that never removes a queue under waiting tickets (and so proves nothing)."""
    machine = PlacesMachine()
    machine.route("t-1", "billing", Channel.EMAIL, Priority.NORMAL, 0)
    machine.presence("mehmet", Presence.ONLINE)
    machine.route("t-2", "billing", Channel.EMAIL, Priority.HIGH, 1)
    machine.store_roster(frozenset({"tech"}), frozenset(AGENTS), 1)
    machine.every_open_ticket_is_held_or_waits_in_exactly_one_queue_on_the_roster()
    machine.the_published_events_say_where_each_ticket_is()

    assert machine.announced == {"t-1": "general", "t-2": "general"}
    assert machine.board.waiting_in("general")[0].ticket_id == "t-2"  # priority first, whatever queue it came from
