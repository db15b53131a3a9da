"""Ticket routes: open, interactions, changes, status, merge, and reading a ticket with its history."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from switchboard.events.common import Actor
from switchboard.runtime.auth import Principal, Scope, TokenAuth

from ..domain import ticket as tickets
from ..domain.errors import NotFound
from ..handlers import Intake, derived_id, ticket_view
from ..identify import Identify
from ..settings import IntakeSettings
from .common import IdempotencyKey, answer, command_request
from .models import InteractionIn, MergeIn, OpenTicketIn, StatusIn, TicketChangesIn


def tickets_router(*, intake: Intake, identify: Identify, auth: TokenAuth, settings: IntakeSettings) -> APIRouter:
    router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
    Agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]

    @router.post("", status_code=status.HTTP_201_CREATED, summary="Open a ticket")
    async def open_ticket(
        body: OpenTicketIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(principal, idempotency_key, body.model_dump(mode="json"), path="/v1/tickets")
        ticket_id = derived_id("ticket", request.key) if request.key else str(uuid.uuid4())
        if (replayed := await intake.replay(ticket_id, request)) is not None:
            return answer(replayed, response)
        customer = await identify.customer(body.customer, request)
        command = tickets.OpenTicket(
            ticket_id=ticket_id,
            reference=f"{settings.reference_prefix}-{await intake.store.next_reference_number()}",
            subject=body.subject,
            description=body.description,
            channel=body.channel,
            customer_id=customer.customer_id,
            customer_email=customer.emails[0] if customer.emails else None,
            customer_name=customer.name,
            account_id=customer.account_id,
            priority=body.priority,
            category=body.category,
            tags=tuple(body.tags),
            custom_fields=body.custom_fields,
            language=body.language or identify.language(f"{body.subject}\n{body.description}"),
            interaction_id=derived_id("interaction", ticket_id, "1"),
        )
        outcome = await intake.open_ticket(command, request)
        return answer(outcome, response, created=True)

    @router.get("/{ticket_id}", summary="A ticket with its full history")
    async def get_ticket(ticket_id: str, _: Agent) -> dict[str, Any]:
        ticket, stream = await intake.ticket(ticket_id)
        if not ticket.exists:
            raise NotFound(f"no ticket {ticket_id}")
        history = [
            {"sequence": e.sequence, "type": e.type, "time": e.time.isoformat(), "data": e.data.model_dump(mode="json")}
            for e in stream.events
        ]
        return ticket_view(ticket) | {"history": history}

    @router.get("/{ticket_id}/events", summary="The ticket's events as CloudEvents")
    async def get_events(ticket_id: str, _: Agent) -> list[dict[str, Any]]:
        ticket, stream = await intake.ticket(ticket_id)
        if not ticket.exists:
            raise NotFound(f"no ticket {ticket_id}")
        return [e.model_dump(mode="json") for e in stream.events]

    @router.post("/{ticket_id}/interactions", status_code=status.HTTP_201_CREATED, summary="Record an interaction")
    async def record(
        ticket_id: str,
        body: InteractionIn,
        principal: Agent,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        request = command_request(
            principal, idempotency_key, body.model_dump(mode="json"), path=f"/v1/tickets/{ticket_id}/interactions"
        )
        ticket, _ = await intake.ticket(ticket_id)
        author_type = body.author_type or ("customer" if body.kind == "customer_message" else "agent")
        command = tickets.RecordInteraction(
            interaction_id=derived_id("interaction", request.key) if request.key else str(uuid.uuid4()),
            kind=body.kind,
            channel=body.channel or ticket.channel,
            author_type=author_type,
            author_id=body.author_id or (ticket.customer_id if author_type == "customer" else request.actor_id),
            body_text=body.body_text,
            body_html=body.body_html,
            language=body.language or identify.language(body.body_text),
            call_direction=body.call_direction,
            call_duration_seconds=body.call_duration_seconds,
            attachments=tuple(identify.attachments(body.attachments)),
            public=body.public,
        )
        return answer(await intake.record(ticket_id, command, request), response, created=True)

    @router.patch("/{ticket_id}", summary="Change priority, category, tags or custom fields")
    async def update(
        ticket_id: str,
        body: TicketChangesIn,
        principal: Agent,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        request = command_request(
            principal, idempotency_key, body.model_dump(mode="json"), path=f"/v1/tickets/{ticket_id}"
        )
        command = tickets.UpdateTicket(
            actor=Actor.AGENT,
            actor_id=request.actor_id,
            priority=body.priority,
            category=body.category,
            tags=tuple(body.tags) if body.tags is not None else None,
            custom_fields=body.custom_fields,
        )
        return answer(await intake.change(ticket_id, command, request), response)

    @router.post("/{ticket_id}/status", summary="Move the ticket along its lifecycle")
    async def change_status(
        ticket_id: str, body: StatusIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(
            principal, idempotency_key, body.model_dump(mode="json"), path=f"/v1/tickets/{ticket_id}/status"
        )
        command = tickets.ChangeStatus(body.status, Actor.AGENT, request.actor_id, body.reason)
        return answer(await intake.change(ticket_id, command, request), response)

    @router.post("/{ticket_id}/merge", summary="Merge this duplicate into another ticket")
    async def merge(
        ticket_id: str, body: MergeIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(
            principal, idempotency_key, body.model_dump(mode="json"), path=f"/v1/tickets/{ticket_id}/merge"
        )
        return answer(await intake.merge(ticket_id, body.into, request), response)

    return router
