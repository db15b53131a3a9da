"""Events on `support.routing`: queue, agent and tier decisions (keyed by ticket); presence and roster (by agent)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from ._model import EventPayload
from .common import AgentId, Channel, Department, Presence, Priority, QueueId, TicketId, Tier


class EscalationTrigger(StrEnum):
    """What caused an escalation or hand-off, so the audit trail says why."""

    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    FOLLOW_UP = "follow_up"
    AGENT = "agent"
    KEY_ACCOUNT = "key_account"
    RULE = "rule"


class TicketRouted(EventPayload):
    """Routing chose the queue, priority and required skills for a ticket."""

    type: Literal["support.ticket.routed.v1"] = Field(
        default="support.ticket.routed.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the routed ticket.")
    queue_id: QueueId = Field(description="Queue the ticket now waits in.")
    team_id: str | None = Field(
        default=None,
        description=(
            "Team working that queue on the roster in force at the decision. None when the queue is not on the"
            " roster (the ticket then waits in the default queue, announced by another TicketRouted)."
        ),
    )
    priority: Priority = Field(description="Priority routing settled on.")
    required_skills: tuple[str, ...] = Field(default=(), description="Skills an assignee must have.")
    language: str | None = Field(default=None, description="Language an assignee must speak, if any.")
    rule_id: str | None = Field(default=None, description="Id of the rule that matched, if one did.")
    rule_set_version: int | None = Field(default=None, description="Version of the rule set in force.")
    routed_at: datetime = Field(description="When the decision was made (UTC).")
    reason: str | None = Field(
        default=None,
        max_length=500,
        description=(
            "Why routing moved the ticket when no rule chose this queue, e.g. its queue left the roster and it went"
            " to the default queue. None for a decision of the rules."
        ),
    )


class TicketAssigned(EventPayload):
    """An agent now owns the ticket."""

    type: Literal["support.ticket.assigned.v1"] = Field(
        default="support.ticket.assigned.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the assigned ticket.")
    agent_id: AgentId = Field(description="Agent the ticket is assigned to.")
    queue_id: QueueId = Field(description="Queue it was assigned from.")
    team_id: str | None = Field(
        default=None, description="Team working that queue on the roster in force at the decision."
    )
    channel: Channel = Field(description="Channel whose capacity the assignment uses.")
    strategy: Literal["least_loaded", "round_robin", "manual"] = Field(description="How the agent was picked.")
    assigned_at: datetime = Field(description="When it was assigned (UTC).")


class TicketUnassigned(EventPayload):
    """An agent no longer owns the ticket, e.g. they went offline or did not respond in time."""

    type: Literal["support.ticket.unassigned.v1"] = Field(
        default="support.ticket.unassigned.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the ticket.")
    agent_id: AgentId = Field(description="Agent who lost the ticket.")
    reason: Literal["agent_offline", "no_response", "reassigned", "solved", "escalated", "manual"] = Field(
        description="Why the assignment ended."
    )
    unassigned_at: datetime = Field(description="When the assignment ended (UTC).")


class TicketEscalated(EventPayload):
    """The ticket moved up a support tier."""

    type: Literal["support.ticket.escalated.v1"] = Field(
        default="support.ticket.escalated.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the escalated ticket.")
    from_tier: Tier = Field(description="Tier before escalation.")
    to_tier: Tier = Field(description="Tier after escalation.")
    trigger: EscalationTrigger = Field(description="What caused the escalation.")
    triggered_by_id: str | None = Field(default=None, description="Agent id or causing event id.")
    reason: str = Field(max_length=500, description="Why, in words a support lead would read.")
    escalated_at: datetime = Field(description="When it was escalated (UTC).")


class TicketHandedOff(EventPayload):
    """The ticket was handed to another department (engineering, billing, sales, account management)."""

    type: Literal["support.ticket.handed_off.v1"] = Field(
        default="support.ticket.handed_off.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the ticket.")
    to_department: Department = Field(description="Department now responsible.")
    trigger: EscalationTrigger = Field(description="What caused the hand-off.")
    triggered_by_id: str | None = Field(default=None, description="Agent id or causing event id.")
    reason: str = Field(max_length=500, description="Why, in words the receiving department would read.")
    handed_off_at: datetime = Field(description="When it was handed off (UTC).")


class AgentPresenceChanged(EventPayload):
    """An agent went online, away or offline (keyed by agent id, not ticket id)."""

    type: Literal["support.agent.presence_changed.v1"] = Field(
        default="support.agent.presence_changed.v1", description="Event type discriminator."
    )
    agent_id: AgentId = Field(description="Id of the agent.")
    presence: Presence = Field(description="New presence.")
    previous: Presence | None = Field(default=None, description="Presence before the change, if known.")
    changed_at: datetime = Field(description="When the presence changed (UTC).")


class AgentRosterChanged(EventPayload):
    """An agent's entry on the roster changed: joined, left, moved teams, or works other queues or at another tier.

    Keyed by agent id. Announced for each agent whose entry differs between the roster version routing worked to
    and the one it put in force, so a consumer keeps who works which queues without reading routing's API; the
    latest event of an agent (highest `roster_version`) is its entry.
    """

    type: Literal["support.agent.roster_changed.v1"] = Field(
        default="support.agent.roster_changed.v1", description="Event type discriminator."
    )
    agent_id: AgentId = Field(description="Id of the agent.")
    name: str | None = Field(
        default=None, max_length=256, description="Display name on the roster (the last one if removed)."
    )
    teams: tuple[str, ...] = Field(default=(), description="Teams the agent belongs to, sorted; empty when removed.")
    queues: tuple[str, ...] = Field(
        default=(), description="Queues the agent works through those teams, sorted; empty when removed."
    )
    tier: Tier | None = Field(default=None, description="The agent's support tier; None when removed.")
    removed: bool = Field(default=False, description="True when the agent is no longer on the roster.")
    roster_version: int = Field(ge=1, description="The roster version this entry is on.")
    changed_at: datetime = Field(description="When that roster version was put in force (UTC).")
