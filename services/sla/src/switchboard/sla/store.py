"""SLA's Mongo: calendars, the versioned ordered policy set, each ticket's clocks, timers and events.

Timers are keyed by the quarter second of their due time (`<bucket start>#<slot>`, one ticket per slot, see
`runtime/slotlist.py`): the time-keyed `_id` is the index on the due time, the one look-up FerretDB answers from
an index, and inserts never lose a timer to a concurrent writer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from switchboard.runtime.eventstore import EventStore
from switchboard.runtime.slotlist import SlotList

Document = dict[str, Any]
SOURCE = "/switchboard/sla"


class StaleClocks(Exception):
    """Another process changed this ticket's clocks since they were read."""


TIMER_STEP = timedelta(milliseconds=250)


def bucket_start(moment: datetime) -> datetime:
    """The start of the timer bucket a moment falls in."""
    return moment.replace(microsecond=moment.microsecond // 250_000 * 250_000)


def bucket(moment: datetime) -> str:
    """The timer bucket of a moment, as its `_id`."""
    return bucket_start(moment).isoformat(timespec="milliseconds")


class SlaStore:
    def __init__(self, db: AsyncDatabase[Document], *, namespace: str) -> None:
        self.events = EventStore(db["commits"], db["outbox_pending"], source=SOURCE, namespace=namespace)
        self.leases = db["leases"]
        self._calendars = db["calendars"]
        self._config = db["config"]
        self._policy_sets = db["policy_sets"]
        self._clocks = db["clocks"]
        self._timers = db["timers"]
        self._accounts = db["accounts"]
        self._timer_slots = SlotList(self._timers)

    async def setup(self) -> None:
        await self.events.setup()

    # calendars and policies ---------------------------------------------------------------------------

    async def put_calendar(self, calendar_id: str, spec: Document) -> None:
        await self._calendars.replace_one({"_id": calendar_id}, {"_id": calendar_id, "spec": spec}, upsert=True)

    async def calendar_specs(self) -> dict[str, Document]:
        return {doc["_id"]: doc["spec"] async for doc in self._calendars.find()}

    async def policy_set(self) -> tuple[int, list[Document]]:
        pointer = await self._config.find_one({"_id": "policies"})
        if pointer is None:
            return 0, []
        doc = await self._policy_sets.find_one({"_id": f"{int(pointer['version']):010d}"})
        return int(pointer["version"]), list(doc["policies"]) if doc else []

    async def save_policy_set(self, expected: int, policies: list[Document]) -> int:
        version = expected + 1
        try:
            # a string id: FerretDB answers only string/ObjectId `_id` look-ups from its index
            await self._policy_sets.insert_one({"_id": f"{version:010d}", "policies": policies})
            if expected == 0:
                await self._config.insert_one({"_id": "policies", "version": version})
                return version
        except DuplicateKeyError:
            raise StaleClocks("the policies changed meanwhile; read them again") from None
        result = await self._config.update_one({"_id": "policies", "version": expected}, {"$set": {"version": version}})
        if result.modified_count != 1:
            raise StaleClocks("the policies changed meanwhile; read them again")
        return version

    # accounts (for policy conditions) -----------------------------------------------------------------

    async def remember_account(self, account_id: str, *, tier: str | None, key_account: bool) -> None:
        await self._accounts.update_one(
            {"_id": account_id}, {"$set": {"tier": tier, "key_account": key_account}}, upsert=True
        )

    async def account(self, account_id: str | None) -> Document | None:
        return None if account_id is None else await self._accounts.find_one({"_id": account_id})

    # clocks and timers --------------------------------------------------------------------------------

    async def clocks(self, ticket_id: str) -> Document | None:
        return await self._clocks.find_one({"_id": ticket_id})

    async def save_clocks(self, ticket_id: str, *, version: int, state: str, due: datetime | None) -> None:
        """Write version+1 of the ticket's clocks (state as JSON text: FerretDB 1.x refuses nested arrays);
        StaleClocks if someone else wrote first."""
        doc = {"state": state, "version": version + 1, "due_at": due}
        if version == 0:
            try:
                await self._clocks.insert_one({"_id": ticket_id, **doc})
            except DuplicateKeyError:
                raise StaleClocks(ticket_id) from None
            return
        result = await self._clocks.update_one({"_id": ticket_id, "version": version}, {"$set": doc})
        if result.matched_count != 1:
            raise StaleClocks(ticket_id)

    async def schedule(self, ticket_id: str, due: datetime) -> None:
        await self._timer_slots.append(bucket(due), ticket_id)

    async def due_in(self, name: str) -> list[str]:
        return await self._timer_slots.values(name)

    async def forget_bucket(self, name: str, count: int) -> None:
        await self._timer_slots.clear(name, count)

    async def watermark(self) -> str | None:
        doc = await self._config.find_one({"_id": "scheduler"})
        return None if doc is None else str(doc["watermark"])

    async def advance_watermark(self, second: str) -> None:
        await self._config.update_one({"_id": "scheduler"}, {"$set": {"watermark": second}}, upsert=True)
