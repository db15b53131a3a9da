"""The assigner's inputs and what each does to the board: no I/O, so a replay of the same inputs decides the same.

An input is one message on the internal board topic (a ticket routed, an agent's presence, a ticket released, a
reply, a silent assignee, a roster version). `react` applies it to the board with the domain's reactions and
names each decision with an id derived from the input, so that a decision made twice is stored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict
from switchboard.events import EventPayload, reaction_id
from switchboard.events.common import Channel, Presence, Priority
from switchboard.events.routing import AgentPresenceChanged, TicketRouted

from .domain.assignment import (
    AssignmentDecision,
    Board,
    RoutedTicket,
    on_agent_responded,
    on_no_response,
    on_presence,
    on_released,
    on_roster_changed,
    on_routed,
)
from .domain.roster import Roster
from .domain.roster_changes import roster_changes


class BoardInput(BaseModel):
    """One input to the board, in the order the internal topic gives it."""

    model_config = ConfigDict(frozen=True)

    id: str  # the cause (event id or request id): an input seen twice is applied once
    kind: Literal["routed", "presence", "released", "responded", "no_response", "roster"]
    time: datetime
    ticket_id: str | None = None
    queue_id: str | None = None
    channel: Channel | None = None
    priority: Priority | None = None
    skills: dict[str, int] | None = None
    language: str | None = None
    agent_id: str | None = None
    presence: Presence | None = None
    reason: Literal["solved", "reassigned", "escalated", "manual"] | None = None
    roster_version: int | None = None
    routed: TicketRouted | None = None  # the routing decision to store with the assignment (a new ticket)
    correlation_id: str | None = None  # of the event that caused this input, for the decisions it carries


def roster_input(version: int, now: datetime) -> BoardInput:
    """The board's news of a stored roster version; its id is the version's, so announcing it again is harmless."""
    return BoardInput(id=f"roster:{version}", kind="roster", time=now, roster_version=version)


class Decision(NamedTuple):
    """One event the board decided, with the id its input gives it and the moment it was decided."""

    subject: str
    event: EventPayload
    event_id: str
    at: datetime
    input_id: str
    causation_id: str | None = None  # set when the input carries its cause (a routed ticket's `ticket opened`)
    correlation_id: str | None = None
    opens: bool = False  # a new ticket's routing decision: the first thing routing stores about the ticket


def react(board: Board, item: BoardInput, roster: Roster | None = None) -> tuple[Board, list[Decision]]:
    """The board after `item`, and the decisions to store in order (`roster`: the version a roster input names).

    A new ticket's routing decision comes first, stored whatever the board makes of it: routing has decided; it
    names the team working its queue on the board's roster. A roster version announces every agent whose entry
    it changes (ids from the version and the agent), before what it does to tickets.
    """
    entries = _roster_entries(board, item, roster)
    decided: list[tuple[str, EventPayload]] = []
    if item.kind == "presence" and item.agent_id is not None and item.presence is not None:
        previous = board.seats.get(item.agent_id)
        changed = AgentPresenceChanged(
            agent_id=item.agent_id,
            presence=item.presence,
            previous=previous.presence if previous is not None else None,
            changed_at=item.time,
        )
        decided.append((item.agent_id, changed))
    board, payloads = _decide(board, item, roster)
    decided += [(payload.ticket_id, payload) for payload in payloads]
    carried = item.routed is not None
    decisions = [
        Decision(
            subject,
            event,
            reaction_id(item.id, f"board/{index}"),
            item.time,
            item.id,
            causation_id=item.id if carried else None,
            correlation_id=item.correlation_id,
        )
        for index, (subject, event) in enumerate(decided)
    ]
    if item.routed is not None:
        team = board.roster.team_of(item.routed.queue_id)
        routed = Decision(
            item.routed.ticket_id,
            item.routed.model_copy(update={"team_id": team}),
            reaction_id(item.id, "routed"),
            item.time,
            item.id,
            causation_id=item.id,
            correlation_id=item.correlation_id,
            opens=True,
        )
        decisions.insert(0, routed)
    return board, entries + decisions


def _roster_entries(board: Board, item: BoardInput, roster: Roster | None) -> list[Decision]:
    """An `AgentRosterChanged` per agent whose entry differs between the board's roster and the version applied."""
    if item.kind != "roster" or roster is None or item.roster_version is None:
        return []
    changes = roster_changes(board.roster, roster, version=item.roster_version, at=item.time)
    return [
        Decision(change.agent_id, change, reaction_id(item.id, f"roster/{change.agent_id}"), item.time, item.id)
        for change in changes
    ]


def _decide(board: Board, item: BoardInput, roster: Roster | None) -> tuple[Board, Sequence[AssignmentDecision]]:
    now = item.time
    match item.kind:
        case "roster":
            assert roster is not None, "a roster input is applied with the version it names"
            return on_roster_changed(board, roster, now)
        case "routed":
            assert item.ticket_id and item.queue_id and item.channel and item.priority
            ticket = RoutedTicket(
                ticket_id=item.ticket_id,
                queue_id=item.queue_id,
                channel=item.channel,
                priority=item.priority,
                routed_at=now,
                skills=item.skills or {},
                language=item.language,
            )
            return on_routed(board, ticket, now)
        case "presence":
            assert item.agent_id and item.presence
            return on_presence(board, item.agent_id, item.presence, now)
        case "released":
            assert item.ticket_id and item.reason
            return on_released(board, item.ticket_id, item.reason, now)
        case "responded":
            assert item.ticket_id and item.agent_id
            return on_agent_responded(board, item.ticket_id, item.agent_id, now)
        case "no_response":
            assert item.ticket_id
            return on_no_response(board, item.ticket_id, now)
    raise AssertionError(item.kind)  # pragma: no cover
