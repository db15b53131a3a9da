"""Group commit on the real Mongo-wire server: many writers, few commands, and each writer gets its own outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.errors import DuplicateKeyError, WriteError
from switchboard.runtime.batching import BulkWriter

pytestmark = pytest.mark.integration


async def test_concurrent_writes_go_out_together_and_each_learns_its_own_outcome(servers: Any, namespace: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri)
    try:
        collection = client[f"{namespace}_batching"]["docs"]
        await collection.insert_one({"_id": "taken", "by": "someone else"})
        writer = BulkWriter(collection, max_batch=50)
        sent: list[int] = []
        original = collection.bulk_write

        async def counting(ops: Any, **kwargs: Any) -> Any:
            sent.append(len(ops))
            return await original(ops, **kwargs)

        writer.collection = type("Spy", (), {"bulk_write": staticmethod(counting)})()

        async def insert(ident: str) -> str:
            try:
                await writer.insert({"_id": ident, "n": 1})
            except DuplicateKeyError:
                return "duplicate"
            return "stored"

        outcomes = await asyncio.gather(*(insert(f"t{i}") for i in range(120)), insert("taken"), insert("t7"))
        assert outcomes[:120] == ["stored"] * 120
        assert outcomes[120:] == ["duplicate", "duplicate"]  # an existing id, and one stored in the same bulk
        assert sum(sent) == 122 and len(sent) <= 4, sent  # 122 writes in a handful of commands, none above 50
        assert max(sent) <= 50
        assert await collection.count_documents({"n": 1}) == 120
        assert (await collection.find_one({"_id": "taken"}) or {})["by"] == "someone else"

        # updates, and one the server refuses for its own reason, side by side (FerretDB's reply to that bulk
        # does not say which took, so the writer resends them one by one)
        results = await asyncio.gather(
            writer.write(UpdateOne({"_id": "t1"}, {"$set": {"seen": True}}, upsert=True)),
            writer.write(UpdateOne({"_id": "new"}, {"$set": {"seen": True}}, upsert=True)),
            writer.write(UpdateOne({"_id": "t2"}, {"$inc": {"n": "not a number"}})),
            return_exceptions=True,
        )
        assert results[0] is None and results[1] is None
        assert isinstance(results[2], WriteError) and not isinstance(results[2], DuplicateKeyError)
        assert await collection.count_documents({"seen": True}) == 2

        # a lone write on an idle writer is sent at once, on its own
        sent.clear()
        await writer.insert({"_id": "alone"})
        assert sent == [1]
    finally:
        await client.close()
