"""Guarded projection updates on the real Mongo-wire server: duplicates and cross-topic order are harmless."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient
from switchboard.runtime.projection import GuardedUpsert, apply_in_order, guarded_update

pytestmark = pytest.mark.integration
POSITIONS = ("tickets", "interactions")


def seen(sequence: int, topic: str, field: str) -> GuardedUpsert:
    return guarded_update(
        "t1",
        topic=topic,
        sequence=sequence,
        positions=POSITIONS,
        update={"$inc": {field: 1}, "$set": {f"last_{topic}": sequence}},
    )


async def test_each_event_applies_once_whatever_the_interleaving(servers: Any, namespace: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(servers.mongodb_uri)
    collection = client[f"{namespace}_test"]["view"]
    try:
        # interactions arrive before the ticket's own first event; then everything is redelivered
        first = [seen(2, "interactions", "messages"), seen(1, "tickets", "opened"), seen(3, "interactions", "messages")]
        assert await apply_in_order(collection, first) == 3
        again = [
            seen(1, "tickets", "opened"),
            seen(2, "interactions", "messages"),
            seen(3, "interactions", "messages"),
            seen(4, "tickets", "opened"),
        ]
        assert await apply_in_order(collection, again) == 1
        doc = await collection.find_one({"_id": "t1"})
        assert doc is not None
        assert doc["messages"] == 2
        assert doc["opened"] == 2  # sequences 1 and 4 of the tickets topic
        assert doc["pos"] == {"tickets": 4, "interactions": 3}
    finally:
        await client.close()
