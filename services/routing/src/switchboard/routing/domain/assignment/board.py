"""The assignment board: who is online, who holds which ticket, and which tickets wait in which queue, in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from switchboard.events.common import Channel, Presence, Priority
from switchboard.events.routing import TicketAssigned, TicketRouted, TicketUnassigned

from .._frozen import freeze
from ..roster import Roster
from ..rules import priority_rank
from ..skills import Skills, skills_from_wire
from .persistent import PersistentMap

PickStrategy = Literal["least_loaded", "round_robin", "manual"]
UnassignReason = Literal["agent_offline", "no_response", "reassigned", "solved", "escalated", "manual"]
ReleaseReason = Literal["solved", "reassigned", "escalated", "manual"]
AssignmentDecision = TicketAssigned | TicketUnassigned | TicketRouted
"""Every board change that others must hear about is one of these payloads, in the order it happened.

`TicketRouted` is the board moving a ticket to the default queue (its queue is not on the roster), with a reason."""


@dataclass(frozen=True)
class RoutedTicket:
    """A ticket as assignment needs it: its queue, what it needs from an agent, and how long it has waited.

    `channel` decides whose capacity it uses and never changes after the ticket is first seen. `routed_at` is
    its place in the queue; a ticket routed again (bounced, escalated) keeps its earliest one.
    """

    ticket_id: str
    queue_id: str
    channel: Channel
    priority: Priority
    routed_at: datetime
    skills: Skills = field(default_factory=dict)
    language: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", freeze(self.skills))

    @classmethod
    def from_event(cls, event: TicketRouted, *, channel: Channel) -> RoutedTicket:
        """From `TicketRouted` (which does not carry the channel: routing knows it from `TicketOpened`)."""
        return cls(
            ticket_id=event.ticket_id,
            queue_id=event.queue_id,
            channel=channel,
            priority=event.priority,
            routed_at=event.routed_at,
            skills=skills_from_wire(event.required_skills),
            language=event.language,
        )


def wait_order(ticket: RoutedTicket) -> tuple[int, datetime, str]:
    """Queue order: higher priority first, then longer waiting, then ticket id (so ties are never arbitrary)."""
    return (-priority_rank(ticket.priority), ticket.routed_at, ticket.ticket_id)


@dataclass(frozen=True)
class Slot:
    """A ticket on the board: waiting (no `agent_id`) or held by an agent since `assigned_at`."""

    ticket: RoutedTicket
    agent_id: str | None = None
    assigned_at: datetime | None = None
    strategy: PickStrategy | None = None
    responded: bool = False


@dataclass(frozen=True)
class Seat:
    """An agent's place on the board.

    `idle_since` is when they last got a ticket, or started their shift (came online from offline): the
    least-loaded pick gives ties to whoever has waited longest for work.
    """

    agent_id: str
    presence: Presence = Presence.OFFLINE
    tickets: frozenset[str] = frozenset()
    idle_since: datetime | None = None

    def held(self, slots: Mapping[str, Slot]) -> Mapping[Channel, int]:
        """How many tickets the seat holds per channel, `slots` being the board's.

        Picking asks this of every candidate for every ticket, so it is counted once per seat and remembered on
        it (not a field: not compared, and `replace` starts afresh). That cannot go stale: a seat is never changed
        in place, every change of its tickets makes a new seat, and a held ticket's channel never changes.
        """
        held: dict[Channel, int] | None = self.__dict__.get("_held")
        if held is None:
            held = {}
            for ticket_id in self.tickets:
                channel = slots[ticket_id].ticket.channel
                held[channel] = held.get(channel, 0) + 1
            object.__setattr__(self, "_held", held)  # a plain dict, so a seat still pickles and copies
        return held


@dataclass(frozen=True)
class Board:
    """The whole assignment state; every reaction returns a new board and leaves the old one as it was.

    Load is not stored: it is counted from the tickets a seat holds, so it cannot drift from them. The mappings
    are `PersistentMap`s, so that the next board shares what a reaction did not change instead of copying it.
    """

    roster: Roster
    seats: Mapping[str, Seat] = field(default_factory=dict)
    slots: Mapping[str, Slot] = field(default_factory=dict)
    waiting: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cursors: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("seats", "slots", "waiting", "cursors"):
            object.__setattr__(self, name, PersistentMap.of(getattr(self, name)))

    def seat(self, agent_id: str) -> Seat:
        """The agent's seat; an agent never seen is offline and holds nothing."""
        return self.seats.get(agent_id) or Seat(agent_id)

    def load(self, agent_id: str, channel: Channel) -> int:
        """How many tickets of `channel` the agent holds."""
        return self.seat(agent_id).held(self.slots).get(channel, 0)

    def holder(self, ticket_id: str) -> str | None:
        """The agent holding the ticket, if any."""
        slot = self.slots.get(ticket_id)
        return slot.agent_id if slot else None

    def waiting_in(self, queue_id: str) -> tuple[RoutedTicket, ...]:
        """The queue's waiting tickets, next one first."""
        return tuple(self.slots[ticket_id].ticket for ticket_id in self.waiting.get(queue_id, ()))


def empty_board(roster: Roster) -> Board:
    """The board a service starts from: everyone offline, nothing routed."""
    return Board(roster)
