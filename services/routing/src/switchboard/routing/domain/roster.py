"""The roster: agents, teams and queues as configured by team leads, and the checks that keep them consistent.

The roster is configuration. What changes with every event (presence, load, who holds which ticket, idle time)
lives on the assignment `Board`, so that a roster edit never races with assignments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from switchboard.events.common import Channel, Department, Tier
from switchboard.events.routing import EscalationTrigger

from ._frozen import freeze
from .skills import MAX_LEVEL, MIN_LEVEL, Skills
from .text import primary_language

Strategy = Literal["least_loaded", "round_robin"]
NextTier = Literal["next_tier"]
EscalationAction = Tier | Department | NextTier
"""Where a trigger sends a ticket: a given tier, one tier up, or another department."""

TIERS: tuple[Tier, ...] = (Tier.L1, Tier.L2, Tier.L3)

DEFAULT_QUEUE = "general"
"""The queue every stored roster keeps: where the board puts a ticket whose queue is not, or no longer, on the
roster (a queue removed under waiting tickets, a rule naming a queue a later roster removed)."""


def tier_rank(tier: Tier) -> int:
    """L1 < L2 < L3, as numbers."""
    return TIERS.index(tier)


class RosterError(ValueError):
    """The roster is inconsistent, or names something it does not have; `problems` says what, one per line."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


def _default_actions() -> Mapping[EscalationTrigger, EscalationAction]:
    return {
        EscalationTrigger.SLA_BREACH: "next_tier",
        EscalationTrigger.FOLLOW_UP: "next_tier",
        EscalationTrigger.AGENT: "next_tier",
    }


@dataclass(frozen=True)
class EscalationPolicy:
    """What escalates a queue's tickets, and where to.

    `actions` maps a trigger to a tier, to 'next_tier' or to a department; a trigger without an action does
    nothing (by default SLA warnings and key accounts only notify). A ticket already at L3 told to go to the
    'next_tier' is handed off to `beyond_top`, or stays where it is when that is None. `tier_queues` names the
    queue that serves each tier, so the service can re-route an escalated ticket there.
    """

    actions: Mapping[EscalationTrigger, EscalationAction] = field(default_factory=_default_actions)
    beyond_top: Department | None = None
    tier_queues: Mapping[Tier, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", freeze(self.actions))
        object.__setattr__(self, "tier_queues", freeze(self.tier_queues))


@dataclass(frozen=True)
class Agent:
    """A person who works tickets: what they know, which languages they speak, and how much they can hold.

    `capacity` is per channel (e.g. two chats and eight e-mails at once); a channel not listed means none.
    """

    agent_id: str
    name: str
    tier: Tier = Tier.L1
    skills: Skills = field(default_factory=dict)
    languages: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    capacity: Mapping[Channel, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", freeze(self.skills))
        object.__setattr__(self, "capacity", freeze(self.capacity))

    def capacity_for(self, channel: Channel) -> int:
        return max(0, self.capacity.get(channel, 0))

    def speaks(self, language: str | None) -> bool:
        """Anyone serves a ticket of unknown language; otherwise the agent must speak it (any regional variant)."""
        return language is None or primary_language(language) in self._primary_languages

    @cached_property
    def _primary_languages(self) -> frozenset[str]:
        """Asked for every candidate of every ticket, so worked out once: `same_language` compares just these."""
        return frozenset(primary_language(spoken) for spoken in self.languages)


@dataclass(frozen=True)
class Team:
    """A group of agents working the same queues; `department` is where the team sits (support by default)."""

    team_id: str
    name: str
    department: Department = Department.SUPPORT


@dataclass(frozen=True)
class Queue:
    """Where routed tickets wait for an agent of `team_id` at `tier` or above.

    `required_skills` apply to every ticket in the queue, on top of what the routing rule asked for.
    `response_limit_minutes` is how long an assignee may stay silent before the ticket goes to someone else
    (None: never taken away). `calendar_id` names the business calendar its SLA clocks count in.
    """

    queue_id: str
    team_id: str
    strategy: Strategy = "least_loaded"
    tier: Tier = Tier.L1
    required_skills: Skills = field(default_factory=dict)
    calendar_id: str | None = None
    response_limit_minutes: int | None = None
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)

    def __post_init__(self) -> None:
        object.__setattr__(self, "required_skills", freeze(self.required_skills))


@dataclass(frozen=True)
class Roster:
    """Everything routing knows about who works where, plus the catalogue of skills that may be named."""

    agents: Mapping[str, Agent] = field(default_factory=dict)
    teams: Mapping[str, Team] = field(default_factory=dict)
    queues: Mapping[str, Queue] = field(default_factory=dict)
    skills: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in ("agents", "teams", "queues"):
            object.__setattr__(self, name, freeze(getattr(self, name)))

    def queue(self, queue_id: str) -> Queue:
        """The queue, or a `RosterError` naming the known ones."""
        if queue_id not in self.queues:
            raise RosterError([_unknown("queue", queue_id, self.queues)])
        return self.queues[queue_id]

    def team(self, team_id: str) -> Team:
        """The team, or a `RosterError` naming the known ones."""
        if team_id not in self.teams:
            raise RosterError([_unknown("team", team_id, self.teams)])
        return self.teams[team_id]

    def team_of(self, queue_id: str) -> str | None:
        """The team working the queue; None for a queue not on the roster."""
        queue = self.queues.get(queue_id)
        return queue.team_id if queue is not None else None

    def members(self, team_id: str) -> tuple[Agent, ...]:
        """The team's agents in id order."""
        return self._members.get(team_id, ())

    def queues_of(self, agent_id: str) -> frozenset[str]:
        """The queues the agent works (through their teams); none for an agent not on the roster."""
        agent = self.agents.get(agent_id)
        if agent is None:
            return frozenset()
        return frozenset(queue_id for team_id in agent.teams for queue_id in self._team_queues.get(team_id, ()))

    # Every ticket asks who is in its queue's team: indexed once per roster (it is frozen) rather than by scanning
    # every agent each time, which made assignment cost grow with the size of the whole desk.

    @cached_property
    def _members(self) -> Mapping[str, tuple[Agent, ...]]:
        members: dict[str, list[Agent]] = {}
        for agent in self.agents.values():
            for team_id in agent.teams:
                members.setdefault(team_id, []).append(agent)
        return {team_id: tuple(agents) for team_id, agents in members.items()}

    @cached_property
    def _team_queues(self) -> Mapping[str, tuple[str, ...]]:
        queues: dict[str, list[str]] = {}
        for queue in self.queues.values():
            queues.setdefault(queue.team_id, []).append(queue.queue_id)
        return {team_id: tuple(ids) for team_id, ids in queues.items()}


def build_roster(
    *, agents: Iterable[Agent], teams: Iterable[Team], queues: Iterable[Queue], skills: Iterable[str]
) -> Roster:
    """A checked roster from lists (as an admin API receives them); raises `RosterError` with every problem."""
    agents, teams, queues = tuple(agents), tuple(teams), tuple(queues)
    problems = [
        f"duplicate {kind} id '{ident}'"
        for kind, ids in (
            ("agent", [a.agent_id for a in agents]),
            ("team", [t.team_id for t in teams]),
            ("queue", [q.queue_id for q in queues]),
        )
        for ident in sorted({i for i in ids if ids.count(i) > 1})
    ]
    roster = Roster(
        agents={a.agent_id: a for a in agents},
        teams={t.team_id: t for t in teams},
        queues={q.queue_id: q for q in queues},
        skills=frozenset(skills),
    )
    problems += roster_problems(roster)
    if problems:
        raise RosterError(problems)
    return roster


def storable_problems(roster: Roster) -> list[str]:
    """What a roster must have, beyond being consistent, before it may be put in force: the default queue."""
    if DEFAULT_QUEUE in roster.queues:
        return []
    return [
        f"the roster must keep queue '{DEFAULT_QUEUE}': tickets whose queue leaves the roster wait there"
        f" ({_unknown('queue', DEFAULT_QUEUE, roster.queues)})"
    ]


def validate_roster(roster: Roster) -> Roster:
    """The roster itself when consistent; otherwise a `RosterError` listing every problem."""
    problems = roster_problems(roster)
    if problems:
        raise RosterError(problems)
    return roster


def roster_problems(roster: Roster) -> list[str]:
    """Every inconsistency, in a stable order, worded for the lead who edits the roster."""
    problems: list[str] = []
    for key, agent in roster.agents.items():
        where = f"agent '{agent.agent_id}'"
        if key != agent.agent_id:
            problems.append(f"{where} is filed under id '{key}'")
        problems += _skill_problems(where, agent.skills, roster.skills)
        problems += [
            f"{where}: capacity for {channel} is {amount}, it cannot be negative"
            for channel, amount in agent.capacity.items()
            if amount < 0
        ]
        problems += [
            f"{where}: {_unknown('team', team, roster.teams)}" for team in sorted(agent.teams - set(roster.teams))
        ]
    for key, team in roster.teams.items():
        if key != team.team_id:
            problems.append(f"team '{team.team_id}' is filed under id '{key}'")
    for key, queue in roster.queues.items():
        where = f"queue '{queue.queue_id}'"
        if key != queue.queue_id:
            problems.append(f"{where} is filed under id '{key}'")
        if queue.team_id not in roster.teams:
            problems.append(f"{where}: {_unknown('team', queue.team_id, roster.teams)}")
        problems += _skill_problems(where, queue.required_skills, roster.skills)
        if queue.response_limit_minutes is not None and queue.response_limit_minutes <= 0:
            problems.append(f"{where}: response limit must be a positive number of minutes")
        problems += [
            f"{where}: escalation to {tier}: {_unknown('queue', target, roster.queues)}"
            for tier, target in queue.escalation.tier_queues.items()
            if target not in roster.queues
        ]
    return problems


def _skill_problems(where: str, skills: Skills, catalogue: frozenset[str]) -> list[str]:
    problems = [f"{where}: {_unknown('skill', skill, catalogue)}" for skill in skills if skill not in catalogue]
    problems += [
        f"{where}: skill '{skill}' has level {level}, levels go from {MIN_LEVEL} to {MAX_LEVEL}"
        for skill, level in skills.items()
        if not MIN_LEVEL <= level <= MAX_LEVEL
    ]
    return problems


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    listed = ", ".join(sorted(known)) or "none"
    return f"unknown {kind} '{name}' (known: {listed})"
