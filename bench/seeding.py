"""Seeding a service's store with the service's own code: the service decides against the runtime's in-memory
Mongo (`switchboard.runtime.testing`), and this bulk writer copies what it wrote into the real store on a worker
thread."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor

from pymongo import MongoClient

from bench.figures import Json


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
