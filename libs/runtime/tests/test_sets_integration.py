"""Concurrent appends from several writers on the real Mongo-wire server: none is lost, none is doubled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from switchboard.runtime.sets import SlotList

pytestmark = pytest.mark.integration


async def test_three_hundred_concurrent_appends_all_arrive(servers: Any, namespace: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri)
    try:
        collection = client[f"{namespace}_sets"]["timers"]
        writers = [SlotList(collection), SlotList(collection)]  # two "processes" racing on the same keys
        await asyncio.gather(*(writers[i % 2].append(f"bucket-{i % 3}", f"t{i}") for i in range(300)))
        reader = SlotList(collection)
        found = [v for key in ("bucket-0", "bucket-1", "bucket-2") for v in await reader.values(key)]
        assert sorted(found) == sorted(f"t{i}" for i in range(300))
        await reader.clear("bucket-0", 100)
        assert await reader.values("bucket-0") == []
    finally:
        await client.close()
