"""A ticket's state: what intake knows of a ticket, and how its events fold into it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import reduce

from switchboard.events import EventPayload
from switchboard.events.common import Channel, Priority, TicketStatus
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.tickets import (
    TicketMerged,
    TicketOpened,
    TicketReopened,
    TicketStatusChanged,
    TicketUpdated,
)


@dataclass(frozen=True)
class Ticket:
    """A ticket as intake knows it: the fold of its events."""

    ticket_id: str
    version: int = 0
    reference: str = ""
    subject: str = ""
    channel: Channel = Channel.API
    status: TicketStatus = TicketStatus.NEW
    priority: Priority = Priority.NORMAL
    category: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, str | int | float | bool | None] = field(default_factory=dict)
    customer_id: str | None = None
    account_id: str | None = None
    language: str | None = None
    opened_at: datetime | None = None
    last_activity_at: datetime | None = None
    merged_into: str | None = None
    interaction_count: int = 0
    external_ids: frozenset[str] = frozenset()

    @property
    def exists(self) -> bool:
        return self.version > 0

    @property
    def is_open(self) -> bool:
        """Still being worked on: a new message belongs on it rather than on a new ticket."""
        return (
            self.exists and self.merged_into is None and self.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED)
        )


def evolve(ticket: Ticket, event: EventPayload) -> Ticket:
    """The ticket after one more of its events."""
    ticket = replace(ticket, version=ticket.version + 1)
    match event:
        case TicketOpened():
            return replace(
                ticket,
                reference=event.reference,
                subject=event.subject,
                channel=event.channel,
                status=event.status,
                priority=event.priority,
                category=event.category,
                tags=tuple(event.tags),
                custom_fields=dict(event.custom_fields),
                customer_id=event.requester.customer_id,
                account_id=event.requester.account_id,
                language=event.language,
                opened_at=event.opened_at,
                last_activity_at=event.opened_at,
            )
        case InteractionRecorded():
            external = ticket.external_ids | {event.external_id} if event.external_id else ticket.external_ids
            return replace(
                ticket,
                interaction_count=ticket.interaction_count + 1,
                external_ids=external,
                last_activity_at=event.occurred_at,
            )
        case TicketUpdated():
            fields = dict(ticket.custom_fields)
            for key, value in (event.custom_fields or {}).items():
                if value is None:
                    fields.pop(key, None)
                else:
                    fields[key] = value
            return replace(
                ticket,
                priority=event.priority or ticket.priority,
                category=event.category if event.category is not None else ticket.category,
                tags=tuple(event.tags) if event.tags is not None else ticket.tags,
                custom_fields=fields,
            )
        case TicketStatusChanged():
            return replace(ticket, status=event.to_status)
        case TicketReopened():
            return ticket
        case TicketMerged():
            return replace(ticket, merged_into=event.into_ticket_id)
    return ticket


def fold(ticket_id: str, events: Iterable[EventPayload], start: Ticket | None = None) -> Ticket:
    """A ticket's state from its history (or from `start` plus the events after it)."""
    return reduce(evolve, events, start or Ticket(ticket_id=ticket_id))
