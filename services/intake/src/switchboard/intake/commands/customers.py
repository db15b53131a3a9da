"""Customer and account use cases: create and change them, find a customer by any identity, and resolve the
customer a ticket or channel message names (found by e-mail, phone or handle, else created)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard.runtime.decider import Decider, Decision, Outcome, Request

from ..domain import customer as customers
from ..domain.customer import Account, AccountChanges, Customer, CustomerChanges
from ..domain.errors import Invalid, NotFound
from ..store import IntakeStore
from ..views import account_view, customer_view, ticket_view
from .ids import derived_id, new_id
from .inputs import CustomerHints

Document = dict[str, Any]


@dataclass(frozen=True)
class Hints:
    """Customer hints a channel gives (a mail's sender, a social message's author)."""

    id: str | None = None
    email: str | None = None
    phone: str | None = None
    handle: str | None = None
    name: str | None = None
    language: str | None = None


class Customers:
    """The use cases on customers."""

    def __init__(self, store: IntakeStore, decider: Decider, *, phone_region: str | None) -> None:
        self._store = store
        self._decider = decider
        self._region = phone_region

    def identities(self, *, email: str | None = None, phone: str | None = None, handle: str | None = None) -> list[str]:
        """Normalised identity keys, most specific first (raises Invalid on a malformed one)."""
        keys = []
        if email:
            keys.append(f"email:{customers.normalise_email(email)}")
        if phone:
            keys.append(f"phone:{customers.normalise_phone(phone, default_region=self._region)}")
        if handle:
            keys.append(f"handle:{customers.normalise_handle(handle)}")
        return keys

    async def create(self, changes: CustomerChanges, *, request: Request) -> Outcome:
        """A new customer with these identities (normalised here; `changes` may come as the caller wrote them)."""
        return await self._upsert(
            new_id("customer-create", request), self._normalised(changes), request, must_exist=False
        )

    async def update(self, customer_id: str, changes: CustomerChanges, *, request: Request) -> Outcome:
        """Change an existing customer; None leaves a field as it is."""
        return await self._upsert(customer_id, self._normalised(changes), request, must_exist=True)

    async def get(self, customer_id: str) -> Document:
        return customer_view(await self._existing(customer_id))

    async def find(self, *, email: str | None, phone: str | None, handle: str | None) -> Document:
        keys = self.identities(email=email, phone=phone, handle=handle)
        if not keys:
            raise Invalid("give email, phone or handle to look a customer up by")
        customer_id = await self._owner(keys)
        customer = (await self._store.customers.read(customer_id))[0] if customer_id else None
        if customer is None or not customer.exists:
            raise NotFound("no customer with that e-mail, phone or handle")
        return customer_view(customer)

    async def tickets(self, customer_id: str) -> list[Document]:
        """The customer's tickets, newest first."""
        await self._existing(customer_id)
        found = []
        for ticket_id in await self._store.customer_ticket_ids(customer_id):
            ticket, _ = await self._store.tickets.read(ticket_id)
            if ticket.exists:
                found.append(ticket_view(ticket))
        return sorted(found, key=lambda t: t["opened_at"] or "", reverse=True)

    async def resolve(self, hints: CustomerHints, request: Request) -> Customer:
        """The customer these hints name: by id, else matched by identity, else created (with an id a retry
        derives again, and the account that owns their e-mail's domain)."""
        if hints.id:
            return await self._existing(hints.id)
        keys = self.identities(email=str(hints.email) if hints.email else None, phone=hints.phone, handle=hints.handle)
        known = await self._owner(keys)
        if known is not None:
            existing = (await self._store.customers.load(known, fresh=False)).state
            if existing.exists:
                return existing
        customer_id = known or derived_id("customer", keys[0])
        changes = CustomerChanges(
            name=hints.name,
            emails=tuple(k.removeprefix("email:") for k in keys if k.startswith("email:")),
            phones=tuple(k.removeprefix("phone:") for k in keys if k.startswith("phone:")),
            social_handles=tuple(k.removeprefix("handle:") for k in keys if k.startswith("handle:")),
            language=hints.language,
            account_id=await self._account_for(keys),
        )
        await self._upsert(customer_id, changes, Request(correlation_id=request.correlation_id), must_exist=False)
        return (await self._store.customers.load(customer_id, fresh=False)).state

    async def _upsert(
        self, customer_id: str, changes: CustomerChanges, request: Request, *, must_exist: bool
    ) -> Outcome:
        account_id = changes.account_id
        account_known = account_id is None or (await self._store.accounts.read(account_id))[0].exists

        def decide(current: Customer, now: datetime) -> Decision:
            if must_exist and not current.exists:
                raise NotFound(f"no customer {customer_id}")
            if not account_known:
                raise NotFound(f"no account {account_id}")
            events = customers.decide_customer(current, changes, now=now)
            return Decision(events, customer_view(customers.fold_customer(customer_id, events, current)))

        return await self._decider.run(self._store.customers, customer_id, decide, request=request)

    async def _existing(self, customer_id: str) -> Customer:
        customer, _ = await self._store.customers.read(customer_id)
        if not customer.exists:
            raise NotFound(f"no customer {customer_id}")
        return customer

    async def _owner(self, identities: list[str]) -> str | None:
        for identity in identities:
            owner = await self._store.owner_of(identity)
            if owner is not None:
                return owner
        return None

    async def _account_for(self, identities: list[str]) -> str | None:
        for identity in identities:
            if identity.startswith("email:"):
                return await self._store.owner_of(f"domain:{identity.split('@', 1)[1]}")
        return None

    def _normalised(self, changes: CustomerChanges) -> CustomerChanges:
        """What a create or update asks for, normalised; an unknown time zone is refused by name."""
        if changes.time_zone is not None:
            try:
                ZoneInfo(changes.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                zone = changes.time_zone
                raise Invalid(f"unknown time zone {zone!r}; use an IANA name like 'Europe/Istanbul'") from None
        emails, phones, handles = changes.emails, changes.phones, changes.social_handles
        return replace(
            changes,
            emails=tuple(customers.normalise_email(str(e)) for e in emails) if emails is not None else None,
            phones=tuple(k.removeprefix("phone:") for p in phones for k in self.identities(phone=p))
            if phones is not None
            else None,
            social_handles=tuple(customers.normalise_handle(h) for h in handles) if handles is not None else None,
        )


class Accounts:
    """The use cases on accounts (organisations)."""

    def __init__(self, store: IntakeStore, decider: Decider) -> None:
        self._store = store
        self._decider = decider

    async def create(self, changes: AccountChanges, *, request: Request) -> Outcome:
        if not changes.name:
            raise Invalid("an account needs a name")
        return await self._upsert(new_id("account-create", request), _normalised(changes), request, must_exist=False)

    async def update(self, account_id: str, changes: AccountChanges, *, request: Request) -> Outcome:
        """Change an existing account; None leaves a field as it is."""
        return await self._upsert(account_id, _normalised(changes), request, must_exist=True)

    async def get(self, account_id: str) -> Document:
        account, _ = await self._store.accounts.read(account_id)
        if not account.exists:
            raise NotFound(f"no account {account_id}")
        return account_view(account)

    async def _upsert(self, account_id: str, changes: AccountChanges, request: Request, *, must_exist: bool) -> Outcome:
        def decide(current: Account, now: datetime) -> Decision:
            if must_exist and not current.exists:
                raise NotFound(f"no account {account_id}")
            events = customers.decide_account(current, changes, now=now)
            return Decision(events, account_view(customers.fold_account(account_id, events, current)))

        return await self._decider.run(self._store.accounts, account_id, decide, request=request)


def _normalised(changes: AccountChanges) -> AccountChanges:
    domains = changes.domains
    return replace(changes, domains=tuple(d.strip().lower() for d in domains) if domains is not None else None)
