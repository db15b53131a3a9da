"""Intake's pure rules for tickets: what a command decides, and how events fold into a ticket's state.

No I/O and no clock reads: the caller passes `now` and the ids, so every decision is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce

from switchboard.events import EventPayload
from switchboard.events.common import Channel, Priority, TicketStatus
from switchboard.events.interactions import InteractionKind, InteractionRecorded
from switchboard.events.tickets import Requester, TicketOpened


@dataclass(frozen=True)
class Ticket:
    """A ticket as intake knows it: the fold of its events."""

    ticket_id: str
    version: int = 0
    reference: str | None = None
    subject: str = ""
    channel: Channel | None = None
    status: TicketStatus | None = None
    priority: Priority = Priority.NORMAL
    customer_id: str | None = None
    interactions: int = 0

    @property
    def exists(self) -> bool:
        return self.version > 0


@dataclass(frozen=True)
class OpenTicket:
    """A customer (or an integration on their behalf) asks for help."""

    ticket_id: str
    reference: str
    subject: str
    description: str
    channel: Channel
    customer_id: str
    customer_email: str | None
    customer_name: str | None
    priority: Priority
    interaction_id: str
    language: str | None = None


class Rejected(Exception):
    """A command the rules refuse; the message says why in words an agent understands."""


def decide_open(ticket: Ticket, command: OpenTicket, *, now: datetime) -> list[EventPayload]:
    """Opening a ticket records it and its first customer message."""
    if ticket.exists:
        raise Rejected(f"ticket {ticket.ticket_id} already exists")
    opened = TicketOpened(
        ticket_id=command.ticket_id,
        reference=command.reference,
        subject=command.subject,
        channel=command.channel,
        requester=Requester(customer_id=command.customer_id, email=command.customer_email, name=command.customer_name),
        priority=command.priority,
        language=command.language,
        opened_at=now,
    )
    first_message = InteractionRecorded(
        ticket_id=command.ticket_id,
        interaction_id=command.interaction_id,
        kind=InteractionKind.CUSTOMER_MESSAGE,
        channel=command.channel,
        public=True,
        author_type="customer",
        author_id=command.customer_id,
        body_text=command.description,
        language=command.language,
        occurred_at=now,
    )
    return [opened, first_message]


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
                customer_id=event.requester.customer_id,
            )
        case InteractionRecorded():
            return replace(ticket, interactions=ticket.interactions + 1)
        case _:
            return ticket


def fold(ticket_id: str, events: list[EventPayload]) -> Ticket:
    """A ticket's state from its whole history."""
    return reduce(evolve, events, Ticket(ticket_id=ticket_id))
