"""The working copy a reaction edits: the only code that changes assignments, so the invariants live here.

Invariants kept by every method: a ticket is held by at most one agent and the seat and the slot agree; an
agent's load on a channel never exceeds their capacity; a waiting ticket is in its queue's list exactly once.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from switchboard.events.routing import TicketAssigned, TicketRouted, TicketUnassigned

from ..roster import Agent, Roster
from ..skills import skills_to_wire
from .board import AssignmentDecision, Board, PickStrategy, RoutedTicket, Seat, Slot, UnassignReason, wait_order
from .persistent import MapEdit, PersistentMap
from .pick import has_room, pick


class Draft:
    """A working copy of a board for the length of one reaction; `result()` freezes it into the new board.

    It copies nothing up front: writes go to `MapEdit`s over the board's maps, so a reaction costs what it
    changes, not what the board holds, and the board it started from stays as it was.
    """

    def __init__(self, board: Board) -> None:
        self.roster: Roster = board.roster
        self.seats: MapEdit[str, Seat] = PersistentMap.of(board.seats).edit()
        self.slots: MapEdit[str, Slot] = PersistentMap.of(board.slots).edit()
        self.waiting: MapEdit[str, tuple[str, ...]] = PersistentMap.of(board.waiting).edit()
        self.cursors: MapEdit[str, str] = PersistentMap.of(board.cursors).edit()
        self.decisions: list[AssignmentDecision] = []
        self._lines: set[str] = set()  # the queues whose waiting line this reaction rewrote

    def result(self) -> tuple[Board, list[AssignmentDecision]]:
        for queue_id in sorted(self._lines):
            if queue_id in self.waiting and not self.waiting[queue_id]:
                del self.waiting[queue_id]  # a board lists only queues with someone waiting
        board = Board(
            self.roster, self.seats.freeze(), self.slots.freeze(), self.waiting.freeze(), self.cursors.freeze()
        )
        return board, self.decisions

    def seat(self, agent_id: str) -> Seat:
        return self.seats.get(agent_id) or Seat(agent_id)

    def queues_of(self, agent_id: str) -> frozenset[str]:
        """The queues the agent works (through their teams)."""
        return self.roster.queues_of(agent_id)

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
                team_id=self.roster.team_of(slot.ticket.queue_id),
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

    def announce_move(self, ticket: RoutedTicket, reason: str, now: datetime) -> None:
        """Tell others the board filed the ticket under `ticket.queue_id` itself, and why (no rule chose it)."""
        self.decisions.append(
            TicketRouted(
                ticket_id=ticket.ticket_id,
                queue_id=ticket.queue_id,
                team_id=self.roster.team_of(ticket.queue_id),
                priority=ticket.priority,
                required_skills=skills_to_wire(ticket.skills),
                language=ticket.language,
                routed_at=now,
                reason=reason,
            )
        )

    def refile(self, ticket_id: str, queue_id: str, reason: str, now: datetime) -> None:
        """File a ticket that waits in no line under another queue, keeping its holder and its age; announced."""
        slot = self.slots[ticket_id]
        self.slots[ticket_id] = replace(slot, ticket=replace(slot.ticket, queue_id=queue_id))
        self.announce_move(self.slots[ticket_id].ticket, reason, now)

    def enqueue_all(self, ticket_ids: Iterable[str], queue_id: str) -> None:
        """Put unheld tickets of one queue in its line at once: one sort, however many come (a removed queue's)."""
        moved = list(ticket_ids)
        if moved:
            line = [*self.waiting.get(queue_id, ()), *moved]
            self.waiting[queue_id] = tuple(sorted(line, key=lambda t: wait_order(self.slots[t].ticket)))
            self._lines.add(queue_id)

    def enqueue(self, ticket_id: str) -> None:
        """Put an unheld ticket in its queue at its place (priority, then age)."""
        ticket = self.slots[ticket_id].ticket
        line = list(self.waiting.get(ticket.queue_id, ()))
        bisect.insort(line, ticket_id, key=lambda t: wait_order(self.slots[t].ticket))
        self.waiting[ticket.queue_id] = tuple(line)
        self._lines.add(ticket.queue_id)

    def dequeue(self, ticket_id: str) -> None:
        """Take the ticket out of its queue, if it waits there."""
        queue_id = self.slots[ticket_id].ticket.queue_id
        line = self.waiting.get(queue_id, ())
        if ticket_id in line:
            self.waiting[queue_id] = tuple(t for t in line if t != ticket_id)
            self._lines.add(queue_id)

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
        waiting = [self.slots[t].ticket for q in queues for t in self.waiting.get(q, ())]
        if not waiting:
            return
        teams = sorted({self.roster.queues[q].team_id for q in queues})
        workers = (agent for team_id in teams for agent in self.roster.members(team_id))
        roomy = {a.agent_id: a for a in workers if self._has_room(a)}
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
