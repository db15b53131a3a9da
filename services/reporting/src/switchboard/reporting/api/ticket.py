"""One ticket as reporting sees it: the `tickets` projection document, from this replica's engine."""

import json
import sqlite3
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status
from switchboard.runtime.auth import Principal, Scope, TokenAuth

AgentQueues = Callable[[str], frozenset[str]]


def ticket_router(
    *, conn_provider: Callable[[], sqlite3.Connection], auth: TokenAuth, agent_queues: AgentQueues
) -> APIRouter:
    router = APIRouter(tags=["tickets"])
    reader = Annotated[Principal, Depends(auth.require_any(Scope.AGENT, Scope.ANALYST))]

    @router.get(
        "/v1/tickets/{ticket_id}",
        summary="A ticket's current state and metrics (first reply, resolution, waits, SLA per target)",
        responses={404: {"description": "No such ticket here, yet, or not one this agent may see."}},
    )
    async def get_ticket(ticket_id: Annotated[str, Path(min_length=1, max_length=64)], who: reader) -> dict[str, Any]:
        row = conn_provider().execute("SELECT view FROM ticket_state WHERE id = ?", (ticket_id,)).fetchone()
        view: dict[str, Any] | None = json.loads(row[0]) if row and row[0] else None
        if view is not None and not _may_see(who, view, agent_queues):
            view = None  # an agent learns nothing of tickets outside their queues, not even that they exist
        if view is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket {ticket_id} in reporting (yet)")
        for internal in ("replies_by_day", "handle_by_day"):
            view.pop(internal, None)
        return view

    return router


def _may_see(who: Principal, view: dict[str, Any], agent_queues: AgentQueues) -> bool:
    if who.may(Scope.ANALYST):
        return True
    if who.agent_id is None:
        return False  # a desk token bound to no agent has no queues of its own
    return view.get("assignee_id") == who.agent_id or view.get("queue_id") in agent_queues(who.agent_id)
