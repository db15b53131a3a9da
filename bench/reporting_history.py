"""The rebuild's log: weeks of support work as the services would have written it. Tickets' lives (see
`reporting_workload`) opened at random over the period, the agents' roster when it starts and their presence on
working days (online, away for lunch, back, offline), and each customer's record when they first write."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial

from switchboard.events import Envelope
from switchboard.events.common import Presence, Tier
from switchboard.events.customers import CustomerUpserted
from switchboard.events.routing import AgentPresenceChanged, AgentRosterChanged

from bench.reporting_workload import AGENTS, QUEUES, TEAMS, ticket

Build = Callable[[], Envelope]


def customer(customer_id: str, n: int, at: datetime) -> Envelope:
    upserted = CustomerUpserted(
        customer_id=customer_id, name=f"Customer {n}", emails=(f"c{n}@customers.example.com",), updated_at=at
    )
    return Envelope.new(upserted, source="/switchboard/intake", subject=customer_id, time=at)


def roster(agent: int, at: datetime) -> Envelope:
    team = agent % TEAMS
    queues = tuple(f"queue-{q:02d}" for q in range(QUEUES) if q % TEAMS == team)
    changed = AgentRosterChanged(
        agent_id=f"agent-{agent:03d}", name=f"Agent {agent}", teams=(f"team-{team}",), queues=queues, tier=Tier.L1,
        roster_version=1, changed_at=at,
    )  # fmt: skip
    return Envelope.new(changed, source="/switchboard/routing", subject=changed.agent_id, time=at)


def presence(agent: int, to: Presence, before: Presence | None, at: datetime) -> Envelope:
    changed = AgentPresenceChanged(agent_id=f"agent-{agent:03d}", presence=to, previous=before, changed_at=at)
    return Envelope.new(changed, source="/switchboard/routing", subject=changed.agent_id, time=at)


def history(tickets: int, *, start: datetime, end: datetime, seed: int = 7) -> Iterator[tuple[datetime, Build]]:
    """Every event of `tickets` lives opened evenly at random between `start` and `end`, the agents' roster at
    `start` and their working days' presence, and each customer's record when they first write; as (time, builder)
    in no particular order, and only what happened before `end`."""
    rng = random.Random(seed)
    for agent in range(AGENTS):
        yield start, partial(roster, agent, start)
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        for agent in range(AGENTS if day.weekday() < 5 else 0):
            on = day + timedelta(hours=6, minutes=rng.uniform(0, 90))
            lunch = day + timedelta(hours=10, minutes=rng.uniform(0, 60))
            back = lunch + timedelta(minutes=rng.uniform(20, 60))
            off = day + timedelta(hours=15, minutes=rng.uniform(0, 90))
            shifts = [(on, Presence.ONLINE, None), (lunch, Presence.AWAY, Presence.ONLINE)]
            shifts += [(back, Presence.ONLINE, Presence.AWAY), (off, Presence.OFFLINE, Presence.ONLINE)]
            for at, to, before in shifts:
                if start <= at < end:
                    yield at, partial(presence, agent, to, before, at)
        day += timedelta(days=1)
    seen: set[str] = set()
    span = (end - start).total_seconds()
    for n in range(tickets):
        regular = rng.random() < 0.2  # a fifth of the tickets come from 500 regulars
        number = rng.randrange(500) if regular else 500 + rng.randrange(max(1, tickets * 2 // 3))
        customer_id = f"customer-{number:06d}"
        one = ticket(n, rng, customer_id=customer_id)
        opened = start + timedelta(seconds=rng.uniform(0, span))
        if customer_id not in seen:
            seen.add(customer_id)
            yield opened - timedelta(seconds=1), partial(customer, customer_id, number, opened - timedelta(seconds=1))
        times = one.times(opened)
        for step in one.steps:
            if times[step.key] < end:
                yield times[step.key], partial(one.envelope, step, times)
