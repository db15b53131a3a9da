"""Replaying routing's inputs reproduces its decisions exactly, in another process, whatever its hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
from textwrap import dedent

import pytest

pytestmark = pytest.mark.unit

# A day of a busy desk: routing by rules, assignment under presence changes, releases, silence and escalation.
# Python randomises string hashing per process, so any decision that leaked set or dict order would differ.
SCENARIO = dedent(
    """
    import random
    from datetime import UTC, datetime, timedelta
    from switchboard.events.common import Channel, Presence, Priority, Tier
    from switchboard.routing.domain.assignment import (
        RoutedTicket, empty_board, on_no_response, on_presence, on_released, on_routed,
    )
    from switchboard.routing.domain.escalation import Cause, TicketTier, escalate
    from switchboard.routing.domain.roster import Agent, EscalationPolicy, Queue, Team, build_roster
    from switchboard.routing.domain.rules import TicketFacts, parse_rules, route

    rules = parse_rules(
        "version: 1\\ndefault: {queue: general}\\nrules:\\n"
        "  - {id: tr, when: {language: tr}, then: {queue: billing, skills: {billing: 2, turkish: 1}}}\\n",
        known_queues={"billing", "general"}, known_skills={"billing", "turkish"},
    )
    names = [f"agent-{n}" for n in range(9)]
    agents = [Agent(a, a, Tier.L1, {"billing": 1 + n % 3, "turkish": 1}, frozenset({"tr", "en"}), frozenset({"team"}),
                    {Channel.EMAIL: 1 + n % 2, Channel.CHAT: 1}) for n, a in enumerate(names)]
    queues = [Queue("billing", "team", response_limit_minutes=5), Queue("general", "team", strategy="round_robin")]
    roster = build_roster(  # given in an order that differs with the hash seed, as a set or a database might
        agents=sorted(agents, key=lambda agent: hash(agent.agent_id)),
        teams=[Team("team", "Team")],
        queues=sorted(queues, key=lambda queue: hash(queue.queue_id)),
        skills={"billing", "turkish"},
    )
    rng = random.Random(7)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    board, out, tiers = empty_board(roster), [], {}
    for step in range(600):
        now += timedelta(minutes=rng.randint(0, 3))
        ticket_id = f"t-{rng.randint(0, 40)}"
        roll = rng.random()
        if roll < 0.35:
            facts = TicketFacts(rng.choice([Channel.EMAIL, Channel.CHAT]), "x", language=rng.choice([None, "tr"]),
                                priority=rng.choice(list(Priority)))
            d = route(rules, facts)
            ticket = RoutedTicket(ticket_id, d.queue, facts.channel, d.priority, now, d.skills, facts.language)
            board, made = on_routed(board, ticket, now)
        elif roll < 0.6:
            board, made = on_presence(board, rng.choice(sorted(names)), rng.choice(list(Presence)), now)
        elif roll < 0.8:
            board, made = on_released(board, ticket_id, "solved", now)
        elif roll < 0.9:
            board, made = on_no_response(board, ticket_id, now)
        else:
            state = tiers.get(ticket_id, TicketTier(ticket_id))
            cause = Cause.by_agent(agent_id="lead", request_id=f"r-{step % 5}", reason="x")
            tiers[ticket_id], made = escalate(state, cause, EscalationPolicy(), now)
            made = [m.event for m in made]
        out += [m.model_dump_json() for m in made]
    print(len(out))
    print("\\n".join(out))
    """
)


def run_with_hash_seed(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    return done.stdout


def test_the_same_inputs_give_byte_identical_decisions_in_processes_with_different_hash_seeds() -> None:
    first, second = run_with_hash_seed("1"), run_with_hash_seed("2")

    assert int(first.split("\n", 1)[0]) > 100, "the scenario should decide plenty"
    assert first == second
