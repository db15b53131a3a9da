"""Choosing an agent for a ticket: who may take it, and among them who should (least loaded or round robin)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Set
from datetime import UTC, datetime
from fractions import Fraction
from typing import Protocol

from switchboard.events.common import Channel, Presence

from ..roster import Agent, Queue, Roster, tier_rank
from ..skills import Skills, has_skills, merge_skills
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
    return Counter(seat.held(view.slots)) if seat else Counter()


def fits(agent: Agent, queue: Queue, ticket: RoutedTicket) -> bool:
    """Whether the agent may work the ticket at all, whatever their presence and load.

    In the queue's team, at the queue's tier or above, with every skill the queue and the ticket need at the
    needed level, and speaking the ticket's language.
    """
    return queue.team_id in agent.teams and _qualified(
        agent, tier_rank(queue.tier), merge_skills(queue.required_skills, ticket.skills), ticket.language
    )


def _qualified(agent: Agent, tier: int, needed: Skills, language: str | None) -> bool:
    """`fits` less the team, with the ticket's needs worked out once per ticket instead of once per agent."""
    return tier_rank(agent.tier) >= tier and (not needed or has_skills(agent.skills, needed)) and agent.speaks(language)


def _has_room(seat: Seat | None, slots: Mapping[str, Slot], agent: Agent, channel: Channel) -> bool:
    return (
        seat is not None
        and seat.presence == Presence.ONLINE
        and seat.held(slots).get(channel, 0) < agent.capacity_for(channel)
    )


def has_room(view: BoardView, agent: Agent, channel: Channel) -> bool:
    """Online with free capacity on the channel. Away agents keep their tickets but get no new ones."""
    return _has_room(view.seats.get(agent.agent_id), view.slots, agent, channel)


def _able(view: BoardView, ticket: RoutedTicket, exclude: Set[str]) -> list[tuple[Agent, Seat]]:
    """`candidates`, each with their seat (picking reads it again)."""
    queue = view.roster.queues.get(ticket.queue_id)
    if queue is None:
        return []
    tier, needed = tier_rank(queue.tier), merge_skills(queue.required_skills, ticket.skills)
    seats, slots, channel, language = view.seats, view.slots, ticket.channel, ticket.language
    able: list[tuple[Agent, Seat]] = []
    for agent in view.roster.members(queue.team_id):
        if agent.agent_id in exclude or not _qualified(agent, tier, needed, language):
            continue
        seat = seats.get(agent.agent_id)
        if seat is not None and _has_room(seat, slots, agent, channel):
            able.append((agent, seat))
    return able


def candidates(view: BoardView, ticket: RoutedTicket, exclude: Set[str] = frozenset()) -> tuple[Agent, ...]:
    """Every agent who could take the ticket now, in id order."""
    return tuple(agent for agent, _ in _able(view, ticket, exclude))


def utilisation(view: BoardView, agent: Agent) -> Fraction:
    """Load relative to capacity, summed over channels: 2 of 2 chats weighs as much as 8 of 8 e-mails.

    Exact fractions, not floats, so that equal loads compare equal and the tie-break decides.
    """
    held = loads(view, agent.agent_id)
    return sum((Fraction(held[channel], cap) for channel, cap in agent.capacity.items() if cap > 0), Fraction(0))


def _scaled_utilisation(held: Mapping[Channel, int], agent: Agent, scale: int) -> int:
    """`utilisation` times `scale`, a common multiple of every capacity compared: a whole number, so ordering
    agents by it is ordering them by their exact utilisation, without building a Fraction per agent per ticket."""
    return sum(held.get(channel, 0) * (scale // cap) for channel, cap in agent.capacity.items() if cap > 0)


def pick(view: BoardView, ticket: RoutedTicket, exclude: Set[str] = frozenset()) -> str | None:
    """The agent who gets the ticket now per its queue's strategy, or None when it must wait.

    Least loaded: lowest utilisation, then idle longest, then agent id. Round robin: the next agent by id after
    the one the queue picked last, wrapping around.
    """
    queue = view.roster.queues.get(ticket.queue_id)
    able = _able(view, ticket, exclude)
    if queue is None or not able:
        return None
    if queue.strategy == "round_robin":
        last = view.cursors.get(queue.queue_id, "")
        return next((a.agent_id for a, _ in able if a.agent_id > last), able[0][0].agent_id)
    scale = math.lcm(*(cap for agent, _ in able for cap in agent.capacity.values() if cap > 0))
    slots = view.slots

    def order(candidate: tuple[Agent, Seat]) -> tuple[int, bool, datetime, str]:
        agent, seat = candidate
        idle = seat.idle_since
        return (_scaled_utilisation(seat.held(slots), agent, scale), idle is not None, idle or _NEVER, agent.agent_id)

    return min(able, key=order)[0].agent_id
