"""SLA's HTTP API: business calendars, the ordered policy set, and each ticket's clocks.

(No `from __future__ import annotations`: FastAPI must see the `Admin`/`Agent` dependencies, local to
`sla_router`, as objects rather than names.)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, status
from switchboard.events.calendar import CalendarError
from switchboard.runtime.auth import Principal, Scope, TokenAuth
from switchboard.runtime.conflicts import ConcurrencyConflict

from .clocks import UnknownTicket
from .commands import Commands
from .domain.policy import PolicyError


def sla_router(commands: Commands, *, auth: TokenAuth) -> APIRouter:
    router = APIRouter(prefix="/v1/sla", tags=["sla"])
    Admin = Annotated[Principal, Depends(auth.require(Scope.ADMIN))]
    Agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]

    @router.put("/calendars/{calendar_id}", summary="Create or replace a business calendar")
    async def put_calendar(calendar_id: str, spec: Annotated[dict[str, Any], Body()], _: Admin) -> dict[str, Any]:
        try:
            return await commands.handle_put_calendar(calendar_id, spec)
        except CalendarError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None

    @router.get("/calendars", summary="All business calendars")
    async def get_calendars(_: Agent) -> dict[str, Any]:
        return await commands.calendars()

    @router.put("/policies", summary="Replace the ordered policy set (first match wins)")
    async def put_policies(policies: Annotated[list[dict[str, Any]], Body(max_length=500)], _: Admin) -> dict[str, Any]:
        try:
            return await commands.handle_put_policies(policies)
        except PolicyError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
        except ConcurrencyConflict as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None

    @router.get("/policies", summary="The ordered policy set in force")
    async def get_policies(_: Agent) -> dict[str, Any]:
        return await commands.policies()

    @router.get("/tickets/{ticket_id}", summary="Each SLA target of a ticket: deadline, time used and left, state")
    async def get_ticket(ticket_id: str, _: Agent) -> dict[str, Any]:
        try:
            return await commands.ticket(ticket_id)
        except UnknownTicket as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None

    @router.post("/tickets/{ticket_id}/reapply", summary="Put a running ticket under the policies in force now")
    async def post_reapply(ticket_id: str, _: Admin) -> dict[str, Any]:
        try:
            return await commands.handle_reapply(ticket_id)
        except UnknownTicket as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except ConcurrencyConflict as exc:  # the ticket's clocks kept changing through every attempt
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None

    return router
