"""Intake's HTTP routes: tickets in. Thin: validate, call the domain, store, wake the relay."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from switchboard.events.common import Channel, Priority
from switchboard.runtime.auth import Principal, Scope, TokenAuth
from switchboard.runtime.outbox import OutboxRelay

from . import domain
from .settings import IntakeSettings
from .store import ConcurrencyConflict, TicketStore

#: Customer ids derive from the normalised e-mail address until intake keeps customer records.
CUSTOMER_NAMESPACE = uuid.UUID("0b7a4c55-7f7e-4d2a-8c1e-5b2d9f0c1e11")


class CustomerIn(BaseModel):
    """The customer who asks for help."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(description="The customer's e-mail address.")
    name: str | None = Field(default=None, max_length=256, description="Display name.")


class OpenTicketIn(BaseModel):
    """A new ticket."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=998, description="Subject line.")
    description: str = Field(min_length=1, description="The customer's first message, kept byte-exact.")
    channel: Channel = Field(default=Channel.API, description="Channel it came through.")
    priority: Priority = Field(default=Priority.NORMAL, description="Initial priority.")
    customer: CustomerIn


class Created(BaseModel):
    id: str = Field(description="Id of the new ticket.")
    reference: str = Field(description="Reference to quote, e.g. 'SB-1234'.")


def tickets_router(*, store: TicketStore, relay: OutboxRelay, auth: TokenAuth, settings: IntakeSettings) -> APIRouter:
    router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
    agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=Created)
    async def open_ticket(body: OpenTicketIn, _: agent) -> Created:
        ticket_id = str(uuid.uuid4())
        reference = f"{settings.reference_prefix}-{await store.next_reference_number()}"
        email = str(body.customer.email).lower()
        command = domain.OpenTicket(
            ticket_id=ticket_id,
            reference=reference,
            subject=body.subject,
            description=body.description,
            channel=body.channel,
            customer_id=str(uuid.uuid5(CUSTOMER_NAMESPACE, email)),
            customer_email=email,
            customer_name=body.customer.name,
            priority=body.priority,
            interaction_id=str(uuid.uuid4()),
        )
        now = datetime.now(UTC)
        events = domain.decide_open(domain.Ticket(ticket_id=ticket_id), command, now=now)
        try:
            commit = await store.append(ticket_id, expected_version=0, previous_commit=None, events=events, now=now)
        except ConcurrencyConflict as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        relay.submit(commit)
        return Created(id=ticket_id, reference=reference)

    return router
