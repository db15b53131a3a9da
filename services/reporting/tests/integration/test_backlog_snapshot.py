"""Hourly backlog snapshots on FerretDB: taken once per hour, counted from the open tickets, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from switchboard.events.common import TicketStatus
from switchboard.events.topics import topic_of
from switchboard.reporting.backlog import COLLECTION, take_snapshot
from switchboard.reporting.engine import Engine, Position

from services.reporting.tests.fixtures import life
from tests.harness import Servers

pytestmark = pytest.mark.integration


def calendar_minutes(_: Any, a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


async def test_one_snapshot_per_hour_of_the_open_tickets(servers: Servers, namespace: str, tmp_path: Path) -> None:
    engine = Engine.open(tmp_path / "e.sqlite3", business=calendar_minutes)
    still_open = [e for e in life("t-open") if not (e.type.endswith("status_changed.v1") and e.sequence == 8)]
    events = [*life("t-solved"), *still_open]
    engine.apply([(Position(topic_of(e.data).name, 0, n), e) for n, e in enumerate(events)])
    assert engine.ticket("t-open")["status"] == TicketStatus.OPEN  # type: ignore[index]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri)
    db = client[f"{namespace}_reporting"]
    try:
        ten = datetime(2026, 11, 4, 10, 5, tzinfo=UTC)  # two days after the fixtures' Monday: '1-3d' old
        assert await take_snapshot(engine, db, now=ten)
        assert not await take_snapshot(engine, db, now=ten.replace(minute=59))  # the same hour: not again
        docs = [d async for d in db[COLLECTION].find({"hour": "2026-11-04T10:00Z", "open": {"$exists": True}})]
        assert [(d["queue_id"], d["priority"], d["age_bucket"], d["open"]) for d in docs] == [
            ("billing", "high", "1-3d", 1)
        ]
        assert await take_snapshot(engine, db, now=ten.replace(hour=11))
    finally:
        await client.drop_database(f"{namespace}_reporting")
        await client.close()
