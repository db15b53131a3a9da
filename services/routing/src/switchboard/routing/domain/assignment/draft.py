"""The working copy a reaction edits: the only code that changes assignments, so the invariants live here.

Invariants kept by every method: a ticket is held by at most one agent and the seat and the slot agree; an
agent's load on a channel never exceeds their capacity; a waiting ticket is in its queue's list exactly once.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from switchboard.events.routing import TicketAssigned, TicketUnassigned

from ..roster import Agent, Roster
from .board import AssignmentDecision, Board, PickStrategy, Seat, Slot, UnassignReason, wait_order
from .pick import has_room, pick


class Draft:
    """A mutable copy of a board for the length of one reaction; `result()` freezes it into the new board."""

    def __init__(self, board: Board) -> None:
        self.roster: Roster = board.roster
        self.seats: dict[str, Seat] = dict(board.seats)
        self.slots: dict[str, Slot] = dict(board.slots)
        self.waiting: dict[str, tuple[str, ...]] = dict(board.waiting)
        self.cursors: dict[str, str] = dict(board.cursors)
        self.decisions: list[AssignmentDecision] = []

    def result(self) -> tuple[Board, list[AssignmentDecision]]:
        board = Board(self.roster, self.seats, self.slots, {q: t for q, t in self.waiting.items() if t}, self.cursors)
        return board, self.decisions

    def seat(self, agent_id: str) -> Seat:
        return self.seats.get(agent_id) or Seat(agent_id)

    def queues_of(self, agent_id: str) -> set[str]:
        """The queues the agent works (through their teams)."""
        agent = self.roster.agents.get(agent_id)
        if agent is None:
            return set()
        return {q.queue_id for q in self.roster.queues.values() if q.team_id in agent.teams}

    def assign(self, ticket_id: str, agent_id: str, strategy: PickStrategy, now: datetime) -> None:
        """Give a waiting (already dequeued) ticket to an agent; the caller checked they have room."""
        slot = self.slots[ticket_id]
        assert slot.agent_id is None, f"{ticket_id} is already held by {slot.agent_id}"
        seat = self.seat(agent_id)
        self.slots[ticket_id] = replace(slot, agent_id=agent_id, assigned_at=now, strategy=strategy, responded=False)
        self.seats[agent_id] = replace(seat, tickets=seat.tickets | {ticket_id}, idle_since=now)
        if strategy == "round_robin":
            self.cursors[slot.ticket.queue_id] = agent_id
        self.decisions.append(
            TicketAssigned(
                ticket_id=ticket_id,
                agent_id=agent_id,
                queue_id=slot.ticket.queue_id,
                channel=slot.ticket.channel,
                strategy=strategy,
                assigned_at=now,
            )
        )

    def unassign(self, ticket_id: str, reason: UnassignReason, now: datetime) -> str:
        """Take a held ticket from its agent (it is neither held nor waiting afterwards); returns the agent."""
        slot = self.slots[ticket_id]
        agent_id = slot.agent_id
        assert agent_id is not None, f"{ticket_id} is not held"
        seat = self.seat(agent_id)
        self.seats[agent_id] = replace(seat, tickets=seat.tickets - {ticket_id})
        self.slots[ticket_id] = replace(slot, agent_id=None, assigned_at=None, strategy=None, responded=False)
        self.decisions.append(
            TicketUnassigned(ticket_id=ticket_id, agent_id=agent_id, reason=reason, unassigned_at=now)
        )
        return agent_id

    def enqueue(self, ticket_id: str) -> None:
        """Put an unheld ticket in its queue at its place (priority, then age)."""
        ticket = self.slots[ticket_id].ticket
        line = list(self.waiting.get(ticket.queue_id, ()))
        bisect.insort(line, ticket_id, key=lambda t: wait_order(self.slots[t].ticket))
        self.waiting[ticket.queue_id] = tuple(line)

    def dequeue(self, ticket_id: str) -> None:
        """Take the ticket out of its queue, if it waits there."""
        queue_id = self.slots[ticket_id].ticket.queue_id
        self.waiting[queue_id] = tuple(t for t in self.waiting.get(queue_id, ()) if t != ticket_id)

    def place(self, ticket_id: str, now: datetime) -> None:
        """Assign an unheld, unqueued ticket to whoever should get it now, or queue it."""
        ticket = self.slots[ticket_id].ticket
        agent_id = pick(self, ticket)
        if agent_id is None:
            self.enqueue(ticket_id)
        else:
            self.assign(ticket_id, agent_id, self.roster.queues[ticket.queue_id].strategy, now)

    def drain(self, queue_ids: Iterable[str], now: datetime) -> None:
        """Assign what waits in these queues while anyone can take it, most urgent and oldest first.

        One pass is enough: assigning only uses capacity up, so a ticket nobody could take earlier in the pass
        cannot become assignable later in it. For the same reason the pass stops as soon as nobody who works these
        queues has room left, which is what makes a release cheap when a long backlog waits.
        """
        queues = sorted({q for q in queue_ids if q in self.roster.queues})
        teams = {self.roster.queues[q].team_id for q in queues}
        roomy = {a.agent_id: a for a in self.roster.agents.values() if a.teams & teams and self._has_room(a)}
        waiting = [self.slots[t].ticket for q in queues for t in self.waiting.get(q, ())]
        for ticket in sorted(waiting, key=wait_order):
            if not roomy:
                return
            if not any(has_room(self, agent, ticket.channel) for agent in roomy.values()):
                continue
            agent_id = pick(self, ticket)
            if agent_id is None:
                continue
            self.dequeue(ticket.ticket_id)
            self.assign(ticket.ticket_id, agent_id, self.roster.queues[ticket.queue_id].strategy, now)
            if not self._has_room(roomy[agent_id]):
                del roomy[agent_id]

    def _has_room(self, agent: Agent) -> bool:
        return any(has_room(self, agent, channel) for channel in agent.capacity)
