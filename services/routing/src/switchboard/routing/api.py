"""Routing's HTTP API: the roster (agents, teams, queues, skills), presence, and the rule set with a dry run."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, status
from switchboard.runtime.auth import Principal, Scope, TokenAuth
from switchboard.runtime.jsonable import jsonable

from .board import Assigner, BoardInput
from .domain.escalation import Cause
from .domain.roster import RosterError
from .domain.rules import RuleSetError, TicketFacts, explain, parse_rules
from .handlers import Routing
from .models import AgentIn, EscalateIn, ExplainIn, PresenceIn, QueueIn, RosterIn, TeamIn, roster_from_document
from .store import RoutingStore, VersionConflict


def routing_router(*, store: RoutingStore, routing: Routing, assigner: Assigner, auth: TokenAuth) -> APIRouter:
    router = APIRouter(tags=["routing"])
    Admin = Annotated[Principal, Depends(auth.require(Scope.ADMIN))]
    Agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]

    async def change_roster(kind: str, key: str, value: dict[str, Any] | list[str]) -> dict[str, Any]:
        for _ in range(5):
            version = await store.current_version("roster")
            doc = dict(await store.roster_document(version) or {})
            if kind == "all" and isinstance(value, dict):
                doc = dict(value)
            elif kind == "skills":
                doc["skills"] = value
            else:
                section = dict(doc.get(kind, {}))
                section[key] = value
                doc[kind] = section
            try:
                roster_from_document(doc)
            except RosterError as exc:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, {"problems": list(exc.problems)}) from None
            try:
                new_version = await store.save_version("roster", version, {"roster": doc})
            except VersionConflict:
                continue
            await assigner.submit(
                BoardInput(
                    id=f"roster:{new_version}", kind="roster", time=datetime.now(UTC), roster_version=new_version
                )
            )
            return {"roster_version": new_version}
        raise HTTPException(status.HTTP_409_CONFLICT, "the roster is being changed by others; try again")

    @router.put("/v1/roster", summary="Replace the whole roster at once (one version, one board input)")
    async def put_roster(body: RosterIn, _: Admin) -> dict[str, Any]:
        return await change_roster("all", "", body.model_dump(mode="json"))

    @router.put("/v1/skills", summary="Replace the catalogue of skills agents and rules may name")
    async def put_skills(skills: Annotated[list[str], Body(max_length=1000)], _: Admin) -> dict[str, Any]:
        return await change_roster("skills", "", sorted(set(skills)))

    @router.put("/v1/agents/{agent_id}", summary="Create or replace an agent")
    async def put_agent(agent_id: str, body: AgentIn, _: Admin) -> dict[str, Any]:
        return await change_roster("agents", agent_id, body.model_dump(mode="json"))

    @router.put("/v1/teams/{team_id}", summary="Create or replace a team")
    async def put_team(team_id: str, body: TeamIn, _: Admin) -> dict[str, Any]:
        return await change_roster("teams", team_id, body.model_dump(mode="json"))

    @router.put("/v1/queues/{queue_id}", summary="Create or replace a queue")
    async def put_queue(queue_id: str, body: QueueIn, _: Admin) -> dict[str, Any]:
        return await change_roster("queues", queue_id, body.model_dump(mode="json"))

    @router.get("/v1/roster", summary="The roster in force, with live presence and load")
    async def get_roster(_: Agent) -> dict[str, Any]:
        version = await store.current_version("roster")
        board = assigner.board
        seats = {a: {"presence": s.presence.value, "tickets": sorted(s.tickets)} for a, s in board.seats.items()}
        waiting = {q: list(ids) for q, ids in board.waiting.items()}
        live = {"seats": seats, "waiting": waiting} if assigner.owner else None
        return {"version": version, "roster": await store.roster_document(version), "live": live}

    @router.get("/v1/{kind}/{item_id}", summary="One agent, team or queue as configured")
    async def get_item(kind: Literal["agents", "teams", "queues"], item_id: str, _: Agent) -> dict[str, Any]:
        doc = await store.roster_document() or {}
        item = doc.get(kind, {}).get(item_id)
        if item is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind[:-1]} {item_id} on the roster")
        return {"id": item_id, **item}

    @router.post("/v1/tickets/{ticket_id}/escalate", summary="An agent escalates a ticket (tier or department)")
    async def post_escalate(ticket_id: str, body: EscalateIn, principal: Agent) -> dict[str, Any]:
        if await store.ticket(ticket_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"routing has not seen ticket {ticket_id}")
        request_id = body.request_id or str(uuid.uuid4())
        cause = Cause.by_agent(
            agent_id=body.agent_id or f"token:{principal.fingerprint}",
            request_id=request_id,
            reason=body.reason,
            target=body.target,
        )
        await routing.escalate(ticket_id, cause, None)
        return {"ticket_id": ticket_id, "request_id": request_id}

    @router.put("/v1/agents/{agent_id}/presence", summary="Set an agent's presence (the agent desk calls this)")
    async def put_presence(agent_id: str, body: PresenceIn, principal: Agent) -> dict[str, Any]:
        if not principal.may(Scope.ADMIN) and principal.agent_id != agent_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "an agent's token sets only that agent's own presence")
        doc = await store.roster_document()
        if doc is None or agent_id not in doc.get("agents", {}):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id} on the roster")
        await assigner.submit(
            BoardInput(
                id=f"presence:{uuid.uuid4()}",
                kind="presence",
                time=datetime.now(UTC),
                agent_id=agent_id,
                presence=body.presence,
            )
        )
        return {"agent_id": agent_id, "presence": body.presence.value}

    @router.put("/v1/routing/rules", summary="Replace the rule set (YAML); refused whole when invalid")
    async def put_rules(text: Annotated[str, Body(media_type="application/yaml")], _: Admin) -> dict[str, Any]:
        doc = await store.roster_document() or {}
        try:
            rules = parse_rules(
                text, known_queues=frozenset(doc.get("queues", {})), known_skills=frozenset(doc.get("skills", []))
            )
        except RuleSetError as exc:
            problems = [f"line {p.line}, column {p.column}: {p.message}" for p in exc.problems]
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, {"problems": problems}) from None
        version = await store.current_version("rules")
        try:
            stored = await store.save_version("rules", version, {"text": text})
        except VersionConflict as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        routing.rules = rules
        return {"rules_version": stored, "author_version": rules.version}

    @router.get("/v1/routing/rules", summary="The rule set in force (YAML)")
    async def get_rules(_: Agent) -> dict[str, Any]:
        return {"version": await store.current_version("rules"), "text": await store.rules_text()}

    @router.post("/v1/routing/explain", summary="Dry-run a ticket: which rule matches and why")
    async def post_explain(body: ExplainIn, _: Agent) -> dict[str, Any]:
        ticket = TicketFacts(**(body.model_dump() | {"tags": tuple(body.tags)}))
        assert routing.rules is not None
        result: dict[str, Any] = jsonable(explain(routing.rules, ticket))
        return result

    return router
