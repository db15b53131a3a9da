"""What keeps decisions cheap on a full desk must not change them.

The board shares its unchanged parts between versions, remembers each seat's load and indexes the roster by team;
the rules fold a subject once per ticket. Here the results are compared with the plain ways of working them out,
and every old board is checked to be exactly as it was handed out.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from switchboard.events.common import Channel, Presence, Priority, Tier
from switchboard.routing.domain.assignment import (
    AssignmentError,
    Board,
    RoutedTicket,
    assign_manually,
    empty_board,
    on_agent_responded,
    on_no_response,
    on_presence,
    on_released,
    on_roster_changed,
    on_routed,
    pick,
    utilisation,
)
from switchboard.routing.domain.roster import Agent, Queue, Roster, Team, build_roster, tier_rank
from switchboard.routing.domain.rules import TicketFacts, explain, parse_rules, route
from switchboard.routing.domain.rules import model as rules_model
from switchboard.routing.domain.skills import has_skills, merge_skills
from switchboard.routing.domain.text import words

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CHANNELS = [Channel.CHAT, Channel.EMAIL, Channel.PHONE]
QUEUES = ["billing", "tech", "vip"]
NAMES = ["ali", "ayse", "bora", "can", "deniz", "mehmet", "zeynep", "ghost"]  # 'ghost' is never on the roster


def make_roster(shrink: int) -> Roster:
    """Agents in one team or both, with capacities whose fractions tie in awkward ways (2 of 4 chats = 1 of 2)."""
    teams = [frozenset({"billing-team"}), frozenset({"tech-team"}), frozenset({"billing-team", "tech-team"})]
    agents = [
        Agent(
            name,
            name.title(),
            [Tier.L1, Tier.L2, Tier.L3][n % 3],
            {"billing": 1 + n % 3, "api": 1 + (n + 1) % 3},
            frozenset([["tr"], ["en-GB"], ["tr", "en"]][n % 3]),
            teams[n % 3],
            {Channel.CHAT: max(0, 2 + n % 3 - shrink), Channel.EMAIL: 4 - shrink, Channel.PHONE: n % 2},
        )
        for n, name in enumerate(NAMES[:-1])
    ]
    return build_roster(
        agents=agents,
        teams=[Team("billing-team", "Billing"), Team("tech-team", "Tech"), Team("idle-team", "Idle")],
        queues=[
            Queue("billing", "billing-team", required_skills={"billing": 2}, response_limit_minutes=10),
            Queue("tech", "tech-team", strategy="round_robin", response_limit_minutes=5),
            Queue("vip", "billing-team", tier=Tier.L2),
        ],
        skills=("api", "billing"),
    )


ROSTERS = [make_roster(shrink) for shrink in (0, 1, 2)]


# --- the plain ways, as the board worked before it was made to scale -------------------------------------------


def counted_loads(board: Board, agent_id: str) -> Counter[Channel]:
    seat = board.seats.get(agent_id)
    return Counter(board.slots[t].ticket.channel for t in seat.tickets) if seat else Counter()


def plain_utilisation(board: Board, agent: Agent) -> Fraction:
    """Held over capacity per channel, summed, from loads counted afresh (as `plain_pick` orders agents)."""
    held = counted_loads(board, agent.agent_id)
    return sum((Fraction(held[c], cap) for c, cap in agent.capacity.items() if cap > 0), Fraction(0))


def plain_pick(board: Board, ticket: RoutedTicket, exclude: frozenset[str] = frozenset()) -> str | None:
    queue = board.roster.queues.get(ticket.queue_id)
    if queue is None:
        return None

    def room(agent: Agent) -> bool:
        seat = board.seats.get(agent.agent_id)
        online = seat is not None and seat.presence == Presence.ONLINE
        return online and counted_loads(board, agent.agent_id)[ticket.channel] < agent.capacity_for(ticket.channel)

    able = [
        agent
        for agent in board.roster.agents.values()
        if queue.team_id in agent.teams
        and agent.agent_id not in exclude
        and tier_rank(agent.tier) >= tier_rank(queue.tier)
        and has_skills(agent.skills, merge_skills(queue.required_skills, ticket.skills))
        and (ticket.language is None or any(s.split("-")[0] == ticket.language.split("-")[0] for s in agent.languages))
        and room(agent)
    ]
    if not able:
        return None
    if queue.strategy == "round_robin":
        last = board.cursors.get(queue.queue_id, "")
        return next((a.agent_id for a in able if a.agent_id > last), able[0].agent_id)

    def order(agent: Agent) -> tuple[Fraction, bool, datetime, str]:
        held = counted_loads(board, agent.agent_id)
        load = sum((Fraction(held[c], cap) for c, cap in agent.capacity.items() if cap > 0), Fraction(0))
        idle = board.seats[agent.agent_id].idle_since
        return (load, idle is not None, idle or datetime.min.replace(tzinfo=UTC), agent.agent_id)

    return min(able, key=order).agent_id


def contents(board: Board) -> tuple[list[Any], ...]:
    """Everything a reader can see of a board, in iteration order."""
    return (list(board.seats.items()), list(board.slots.items()), list(board.waiting.items()), list(board.cursors))


# --- a busy desk at random --------------------------------------------------------------------------------------


def busy_desk(seed: int, steps: int) -> list[tuple[Board, tuple[list[Any], ...]]]:
    """Random reactions over 150 ticket ids (enough for the slots' overlay to be folded many times)."""
    rng = random.Random(seed)
    board, now = empty_board(ROSTERS[0]), START
    history = [(board, contents(board))]
    tickets = [f"t-{n:03d}" for n in range(150)]
    for _ in range(steps):
        now += timedelta(minutes=rng.randint(0, 4))
        roll = rng.random()
        held = sorted(t for t, slot in board.slots.items() if slot.agent_id)
        some = rng.choice(held) if held and rng.random() < 0.7 else rng.choice(tickets)
        reaction: Callable[..., Any]
        args: tuple[Any, ...]
        if roll < 0.45:
            language = rng.choice([None, "tr", "en-US", "az"])
            skills = rng.choice([{}, {"billing": 3}, {"api": 2}])
            priority = rng.choice(list(Priority))
            ticket_id, queue_id, channel = rng.choice(tickets), rng.choice(QUEUES), rng.choice(CHANNELS)
            ticket = RoutedTicket(ticket_id, queue_id, channel, priority, now, skills, language)
            reaction, args = on_routed, (ticket, now)
        elif roll < 0.6:
            presence = rng.choice([Presence.ONLINE, Presence.ONLINE, Presence.AWAY, Presence.OFFLINE])
            reaction, args = on_presence, (rng.choice(NAMES), presence, now)
        elif roll < 0.75:
            reaction, args = on_released, (some, "solved", now)
        elif roll < 0.82:
            reaction, args = on_no_response, (some, now)
        elif roll < 0.9:
            reaction, args = on_agent_responded, (some, board.holder(some) or rng.choice(NAMES), now)
        elif roll < 0.97:
            reaction, args = assign_manually, (some, rng.choice(NAMES), now)
        else:
            reaction, args = on_roster_changed, (rng.choice(ROSTERS), now)
        try:
            board, _ = reaction(board, *args)
        except AssignmentError:
            continue
        history.append((board, contents(board)))
        check_against_the_plain_ways(board, rng)
    return history


def check_against_the_plain_ways(board: Board, rng: random.Random) -> None:
    for agent_id, seat in board.seats.items():
        assert Counter(seat.held(board.slots)) == counted_loads(board, agent_id), agent_id
        agent = board.roster.agents.get(agent_id)
        if agent is not None:
            assert sum(seat.held(board.slots).values()) == len(seat.tickets)
            assert utilisation(board, agent) == plain_utilisation(board, agent), agent_id
    for queue_id in QUEUES:
        for channel in CHANNELS:
            probe = RoutedTicket(
                "probe",
                queue_id,
                channel,
                Priority.NORMAL,
                START,
                rng.choice([{}, {"api": 2}]),
                rng.choice([None, "tr"]),
            )
            exclude = frozenset(rng.sample(NAMES, rng.randint(0, 2)))
            assert pick(board, probe, exclude) == plain_pick(board, probe, exclude), (queue_id, channel, exclude)


@pytest.mark.parametrize("seed", range(6))
def test_a_busy_desk_picks_as_the_plain_way_and_never_changes_a_board_it_handed_out(seed: int) -> None:
    history = busy_desk(seed, steps=400)

    assert sum(1 for board, _ in history if board.waiting) > 10, "the scenario should make tickets wait"
    for board, seen in history:
        assert contents(board) == seen


def test_reactions_that_change_nothing_return_the_same_maps() -> None:
    board = empty_board(ROSTERS[0])
    board, _ = on_presence(board, "bora", Presence.ONLINE, START)
    board, _ = on_routed(board, RoutedTicket("t-1", "billing", Channel.EMAIL, Priority.NORMAL, START), START)

    after, decisions = on_routed(board, RoutedTicket("t-1", "billing", Channel.EMAIL, Priority.HIGH, START), START)

    assert decisions == [] and after.holder("t-1") == "bora" and after.slots["t-1"].ticket.priority == Priority.HIGH
    assert after.seats is board.seats and after.waiting is board.waiting and after.cursors is board.cursors


def test_the_roster_index_lists_the_same_members_and_queues_as_a_scan() -> None:
    for roster in ROSTERS:
        for team_id in [*roster.teams, "no-such-team"]:
            assert roster.members(team_id) == tuple(a for a in roster.agents.values() if team_id in a.teams)
        for agent_id in NAMES:
            agent = roster.agents.get(agent_id)
            scanned = {q.queue_id for q in roster.queues.values() if agent and q.team_id in agent.teams}
            assert roster.queues_of(agent_id) == scanned


# --- rules ------------------------------------------------------------------------------------------------------

FIFTY = "version: 1\ndefault: {queue: general}\nrules:\n" + "".join(
    f"  - {{id: to-q{n:02d}, when: {{subject_words: [q{n:02d}]}}, then: {{queue: q{n:02d}}}}}\n" for n in range(50)
)


def test_fifty_subject_rules_fold_the_subject_once_and_decide_as_explain_does(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = parse_rules(FIFTY, known_queues={"general", *(f"q{n:02d}" for n in range(50))}, known_skills=())
    calls: list[str] = []

    def counted(text: str) -> tuple[str, ...]:
        calls.append(text)
        return words(text)

    monkeypatch.setattr(rules_model, "words", counted)

    decision = route(rules, TicketFacts(Channel.WEB_FORM, "Order arrived damaged [Q49]"))

    assert decision.queue == "q49" and decision.rule_id == "to-q49"
    assert calls == ["Order arrived damaged [Q49]"]
    assert explain(rules, TicketFacts(Channel.WEB_FORM, "Order arrived damaged [Q49]")).decision == decision
