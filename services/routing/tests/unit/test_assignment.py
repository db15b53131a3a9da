"""Who gets a ticket: given the board, when something happens, then these assignments (and nothing else) happen."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from switchboard.events.common import Channel, Presence, Priority, Tier
from switchboard.events.routing import TicketAssigned, TicketRouted, TicketUnassigned
from switchboard.routing.domain.assignment import (
    AssignmentDecision,
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
)
from switchboard.routing.domain.roster import Agent, Queue, Roster, Team, build_roster

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EN, TR = frozenset({"en"}), frozenset({"tr", "en"})
DESK = {Channel.CHAT: 2, Channel.EMAIL: 4}


def agent(agent_id: str, team: str = "billing-team", **overrides: object) -> Agent:
    fields: dict[str, object] = {
        "agent_id": agent_id,
        "name": agent_id.title(),
        "skills": {"billing": 3},
        "languages": TR,
        "teams": frozenset({team}),
        "capacity": DESK,
    }
    return Agent(**(fields | overrides))  # type: ignore[arg-type]


def roster(*agents: Agent, queues: Sequence[Queue] = ()) -> Roster:
    return build_roster(
        agents=agents,
        teams=[Team("billing-team", "Billing"), Team("tech-team", "Tech")],
        queues=queues
        or [
            Queue("billing", "billing-team", required_skills={"billing": 2}, response_limit_minutes=15),
            Queue("tech", "tech-team", strategy="round_robin"),
            Queue("vip", "billing-team", tier=Tier.L2, required_skills={"key_accounts": 2}),
        ],
        skills=("api", "billing", "key_accounts", "turkish"),
    )


def routed(ticket_id: str, queue: str = "billing", *, minutes: int = 0, **overrides: object) -> RoutedTicket:
    fields: dict[str, object] = {
        "ticket_id": ticket_id,
        "queue_id": queue,
        "channel": Channel.EMAIL,
        "priority": Priority.NORMAL,
        "routed_at": NOW + timedelta(minutes=minutes),
    }
    return RoutedTicket(**(fields | overrides))  # type: ignore[arg-type]


def online(board: Board, *agent_ids: str, at: datetime = NOW) -> Board:
    for agent_id in agent_ids:
        board, _ = on_presence(board, agent_id, Presence.ONLINE, at)
    return board


def route_all(board: Board, *tickets: RoutedTicket) -> tuple[Board, list[AssignmentDecision]]:
    decisions: list[AssignmentDecision] = []
    for ticket in tickets:
        board, made = on_routed(board, ticket, ticket.routed_at)
        decisions += made
    return board, decisions


def assigned(decisions: Sequence[AssignmentDecision]) -> list[tuple[str, str]]:
    return [(d.ticket_id, d.agent_id) for d in decisions if isinstance(d, TicketAssigned)]


def unassigned(decisions: Sequence[AssignmentDecision]) -> list[tuple[str, str, str]]:
    return [(d.ticket_id, d.agent_id, d.reason) for d in decisions if isinstance(d, TicketUnassigned)]


# --- picking an agent -----------------------------------------------------------------------------------------


def test_a_routed_ticket_goes_to_an_online_agent_and_says_how_and_when() -> None:
    board = online(empty_board(roster(agent("ayse"))), "ayse")

    board, decisions = on_routed(board, routed("t-1"), NOW)

    assert decisions == [
        TicketAssigned(
            ticket_id="t-1",
            agent_id="ayse",
            queue_id="billing",
            team_id="billing-team",  # the queue's team on the roster at the decision
            channel=Channel.EMAIL,
            strategy="least_loaded",
            assigned_at=NOW,
        )
    ]
    assert board.holder("t-1") == "ayse"
    assert board.load("ayse", Channel.EMAIL) == 1


def test_the_least_loaded_agent_relative_to_capacity_gets_the_ticket() -> None:
    big_desk = agent("mehmet", capacity={Channel.EMAIL: 8})
    board = online(empty_board(roster(agent("ayse"), big_desk)), "ayse", "mehmet")

    board, decisions = route_all(board, *(routed(f"t-{n}", minutes=n) for n in range(1, 7)))

    # ayse holds 4 e-mails at most, mehmet 8: each pick goes to whoever is relatively freer.
    assert assigned(decisions) == [
        ("t-1", "ayse"),
        ("t-2", "mehmet"),
        ("t-3", "mehmet"),
        ("t-4", "ayse"),
        ("t-5", "mehmet"),
        ("t-6", "mehmet"),
    ]


def test_load_on_other_channels_counts_too() -> None:
    board = online(empty_board(roster(agent("ayse"), agent("mehmet"))), "ayse", "mehmet")
    board, _ = route_all(board, routed("chat-1", channel=Channel.CHAT))

    board, decisions = on_routed(board, routed("mail-1", minutes=1), NOW)

    assert assigned(decisions) == [("mail-1", "mehmet")]


def test_ties_go_to_the_agent_idle_longest() -> None:
    board = empty_board(roster(agent("ayse"), agent("mehmet")))
    board = online(board, "mehmet", at=NOW - timedelta(hours=1))
    board = online(board, "ayse", at=NOW)

    board, decisions = on_routed(board, routed("t-1"), NOW)

    assert assigned(decisions) == [("t-1", "mehmet")]


def test_agents_without_the_skill_level_language_or_tier_are_passed_over() -> None:
    junior = agent("ayse", skills={"billing": 1})
    english_only = agent("john", languages=EN)
    board = online(empty_board(roster(junior, english_only, agent("mehmet"))), "ayse", "john", "mehmet")

    board, decisions = on_routed(board, routed("t-1", language="tr-TR", skills={"billing": 2}), NOW)

    assert assigned(decisions) == [("t-1", "mehmet")]


def test_an_l1_agent_never_gets_tickets_from_an_l2_queue() -> None:
    skilled = {"billing": 3, "key_accounts": 3}
    board = empty_board(roster(agent("ayse", skills=skilled), agent("zeynep", skills=skilled, tier=Tier.L2)))
    board = online(board, "ayse", "zeynep")

    board, decisions = on_routed(board, routed("t-1", "vip"), NOW)

    assert assigned(decisions) == [("t-1", "zeynep")]


def test_round_robin_takes_turns_and_wraps_around() -> None:
    team = [agent(name, "tech-team") for name in ("ali", "bora", "cem")]
    board = online(empty_board(roster(*team)), "cem", "ali", "bora")

    board, decisions = route_all(board, *(routed(f"t-{n}", "tech", minutes=n) for n in range(1, 6)))

    assert assigned(decisions) == [("t-1", "ali"), ("t-2", "bora"), ("t-3", "cem"), ("t-4", "ali"), ("t-5", "bora")]
    assert {d.strategy for d in decisions if isinstance(d, TicketAssigned)} == {"round_robin"}


def test_round_robin_skips_agents_who_are_full() -> None:
    team = [agent("ali", "tech-team", capacity={Channel.EMAIL: 1}), agent("bora", "tech-team")]
    board = online(empty_board(roster(*team)), "ali", "bora")

    board, decisions = route_all(board, *(routed(f"t-{n}", "tech", minutes=n) for n in range(1, 4)))

    assert assigned(decisions) == [("t-1", "ali"), ("t-2", "bora"), ("t-3", "bora")]


# --- waiting --------------------------------------------------------------------------------------------------


def test_with_nobody_online_tickets_wait_most_urgent_first_then_oldest() -> None:
    board = empty_board(roster(agent("ayse")))

    board, decisions = route_all(
        board,
        routed("old-normal", minutes=1),
        routed("new-urgent", minutes=3, priority=Priority.URGENT),
        routed("older-normal", minutes=0),
        routed("low", minutes=-10, priority=Priority.LOW),
    )

    assert decisions == []
    assert [t.ticket_id for t in board.waiting_in("billing")] == ["new-urgent", "older-normal", "old-normal", "low"]


def test_an_agent_coming_online_takes_waiting_tickets_in_queue_order_up_to_capacity() -> None:
    board = empty_board(roster(agent("ayse", capacity={Channel.EMAIL: 2})))
    board, _ = route_all(
        board, routed("t-1", minutes=1), routed("t-2", minutes=2, priority=Priority.HIGH), routed("t-3")
    )

    board, decisions = on_presence(board, "ayse", Presence.ONLINE, NOW + timedelta(hours=1))

    assert assigned(decisions) == [("t-2", "ayse"), ("t-3", "ayse")]
    assert [t.ticket_id for t in board.waiting_in("billing")] == ["t-1"]


def test_an_away_agent_keeps_their_tickets_but_gets_no_new_ones_until_back() -> None:
    board = online(empty_board(roster(agent("ayse"))), "ayse")
    board, _ = route_all(board, routed("t-1"))

    board, away = on_presence(board, "ayse", Presence.AWAY, NOW)
    board, waiting = on_routed(board, routed("t-2", minutes=1), NOW)
    board, back = on_presence(board, "ayse", Presence.ONLINE, NOW + timedelta(minutes=5))

    assert (away, waiting) == ([], [])
    assert board.holder("t-1") == "ayse"
    assert assigned(back) == [("t-2", "ayse")]


def test_an_agent_going_offline_loses_their_tickets_which_go_to_colleagues_at_once() -> None:
    board = online(empty_board(roster(agent("ayse"), agent("mehmet", capacity={Channel.EMAIL: 1}))), "ayse")
    board, _ = route_all(board, routed("t-1"), routed("t-2", minutes=1, priority=Priority.HIGH))
    board = online(board, "mehmet")

    board, decisions = on_presence(board, "ayse", Presence.OFFLINE, NOW + timedelta(hours=8))

    assert unassigned(decisions) == [("t-2", "ayse", "agent_offline"), ("t-1", "ayse", "agent_offline")]
    assert assigned(decisions) == [("t-2", "mehmet")]
    assert [t.ticket_id for t in board.waiting_in("billing")] == ["t-1"]
    assert board.seat("ayse").tickets == frozenset()


def test_a_solved_ticket_frees_its_agent_for_the_next_waiting_one() -> None:
    board = online(empty_board(roster(agent("ayse", capacity={Channel.EMAIL: 1}))), "ayse")
    board, _ = route_all(board, routed("t-1"), routed("t-2", minutes=1))

    board, decisions = on_released(board, "t-1", "solved", NOW + timedelta(hours=1))

    assert unassigned(decisions) == [("t-1", "ayse", "solved")]
    assert assigned(decisions) == [("t-2", "ayse")]
    assert "t-1" not in board.slots


def test_releasing_a_waiting_or_unknown_ticket_only_takes_it_off_the_board() -> None:
    board, _ = route_all(empty_board(roster(agent("ayse"))), routed("t-1"))

    board, decisions = on_released(board, "t-1", "escalated", NOW)
    again, more = on_released(board, "t-1", "escalated", NOW)

    assert (decisions, more) == ([], [])
    assert board.waiting_in("billing") == ()
    assert again is board


# --- routed again ---------------------------------------------------------------------------------------------


def test_the_same_routing_delivered_twice_assigns_once() -> None:
    board = online(empty_board(roster(agent("ayse"), agent("mehmet"))), "ayse", "mehmet")
    board, first = on_routed(board, routed("t-1"), NOW)

    board, second = on_routed(board, routed("t-1"), NOW + timedelta(seconds=5))

    assert assigned(first) == [("t-1", "ayse")]
    assert second == []


def test_a_new_priority_in_the_same_queue_keeps_the_agent() -> None:
    board = online(empty_board(roster(agent("ayse"))), "ayse")
    board, _ = route_all(board, routed("t-1"))

    board, decisions = on_routed(board, routed("t-1", priority=Priority.URGENT, minutes=30), NOW)

    assert decisions == []
    assert board.slots["t-1"].ticket.priority == Priority.URGENT
    assert board.slots["t-1"].ticket.routed_at == NOW


def test_a_ticket_moved_to_another_queue_leaves_its_agent() -> None:
    board = empty_board(roster(agent("ayse"), agent("ali", "tech-team")))
    board = online(board, "ayse", "ali")
    board, _ = route_all(board, routed("t-1"))

    board, decisions = on_routed(board, routed("t-1", "tech", minutes=30), NOW + timedelta(minutes=30))

    assert unassigned(decisions) == [("t-1", "ayse", "reassigned")]
    assert assigned(decisions) == [("t-1", "ali")]


def test_a_ticket_routed_to_a_queue_missing_from_the_roster_waits_in_the_default_queue_saying_why() -> None:
    queues = [Queue("general", "tech-team"), Queue("billing", "billing-team")]
    board = online(empty_board(roster(agent("ayse"), queues=queues)), "ayse")

    board, decisions = on_routed(board, routed("t-1", "biling", priority=Priority.HIGH), NOW)

    (moved,) = decisions
    assert isinstance(moved, TicketRouted) and (moved.queue_id, moved.priority) == ("general", Priority.HIGH)
    assert moved.reason == "queue 'biling' is not on the roster: the ticket waits in the default queue 'general'"
    assert board.waiting == {"general": ("t-1",)}  # ayse works billing, not general


def test_a_routed_event_becomes_a_routed_ticket_with_skill_levels() -> None:
    event = TicketRouted(
        ticket_id="t-1",
        queue_id="billing",
        priority=Priority.HIGH,
        required_skills=("billing:3", "turkish"),
        language="tr",
        routed_at=NOW,
    )

    ticket = RoutedTicket.from_event(event, channel=Channel.CHAT)

    assert ticket == routed(
        "t-1", channel=Channel.CHAT, priority=Priority.HIGH, skills={"billing": 3, "turkish": 1}, language="tr"
    )


# --- silence --------------------------------------------------------------------------------------------------


def test_an_agent_silent_past_the_limit_loses_the_ticket_to_a_colleague() -> None:
    board = online(empty_board(roster(agent("ayse"), agent("mehmet"))), "ayse", "mehmet")
    board, _ = route_all(board, routed("t-1"))

    early, too_early = on_no_response(board, "t-1", NOW + timedelta(minutes=14))
    later, decisions = on_no_response(board, "t-1", NOW + timedelta(minutes=15))

    assert too_early == [] and early is board
    assert later.holder("t-1") == "mehmet"
    assert unassigned(decisions) == [("t-1", "ayse", "no_response")]
    assert assigned(decisions) == [("t-1", "mehmet")]


def test_an_agent_who_answered_keeps_the_ticket() -> None:
    board = online(empty_board(roster(agent("ayse"), agent("mehmet"))), "ayse", "mehmet")
    board, _ = route_all(board, routed("t-1"))
    board, _ = on_agent_responded(board, "t-1", "mehmet", NOW + timedelta(minutes=1))
    assert not board.slots["t-1"].responded

    board, _ = on_agent_responded(board, "t-1", "ayse", NOW + timedelta(minutes=2))
    board, decisions = on_no_response(board, "t-1", NOW + timedelta(hours=1))

    assert decisions == []
    assert board.holder("t-1") == "ayse"


def test_a_silent_agent_keeps_the_ticket_when_nobody_else_can_take_it() -> None:
    board = online(empty_board(roster(agent("ayse"))), "ayse")
    board, _ = route_all(board, routed("t-1"))

    board, decisions = on_no_response(board, "t-1", NOW + timedelta(hours=1))

    assert decisions == []
    assert board.holder("t-1") == "ayse"


def test_a_queue_without_a_response_limit_never_takes_tickets_away() -> None:
    team = [agent("ali", "tech-team"), agent("bora", "tech-team")]
    board = online(empty_board(roster(*team)), "ali", "bora")
    board, _ = route_all(board, routed("t-1", "tech"))

    assert on_no_response(board, "t-1", NOW + timedelta(days=1))[1] == []


# --- by hand and roster edits ---------------------------------------------------------------------------------


def test_a_lead_can_move_a_ticket_to_a_named_agent_with_room() -> None:
    board = online(empty_board(roster(agent("ayse"), agent("mehmet"))), "ayse", "mehmet")
    board, _ = route_all(board, routed("t-1"))

    board, decisions = assign_manually(board, "t-1", "mehmet", NOW)

    assert unassigned(decisions) == [("t-1", "ayse", "reassigned")]
    assert [(d.agent_id, d.strategy) for d in decisions if isinstance(d, TicketAssigned)] == [("mehmet", "manual")]


@pytest.mark.parametrize(
    ("ticket_id", "agent_id", "reason"),
    [
        ("t-9", "mehmet", "ticket 't-9' is not waiting or assigned in routing"),
        ("t-2", "nobody", "unknown agent 'nobody'"),
        ("t-2", "zeynep", "agent 'zeynep' is offline"),
        ("t-2", "mehmet", "agent 'mehmet' has no room for another email ticket (1 of 1)"),
    ],
)
def test_a_lead_cannot_assign_beyond_what_the_board_allows(ticket_id: str, agent_id: str, reason: str) -> None:
    full = agent("mehmet", capacity={Channel.EMAIL: 1})
    board = online(empty_board(roster(agent("ayse", capacity={}), full, agent("zeynep"))), "mehmet")
    board, _ = route_all(board, routed("t-1"), routed("t-2", minutes=1))

    with pytest.raises(AssignmentError, match=re.escape(reason)):
        assign_manually(board, ticket_id, agent_id, NOW)


def test_a_smaller_capacity_sends_the_newest_tickets_back_to_the_queue() -> None:
    board = online(empty_board(roster(agent("ayse"), agent("mehmet", teams=frozenset()))), "ayse", "mehmet")
    board, _ = route_all(board, *(routed(f"t-{n}", minutes=n) for n in range(1, 4)))

    smaller = roster(agent("ayse", capacity={Channel.EMAIL: 1}), agent("mehmet"))
    board, decisions = on_roster_changed(board, smaller, NOW + timedelta(hours=1))

    assert unassigned(decisions) == [("t-2", "ayse", "reassigned"), ("t-3", "ayse", "reassigned")]
    assert assigned(decisions) == [("t-2", "mehmet"), ("t-3", "mehmet")]
    assert board.holder("t-1") == "ayse"


def test_a_queue_removed_under_its_tickets_sends_them_to_the_default_queue_in_their_order() -> None:
    queues = [Queue("general", "billing-team"), Queue("tech", "tech-team")]
    board = online(empty_board(roster(agent("ali", "tech-team", capacity={Channel.EMAIL: 1}), queues=queues)), "ali")
    board, _ = route_all(board, routed("t-1", "tech"), routed("t-2", "tech", minutes=1), routed("t-3", minutes=2))
    board, _ = route_all(board, routed("t-4", "general", minutes=3, priority=Priority.HIGH))
    assert board.holder("t-1") == "ali" and board.waiting == {"tech": ("t-2",), "general": ("t-4", "t-3")}
    without_tech = roster(agent("ali", "tech-team"), queues=[Queue("general", "billing-team")])

    board, decisions = on_roster_changed(board, without_tech, NOW + timedelta(hours=1))

    moves = [d for d in decisions if isinstance(d, TicketRouted)]
    assert [(d.ticket_id, d.queue_id) for d in moves] == [("t-2", "general"), ("t-1", "general")]
    assert all(d.reason and "queue 'tech' was removed from the roster" in d.reason for d in moves)
    assert unassigned(decisions) == [("t-1", "ali", "reassigned")]  # ali does not work the general queue
    assert board.waiting == {"general": ("t-4", "t-1", "t-2", "t-3")}  # priority, then age: their old place


def test_presence_reported_before_the_agent_is_on_the_roster_counts_once_they_are() -> None:
    board = online(empty_board(roster(agent("ayse", teams=frozenset()))), "mehmet")
    board, _ = route_all(board, routed("t-1"))

    board, decisions = on_roster_changed(board, roster(agent("mehmet")), NOW)

    assert assigned(decisions) == [("t-1", "mehmet")]


def test_the_old_board_is_left_as_it_was() -> None:
    before = online(empty_board(roster(agent("ayse"))), "ayse")

    after, _ = on_routed(before, routed("t-1"), NOW)

    assert before.slots == {} and after.holder("t-1") == "ayse"
    with pytest.raises(TypeError):
        after.slots["t-2"] = after.slots["t-1"]  # type: ignore[index]
