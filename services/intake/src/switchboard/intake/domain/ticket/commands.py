"""What can be asked of a ticket: the commands its rules decide on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from switchboard.events.common import Actor, Channel, Priority, TicketStatus
from switchboard.events.interactions import AttachmentRef, CallDirection, InteractionKind


@dataclass(frozen=True)
class OpenTicket:
    """A customer, or an integration on their behalf, asks for help."""

    ticket_id: str
    reference: str
    subject: str
    description: str
    channel: Channel
    customer_id: str
    customer_email: str | None = None
    customer_name: str | None = None
    account_id: str | None = None
    priority: Priority = Priority.NORMAL
    category: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, str | int | float | bool | None] = field(default_factory=dict)
    language: str | None = None
    interaction_id: str = ""
    body_html: str | None = None
    external_id: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    kind: InteractionKind = InteractionKind.CUSTOMER_MESSAGE  # what the first interaction was: a call, a chat...
    call_direction: CallDirection | None = None
    call_duration_seconds: int | None = None


@dataclass(frozen=True)
class RecordInteraction:
    """Something was said or done on the ticket: a message, a reply, a note, a call, a transcript."""

    interaction_id: str
    kind: InteractionKind
    channel: Channel
    author_type: str
    author_id: str | None
    body_text: str = ""
    body_html: str | None = None
    language: str | None = None
    external_id: str | None = None
    call_direction: CallDirection | None = None
    call_duration_seconds: int | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    public: bool | None = None


@dataclass(frozen=True)
class UpdateTicket:
    """Priority, category, tags or custom fields change; None leaves a field as it is."""

    actor: Actor
    actor_id: str | None
    priority: Priority | None = None
    category: str | None = None
    tags: tuple[str, ...] | None = None
    custom_fields: Mapping[str, str | int | float | bool | None] | None = None


@dataclass(frozen=True)
class ChangeStatus:
    """Move the ticket along its lifecycle; `open` on a solved ticket reopens it."""

    to_status: TicketStatus
    actor: Actor
    actor_id: str | None
    reason: str | None = None


@dataclass(frozen=True)
class MergeInto:
    """This ticket is a duplicate of `target_id`."""

    target_id: str
    actor_id: str | None


Command = OpenTicket | RecordInteraction | UpdateTicket | ChangeStatus | MergeInto
