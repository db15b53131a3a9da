"""Value types shared across topics: channels, priorities, statuses, tiers and the like."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field


class Channel(StrEnum):
    """Where a customer reached us."""

    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    SOCIAL = "social"
    WEB_FORM = "web_form"
    API = "api"


class Priority(StrEnum):
    """How urgently a ticket must be handled; drives queue order and SLA targets."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(StrEnum):
    """Lifecycle of a ticket, as a support lead knows it."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


class Tier(StrEnum):
    """Support tier: L1 front line, L2 specialists, L3 engineering-level experts."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


class Department(StrEnum):
    """Departments a ticket can be handed off to outside support."""

    SUPPORT = "support"
    ENGINEERING = "engineering"
    BILLING = "billing"
    SALES = "sales"
    ACCOUNT_MANAGEMENT = "account_management"


class Presence(StrEnum):
    """An agent's availability as set from the agent desk."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class SlaTarget(StrEnum):
    """The promises an SLA policy makes."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SurveyKind(StrEnum):
    """Customer satisfaction (1-5), net promoter (0-10) or customer effort (1-7)."""

    CSAT = "csat"
    NPS = "nps"
    CES = "ces"


class Actor(StrEnum):
    """Who or what caused a change, for audit trails."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"
    INTEGRATION = "integration"


TicketId = Annotated[str, Field(min_length=1, max_length=64, description="Ticket id (a UUID string).")]
CustomerId = Annotated[str, Field(min_length=1, max_length=64, description="Customer id (a UUID string).")]
AccountId = Annotated[str, Field(min_length=1, max_length=64, description="Account (organisation) id.")]
AgentId = Annotated[str, Field(min_length=1, max_length=64, description="Agent id.")]
QueueId = Annotated[str, Field(min_length=1, max_length=64, description="Queue id.")]
LanguageTag = Annotated[
    str,
    Field(
        min_length=2,
        max_length=35,
        pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        description="BCP 47 language tag, e.g. 'tr', 'az', 'uk', 'en-GB'.",
    ),
]
