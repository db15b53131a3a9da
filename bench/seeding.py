"""Seeding a service's store with the service's own code: an in-memory stand-in for the few collection methods
its stores call, and a bulk writer that copies what they wrote into the real store on a worker thread."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pymongo import InsertOne, MongoClient, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from bench.figures import Json


class _Result:
    def __init__(self, matched: int) -> None:
        self.matched_count = matched
        self.modified_count = matched


class MemoryCollection:
    """The few collection methods SlaStore and EventStore call, on a dict by `_id` (filters are by `_id`, plus
    equality on other fields for the optimistic `version` check; updates are `$set` and `$addToSet`)."""

    def __init__(self) -> None:
        self.docs: dict[Any, Json] = {}

    def _matches(self, doc: Json, query: Json) -> bool:
        return all(doc.get(k) == v for k, v in query.items())

    async def find_one(self, query: Json) -> Json | None:
        if set(query) != {"_id"}:
            raise NotImplementedError(f"in-memory find_one by _id only, got {query}")
        doc = self.docs.get(query["_id"])
        return None if doc is None else dict(doc)

    def find(self, query: Json | None = None) -> AsyncIterator[Json]:
        if query:
            raise NotImplementedError(f"in-memory find() without a filter only, got {query}")

        async def every() -> AsyncIterator[Json]:
            for doc in list(self.docs.values()):
                yield dict(doc)

        return every()

    async def insert_one(self, doc: Json) -> None:
        if doc["_id"] in self.docs:
            raise DuplicateKeyError(f"E11000 duplicate key {doc['_id']}")
        self.docs[doc["_id"]] = dict(doc)

    async def replace_one(self, query: Json, doc: Json, upsert: bool = False) -> _Result:
        current = self.docs.get(query["_id"])
        if current is None and not upsert:
            return _Result(0)
        self.docs[query["_id"]] = dict(doc)
        return _Result(1)

    async def update_one(self, query: Json, update: Json, upsert: bool = False) -> _Result:
        doc = self.docs.get(query["_id"])
        if doc is not None and not self._matches(doc, query):
            return _Result(0)
        if doc is None:
            if not upsert:
                return _Result(0)
            doc = self.docs[query["_id"]] = {"_id": query["_id"]}
        for operator, fields in update.items():
            for key, value in fields.items():
                if operator == "$set":
                    doc[key] = value
                elif operator == "$addToSet":
                    listed = doc.setdefault(key, [])
                    if value not in listed:
                        listed.append(value)
                else:
                    raise NotImplementedError(f"in-memory update {operator}")
        return _Result(1)

    async def insert_many(self, docs: list[Json], ordered: bool = True) -> None:
        """Ordered or not, as the server does it: an ordered insert stops at the first duplicate."""
        errors: list[Json] = []
        for index, doc in enumerate(docs):
            try:
                await self.insert_one(doc)
            except DuplicateKeyError as exc:
                errors.append({"index": index, "code": 11000, "errmsg": str(exc)})
                if ordered:
                    break
        if errors:
            raise BulkWriteError(
                {"writeErrors": errors, "writeConcernErrors": [], "nInserted": len(docs) - len(errors)}
            )

    async def bulk_write(self, ops: list[Any], ordered: bool = True) -> None:
        """Inserts and updates, as the event store's group commit sends them; errors per write, like the server."""
        errors: list[Json] = []
        for index, op in enumerate(ops):
            try:
                if isinstance(op, InsertOne):
                    await self.insert_one(op._doc)
                elif isinstance(op, UpdateOne) and isinstance(op._doc, Mapping):
                    await self.update_one(dict(op._filter), dict(op._doc), upsert=bool(op._upsert))
                else:
                    raise NotImplementedError(f"in-memory bulk {type(op).__name__}")
            except DuplicateKeyError as exc:
                errors.append({"index": index, "code": 11000, "errmsg": str(exc)})
                if ordered:
                    break
        if errors:
            raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": [], "nInserted": len(ops) - len(errors)})

    async def create_index(self, *args: Any, **kwargs: Any) -> None:
        return None


class MemoryDatabase:
    def __init__(self) -> None:
        self.collections: dict[str, MemoryCollection] = {}

    def __getitem__(self, name: str) -> MemoryCollection:
        return self.collections.setdefault(name, MemoryCollection())


class BulkWriter:
    """insert_many on a worker thread (sync PyMongo), so the next chunk is decided while this one is stored."""

    def __init__(self, uri: str, database: str) -> None:
        self._client: MongoClient[Json] = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        self._db = self._client[database]
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-insert")
        self._pending: Future[int] | None = None
        self.inserted: Counter[str] = Counter()
        self.insert_seconds = 0.0

    def _write(self, documents: dict[str, list[Json]], batch: int) -> int:
        started = time.monotonic()
        count = 0
        for name in ("commits", "clocks", "timers"):  # the service's order: events, clocks, then the timer
            docs = documents.get(name, [])
            for start in range(0, len(docs), batch):
                chunk = docs[start : start + batch]
                # any error raises, a duplicate timer slot too: slots are unique by construction, so one would be
                # a seeding bug
                self._db[name].insert_many(chunk, ordered=False)
                self.inserted[name] += len(chunk)
                count += len(chunk)
        self.insert_seconds += time.monotonic() - started
        return count

    async def submit(self, documents: dict[str, list[Json]], batch: int = 1000) -> None:
        await self.drain()
        self._pending = self._pool.submit(self._write, documents, batch)

    async def drain(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await asyncio.wrap_future(pending)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()
