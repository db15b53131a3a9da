"""`rebuild` and `reconcile`: the whole log folded again from the beginning, in a process of its own.

Both fold every topic from offset 0 into a fresh engine until it has reached the end offsets the log had when
it started. `rebuild` then writes the result into a new projection version (`tickets_v2`, ...) while readers
keep using the active one, records the offsets it reflects and switches `projections.active` to it; the live
publishers notice and publish into the new version from then on. `reconcile` instead compares the fresh fold
with the documents of the active version and reports every difference.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from .business import business_minutes
from .engine import Engine
from .feed import Feed
from .projections import COLLECTIONS, collection_name, mongo_document
from .publisher import active_version, offsets_document
from .settings import ReportingSettings

INSERT_CHUNK = 200


async def fold_log(settings: ReportingSettings, path: Path) -> tuple[Engine, int, float]:
    """A fresh engine with the whole log folded in; (engine, events read, seconds taken)."""
    engine = Engine.open(path, business=business_minutes, durable=False)
    counted = 0

    def count(n: int) -> None:
        nonlocal counted
        counted += n

    feed = Feed(
        engine,
        bootstrap=settings.kafka_bootstrap_servers,
        namespace=settings.namespace,
        on_batch=count,
        max_records=5000,
    )
    started = time.perf_counter()
    await feed.run(until_caught_up=True)
    return engine, counted, time.perf_counter() - started


def _offsets(engine: Engine) -> dict[str, int]:
    return offsets_document(engine.offsets())


async def rebuild(settings: ReportingSettings) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri.get_secret_value())
    db: AsyncDatabase[dict[str, Any]] = client[settings.database_name("reporting")]
    try:
        current = await active_version(db)
        existing = [int(d["version"]) async for d in db["projections"].find({"_id": {"$regex": "^v"}})]
        version = max([current, *existing]) + 1
        with tempfile.TemporaryDirectory() as tmp:
            engine, events, fold_s = await fold_log(settings, Path(tmp) / "rebuild.sqlite3")
            started = time.perf_counter()
            written = 0
            for collection in COLLECTIONS:
                target = db[collection_name(collection, version)]
                await target.drop()
                chunk: list[dict[str, Any]] = []
                for doc_id, doc in engine.documents(collection):
                    if doc is None:
                        continue
                    chunk.append(mongo_document(collection, doc_id, doc))
                    if len(chunk) == INSERT_CHUNK:
                        await target.insert_many(chunk, ordered=False)
                        written, chunk = written + len(chunk), []
                if chunk:
                    await target.insert_many(chunk, ordered=False)
                    written += len(chunk)
            write_s = time.perf_counter() - started
            offsets = _offsets(engine)
        await db["projections"].replace_one(
            {"_id": f"v{version}"}, {"_id": f"v{version}", "version": version, "offsets": offsets}, upsert=True
        )
        await db["projections"].replace_one({"_id": "active"}, {"_id": "active", "version": version}, upsert=True)
        total = fold_s + write_s
        return {
            "version": version,
            "previous": current,
            "events": events,
            "documents": written,
            "fold_s": round(fold_s, 2),
            "write_s": round(write_s, 2),
            "events_per_s": round(events / total, 1) if total else None,
        }
    finally:
        await client.close()


@dataclass
class Differences:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)

    def count(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.differing)


async def reconcile(settings: ReportingSettings, *, wait_s: float = 30.0) -> dict[str, Any]:
    """Fold the log afresh and diff it with the active projections (after they reflect the same offsets)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri.get_secret_value())
    db: AsyncDatabase[dict[str, Any]] = client[settings.database_name("reporting")]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine, events, _ = await fold_log(settings, Path(tmp) / "reconcile.sqlite3")
            wanted = _offsets(engine)
            version = await active_version(db)
            deadline = time.monotonic() + wait_s
            while True:
                meta = await db["projections"].find_one({"_id": f"v{version}"}) or {}
                published = meta.get("offsets", {})
                if all(published.get(k, 0) >= v for k, v in wanted.items()) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            report: dict[str, Any] = {"version": version, "events": events, "collections": {}}
            total = 0
            for collection in COLLECTIONS:
                expected = {i: mongo_document(collection, i, d) for i, d in engine.documents(collection) if d}
                live = {d["_id"]: d async for d in db[collection_name(collection, version)].find({})}
                diff = Differences(
                    missing=sorted(set(expected) - set(live)),
                    extra=sorted(set(live) - set(expected)),
                    differing=sorted(i for i in set(expected) & set(live) if _norm(expected[i]) != _norm(live[i])),
                )
                total += diff.count()
                report["collections"][collection] = {
                    "documents": len(expected),
                    "missing": diff.missing[:20],
                    "extra": diff.extra[:20],
                    "differing": diff.differing[:20],
                    "differences": diff.count(),
                }
            report["differences"] = total
            return report
    finally:
        await client.close()


def _norm(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, default=str)
