"""`GET /v1/tickets`: the worklist, served from this replica's SQLite file.

The handler runs the query on the event loop's thread on purpose: a page costs well under a millisecond of
SQLite (see `worklist/plan.py`), less than a hop to the thread pool and back, and the reader connection is
used by this thread only. The body is assembled from the rows' stored JSON (`Page.json_bytes`), so no item is
validated or serialised per request; the response model below is what the items are, for the docs.
"""

import sqlite3
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from switchboard.runtime.auth import Principal, Scope, TokenAuth

from ..worklist import MAX_LIMIT, QueryCache, QueryError, Sort, WorklistQuery, query


class WorklistItem(BaseModel):
    """One ticket as the worklist lists it; times are ISO-8601 UTC, None when unknown."""

    id: str
    reference: str | None = None
    subject: str
    status: str
    priority: str
    queue_id: str | None = None
    team_id: str | None = None
    assignee_id: str | None = None
    customer_id: str | None = None
    account_id: str | None = None
    language: str | None = None
    channel: str | None = None
    tags: list[str] = Field(default_factory=list)
    sla_state: Literal["ok", "at_risk", "breached"] = "ok"
    next_deadline: str | None = Field(default=None, description="Earliest deadline of a running SLA clock.")
    opened_at: str
    updated_at: str


class WorklistPage(BaseModel):
    items: list[WorklistItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    count: int | None = Field(description="Tickets matching the filters (all pages), when `count=true`.")


def _many(values: list[str] | None) -> tuple[str, ...]:
    """Repeated parameters and comma-separated lists alike: `status=new&status=open` or `status=new,open`."""
    return tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())


def worklist_router(
    *,
    engine_provider: Callable[[], sqlite3.Connection],
    auth: TokenAuth,
    agent_queues: Callable[[str], frozenset[str]],
) -> APIRouter:
    router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
    Agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]
    cache = QueryCache()

    @router.get(
        "",
        summary="The worklist: tickets filtered, sorted and paged",
        response_model=WorklistPage,
        responses={422: {"description": "A filter, sort, limit or cursor the worklist cannot answer."}},
    )
    async def list_tickets(
        principal: Agent,
        status_: Annotated[
            list[str] | None, Query(alias="status", description="new, open, pending, on_hold, solved, closed")
        ] = None,
        queue: Annotated[list[str] | None, Query(description="Queue ids.")] = None,
        team: Annotated[list[str] | None, Query(description="Team ids.")] = None,
        assignee: Annotated[list[str] | None, Query(description="Agent ids; `none` for unassigned tickets.")] = None,
        priority: Annotated[list[str] | None, Query(description="low, normal, high, urgent")] = None,
        tags: Annotated[list[str] | None, Query(description="Tags the ticket has all of.")] = None,
        customer: Annotated[list[str] | None, Query(description="Customer ids.")] = None,
        account: Annotated[list[str] | None, Query(description="Account ids.")] = None,
        language: Annotated[list[str] | None, Query(description="Language tags, e.g. en, tr.")] = None,
        channel: Annotated[list[str] | None, Query(description="email, phone, chat, social, web_form, api")] = None,
        sla_state: Annotated[list[str] | None, Query(description="ok, at_risk, breached")] = None,
        opened_from: Annotated[str | None, Query(description="Opened at or after (ISO-8601).")] = None,
        opened_to: Annotated[str | None, Query(description="Opened before (ISO-8601).")] = None,
        updated_from: Annotated[str | None, Query(description="Updated at or after (ISO-8601).")] = None,
        updated_to: Annotated[str | None, Query(description="Updated before (ISO-8601).")] = None,
        q: Annotated[str | None, Query(max_length=200, description="Subject contains (3 characters or more).")] = None,
        sort: Annotated[Sort, Query(description="Sort key; ties by id; no deadline sorts last.")] = Sort.NEXT_DEADLINE,
        order: Annotated[
            Literal["asc", "desc"] | None,
            Query(description="Default: deadline asc, priority desc (urgent first), opened/updated desc."),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 25,
        cursor: Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")] = None,
        count: Annotated[bool, Query(description="Also count every matching ticket.")] = False,
    ) -> Response:
        visible, agent_id = _scope(principal, agent_queues)
        try:
            wanted = WorklistQuery(
                status=_many(status_), queue=_many(queue), team=_many(team), assignee=_many(assignee),
                priority=_many(priority), tags=_many(tags), customer=_many(customer), account=_many(account),
                language=_many(language), channel=_many(channel), sla_state=_many(sla_state),
                opened_from=opened_from, opened_to=opened_to, updated_from=updated_from, updated_to=updated_to,
                q=q, sort=sort, order=order, limit=limit, cursor=cursor, count=count,
            )  # fmt: skip
            page = query(engine_provider(), wanted, visible_queues=visible, agent_id=agent_id, cache=cache)
        except QueryError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
        return Response(page.json_bytes(), media_type="application/json")

    return router


def _scope(
    principal: Principal, agent_queues: Callable[[str], frozenset[str]]
) -> tuple[frozenset[str] | None, str | None]:
    """(visible queues or None for all, the caller's agent id): admins (and, once they exist, leads and
    analysts) see every ticket; an agent the queues they work and their own tickets."""
    if principal.may(Scope.ADMIN):
        return None, principal.agent_id
    if principal.agent_id is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this agent token names no agent, so its queues are unknown: bind it as 'token=agent:<agent id>'",
        )
    return agent_queues(principal.agent_id), principal.agent_id
