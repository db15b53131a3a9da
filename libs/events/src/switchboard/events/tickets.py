"""Events on `support.tickets`: a ticket's life from opening to merge, keyed by ticket id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from ._model import EventPayload
from .common import AccountId, Actor, Channel, CustomerId, LanguageTag, Priority, TicketId, TicketStatus

Tags = Annotated[
    tuple[Annotated[str, Field(min_length=1, max_length=64)], ...],
    Field(description="Free-form labels agents and rules attach to tickets, e.g. 'refund', 'vip'."),
]
CustomFields = Annotated[
    dict[str, str | int | float | bool | None],
    Field(description="Customer-defined ticket fields by key, with scalar values."),
]


class Requester(EventPayload):
    """The customer who asked, as known when the ticket opened."""

    customer_id: CustomerId = Field(description="Id of the customer record the ticket belongs to.")
    email: str | None = Field(default=None, description="The requester's e-mail address, if known.")
    name: str | None = Field(default=None, description="The requester's display name, if known.")
    account_id: AccountId | None = Field(default=None, description="The customer's account (organisation).")


class TicketOpened(EventPayload):
    """A new ticket exists. Carries everything routing and SLA need to act without a look-up."""

    type: Literal["support.ticket.opened.v1"] = Field(
        default="support.ticket.opened.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the new ticket.")
    reference: str = Field(description="Human-facing reference quoted in e-mail subjects, e.g. 'SB-1234'.")
    subject: str = Field(max_length=998, description="Subject line as the customer wrote it.")
    channel: Channel = Field(description="Channel the ticket came in through.")
    requester: Requester = Field(description="The customer who opened the ticket.")
    priority: Priority = Field(default=Priority.NORMAL, description="Priority at opening.")
    status: TicketStatus = Field(default=TicketStatus.NEW, description="Status at opening (normally 'new').")
    category: str | None = Field(default=None, max_length=128, description="Category, if already known.")
    tags: Tags = ()
    custom_fields: CustomFields = Field(default_factory=dict)
    language: LanguageTag | None = Field(default=None, description="Declared or detected language.")
    opened_at: datetime = Field(description="When the customer opened the ticket (UTC).")


class TicketUpdated(EventPayload):
    """Priority, category, tags or custom fields changed. Only fields that changed are set."""

    type: Literal["support.ticket.updated.v1"] = Field(
        default="support.ticket.updated.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the ticket that changed.")
    priority: Priority | None = Field(default=None, description="New priority, if it changed.")
    category: str | None = Field(default=None, max_length=128, description="New category, if it changed.")
    tags: Tags | None = Field(default=None, description="The full new tag set, if it changed.")
    custom_fields: CustomFields | None = Field(
        default=None, description="Custom fields that changed, with their new values (null removes one)."
    )
    changed_by: Actor = Field(description="Who made the change.")
    changed_by_id: str | None = Field(default=None, description="Id of the agent or integration, if any.")
    updated_at: datetime = Field(description="When the change was made (UTC).")


class TicketStatusChanged(EventPayload):
    """A ticket moved along its lifecycle (new, open, pending, on_hold, solved, closed)."""

    type: Literal["support.ticket.status_changed.v1"] = Field(
        default="support.ticket.status_changed.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the ticket.")
    from_status: TicketStatus = Field(description="Status before the change.")
    to_status: TicketStatus = Field(description="Status after the change.")
    changed_by: Actor = Field(description="Who made the change.")
    changed_by_id: str | None = Field(default=None, description="Id of the agent or integration, if any.")
    reason: str | None = Field(default=None, max_length=500, description="Why, in a few words, if given.")
    changed_at: datetime = Field(description="When the status changed (UTC).")


class TicketReopened(EventPayload):
    """A solved ticket came back, usually because the customer wrote again."""

    type: Literal["support.ticket.reopened.v1"] = Field(
        default="support.ticket.reopened.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the reopened ticket.")
    reopened_by: Actor = Field(description="Who reopened it.")
    reason: str | None = Field(default=None, max_length=500, description="Why it was reopened, if known.")
    reopened_at: datetime = Field(description="When it was reopened (UTC).")


class TicketMerged(EventPayload):
    """A duplicate ticket was merged into another; the source takes no more writes."""

    type: Literal["support.ticket.merged.v1"] = Field(
        default="support.ticket.merged.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Id of the duplicate (source) ticket that was merged away.")
    into_ticket_id: TicketId = Field(description="Id of the ticket that survives.")
    merged_by_id: str | None = Field(default=None, description="Agent who merged, if an agent did.")
    merged_at: datetime = Field(description="When the merge happened (UTC).")
