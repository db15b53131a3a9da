"""`GET /v1/tickets`: the worklist, served from this replica's SQLite file.

The handler runs the query on the event loop's thread on purpose: a page costs well under a millisecond of
SQLite (see `worklist/plan.py`), less than a hop to the thread pool and back, and the reader connection is
used by this thread only. The body is assembled from the rows' stored JSON (`Page.json_bytes`), so no item is
validated or serialised per request; the response model below is what the items are, for the docs.
"""

import sqlite3
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
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


#: The query parameters: lists (repeat them, or separate values by commas) and single values.
LISTS: dict[str, tuple[str, list[str] | None]] = {
    "status": ("Any of these statuses.", ["new", "open", "pending", "on_hold", "solved", "closed"]),
    "queue": ("Any of these queue ids.", None),
    "team": ("Any of these team ids.", None),
    "assignee": ("Any of these agent ids; `none` for tickets nobody is assigned to.", None),
    "priority": ("Any of these priorities.", ["low", "normal", "high", "urgent"]),
    "tags": ("Tags the ticket has, all of them.", None),
    "customer": ("Any of these customer ids.", None),
    "account": ("Any of these account ids.", None),
    "language": ("Any of these language tags, e.g. en, tr.", None),
    "channel": ("Any of these channels.", ["email", "phone", "chat", "social", "web_form", "api"]),
    "sla_state": ("Any of these SLA states.", ["ok", "at_risk", "breached"]),
}
SINGLE: dict[str, tuple[str, dict[str, Any]]] = {
    "opened_from": ("Opened at or after this time (ISO-8601).", {"type": "string", "format": "date-time"}),
    "opened_to": ("Opened before this time (ISO-8601).", {"type": "string", "format": "date-time"}),
    "updated_from": ("Updated at or after this time (ISO-8601).", {"type": "string", "format": "date-time"}),
    "updated_to": ("Updated before this time (ISO-8601).", {"type": "string", "format": "date-time"}),
    "q": ("The subject contains this text (3 to 200 characters, any case).", {"type": "string", "maxLength": 200}),
    "sort": (
        "Sort key; ties are broken by id; tickets without a running SLA clock sort last by deadline.",
        {"type": "string", "enum": [s.value for s in Sort], "default": Sort.NEXT_DEADLINE.value},
    ),
    "order": (
        "asc or desc; by default deadline asc, priority desc (urgent first), opened_at and updated_at desc.",
        {"type": "string", "enum": ["asc", "desc"]},
    ),
    "limit": ("Tickets per page.", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 25}),
    "cursor": ("`next_cursor` of the previous page, unchanged (same filters and sort).", {"type": "string"}),
    "count": ("Also count every matching ticket (all pages).", {"type": "boolean", "default": False}),
}


def _openapi_parameters() -> list[dict[str, Any]]:
    listed = [
        {
            "name": name,
            "in": "query",
            "description": description,
            "style": "form",
            "explode": True,
            "schema": {"type": "array", "items": {"type": "string", **({"enum": enum} if enum else {})}},
        }
        for name, (description, enum) in LISTS.items()
    ]
    single = [
        {"name": name, "in": "query", "description": description, "schema": schema}
        for name, (description, schema) in SINGLE.items()
    ]
    return listed + single


def parse(items: list[tuple[str, str]]) -> WorklistQuery:
    """The query string as a worklist query, strictly: an unknown or repeated single parameter is refused, so a
    misspelt filter (`stauts=open`) is a 422 rather than a page that silently ignores it."""
    lists: dict[str, list[str]] = {}
    single: dict[str, str] = {}
    for key, value in items:
        if key in LISTS:
            lists.setdefault(key, []).extend(v.strip() for v in value.split(",") if v.strip())
        elif key in SINGLE:
            if key in single:
                raise QueryError(f"{key} may be given once")
            single[key] = value
        else:
            raise QueryError(f"unknown parameter {key!r}; known: {', '.join([*LISTS, *SINGLE])}")
    fields: dict[str, Any] = {name: tuple(values) for name, values in lists.items()}
    for name in ("opened_from", "opened_to", "updated_from", "updated_to", "cursor", "order"):
        if name in single:
            fields[name] = single[name]
    if "q" in single:
        if len(single["q"]) > 200:
            raise QueryError("q may be 200 characters at most")
        fields["q"] = single["q"]
    if "sort" in single:
        fields["sort"] = single["sort"]
    if "limit" in single:
        if not single["limit"].isdigit():
            raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        fields["limit"] = int(single["limit"])
    if "count" in single:
        if single["count"].lower() not in ("true", "false", "1", "0"):
            raise QueryError("count must be true or false")
        fields["count"] = single["count"].lower() in ("true", "1")
    return WorklistQuery(**fields)


def worklist_router(
    *,
    engine_provider: Callable[[], sqlite3.Connection],
    auth: TokenAuth,
    agent_queues: Callable[[str], frozenset[str]],
) -> APIRouter:
    router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
    cache = QueryCache()

    Reader = Annotated[Principal, Depends(auth.require_any(Scope.AGENT, Scope.ANALYST))]

    @router.get(
        "",
        summary="The worklist: tickets filtered, sorted and paged",
        description=(
            "Agents (`agent` scope, a token bound to an agent) see the tickets of the queues they work and the"
            " tickets assigned to them; analysts and admins see every ticket. Pages are keyset pages: follow"
            " `next_cursor`."
        ),
        response_model=WorklistPage,
        responses={
            422: {"description": "An unknown parameter, or a filter, sort, limit or cursor the worklist cannot answer."}
        },
        openapi_extra={"parameters": _openapi_parameters()},
    )
    async def list_tickets(request: Request, principal: Reader) -> Response:
        visible, agent_id = _scope(principal, agent_queues)
        try:
            wanted = parse(request.query_params.multi_items())
            page = query(engine_provider(), wanted, visible_queues=visible, agent_id=agent_id, cache=cache)
        except QueryError as exc:
            raise HTTPException(422, str(exc)) from None
        return Response(page.json_bytes(), media_type="application/json")

    return router


def _scope(
    principal: Principal, agent_queues: Callable[[str], frozenset[str]]
) -> tuple[frozenset[str] | None, str | None]:
    """(visible queues or None for all, the caller's agent id): analysts and admins (leads, until the platform
    has a scope of their own) see every ticket; an agent the queues they work and their own tickets."""
    if principal.may(Scope.ANALYST):
        return None, principal.agent_id
    if principal.agent_id is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this agent token names no agent, so its queues are unknown: bind it as 'token=agent:<agent id>'",
        )
    return agent_queues(principal.agent_id), principal.agent_id
