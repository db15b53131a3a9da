"""Intake's Mongo: the event store with its three ledgers (tickets, customers, accounts) and the look-ups that
find them.

Every look-up is a document keyed by what is looked up (`_id`), because that is the one query FerretDB's
SQLite backend answers from an index; MongoDB is equally happy with it. Look-ups are written *before* the
commit they point to, so a committed ticket is never missing from them; a look-up left pointing at
nothing (a crash in between) reads as "not found" and is overwritten by the next writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from switchboard.events import EventPayload
from switchboard.runtime.decider import Decision, History, Loaded, Request
from switchboard.runtime.eventstore import EventStore, Stream
from switchboard.runtime.slotlist import SlotList

from .domain import ticket
from .domain.customer import Account, Customer, fold_account, fold_customer

Document = dict[str, Any]
SOURCE = "/switchboard/intake"


class IdentityTaken(Exception):
    """An e-mail, phone or handle already belongs to another customer."""

    def __init__(self, identity: str, owner: str) -> None:
        super().__init__(f"{identity.split(':', 1)[1]} already belongs to customer {owner}")
        self.owner = owner


class Claimant(Protocol):
    def identities(self) -> frozenset[str]: ...


C = TypeVar("C", bound=Claimant)


class Fold(Protocol[C]):
    """A subject's state from its events, or from `start` plus the events after it."""

    def __call__(self, subject: str, events: Sequence[EventPayload], start: C | None = None, /) -> C: ...


class Claiming(Generic[C]):
    """The ledger of subjects that own identity keys: a customer's e-mails, phones and handles, an account's
    domains. It is a `History` whose append also moves the keys a change adds or drops.

    New keys are claimed before the commit, so a stored customer is always found by its keys; a key another
    subject owns refuses the change (`IdentityTaken`) before anything is stored. Dropped keys are released
    only after the commit, so a failed or conflicting append never leaves a customer unfindable. Both happen
    inside the `Decider`'s retry, on the record the decision was made on: after a `ConcurrencyConflict` the
    change is decided on the newer record and its keys are moved from that one (claiming a key this subject
    already owns is harmless).
    """

    def __init__(self, store: IntakeStore, fold: Fold[C], *, name: str) -> None:
        self._store = store
        self._fold = fold
        self._history = History(store.events, fold, name=name)
        self.name = name

    async def read(self, subject: str) -> tuple[C, Stream]:
        return await self._history.read(subject)

    async def load(self, subject: str, *, fresh: bool) -> Loaded[C]:
        return await self._history.load(subject, fresh=fresh)

    async def append(
        self, loaded: Loaded[C], decision: Decision, *, now: datetime, request: Request
    ) -> Document | None:
        before = loaded.state.identities()
        after = self._fold(loaded.subject, decision.events, loaded.state).identities()
        await self._store.claim(after - before, loaded.subject)
        commit = await self._history.append(loaded, decision, now=now, request=request)
        await self._store.release(before - after, loaded.subject)
        return commit


class IntakeStore:
    """Intake's collections, each used by key only; `tickets`, `customers` and `accounts` are the ledgers the
    use cases decide on (see `switchboard.runtime.decider`)."""

    def __init__(self, db: AsyncDatabase[Document], *, namespace: str, reference_block: int = 100) -> None:
        self.events = EventStore(db["commits"], db["outbox_pending"], source=SOURCE, namespace=namespace)
        self.tickets: History[ticket.Ticket] = History(self.events, ticket.fold, name="ticket")
        self.customers: Claiming[Customer] = Claiming(self, fold_customer, name="customer")
        self.accounts: Claiming[Account] = Claiming(self, fold_account, name="account")
        self._refs = db["ticket_refs"]
        self._identities = db["identities"]
        self._threads = db["deliveries"]
        self._channel_tickets = db["channel_tickets"]
        self._customer_tickets = db["customer_tickets"]
        self._counters = db["counters"]
        self._customer_ticket_slots = SlotList(self._customer_tickets)
        self._block = reference_block
        self._next_ref = 0
        self._ref_limit = 0
        self._ref_lock = asyncio.Lock()

    async def setup(self) -> None:
        await self.events.setup()

    # references ------------------------------------------------------------------------------------------

    async def next_reference_number(self) -> int:
        """Reference numbers unique across replicas, taken a block at a time.

        A block is claimed by inserting its document (an insert collides atomically on `_id`, on FerretDB too,
        where an `$inc` is a read-modify-write that two replicas could both win); the counter is only a hint
        of where to start looking.
        """
        async with self._ref_lock:
            if self._next_ref >= self._ref_limit:
                hint = await self._counters.find_one({"_id": "ticket_reference_blocks"})
                block = int(hint["next"]) if hint else 0
                while True:
                    try:
                        await self._counters.insert_one({"_id": f"ticket_reference_block/{block:010d}"})
                        break
                    except DuplicateKeyError:
                        block += 1
                await self._counters.update_one(
                    {"_id": "ticket_reference_blocks"}, {"$max": {"next": block + 1}}, upsert=True
                )
                self._next_ref = max(1, block * self._block)
                self._ref_limit = (block + 1) * self._block
            number = self._next_ref
            self._next_ref += 1
            return number

    async def remember_reference(self, reference: str, ticket_id: str) -> None:
        await self._refs.update_one({"_id": reference.upper()}, {"$set": {"ticket_id": ticket_id}}, upsert=True)

    async def ticket_by_reference(self, reference: str) -> str | None:
        doc = await self._refs.find_one({"_id": reference.upper()})
        return None if doc is None else str(doc["ticket_id"])

    # customers -------------------------------------------------------------------------------------------

    async def owner_of(self, identity: str) -> str | None:
        doc = await self._identities.find_one({"_id": identity})
        return None if doc is None else str(doc["owner"])

    async def claim(self, identities: set[str] | frozenset[str], owner: str) -> None:
        """Make `owner` the one found by these identities; IdentityTaken if another owns one."""
        for identity in sorted(identities):
            try:
                await self._identities.insert_one({"_id": identity, "owner": owner})
            except DuplicateKeyError:
                current = await self.owner_of(identity)
                if current is not None and current != owner:
                    raise IdentityTaken(identity, current) from None

    async def release(self, identities: set[str] | frozenset[str], owner: str) -> None:
        for identity in identities:
            await self._identities.delete_one({"_id": identity, "owner": owner})

    async def add_customer_ticket(self, customer_id: str, ticket_id: str) -> None:
        await self._customer_ticket_slots.append(customer_id, ticket_id)

    async def customer_ticket_ids(self, customer_id: str) -> list[str]:
        return list(dict.fromkeys(await self._customer_ticket_slots.values(customer_id)))

    # channels --------------------------------------------------------------------------------------------

    async def remember_delivery(self, key: str, ticket_id: str) -> None:
        """Which ticket a channel message ('email:<Message-ID>', 'phone:<call id>') went to."""
        await self._threads.update_one({"_id": key}, {"$set": {"ticket_id": ticket_id}}, upsert=True)

    async def ticket_by_delivery(self, key: str) -> str | None:
        doc = await self._threads.find_one({"_id": key})
        return None if doc is None else str(doc["ticket_id"])

    async def remember_channel_ticket(self, customer_id: str, channel: str, ticket_id: str) -> None:
        await self._channel_tickets.update_one(
            {"_id": f"{customer_id}:{channel}"}, {"$set": {"ticket_id": ticket_id}}, upsert=True
        )

    async def channel_ticket(self, customer_id: str, channel: str) -> str | None:
        doc = await self._channel_tickets.find_one({"_id": f"{customer_id}:{channel}"})
        return None if doc is None else str(doc["ticket_id"])
