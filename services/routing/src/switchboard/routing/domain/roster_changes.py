"""What a new roster version changes for each agent: the `AgentRosterChanged` events the board announces.

An agent's entry is what others need to know of them: name, teams, the queues those teams work, and tier. It can
change without the agent's own record changing (a queue handed to another team changes the queues of everyone in
both teams), so entries are compared whole, worked out from each roster, rather than agent records.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from switchboard.events.common import Tier
from switchboard.events.routing import AgentRosterChanged

from .roster import Roster


class Entry(NamedTuple):
    """One agent as the roster places them."""

    name: str
    teams: tuple[str, ...]
    queues: tuple[str, ...]
    tier: Tier


def entry(roster: Roster, agent_id: str) -> Entry | None:
    """The agent's entry on `roster`, None when they are not on it."""
    agent = roster.agents.get(agent_id)
    if agent is None:
        return None
    return Entry(agent.name, tuple(sorted(agent.teams)), tuple(sorted(roster.queues_of(agent_id))), agent.tier)


def roster_changes(before: Roster, after: Roster, *, version: int, at: datetime) -> list[AgentRosterChanged]:
    """One event per agent whose entry differs from `before` to `after` (joined, left or changed), by agent id.

    `version` is the roster version `after` is and `at` when it was put in force. An agent who left is announced
    with the last name they had and nothing else: no teams, no queues, no tier.
    """
    changes = []
    for agent_id in sorted(set(before.agents) | set(after.agents)):
        old, new = entry(before, agent_id), entry(after, agent_id)
        if old == new:
            continue
        if new is None:
            assert old is not None
            changes.append(
                AgentRosterChanged(
                    agent_id=agent_id, name=old.name, removed=True, roster_version=version, changed_at=at
                )
            )
            continue
        changes.append(
            AgentRosterChanged(
                agent_id=agent_id,
                name=new.name,
                teams=new.teams,
                queues=new.queues,
                tier=new.tier,
                roster_version=version,
                changed_at=at,
            )
        )
    return changes
