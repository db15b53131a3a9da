"""Concurrent appends from several writers on the real Mongo-wire server: none is lost, none is doubled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from switchboard.runtime.slotlist import SlotList

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


async def test_a_thousand_appends_to_one_key_at_once_take_few_commands_and_leave_no_gap(
    servers: Any, namespace: str
) -> None:
    """Every ticket opened in one quarter second lands in one timer bucket: appends must not walk each other's slots."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri)
    try:
        collection = client[f"{namespace}_sets"]["crowded"]
        here, elsewhere = SlotList(collection), SlotList(collection)  # this process, and another one
        await elsewhere.append("bucket", "early")  # a slot this process does not know is taken
        inserts: list[int] = []
        original = collection.insert_many

        async def counting(documents: Any, **kwargs: Any) -> Any:
            inserts.append(len(documents))
            return await original(documents, **kwargs)

        collection.insert_many = counting  # type: ignore[method-assign,assignment]
        await asyncio.gather(*(here.append("bucket", f"t{i}") for i in range(1000)))
        assert len(inserts) <= 14, inserts  # bulks of 100, a probe past the taken slot: not ~n² single inserts
        # two processes appending to one key at the same time: slower (they collide), but nothing lost or doubled
        await asyncio.wait_for(
            asyncio.gather(
                *(here.append("bucket", f"u{i}") for i in range(300)),
                *(elsewhere.append("bucket", f"o{i}") for i in range(30)),
            ),
            60,
        )
        values = await SlotList(collection).values("bucket")
        expected = ["early", *(f"t{i}" for i in range(1000)), *(f"u{i}" for i in range(300))]
        assert sorted(values) == sorted(expected + [f"o{i}" for i in range(30)])
    finally:
        await client.close()
