"""The topic catalogue: each topic's name, key and event types. Nothing else spells a topic name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from ._model import EventPayload
from .customers import AccountUpserted, CustomerUpserted
from .feedback import FollowUpRequested, QaReviewSubmitted, SurveyAnswered, SurveyRequested
from .interactions import InteractionRecorded
from .routing import (
    AgentPresenceChanged,
    AgentRosterChanged,
    TicketAssigned,
    TicketEscalated,
    TicketHandedOff,
    TicketRouted,
    TicketUnassigned,
)
from .sla import SlaBreached, SlaClockPaused, SlaClockResumed, SlaClockStarted, SlaMet, SlaWarning
from .tickets import TicketMerged, TicketOpened, TicketReopened, TicketStatusChanged, TicketUpdated


@dataclass(frozen=True)
class Topic:
    """A Kafka topic of the catalogue.

    `key` gives the message key (and the envelope's subject) for a payload: ticket id on most topics,
    so one ticket's events keep their order within the topic. `kept_forever`: the topic is created with
    `retention.ms=-1` (and no size limit), because reporting's rebuild and reconcile fold it from offset 0 and
    the platform's history is its record; every catalogue topic is, the dead-letter topic is not.
    """

    name: str
    description: str
    events: tuple[type[EventPayload], ...]
    key: Callable[[Any], str]
    kept_forever: bool = True

    @property
    def configs(self) -> dict[str, str]:
        """The topic-level settings it is created with."""
        return {"retention.ms": "-1", "retention.bytes": "-1"} if self.kept_forever else {}

    def qualified(self, namespace: str = "") -> str:
        """The topic's name on the broker; a namespace keeps test runs and environments apart."""
        return f"{namespace}.{self.name}" if namespace else self.name

    @property
    def label(self) -> str:
        """The topic's short name (`tickets` for `support.tickets`): for metric labels and for the per-topic
        positions read models keep (`pos.tickets`), which may not contain dots."""
        return self.name.removeprefix("support.")


def _ticket_key(event: Any) -> str:
    return str(event.ticket_id)


def _routing_key(event: Any) -> str:
    by_agent = isinstance(event, AgentPresenceChanged | AgentRosterChanged)
    return str(event.agent_id) if by_agent else str(event.ticket_id)


def _customer_key(event: Any) -> str:
    return str(event.customer_id) if isinstance(event, CustomerUpserted) else str(event.account_id)


TICKETS = Topic(
    "support.tickets",
    "Ticket lifecycle, keyed by ticket id. Written by intake.",
    (TicketOpened, TicketUpdated, TicketStatusChanged, TicketReopened, TicketMerged),
    _ticket_key,
)
INTERACTIONS = Topic(
    "support.interactions",
    "Messages, replies, notes, calls and transcripts, keyed by ticket id. Written by intake.",
    (InteractionRecorded,),
    _ticket_key,
)
CUSTOMERS = Topic(
    "support.customers",
    "Customers (keyed by customer id) and accounts (keyed by account id). Written by intake.",
    (CustomerUpserted, AccountUpserted),
    _customer_key,
)
ROUTING = Topic(
    "support.routing",
    "Routing, assignment, escalation and hand-off (keyed by ticket id); agent presence and roster entries (by agent"
    " id).",
    (
        TicketRouted,
        TicketAssigned,
        TicketUnassigned,
        TicketEscalated,
        TicketHandedOff,
        AgentPresenceChanged,
        AgentRosterChanged,
    ),
    _routing_key,
)
SLA = Topic(
    "support.sla",
    "SLA clocks: started, paused, resumed, warning, breached, met; keyed by ticket id. Written by sla.",
    (SlaClockStarted, SlaClockPaused, SlaClockResumed, SlaWarning, SlaBreached, SlaMet),
    _ticket_key,
)
FEEDBACK = Topic(
    "support.feedback",
    "Surveys, answers, QA reviews and follow-ups, keyed by ticket id. Written by feedback.",
    (SurveyRequested, SurveyAnswered, QaReviewSubmitted, FollowUpRequested),
    _ticket_key,
)

#: Every topic that carries catalogue events, in the order they are usually read.
ALL: tuple[Topic, ...] = (TICKETS, INTERACTIONS, CUSTOMERS, ROUTING, SLA, FEEDBACK)

#: Poison messages land here, unchanged, with the error in headers. Not part of the catalogue.
DEADLETTER_NAME = "support.deadletter"

#: Routing's internal, single-partition log of assignment inputs (one order, one writer). Not for subscribers.
ROUTING_BOARD_NAME = "internal.routing.board"


def event_type(model: type[EventPayload]) -> str:
    """The literal `type` of a payload class, e.g. 'support.ticket.opened.v1'."""
    (literal,) = get_args(model.model_fields["type"].annotation)
    return str(literal)


EVENT_TYPES: Mapping[str, type[EventPayload]] = {event_type(m): m for t in ALL for m in t.events}
TOPIC_OF: Mapping[type[EventPayload], Topic] = {m: t for t in ALL for m in t.events}


def topic_of(event: EventPayload) -> Topic:
    """The topic a payload belongs on."""
    try:
        return TOPIC_OF[type(event)]
    except KeyError:
        raise TypeError(f"{type(event).__name__} is not in the catalogue") from None
