"""Which agents a roster version announces: those whose entry (name, teams, queues, tier) it changes, and only those."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from switchboard.events.common import Channel, Tier
from switchboard.events.routing import AgentRosterChanged
from switchboard.routing.domain.roster import Agent, Queue, Roster, Team, build_roster
from switchboard.routing.domain.roster_changes import roster_changes

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TEAMS = (Team("support", "Support"), Team("billing-team", "Billing"))


def roster(*agents: Agent, billing_team: str = "billing-team") -> Roster:
    queues = (Queue("general", "support"), Queue("billing", billing_team))
    return build_roster(agents=agents, teams=TEAMS, queues=queues, skills=())


AYLA = Agent("ayla", "Ayla", teams=frozenset({"support"}))
CEM = Agent("cem", "Cem", teams=frozenset({"billing-team"}))


def changed(before: Roster, after: Roster) -> list[tuple[str, tuple[str, ...], bool]]:
    return [(e.agent_id, e.queues, e.removed) for e in roster_changes(before, after, version=3, at=NOW)]


def test_the_same_entries_announce_nothing_whatever_else_changed() -> None:
    capacity = Agent("ayla", "Ayla", teams=frozenset({"support"}), capacity={Channel.EMAIL: 5})
    assert changed(roster(AYLA, CEM), roster(capacity, CEM)) == []


def test_a_queue_handed_to_another_team_changes_the_queues_of_both_teams_members() -> None:
    assert changed(roster(AYLA, CEM), roster(AYLA, CEM, billing_team="support")) == [
        ("ayla", ("billing", "general"), False),
        ("cem", (), False),
    ]


def test_an_agent_who_joins_or_leaves_is_announced_with_a_full_entry_or_as_removed() -> None:
    promoted = Agent("ayla", "Ayla", tier=Tier.L2, teams=frozenset({"support", "billing-team"}))

    [joined, left] = roster_changes(roster(CEM), roster(promoted), version=3, at=NOW)

    assert joined == AgentRosterChanged(
        agent_id="ayla",
        name="Ayla",
        teams=("billing-team", "support"),
        queues=("billing", "general"),
        tier=Tier.L2,
        roster_version=3,
        changed_at=NOW,
    )
    assert left == AgentRosterChanged(agent_id="cem", name="Cem", removed=True, roster_version=3, changed_at=NOW)


def test_a_first_roster_announces_everyone_on_it() -> None:
    assert [e.agent_id for e in roster_changes(Roster(), roster(AYLA, CEM), version=1, at=NOW)] == ["ayla", "cem"]
