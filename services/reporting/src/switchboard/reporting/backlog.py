"""Hourly backlog snapshots (`backlog_hourly`): open tickets by queue, priority and age bucket, once an hour.

A snapshot records the state at the moment it is taken, which no event carries; so, unlike the folded
projections, snapshots are not versioned and a rebuild does not recreate them: they are history, kept as
taken. The publishing replica takes one per hour (an idempotent replace per bucket, so a retried or doubled
snapshot writes the same documents); the live backlog by age is the supervisor overview's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from .engine import Engine
from .supervisor.overview import overview

COLLECTION = "backlog_hourly"


def snapshot_documents(backlog: list[dict[str, Any]], hour: str) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"{hour}|{row['queue_id'] or '-'}|{row['priority']}|{row['age_bucket']}",
            "hour": hour,
            "queue_id": row["queue_id"],
            "priority": row["priority"],
            "age_bucket": row["age_bucket"],
            "open": row["open"],
        }
        for row in backlog
    ]


async def take_snapshot(engine: Engine, db: AsyncDatabase[dict[str, Any]], *, now: datetime | None = None) -> bool:
    """Take this hour's snapshot unless it was taken; True when taken now."""
    now = now or datetime.now(UTC)
    hour = now.strftime("%Y-%m-%dT%H:00Z")
    marker = f"taken|{hour}"
    collection = db[COLLECTION]
    if await collection.find_one({"_id": marker}) is not None:
        return False

    def read() -> list[dict[str, Any]]:
        reader = engine.reader()
        try:
            return list(overview(reader, now=now)["backlog"])
        finally:
            reader.close()

    documents = snapshot_documents(await asyncio.to_thread(read), hour)
    if documents:
        await collection.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in documents])
    await collection.replace_one({"_id": marker}, {"_id": marker, "hour": hour, "buckets": len(documents)}, upsert=True)
    return True
