"""Routing's HTTP API: the roster (agents, teams, queues, skills), presence, and the rule set with a dry run.

Each route parses its request, calls one use case in `commands`, and answers; `refusals` turns the use cases'
refusals into HTTP answers. Fixed paths are declared before parametrised ones, and each kind of roster item has
its own path: a catch-all `/v1/{kind}/{id}` once answered `GET /v1/routing/rules` with a 422.
"""

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, status
from switchboard.runtime.auth import Principal, Scope, TokenAuth
from switchboard.runtime.conflicts import ConcurrencyConflict

from .commands import Forbidden, Kind, NotFound, RoutingCommands
from .domain.roster import RosterError
from .domain.rules import RuleSetError
from .models import AgentIn, EscalateIn, ExplainIn, PresenceIn, QueueIn, RosterIn, TeamIn

KINDS: tuple[Kind, ...] = ("agents", "teams", "queues")


@contextmanager
def refusals() -> Iterator[None]:
    """A use case's refusal as the HTTP answer: what is wrong (422), missing (404), not allowed (403), contended (409)."""
    try:
        yield
    except RosterError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, {"problems": list(exc.problems)}) from None
    except RuleSetError as exc:
        problems = [str(problem) for problem in exc.problems]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, {"problems": problems}) from None
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except Forbidden as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except ConcurrencyConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def routing_router(commands: RoutingCommands, *, auth: TokenAuth) -> APIRouter:
    router = APIRouter(tags=["routing"])
    Admin = Annotated[Principal, Depends(auth.require(Scope.ADMIN))]
    Agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]

    @router.put("/v1/roster", summary="Replace the whole roster at once (one version, one board input)")
    async def put_roster(body: RosterIn, _: Admin) -> dict[str, Any]:
        with refusals():
            return await commands.handle_put_roster(body.model_dump(mode="json"))

    @router.get("/v1/roster", summary="The roster in force, with live presence and load")
    async def get_roster(_: Agent) -> dict[str, Any]:
        return await commands.roster_view()

    @router.put("/v1/skills", summary="Replace the catalogue of skills agents and rules may name")
    async def put_skills(skills: Annotated[list[str], Body(max_length=1000)], _: Admin) -> dict[str, Any]:
        with refusals():
            return await commands.handle_put_skills(skills)

    @router.put("/v1/routing/rules", summary="Replace the rule set (YAML); refused whole when invalid")
    async def put_rules(text: Annotated[str, Body(media_type="application/yaml")], _: Admin) -> dict[str, Any]:
        with refusals():
            return await commands.handle_put_rules(text)

    @router.get("/v1/routing/rules", summary="The rule set in force (YAML)")
    async def get_rules(_: Agent) -> dict[str, Any]:
        return await commands.rules_view()

    @router.post("/v1/routing/explain", summary="Dry-run a ticket: which rule matches and why")
    async def post_explain(body: ExplainIn, _: Agent) -> dict[str, Any]:
        return await commands.handle_explain(body)

    @router.put("/v1/agents/{agent_id}", summary="Create or replace an agent")
    async def put_agent(agent_id: str, body: AgentIn, _: Admin) -> dict[str, Any]:
        with refusals():
            return await commands.handle_put_item("agents", agent_id, body.model_dump(mode="json"))

    @router.put("/v1/teams/{team_id}", summary="Create or replace a team")
    async def put_team(team_id: str, body: TeamIn, _: Admin) -> dict[str, Any]:
        with refusals():
            return await commands.handle_put_item("teams", team_id, body.model_dump(mode="json"))

    @router.put("/v1/queues/{queue_id}", summary="Create or replace a queue")
    async def put_queue(queue_id: str, body: QueueIn, _: Admin) -> dict[str, Any]:
        with refusals():
            return await commands.handle_put_item("queues", queue_id, body.model_dump(mode="json"))

    def get_item(kind: Kind) -> Callable[[str, Principal], Coroutine[Any, Any, dict[str, Any]]]:
        async def route(item_id: str, _: Agent) -> dict[str, Any]:
            with refusals():
                return await commands.configured_item(kind, item_id)

        return route

    for kind in KINDS:
        router.add_api_route(
            f"/v1/{kind}/{{item_id}}",
            get_item(kind),
            methods=["GET"],
            summary=f"One {kind[:-1]} as configured",
            name=f"get_{kind[:-1]}",
        )

    @router.put("/v1/agents/{agent_id}/presence", summary="Set an agent's presence (the agent desk calls this)")
    async def put_presence(agent_id: str, body: PresenceIn, principal: Agent) -> dict[str, Any]:
        with refusals():
            return await commands.handle_set_presence(agent_id, body.presence, principal)

    @router.post("/v1/tickets/{ticket_id}/escalate", summary="An agent escalates a ticket (tier or department)")
    async def post_escalate(ticket_id: str, body: EscalateIn, principal: Agent) -> dict[str, Any]:
        with refusals():
            return await commands.handle_escalate(ticket_id, body, principal)

    return router
