"""Choosing an agent for a ticket: who may take it, and among them who should (least loaded or round robin)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Set
from datetime import UTC, datetime
from fractions import Fraction
from typing import Protocol

from switchboard.events.common import Channel, Presence

from ..roster import Agent, Queue, Roster, tier_rank
from ..skills import has_skills, merge_skills
from .board import RoutedTicket, Seat, Slot

_NEVER = datetime.min.replace(tzinfo=UTC)


class BoardView(Protocol):
    """What picking reads: a `Board`, or the working copy a reaction is building."""

    @property
    def roster(self) -> Roster: ...
    @property
    def seats(self) -> Mapping[str, Seat]: ...
    @property
    def slots(self) -> Mapping[str, Slot]: ...
    @property
    def cursors(self) -> Mapping[str, str]: ...


def loads(view: BoardView, agent_id: str) -> Counter[Channel]:
    """Tickets held by the agent, counted per channel."""
    seat = view.seats.get(agent_id)
    return Counter(view.slots[ticket_id].ticket.channel for ticket_id in seat.tickets) if seat else Counter()


def fits(agent: Agent, queue: Queue, ticket: RoutedTicket) -> bool:
    """Whether the agent may work the ticket at all, whatever their presence and load.

    In the queue's team, at the queue's tier or above, with every skill the queue and the ticket need at the
    needed level, and speaking the ticket's language.
    """
    return (
        queue.team_id in agent.teams
        and tier_rank(agent.tier) >= tier_rank(queue.tier)
        and has_skills(agent.skills, merge_skills(queue.required_skills, ticket.skills))
        and agent.speaks(ticket.language)
    )


def has_room(view: BoardView, agent: Agent, channel: Channel) -> bool:
    """Online with free capacity on the channel. Away agents keep their tickets but get no new ones."""
    seat = view.seats.get(agent.agent_id)
    online = seat is not None and seat.presence == Presence.ONLINE
    return online and loads(view, agent.agent_id)[channel] < agent.capacity_for(channel)


def candidates(view: BoardView, ticket: RoutedTicket, exclude: Set[str] = frozenset()) -> tuple[Agent, ...]:
    """Every agent who could take the ticket now, in id order."""
    queue = view.roster.queues.get(ticket.queue_id)
    if queue is None:
        return ()
    return tuple(
        agent
        for agent in view.roster.members(queue.team_id)
        if agent.agent_id not in exclude and fits(agent, queue, ticket) and has_room(view, agent, ticket.channel)
    )


def utilisation(view: BoardView, agent: Agent) -> Fraction:
    """Load relative to capacity, summed over channels: 2 of 2 chats weighs as much as 8 of 8 e-mails.

    Exact fractions, not floats, so that equal loads compare equal and the tie-break decides.
    """
    held = loads(view, agent.agent_id)
    return sum((Fraction(held[channel], cap) for channel, cap in agent.capacity.items() if cap > 0), Fraction(0))


def pick(view: BoardView, ticket: RoutedTicket, exclude: Set[str] = frozenset()) -> str | None:
    """The agent who gets the ticket now per its queue's strategy, or None when it must wait.

    Least loaded: lowest utilisation, then idle longest, then agent id. Round robin: the next agent by id after
    the one the queue picked last, wrapping around.
    """
    queue = view.roster.queues.get(ticket.queue_id)
    able = candidates(view, ticket, exclude)
    if queue is None or not able:
        return None
    if queue.strategy == "round_robin":
        last = view.cursors.get(queue.queue_id, "")
        return next((a.agent_id for a in able if a.agent_id > last), able[0].agent_id)

    def order(agent: Agent) -> tuple[Fraction, bool, datetime, str]:
        idle = view.seats[agent.agent_id].idle_since
        return (utilisation(view, agent), idle is not None, idle or _NEVER, agent.agent_id)

    return min(able, key=order).agent_id
