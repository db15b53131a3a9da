"""How the board reacts to what happens: a ticket routed, an agent's presence, a ticket released or ignored.

Each reaction returns the new board and the decisions, one `TicketAssigned` or `TicketUnassigned` per change
(and a `TicketRouted` with a reason when the board itself moves a ticket to the default queue), in the order they
happened. A reaction that changes nothing returns an equal board and no decisions, so a
redelivered input is harmless.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from switchboard.events.common import Channel, Presence

from ..roster import DEFAULT_QUEUE, Roster
from .board import AssignmentDecision, Board, ReleaseReason, RoutedTicket, Slot, wait_order
from .draft import Draft
from .pick import fits, pick

BoardAndDecisions = tuple[Board, list[AssignmentDecision]]


class AssignmentError(ValueError):
    """A manual assignment the board refuses, with the reason a team lead would be told."""


def on_routed(board: Board, ticket: RoutedTicket, now: datetime) -> BoardAndDecisions:
    """Assign a routed ticket to the best agent who can take it now, or queue it.

    A ticket routed again keeps its agent when its queue is unchanged (only priority or needs change); moved to
    another queue, it leaves its agent (`reassigned`) and is placed in the new queue. A queue missing from the
    roster (a rule naming a queue that a later roster removed) sends the ticket to the default queue, announced
    by a `TicketRouted` that says why: a ticket is never left somewhere nobody looks.
    """
    draft = Draft(board)
    if ticket.queue_id not in board.roster.queues and ticket.queue_id != DEFAULT_QUEUE:
        reason = f"queue '{ticket.queue_id}' is not on the roster: the ticket waits in the default queue"
        ticket = replace(ticket, queue_id=DEFAULT_QUEUE)
        draft.announce_move(ticket, f"{reason} '{DEFAULT_QUEUE}'", now)
    before = draft.slots.get(ticket.ticket_id)
    if before is None:
        draft.slots[ticket.ticket_id] = Slot(ticket)
        draft.place(ticket.ticket_id, now)
        return draft.result()
    ticket = replace(ticket, channel=before.ticket.channel, routed_at=min(before.ticket.routed_at, ticket.routed_at))
    if before.agent_id is not None and before.ticket.queue_id == ticket.queue_id:
        draft.slots[ticket.ticket_id] = replace(before, ticket=ticket)
        return draft.result()
    freed = draft.unassign(ticket.ticket_id, "reassigned", now) if before.agent_id else None
    draft.dequeue(ticket.ticket_id)
    draft.slots[ticket.ticket_id] = replace(draft.slots[ticket.ticket_id], ticket=ticket)
    draft.place(ticket.ticket_id, now)
    if freed is not None:
        draft.drain(draft.queues_of(freed), now)
    return draft.result()


def on_presence(board: Board, agent_id: str, presence: Presence, now: datetime) -> BoardAndDecisions:
    """Coming online drains the agent's queues; going offline hands their tickets back (`agent_offline`).

    Tickets taken from an agent going offline are re-queued at their original place and offered to everyone
    else at once. Going away keeps the agent's tickets but stops new ones.
    """
    seat = board.seat(agent_id)
    if seat.presence == presence:
        return board, []
    draft = Draft(board)
    starts_shift = seat.presence == Presence.OFFLINE or seat.idle_since is None
    draft.seats[agent_id] = replace(seat, presence=presence, idle_since=now if starts_shift else seat.idle_since)
    if presence == Presence.ONLINE:
        draft.drain(draft.queues_of(agent_id), now)
    elif presence == Presence.OFFLINE:
        held = sorted(seat.tickets, key=lambda t: wait_order(board.slots[t].ticket))
        for ticket_id in held:
            draft.unassign(ticket_id, "agent_offline", now)
            draft.enqueue(ticket_id)
        draft.drain({board.slots[t].ticket.queue_id for t in held}, now)
    return draft.result()


def on_released(board: Board, ticket_id: str, reason: ReleaseReason, now: datetime) -> BoardAndDecisions:
    """The ticket leaves the board (solved, escalated, handed back): its agent's capacity goes to the next ticket.

    An escalated ticket comes back through `on_routed` with its new queue.
    """
    slot = board.slots.get(ticket_id)
    if slot is None:
        return board, []
    draft = Draft(board)
    freed = draft.unassign(ticket_id, reason, now) if slot.agent_id else None
    draft.dequeue(ticket_id)
    del draft.slots[ticket_id]
    if freed is not None:
        draft.drain(draft.queues_of(freed), now)
    return draft.result()


def on_no_response(board: Board, ticket_id: str, now: datetime) -> BoardAndDecisions:
    """Give the ticket to someone else when its agent stayed silent past the queue's response limit.

    Called when the limit's timer fires (`now` is the due time, for replays). Nothing happens when the agent
    has answered, the queue has no limit, the limit is not reached, or nobody else can take it: a silent owner
    is better than none.
    """
    slot = board.slots.get(ticket_id)
    queue = board.roster.queues.get(slot.ticket.queue_id) if slot else None
    if slot is None or slot.agent_id is None or slot.assigned_at is None or slot.responded or queue is None:
        return board, []
    limit = queue.response_limit_minutes
    if limit is None or now < slot.assigned_at + timedelta(minutes=limit):
        return board, []
    successor = pick(board, slot.ticket, exclude={slot.agent_id})
    if successor is None:
        return board, []
    draft = Draft(board)
    silent = draft.unassign(ticket_id, "no_response", now)
    draft.assign(ticket_id, successor, queue.strategy, now)
    draft.drain(draft.queues_of(silent), now)
    return draft.result()


def on_agent_responded(board: Board, ticket_id: str, agent_id: str, now: datetime) -> BoardAndDecisions:
    """The assignee answered: the ticket is theirs to keep. A reply by anyone else changes nothing."""
    slot = board.slots.get(ticket_id)
    if slot is None or slot.agent_id != agent_id or slot.responded:
        return board, []
    draft = Draft(board)
    draft.slots[ticket_id] = replace(slot, responded=True)
    return draft.result()


def assign_manually(board: Board, ticket_id: str, agent_id: str, now: datetime) -> BoardAndDecisions:
    """A team lead gives the ticket to a named agent, who must be on shift (online or away) with room for it."""
    slot = board.slots.get(ticket_id)
    agent = board.roster.agents.get(agent_id)
    if slot is None:
        raise AssignmentError(f"ticket '{ticket_id}' is not waiting or assigned in routing")
    if agent is None:
        raise AssignmentError(f"unknown agent '{agent_id}'")
    if slot.agent_id == agent_id:
        return board, []
    if board.seat(agent_id).presence == Presence.OFFLINE:
        raise AssignmentError(f"agent '{agent_id}' is offline")
    channel = slot.ticket.channel
    if board.load(agent_id, channel) >= agent.capacity_for(channel):
        held, room = board.load(agent_id, channel), agent.capacity_for(channel)
        raise AssignmentError(f"agent '{agent_id}' has no room for another {channel} ticket ({held} of {room})")
    draft = Draft(board)
    freed = draft.unassign(ticket_id, "reassigned", now) if slot.agent_id else None
    draft.dequeue(ticket_id)
    draft.assign(ticket_id, agent_id, "manual", now)
    if freed is not None:
        draft.drain(draft.queues_of(freed), now)
    return draft.result()


def on_roster_changed(board: Board, roster: Roster, now: datetime) -> BoardAndDecisions:
    """Apply an edited roster, whatever it leaves out: no stored roster is ever refused here.

    A removed queue's tickets move to the default queue (each announced by a `TicketRouted` that says why),
    keeping their place by priority and age. Then tickets an agent may no longer hold go back to their queue: an
    agent keeps their oldest tickets up to their new capacity; a ticket whose agent left, or no longer fits the
    queue (team, tier, skills, language), is `reassigned`. Manual assignments stay while capacity allows. Then
    every queue drains. Moving is done here, once per roster change, so that no other reaction needs to look
    for tickets whose queue is gone.
    """
    draft = Draft(board)
    draft.roster = roster
    removed = f"was removed from the roster: the ticket moved to the default queue '{DEFAULT_QUEUE}'"
    gone = sorted(q for q in board.waiting if q not in roster.queues and q != DEFAULT_QUEUE)
    for queue_id in gone:
        del draft.waiting[queue_id]
        for ticket_id in board.waiting[queue_id]:
            draft.refile(ticket_id, DEFAULT_QUEUE, f"queue '{queue_id}' {removed}", now)
    draft.enqueue_all((t for q in gone for t in board.waiting[q]), DEFAULT_QUEUE)
    for agent_id in sorted(board.seats):
        agent = roster.agents.get(agent_id)
        kept: Counter[Channel] = Counter()
        for ticket_id in sorted(board.seats[agent_id].tickets, key=lambda t: (board.slots[t].assigned_at or now, t)):
            queue_id = board.slots[ticket_id].ticket.queue_id
            if queue_id not in roster.queues and queue_id != DEFAULT_QUEUE:
                draft.refile(ticket_id, DEFAULT_QUEUE, f"queue '{queue_id}' {removed}", now)
            slot = draft.slots[ticket_id]
            channel, queue = slot.ticket.channel, roster.queues.get(slot.ticket.queue_id)
            allowed = agent is not None and (
                slot.strategy == "manual" or (queue is not None and fits(agent, queue, slot.ticket))
            )
            if agent is not None and allowed and kept[channel] < agent.capacity_for(channel):
                kept[channel] += 1
            else:
                draft.unassign(ticket_id, "reassigned", now)
                draft.enqueue(ticket_id)
    draft.drain(roster.queues, now)
    return draft.result()
