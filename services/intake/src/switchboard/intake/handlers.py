"""Intake's command handlers: read a history, let the domain decide, store one commit, hand it to the relay.

Thin on purpose. Two things live here because they are about storage, not rules: retrying a decision
when another writer got in first (optimistic concurrency), and answering a retried request (same
`Idempotency-Key`, same channel message id) with the first answer instead of acting twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from switchboard.events import EventPayload
from switchboard.events.interactions import InteractionKind
from switchboard.runtime.eventstore import ConcurrencyConflict, Stream
from switchboard.runtime.locks import KeyedLocks
from switchboard.runtime.outbox import OutboxRelay

from .domain import customer as customers
from .domain import ticket as tickets
from .domain.errors import Invalid, NotFound, Rejected
from .store import IntakeStore

Document = dict[str, Any]
ID_NAMESPACE = uuid.UUID("0b7a4c55-7f7e-4d2a-8c1e-5b2d9f0c1e11")
ATTEMPTS = 8


def derived_id(*parts: str) -> str:
    """An id that a retried request derives again: the same key always names the same ticket or message."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(parts)))


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Request:
    """Who asked, and how to recognise the same request again."""

    key: str | None = None
    hash: str | None = None
    actor_id: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    response: Document
    replayed: bool = False  # answered from the first time; nothing was stored now


class Intake:
    """The use cases behind intake's HTTP API and channel webhooks."""

    def __init__(self, *, store: IntakeStore, relay: OutboxRelay, clock: Callable[[], datetime] | None = None):
        self.store = store
        self.relay = relay
        self.clock = clock or (lambda: datetime.now(UTC))
        self._locks = KeyedLocks()

    # tickets ---------------------------------------------------------------------------------------------

    async def ticket(self, ticket_id: str) -> tuple[tickets.Ticket, Stream]:
        stream = await self.store.events.read(ticket_id)
        return tickets.fold(ticket_id, stream.payloads), stream

    async def execute(
        self,
        ticket_id: str,
        decide: Callable[[tickets.Ticket, datetime], list[EventPayload]],
        respond: Callable[[tickets.Ticket], Document],
        request: Request,
    ) -> Outcome:
        """Decide on the latest history and store the result, retrying when another writer got in first.

        Writes to one ticket queue up inside this process, so only other replicas can get in first;
        a conflict with them is retried after a short random pause.
        """
        async with self._locks.hold(ticket_id):
            return await self._execute(ticket_id, decide, respond, request)

    async def _execute(
        self,
        ticket_id: str,
        decide: Callable[[tickets.Ticket, datetime], list[EventPayload]],
        respond: Callable[[tickets.Ticket], Document],
        request: Request,
    ) -> Outcome:
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
            stream = await self.store.events.read(ticket_id, fresh=attempt > 0)
            ticket = tickets.fold(ticket_id, stream.payloads)
            if request.key is not None and request.key in stream.answered:
                return self._replay(stream.answered[request.key], request)
            now = self.clock()
            events = decide(ticket, now)
            if not events:
                return Outcome(respond(ticket))
            response = respond(tickets.fold(ticket_id, events, ticket))
            try:
                _, commit = await self.store.events.append(
                    stream,
                    events,
                    now=now,
                    correlation_id=request.correlation_id,
                    request_key=request.key,
                    request_hash=request.hash,
                    response=response,
                )
            except ConcurrencyConflict:
                continue
            self.relay.submit(commit)
            return Outcome(response)
        raise Rejected(f"ticket {ticket_id} is being changed by others right now; try again")

    async def replay(self, subject: str, request: Request) -> Outcome | None:
        """The first answer to this request, if it was already carried out."""
        if request.key is None:
            return None
        stream = await self.store.events.read(subject)
        answered = stream.answered.get(request.key)
        return None if answered is None else self._replay(answered, request)

    def _replay(self, answered: Document, request: Request) -> Outcome:
        if request.hash is not None and answered.get("hash") not in (None, request.hash):
            raise Invalid("this Idempotency-Key was already used for a different request")
        return Outcome(dict(answered.get("response") or {}), replayed=True)

    async def open_ticket(
        self, command: tickets.OpenTicket, request: Request, respond: Callable[[tickets.Ticket], Document] | None = None
    ) -> Outcome:
        """Open a ticket; its look-ups (reference, the customer's tickets) are written first, see store.py."""
        await asyncio.gather(
            self.store.remember_reference(command.reference, command.ticket_id),
            self.store.add_customer_ticket(command.customer_id, command.ticket_id),
        )
        return await self.execute(
            command.ticket_id,
            lambda t, now: tickets.decide(t, command, now=now),
            respond or (lambda t: {"id": t.ticket_id, "reference": t.reference, "status": t.status.value}),
            request,
        )

    async def record(self, ticket_id: str, command: tickets.RecordInteraction, request: Request) -> Outcome:
        return await self.execute(
            ticket_id,
            lambda t, now: tickets.decide(t, command, now=now),
            lambda t: {"ticket_id": t.ticket_id, "interaction_id": command.interaction_id, "status": t.status.value},
            request,
        )

    async def change(self, ticket_id: str, command: tickets.Command, request: Request) -> Outcome:
        return await self.execute(ticket_id, lambda t, now: tickets.decide(t, command, now=now), ticket_view, request)

    async def merge(self, source_id: str, target_id: str, request: Request) -> Outcome:
        """Merge a duplicate: the source stops taking writes, the target gets a note saying so."""
        target, _ = await self.ticket(target_id)
        tickets.check_merge_target(target)
        source, _ = await self.ticket(source_id)
        outcome = await self.change(source_id, tickets.MergeInto(target_id, request.actor_id), request)
        note = tickets.RecordInteraction(
            interaction_id=derived_id("merge-note", source_id, target_id),
            kind=InteractionKind.INTERNAL_NOTE,
            channel=target.channel,
            author_type="agent",
            author_id=request.actor_id,
            body_text=f"Ticket {source.reference} was merged into this ticket.",
        )
        note_key = f"merge:{source_id}"
        await self.record(
            target_id, note, Request(key=note_key, actor_id=request.actor_id, correlation_id=request.correlation_id)
        )
        return outcome

    # customers -------------------------------------------------------------------------------------------

    async def customer(self, customer_id: str, *, fresh: bool = True) -> customers.Customer:
        stream = await self.store.events.read(customer_id, fresh=fresh)
        state = customers.Customer(customer_id)
        for event in stream.payloads:
            state = customers.evolve_customer(state, event)  # type: ignore[arg-type]
        return state

    async def upsert_customer(
        self, customer_id: str, changes: customers.CustomerChanges, request: Request, *, must_exist: bool
    ) -> Outcome:
        async with self._locks.hold(customer_id):
            return await self._upsert_customer(customer_id, changes, request, must_exist=must_exist)

    async def _upsert_customer(
        self, customer_id: str, changes: customers.CustomerChanges, request: Request, *, must_exist: bool
    ) -> Outcome:
        for attempt in range(ATTEMPTS):
            stream = await self.store.events.read(customer_id, fresh=attempt > 0)
            if request.key is not None and request.key in stream.answered:
                return self._replay(stream.answered[request.key], request)
            current = customers.Customer(customer_id)
            for event in stream.payloads:
                current = customers.evolve_customer(current, event)  # type: ignore[arg-type]
            if must_exist and not current.exists:
                raise NotFound(f"no customer {customer_id}")
            if changes.account_id is not None and not (await self.account(changes.account_id)).exists:
                raise NotFound(f"no account {changes.account_id}")
            now = self.clock()
            events = customers.decide_customer(current, changes, now=now)
            if not events:
                return Outcome(customer_view(current))
            after = customers.evolve_customer(current, events[0])
            await self.store.claim(after.identities() - current.identities(), customer_id)
            try:
                _, commit = await self.store.events.append(
                    stream,
                    events,
                    now=now,
                    correlation_id=request.correlation_id,
                    request_key=request.key,
                    request_hash=request.hash,
                    response=customer_view(after),
                )
            except ConcurrencyConflict:
                continue
            self.relay.submit(commit)
            await self.store.release(current.identities() - after.identities(), customer_id)
            return Outcome(customer_view(after))
        raise Rejected(f"customer {customer_id} is being changed by others right now; try again")

    async def find_customer(self, identities: list[str]) -> str | None:
        for identity in identities:
            owner = await self.store.owner_of(identity)
            if owner is not None:
                return owner
        return None

    async def resolve_customer(
        self, identities: list[str], changes: customers.CustomerChanges, request: Request
    ) -> customers.Customer:
        """The known customer behind these identities, or a new one (with an id a retry derives again)."""
        known = await self.find_customer(identities)
        if known is not None:
            existing = await self.customer(known, fresh=False)
            if existing.exists:
                return existing
        customer_id = known or derived_id("customer", identities[0])
        if changes.account_id is None:
            domain_owner = await self._account_for(identities)
            if domain_owner is not None:
                changes = customers.CustomerChanges(**{**changes.__dict__, "account_id": domain_owner})
        await self.upsert_customer(
            customer_id, changes, Request(correlation_id=request.correlation_id), must_exist=False
        )
        return await self.customer(customer_id, fresh=False)

    async def _account_for(self, identities: list[str]) -> str | None:
        for identity in identities:
            if identity.startswith("email:"):
                return await self.store.owner_of(f"domain:{identity.split('@', 1)[1]}")
        return None

    # accounts --------------------------------------------------------------------------------------------

    async def account(self, account_id: str) -> customers.Account:
        stream = await self.store.events.read(account_id)
        state = customers.Account(account_id)
        for event in stream.payloads:
            state = customers.evolve_account(state, event)  # type: ignore[arg-type]
        return state

    async def upsert_account(
        self, account_id: str, changes: customers.AccountChanges, request: Request, *, must_exist: bool
    ) -> Outcome:
        async with self._locks.hold(account_id):
            return await self._upsert_account(account_id, changes, request, must_exist=must_exist)

    async def _upsert_account(
        self, account_id: str, changes: customers.AccountChanges, request: Request, *, must_exist: bool
    ) -> Outcome:
        for attempt in range(ATTEMPTS):
            stream = await self.store.events.read(account_id, fresh=attempt > 0)
            if request.key is not None and request.key in stream.answered:
                return self._replay(stream.answered[request.key], request)
            current = customers.Account(account_id)
            for event in stream.payloads:
                current = customers.evolve_account(current, event)  # type: ignore[arg-type]
            if must_exist and not current.exists:
                raise NotFound(f"no account {account_id}")
            now = self.clock()
            events = customers.decide_account(current, changes, now=now)
            if not events:
                return Outcome(account_view(current))
            after = customers.evolve_account(current, events[0])
            await self.store.claim(
                {f"domain:{d}" for d in after.domains} - {f"domain:{d}" for d in current.domains}, account_id
            )
            try:
                _, commit = await self.store.events.append(
                    stream,
                    events,
                    now=now,
                    correlation_id=request.correlation_id,
                    request_key=request.key,
                    request_hash=request.hash,
                    response=account_view(after),
                )
            except ConcurrencyConflict:
                continue
            self.relay.submit(commit)
            await self.store.release(
                {f"domain:{d}" for d in current.domains} - {f"domain:{d}" for d in after.domains}, account_id
            )
            return Outcome(account_view(after))
        raise Rejected(f"account {account_id} is being changed by others right now; try again")


def ticket_view(ticket: tickets.Ticket) -> Document:
    """A ticket as the API shows it."""
    return {
        "id": ticket.ticket_id,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "channel": ticket.channel.value,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "category": ticket.category,
        "tags": list(ticket.tags),
        "custom_fields": dict(ticket.custom_fields),
        "customer_id": ticket.customer_id,
        "account_id": ticket.account_id,
        "language": ticket.language,
        "merged_into": ticket.merged_into,
        "opened_at": ticket.opened_at.isoformat() if ticket.opened_at else None,
        "last_activity_at": ticket.last_activity_at.isoformat() if ticket.last_activity_at else None,
        "interaction_count": ticket.interaction_count,
        "version": ticket.version,
    }


def customer_view(customer: customers.Customer) -> Document:
    return {
        "id": customer.customer_id,
        "name": customer.name,
        "emails": list(customer.emails),
        "phones": list(customer.phones),
        "social_handles": list(customer.social_handles),
        "language": customer.language,
        "time_zone": customer.time_zone,
        "account_id": customer.account_id,
        "version": customer.version,
    }


def account_view(account: customers.Account) -> Document:
    return {
        "id": account.account_id,
        "name": account.name,
        "tier": account.tier,
        "key_account": account.key_account,
        "domains": list(account.domains),
        "version": account.version,
    }
