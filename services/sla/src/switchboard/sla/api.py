"""SLA's HTTP API: business calendars, the ordered policy set, and each ticket's clocks."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, status
from switchboard.runtime.auth import Principal, Scope, TokenAuth
from switchboard.runtime.jsonable import jsonable

from .domain.calendar import CalendarError
from .domain.clock import view
from .domain.config import calendar_from_dict, policy_from_dict
from .domain.policy import PolicyError
from .handlers import STATE, Configuration, Sla
from .store import SlaStore, StaleClocks


def sla_router(*, store: SlaStore, config: Configuration, sla: Sla, auth: TokenAuth) -> APIRouter:
    router = APIRouter(prefix="/v1/sla", tags=["sla"])
    Admin = Annotated[Principal, Depends(auth.require(Scope.ADMIN))]
    Agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]

    @router.put("/calendars/{calendar_id}", summary="Create or replace a business calendar")
    async def put_calendar(calendar_id: str, spec: Annotated[dict[str, Any], Body()], _: Admin) -> dict[str, Any]:
        try:
            calendar_from_dict(spec)
        except (CalendarError, ValueError) as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"calendar {calendar_id}: {exc}") from None
        await store.put_calendar(calendar_id, spec)
        await config.reload()
        return {"id": calendar_id, **spec}

    @router.get("/calendars", summary="All business calendars")
    async def get_calendars(_: Agent) -> dict[str, Any]:
        return await store.calendar_specs()

    @router.put("/policies", summary="Replace the ordered policy set (first match wins)")
    async def put_policies(policies: Annotated[list[dict[str, Any]], Body(max_length=500)], _: Admin) -> dict[str, Any]:
        version, current = await store.policy_set()
        previous = {p["id"]: p for p in current}
        calendars = await store.calendar_specs()
        stored = []
        for index, raw in enumerate(policies):
            policy_id = raw.get("id")
            if not isinstance(policy_id, str) or not policy_id:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"policy #{index + 1}: needs an 'id'")
            old = previous.get(policy_id)
            if old is None:
                next_version = 1
            elif {k: v for k, v in old.items() if k != "version"} == raw:
                next_version = int(old["version"])  # unchanged: tickets governed by it keep the same version
            else:
                next_version = int(old["version"]) + 1
            candidate = {**raw, "version": next_version}
            try:
                policy = policy_from_dict(candidate)
            except (PolicyError, ValueError) as exc:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"policy {policy_id}: {exc}") from None
            if policy.calendar_id not in calendars and policy.calendar_id != "default":
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_ENTITY, f"policy {policy_id}: unknown calendar '{policy.calendar_id}'"
                )
            stored.append(candidate)
        if len({p["id"] for p in stored}) != len(stored):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "policy ids must be unique")
        try:
            new_version = await store.save_policy_set(version, stored)
        except StaleClocks as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        await config.reload()
        return {"version": new_version, "policies": stored}

    @router.get("/policies", summary="The ordered policy set in force")
    async def get_policies(_: Agent) -> dict[str, Any]:
        version, policies = await store.policy_set()
        return {"version": version, "policies": policies}

    @router.get("/tickets/{ticket_id}", summary="Each SLA target of a ticket: deadline, time used and left, state")
    async def get_ticket(ticket_id: str, _: Agent) -> dict[str, Any]:
        doc = await store.clocks(ticket_id)
        if doc is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no SLA clocks for ticket {ticket_id}")
        _policies, calendars = await config.current()
        result: dict[str, Any] = jsonable(
            view(STATE.validate_json(doc["state"]), datetime.now(UTC), calendars=calendars)
        )
        return result

    @router.post("/tickets/{ticket_id}/reapply", summary="Put a running ticket under the policies in force now")
    async def post_reapply(ticket_id: str, _: Admin) -> dict[str, Any]:
        if not await sla.reapply(ticket_id, datetime.now(UTC)):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no SLA clocks for ticket {ticket_id}")
        return await get_ticket(ticket_id, _)

    return router
