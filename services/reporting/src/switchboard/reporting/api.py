"""Reporting's read-only HTTP routes over the read models."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pymongo.asynchronous.database import AsyncDatabase
from switchboard.runtime.auth import Principal, Scope, TokenAuth
from switchboard.runtime.mongo import Document

from .views import TicketsView


def tickets_router(*, db: AsyncDatabase[Document], auth: TokenAuth) -> APIRouter:
    router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
    reader = Annotated[Principal, Depends(auth.require(Scope.AGENT))]

    @router.get("/{ticket_id}")
    async def get_ticket(ticket_id: str, _: reader) -> dict[str, Any]:
        ticket = await TicketsView.get(db, ticket_id)
        if ticket is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket {ticket_id} in reporting (yet)")
        return ticket

    return router
