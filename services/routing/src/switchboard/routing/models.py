"""The roster as the admin API and Mongo see it, converted to and from the domain's frozen values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from switchboard.events.common import Channel, Department, Presence, Priority, Tier
from switchboard.events.routing import EscalationTrigger

from .domain.roster import Agent, EscalationPolicy, Queue, Roster, Team, build_roster


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentIn(Strict):
    name: str = Field(min_length=1, max_length=256, description="Display name.")
    tier: Tier = Field(default=Tier.L1, description="Support tier.")
    skills: dict[str, int] = Field(default_factory=dict, description="Skill -> level 1..5.")
    languages: list[str] = Field(default_factory=list, description="Languages spoken (BCP 47).")
    teams: list[str] = Field(default_factory=list, description="Team ids.")
    capacity: dict[Channel, int] = Field(default_factory=dict, description="Tickets held at once, per channel.")


class TeamIn(Strict):
    name: str = Field(min_length=1, max_length=256, description="Display name.")
    department: Department = Field(default=Department.SUPPORT, description="Where the team sits.")


class EscalationIn(Strict):
    actions: dict[EscalationTrigger, str] = Field(
        default_factory=lambda: {
            EscalationTrigger.SLA_BREACH: "next_tier",
            EscalationTrigger.FOLLOW_UP: "next_tier",
            EscalationTrigger.AGENT: "next_tier",
        },
        description="Trigger -> 'next_tier', a tier (L2, L3) or a department.",
    )
    beyond_top: Department | None = Field(default=None, description="Hand-off when L3 is told to go higher.")
    tier_queues: dict[Tier, str] = Field(default_factory=dict, description="Queue serving each tier.")


class QueueIn(Strict):
    team_id: str = Field(min_length=1, description="Team whose agents work the queue.")
    strategy: Literal["least_loaded", "round_robin"] = Field(
        default="least_loaded", description="How agents are picked."
    )
    tier: Tier = Field(default=Tier.L1, description="Lowest tier serving it.")
    required_skills: dict[str, int] = Field(default_factory=dict, description="Skills every ticket here needs.")
    calendar_id: str | None = Field(default=None, description="Business calendar for its SLA clocks.")
    response_limit_minutes: int | None = Field(default=None, gt=0, description="Reassign a silent assignee after.")
    escalation: EscalationIn = Field(default_factory=EscalationIn, description="Escalation policy.")


class RosterIn(Strict):
    """The whole roster, as a team lead's import from a workforce system sends it."""

    skills: list[str] = Field(default_factory=list, max_length=1000, description="Skill catalogue.")
    agents: dict[str, AgentIn] = Field(default_factory=dict, description="Agents by id.")
    teams: dict[str, TeamIn] = Field(default_factory=dict, description="Teams by id.")
    queues: dict[str, QueueIn] = Field(default_factory=dict, description="Queues by id.")


class ExplainIn(Strict):
    """A ticket to dry-run through the rules."""

    channel: Channel = Field(description="Channel it came through.")
    subject: str = Field(default="", max_length=998, description="Subject line.")
    category: str | None = Field(default=None, description="Category.")
    tags: list[str] = Field(default_factory=list, description="Tags.")
    language: str | None = Field(default=None, description="Language.")
    account_tier: str | None = Field(default=None, description="The account's tier.")
    key_account: bool = Field(default=False, description="Key account.")
    priority: Priority = Field(default=Priority.NORMAL, description="Priority as opened.")


class EscalateIn(Strict):
    """An agent's escalation: to the next tier by the queue's policy, or to a named tier or department."""

    reason: str = Field(min_length=1, max_length=400, description="Why, for the next tier to read.")
    target: Tier | Department | None = Field(default=None, description="L2, L3 or a department; default: policy.")
    agent_id: str | None = Field(default=None, max_length=64, description="The escalating agent's id.")
    request_id: str | None = Field(default=None, max_length=128, description="Retry-safe id of this request.")


class PresenceIn(Strict):
    presence: Presence = Field(description="online, away or offline.")


def _action(value: str) -> Tier | Department | Literal["next_tier"]:
    if value == "next_tier":
        return "next_tier"
    if value in Tier.__members__.values() or value in {t.value for t in Tier}:
        return Tier(value)
    return Department(value)


def roster_from_document(doc: Mapping[str, Any]) -> Roster:
    """The stored roster document as a checked domain roster (raises RosterError)."""
    agents = [
        Agent(
            agent_id=i,
            name=a.name,
            tier=a.tier,
            skills=a.skills,
            languages=frozenset(a.languages),
            teams=frozenset(a.teams),
            capacity=a.capacity,
        )
        for i, a in ((i, AgentIn.model_validate(v)) for i, v in dict(doc.get("agents", {})).items())
    ]
    teams = [
        Team(team_id=i, name=t.name, department=t.department)
        for i, t in ((i, TeamIn.model_validate(v)) for i, v in dict(doc.get("teams", {})).items())
    ]
    queues = []
    for queue_id, raw in dict(doc.get("queues", {})).items():
        q = QueueIn.model_validate(raw)
        policy = EscalationPolicy(
            actions={trigger: _action(action) for trigger, action in q.escalation.actions.items()},
            beyond_top=q.escalation.beyond_top,
            tier_queues=q.escalation.tier_queues,
        )
        queues.append(
            Queue(
                queue_id=queue_id,
                team_id=q.team_id,
                strategy=q.strategy,
                tier=q.tier,
                required_skills=q.required_skills,
                calendar_id=q.calendar_id,
                response_limit_minutes=q.response_limit_minutes,
                escalation=policy,
            )
        )
    return build_roster(agents=agents, teams=teams, queues=queues, skills=list(doc.get("skills", [])))


#: The roster routing starts with: one team and the general queue, no agents yet.
DEFAULT_ROSTER: dict[str, object] = {
    "version": 1,
    "skills": [],
    "agents": {},
    "teams": {"support": {"name": "Support"}},
    "queues": {"general": {"team_id": "support"}},
}
