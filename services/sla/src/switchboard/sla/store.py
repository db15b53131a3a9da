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
from switchboard.runtime.conflicts import ConcurrencyConflict
from switchboard.runtime.eventstore import EventStore
from switchboard.runtime.slotlist import SlotList
from switchboard.runtime.versions import Versions

Document = dict[str, Any]
SOURCE = "/switchboard/sla"
TIMER_STEP = timedelta(milliseconds=250)


def bucket_start(moment: datetime) -> datetime:
    """The start of the timer bucket a moment falls in."""
    return moment.replace(microsecond=moment.microsecond // 250_000 * 250_000)


def bucket(moment: datetime) -> str:
    """The timer bucket of a moment, as its `_id`."""
    return bucket_start(moment).isoformat(timespec="milliseconds")


class SlaStore:
    """Every collection SLA keeps in its own database, and the one way each is read and written."""

    def __init__(self, db: AsyncDatabase[Document], *, namespace: str) -> None:
        self.events = EventStore(db["commits"], db["outbox_pending"], source=SOURCE, namespace=namespace)
        self.leases = db["leases"]
        self._calendars = db["calendars"]
        self._config = db["config"]
        # the policy set's versions (`policy_sets`, body `{"policies": [...]}`) and its pointer (`config`/`policies`)
        self._policies = Versions(db["policy_sets"], self._config, kind="policies")
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
        """The version in force (0 before any) and its ordered policies."""
        version = await self._policies.current()
        doc = await self._policies.get(version) if version else None
        return version, list(doc["policies"]) if doc else []

    async def save_policy_set(self, expected: int, policies: list[Document]) -> int:
        """Put `policies` in force as version expected+1; `ConcurrencyConflict` if another admin saved first."""
        return await self._policies.save(expected, {"policies": policies})

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
        `ConcurrencyConflict` if someone else wrote after `version` was read."""
        doc = {"state": state, "version": version + 1, "due_at": due}
        if version == 0:
            try:
                await self._clocks.insert_one({"_id": ticket_id, **doc})
            except DuplicateKeyError:
                raise ConcurrencyConflict(f"the SLA clocks of ticket {ticket_id} changed meanwhile") from None
            return
        result = await self._clocks.update_one({"_id": ticket_id, "version": version}, {"$set": doc})
        if result.matched_count != 1:
            raise ConcurrencyConflict(f"the SLA clocks of ticket {ticket_id} changed meanwhile")

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
