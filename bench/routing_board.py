"""The assignment board's own cost, without I/O: routing's domain run in this process on the bench's roster (the
routing bench's only use of routing's code)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from switchboard.events.common import Channel, Presence, Priority

# Routing's own code: the routing bench imports it here and nowhere else, so a rename there is a change here.
from switchboard.routing.domain.assignment import RoutedTicket, empty_board, on_presence, on_routed
from switchboard.routing.models import roster_from_document

from bench.figures import Json
from bench.routing_workload import Shape


def board_domain_ceiling(shape: Shape, tickets: int) -> Json:
    """The board's pure-Python cost at the full shape, in this process with no Mongo or Kafka: the roster the
    admin API would store is converted (as every roster edit does, in the API and again in the board), every
    agent comes online, then `tickets` tickets go through `on_routed` one after another, as the assigner
    applies them. Microseconds per call as the board fills: a ceiling for one board, whatever the store."""
    document = shape.roster_document()
    started = time.perf_counter()
    roster = roster_from_document(document)
    roster_ms = (time.perf_counter() - started) * 1000
    now = datetime.now(UTC)
    board = empty_board(roster)
    started = time.perf_counter()
    agents = shape.agents()
    for agent_id, _ in agents:
        board, _ = on_presence(board, agent_id, Presence.ONLINE, now)
    presence_us = (time.perf_counter() - started) / len(agents) * 1e6
    by_thousand: dict[int, float] = {}
    assigned = 0
    spent = 0.0
    for i in range(tickets):
        ticket = RoutedTicket(
            ticket_id=str(uuid.uuid4()),
            queue_id=shape.queue(i % shape.queues),
            channel=Channel.WEB_FORM,
            priority=Priority.NORMAL,
            routed_at=now,
            language="en",
        )
        started = time.perf_counter()
        board, decisions = on_routed(board, ticket, now)
        spent += time.perf_counter() - started
        assigned += len(decisions)
        if (i + 1) % 1000 == 0 or i + 1 == tickets:
            by_thousand[i + 1] = round(spent / (i + 1 - 1000 * (i // 1000)) * 1e6, 1)
            spent = 0.0
    last = list(by_thousand.values())[-1] if by_thousand else None
    return {
        "agents": len(agents),
        "roster_from_document_ms": round(roster_ms, 1),
        "on_presence_us_mean": round(presence_us, 1),
        "on_routed_us_mean_by_tickets_on_board": by_thousand,
        "assigned": assigned,
        "ceiling_assignments_per_s_at_end": round(1e6 / last, 1) if last else None,
    }
