"""Customer and account routes: create, update, read, look up by identity, and a customer's tickets."""

import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query, Response, status
from switchboard.runtime.auth import Principal, Scope, TokenAuth

from ..domain import customer as customers
from ..domain.errors import Invalid, NotFound
from ..handlers import Intake, account_view, customer_view, derived_id, ticket_view
from ..identify import Identify
from .common import IdempotencyKey, answer, command_request
from .models import AccountIn, CustomerIn


def customers_router(*, intake: Intake, identify: Identify, auth: TokenAuth) -> APIRouter:
    router = APIRouter(tags=["customers"])
    Agent = Annotated[Principal, Depends(auth.require(Scope.AGENT))]
    Admin = Annotated[Principal, Depends(auth.require(Scope.ADMIN))]

    def changes_of(body: CustomerIn) -> customers.CustomerChanges:
        if body.time_zone is not None:
            try:
                ZoneInfo(body.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise Invalid(
                    f"unknown time zone {body.time_zone!r}; use an IANA name like 'Europe/Istanbul'"
                ) from None
        return customers.CustomerChanges(
            name=body.name,
            emails=tuple(customers.normalise_email(str(e)) for e in body.emails) if body.emails is not None else None,
            phones=tuple(k.removeprefix("phone:") for p in body.phones for k in identify.identities(phone=p))
            if body.phones is not None
            else None,
            social_handles=tuple(customers.normalise_handle(h) for h in body.social_handles)
            if body.social_handles is not None
            else None,
            language=body.language,
            time_zone=body.time_zone,
            account_id=body.account_id,
        )

    @router.post("/v1/customers", status_code=status.HTTP_201_CREATED, summary="Create a customer")
    async def create_customer(
        body: CustomerIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(principal, idempotency_key, body.model_dump(mode="json"), path="/v1/customers")
        customer_id = derived_id("customer-create", request.key) if request.key else str(uuid.uuid4())
        outcome = await intake.upsert_customer(customer_id, changes_of(body), request, must_exist=False)
        return answer(outcome, response, created=True)

    @router.patch("/v1/customers/{customer_id}", summary="Update a customer")
    async def update_customer(
        customer_id: str, body: CustomerIn, principal: Agent, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(
            principal, idempotency_key, body.model_dump(mode="json"), path=f"/v1/customers/{customer_id}"
        )
        return answer(await intake.upsert_customer(customer_id, changes_of(body), request, must_exist=True), response)

    @router.get("/v1/customers/{customer_id}", summary="A customer")
    async def get_customer(customer_id: str, _: Agent) -> dict[str, Any]:
        customer = await intake.customer(customer_id)
        if not customer.exists:
            raise NotFound(f"no customer {customer_id}")
        return customer_view(customer)

    @router.get("/v1/customers", summary="Find a customer by e-mail, phone or handle")
    async def find_customer(
        _: Agent,
        email: Annotated[str | None, Query(max_length=320)] = None,
        phone: Annotated[str | None, Query(max_length=40)] = None,
        handle: Annotated[str | None, Query(max_length=140)] = None,
    ) -> dict[str, Any]:
        keys = identify.identities(email=email, phone=phone, handle=handle)
        if not keys:
            raise Invalid("give email, phone or handle to look a customer up by")
        customer_id = await intake.find_customer(keys)
        customer = await intake.customer(customer_id) if customer_id else None
        if customer is None or not customer.exists:
            raise NotFound("no customer with that e-mail, phone or handle")
        return customer_view(customer)

    @router.get("/v1/customers/{customer_id}/tickets", summary="A customer's tickets, newest first")
    async def customer_tickets(customer_id: str, _: Agent) -> list[dict[str, Any]]:
        if not (await intake.customer(customer_id)).exists:
            raise NotFound(f"no customer {customer_id}")
        found = []
        for ticket_id in await intake.store.customer_ticket_ids(customer_id):
            ticket, _stream = await intake.ticket(ticket_id)
            if ticket.exists:
                found.append(ticket_view(ticket))
        return sorted(found, key=lambda t: t["opened_at"] or "", reverse=True)

    @router.post("/v1/accounts", status_code=status.HTTP_201_CREATED, summary="Create an account")
    async def create_account(
        body: AccountIn, principal: Admin, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        if not body.name:
            raise Invalid("an account needs a name")
        request = command_request(principal, idempotency_key, body.model_dump(mode="json"), path="/v1/accounts")
        account_id = derived_id("account-create", request.key) if request.key else str(uuid.uuid4())
        outcome = await intake.upsert_account(account_id, account_changes(body), request, must_exist=False)
        return answer(outcome, response, created=True)

    @router.patch("/v1/accounts/{account_id}", summary="Update an account")
    async def update_account(
        account_id: str, body: AccountIn, principal: Admin, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        request = command_request(
            principal, idempotency_key, body.model_dump(mode="json"), path=f"/v1/accounts/{account_id}"
        )
        return answer(
            await intake.upsert_account(account_id, account_changes(body), request, must_exist=True), response
        )

    @router.get("/v1/accounts/{account_id}", summary="An account")
    async def get_account(account_id: str, _: Agent) -> dict[str, Any]:
        account = await intake.account(account_id)
        if not account.exists:
            raise NotFound(f"no account {account_id}")
        return account_view(account)

    return router


def account_changes(body: AccountIn) -> customers.AccountChanges:
    return customers.AccountChanges(
        name=body.name,
        tier=body.tier,
        key_account=body.key_account,
        domains=tuple(d.strip().lower() for d in body.domains) if body.domains is not None else None,
    )
