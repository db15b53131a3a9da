"""Routing's Mongo: versioned roster and rule sets, account facts, per-ticket facts, and its event store.

Rosters and rule sets are kept as immutable versions (`rosters/<n>`, `rule_sets/<n>`) plus a pointer to
the one in force, so a replay of the assignment board can use exactly the roster each input saw.
Because versions never change, the few most recent are kept in memory (a 2,000-agent roster is a
large document, read for every presence change); only the pointer is read each time.

Per-ticket facts and account facts are written through group commit: tickets are routed side by side.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from switchboard.runtime.batching import BulkWriter
from switchboard.runtime.eventstore import EventStore

from .domain.roster import Roster
from .models import roster_from_document

Document = dict[str, Any]
SOURCE = "/switchboard/routing"
KEPT_VERSIONS = 4


def _key(version: int) -> str:
    """Versions are stored under string ids: FerretDB answers only string/ObjectId `_id` look-ups from its index."""
    return f"{version:010d}"


class VersionConflict(Exception):
    """Someone changed the roster or rules meanwhile."""


class RoutingStore:
    def __init__(self, db: AsyncDatabase[Document], *, namespace: str) -> None:
        self.events = EventStore(db["commits"], db["outbox_pending"], source=SOURCE, namespace=namespace)
        self.leases = db["leases"]
        self._config = db["config"]
        self._rosters = db["rosters"]
        self._rule_sets = db["rule_sets"]
        self._accounts = db["accounts"]
        self._tickets = db["tickets"]
        self._ticket_writes = BulkWriter(self._tickets)
        self._account_writes = BulkWriter(self._accounts)
        self._rosters_kept: OrderedDict[int, tuple[Document, Roster | None]] = OrderedDict()

    async def setup(self) -> None:
        await self.events.setup()

    # versioned configuration ---------------------------------------------------------------------------

    async def current_version(self, kind: str) -> int:
        doc = await self._config.find_one({"_id": kind})
        return 0 if doc is None else int(doc["version"])

    async def roster_document(self, version: int | None = None) -> Document | None:
        """The roster as stored (the one in force by default). Shared with other callers: copy before editing."""
        version = version if version is not None else await self.current_version("roster")
        kept = self._rosters_kept.get(version)
        if kept is not None:
            self._rosters_kept.move_to_end(version)
            return kept[0]
        doc = await self._rosters.find_one({"_id": _key(version)})
        if doc is None:
            return None
        self._rosters_kept[version] = (dict(doc["roster"]), None)
        while len(self._rosters_kept) > KEPT_VERSIONS:
            self._rosters_kept.popitem(last=False)
        return self._rosters_kept[version][0]

    async def roster(self, version: int | None = None) -> Roster | None:
        """The roster checked and built (parsing 2,000 agents takes tens of milliseconds, so it is kept too)."""
        version = version if version is not None else await self.current_version("roster")
        doc = await self.roster_document(version)
        if doc is None:
            return None
        built = self._rosters_kept[version][1]
        if built is None:
            built = roster_from_document(doc)
            self._rosters_kept[version] = (doc, built)
        return built

    async def rules_text(self, version: int | None = None) -> str | None:
        version = version if version is not None else await self.current_version("rules")
        doc = await self._rule_sets.find_one({"_id": _key(version)})
        return None if doc is None else str(doc["text"])

    async def save_version(self, kind: str, expected: int, body: Document) -> int:
        """Store version expected+1 and point at it; VersionConflict if another writer got there first."""
        version = expected + 1
        target = self._rosters if kind == "roster" else self._rule_sets
        try:
            await target.insert_one({"_id": _key(version), **body})
        except DuplicateKeyError:
            raise VersionConflict(f"{kind} changed meanwhile; read it again") from None
        if expected == 0:
            try:
                await self._config.insert_one({"_id": kind, "version": version})
            except DuplicateKeyError:
                raise VersionConflict(f"{kind} changed meanwhile; read it again") from None
        else:
            result = await self._config.update_one({"_id": kind, "version": expected}, {"$set": {"version": version}})
            if result.modified_count != 1:
                raise VersionConflict(f"{kind} changed meanwhile; read it again")
        return version

    # facts routing needs -------------------------------------------------------------------------------

    async def remember_account(self, account_id: str, *, tier: str | None, key_account: bool, name: str) -> None:
        await self._account_writes.write(
            UpdateOne(
                {"_id": account_id}, {"$set": {"tier": tier, "key_account": key_account, "name": name}}, upsert=True
            )
        )

    async def account(self, account_id: str | None) -> Document | None:
        return None if account_id is None else await self._accounts.find_one({"_id": account_id})

    async def remember_ticket(self, ticket_id: str, fields: Document) -> None:
        await self._ticket_writes.write(UpdateOne({"_id": ticket_id}, {"$set": fields}, upsert=True))

    async def ticket(self, ticket_id: str) -> Document | None:
        return await self._tickets.find_one({"_id": ticket_id})
