"""Copies changed read-model documents from this replica's engine into MongoDB, for analysts.

Only the replica holding the `reporting-publisher` lease publishes, so every Mongo document has one writer
(FerretDB loses concurrent updates of one document). Publishing is an idempotent replace of the whole
document, so a pass repeated after a crash changes nothing. A replica that takes the lease over publishes
everything once, since it cannot know what the previous holder had sent. Collections are versioned
(`tickets_v1`); `projections` holds the version readers use (`_id: "active"`) and, per version, the offsets the
published documents reflect.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Histogram
from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from .backlog import take_snapshot
from .engine import Engine
from .projections import COLLECTIONS, collection_name, mongo_document

log = structlog.get_logger(__name__)

PUBLISH_PASS = Histogram(
    "switchboard_reporting_publish_seconds",
    "One publishing pass: changed documents read from the engine and replaced in MongoDB.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

BATCH = 100


async def active_version(db: AsyncDatabase[dict[str, Any]]) -> int:
    doc = await db["projections"].find_one({"_id": "active"})
    return int(doc["version"]) if doc else 1


async def publish_dirty(engine: Engine, db: AsyncDatabase[dict[str, Any]], *, version: int, limit: int = 2000) -> int:
    """One pass: publish up to `limit` changed documents; returns how many."""
    started = time.perf_counter()
    changes = await asyncio.to_thread(engine.changes, limit)
    if not changes.dirty:
        return 0
    by_collection: dict[str, list[str]] = defaultdict(list)
    for collection, doc_id, _ in changes.dirty:
        by_collection[collection].append(doc_id)
    for collection, ids in by_collection.items():
        target = db[collection_name(collection, version)]
        operations = []
        for doc_id in ids:
            doc = changes.documents[(collection, doc_id)]
            if doc is None:
                await target.delete_one({"_id": doc_id})
            else:
                operations.append(ReplaceOne({"_id": doc_id}, mongo_document(collection, doc_id, doc), upsert=True))
        for start in range(0, len(operations), BATCH):
            await target.bulk_write(operations[start : start + BATCH], ordered=False)
    offsets = changes.offsets
    dirty = changes.dirty
    await db["projections"].replace_one(
        {"_id": f"v{version}"},
        {
            "_id": f"v{version}",
            "version": version,
            "offsets": offsets_document(offsets),
            "published_at": datetime.now(UTC),
        },
        upsert=True,
    )
    await asyncio.to_thread(engine.clean, dirty)
    PUBLISH_PASS.observe(time.perf_counter() - started)
    return len(dirty)


def offsets_document(offsets: dict[tuple[str, int], int]) -> dict[str, int]:
    """`<topic label>:<partition>` -> next offset: the store refuses dots in keys (FerretDB), and the namespace is
    the database's already."""
    return {f"{topic.rsplit('.', 1)[-1]}:{p}": n for (topic, p), n in sorted(offsets.items())}


class Publisher:
    """The background loop: while holding the lease, publish what changed, every `period_s`."""

    def __init__(self, engine: Engine, db: AsyncDatabase[dict[str, Any]], *, lease: Any, period_s: float = 0.2) -> None:
        self._engine = engine
        self._db = db
        self._lease = lease
        self._period = period_s
        self._task: asyncio.Task[None] | None = None
        self._held = False
        self._version: int | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reporting-publisher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._held:
            await self._lease.release()

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("reporting publish pass failed; retrying", exc_info=True)
                await asyncio.sleep(1)
            await asyncio.sleep(self._period)

    async def step(self) -> None:
        held = await self._lease.hold()
        if not held:
            self._held = False
            return
        version = await active_version(self._db)
        if not self._held or version != self._version:
            await asyncio.to_thread(self._engine.mark_all)
            log.info("reporting publisher took over; publishing everything", version=version)
        self._held, self._version = True, version
        await take_snapshot(self._engine, self._db)
        while await publish_dirty(self._engine, self._db, version=version) >= 2000:
            if not await self._lease.hold():
                self._held = False
                return


__all__ = ["COLLECTIONS", "Publisher", "active_version", "publish_dirty"]
