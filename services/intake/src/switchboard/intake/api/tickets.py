"""Ticket routes: open, interactions, changes, status, merge, and reading a ticket with its history."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from switchboard.runtime.auth import Principal, Scope, TokenAuth

from ..commands import Tickets
from .common import IdempotencyKey, answer, command_request
from .models import InteractionIn, MergeIn, OpenTicketIn, StatusIn, TicketChangesIn


def tickets_router(*, tickets: Tickets, auth: TokenAuth) -> APIRouter:
    router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
    Agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]

    @router.post("", status_code=status.HTTP_201_CREATED, summary="Open a ticket")
    async def open_ticket(
        body: OpenTicketIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(principal, idempotency_key, body, path="/v1/tickets")
        outcome = await tickets.open(body.as_input(), request=request)
        return answer(outcome, response, created=True)

    @router.get("/{ticket_id}", summary="A ticket with its full history")
    async def get_ticket(ticket_id: str, _: Agent) -> dict[str, Any]:
        return await tickets.get(ticket_id)

    @router.get("/{ticket_id}/events", summary="The ticket's events as CloudEvents")
    async def get_events(ticket_id: str, _: Agent) -> list[dict[str, Any]]:
        return await tickets.events(ticket_id)

    @router.post("/{ticket_id}/interactions", status_code=status.HTTP_201_CREATED, summary="Record an interaction")
    async def record(
        ticket_id: str,
        body: InteractionIn,
        principal: Agent,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        request = command_request(principal, idempotency_key, body, path=f"/v1/tickets/{ticket_id}/interactions")
        outcome = await tickets.record_interaction(ticket_id, body.as_input(), request=request)
        return answer(outcome, response, created=True)

    @router.patch("/{ticket_id}", summary="Change priority, category, tags or custom fields")
    async def update(
        ticket_id: str,
        body: TicketChangesIn,
        principal: Agent,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        request = command_request(principal, idempotency_key, body, path=f"/v1/tickets/{ticket_id}")
        outcome = await tickets.update(ticket_id, body.as_input(), request=request)
        return answer(outcome, response)

    @router.post("/{ticket_id}/status", summary="Move the ticket along its lifecycle")
    async def change_status(
        ticket_id: str, body: StatusIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        outcome = await tickets.change_status(
            ticket_id,
            status=body.status,
            reason=body.reason,
            request=command_request(principal, idempotency_key, body, path=f"/v1/tickets/{ticket_id}/status"),
        )
        return answer(outcome, response)

    @router.post("/{ticket_id}/merge", summary="Merge this duplicate into another ticket")
    async def merge(
        ticket_id: str, body: MergeIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        outcome = await tickets.merge(
            ticket_id,
            into=body.into,
            request=command_request(principal, idempotency_key, body, path=f"/v1/tickets/{ticket_id}/merge"),
        )
        return answer(outcome, response)

    return router
