"""Customer and account routes: create, update, read, look up by identity, and a customer's tickets."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from switchboard.runtime.auth import Principal, Scope, TokenAuth

from ..commands import Accounts, Customers
from .common import IdempotencyKey, answer, command_request
from .models import AccountIn, CustomerIn


def customers_router(*, customers: Customers, accounts: Accounts, auth: TokenAuth) -> APIRouter:
    router = APIRouter(tags=["customers"])
    Agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]
    Admin = Annotated[Principal, Depends(auth.require(Scope.ADMIN))]

    @router.post("/v1/customers", status_code=status.HTTP_201_CREATED, summary="Create a customer")
    async def create_customer(
        body: CustomerIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(principal, idempotency_key, body, path="/v1/customers")
        outcome = await customers.create(body.as_input(), request=request)
        return answer(outcome, response, created=True)

    @router.patch("/v1/customers/{customer_id}", summary="Update a customer")
    async def update_customer(
        customer_id: str, body: CustomerIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(principal, idempotency_key, body, path=f"/v1/customers/{customer_id}")
        outcome = await customers.update(customer_id, body.as_input(), request=request)
        return answer(outcome, response)

    @router.get("/v1/customers/{customer_id}", summary="A customer")
    async def get_customer(customer_id: str, _: Agent) -> dict[str, Any]:
        return await customers.get(customer_id)

    @router.get("/v1/customers", summary="Find a customer by e-mail, phone or handle")
    async def find_customer(
        _: Agent,
        email: Annotated[str | None, Query(max_length=320)] = None,
        phone: Annotated[str | None, Query(max_length=40)] = None,
        handle: Annotated[str | None, Query(max_length=140)] = None,
    ) -> dict[str, Any]:
        return await customers.find(email=email, phone=phone, handle=handle)

    @router.get("/v1/customers/{customer_id}/tickets", summary="A customer's tickets, newest first")
    async def customer_tickets(customer_id: str, _: Agent) -> list[dict[str, Any]]:
        return await customers.tickets(customer_id)

    @router.post("/v1/accounts", status_code=status.HTTP_201_CREATED, summary="Create an account")
    async def create_account(
        body: AccountIn, principal: Admin, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(principal, idempotency_key, body, path="/v1/accounts")
        outcome = await accounts.create(body.as_input(), request=request)
        return answer(outcome, response, created=True)

    @router.patch("/v1/accounts/{account_id}", summary="Update an account")
    async def update_account(
        account_id: str, body: AccountIn, principal: Admin, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(principal, idempotency_key, body, path=f"/v1/accounts/{account_id}")
        outcome = await accounts.update(account_id, body.as_input(), request=request)
        return answer(outcome, response)

    @router.get("/v1/accounts/{account_id}", summary="An account")
    async def get_account(account_id: str, _: Agent) -> dict[str, Any]:
        return await accounts.get(account_id)

    return router
