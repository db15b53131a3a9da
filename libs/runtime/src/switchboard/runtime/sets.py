"""Lists that many writers append to, built from inserts only, so no concurrent addition is ever lost.

MongoDB applies `$addToSet` atomically; FerretDB 1.x does not (it reads the document, changes it and writes
it back, so a concurrent writer's addition can be overwritten, even one that was already read back). An
insert, though, collides atomically on `_id` everywhere. So each entry is its own document, `<key>#<slot>`:
a writer takes the first free slot (starting from where it last wrote, so appends stay cheap), and readers
walk the slots from 0 until the first missing one. A slot is only ever taken after all slots before it
exist, so there are no gaps.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


def _slot(key: str, n: int) -> str:
    return f"{key}#{n:07d}"


class SlotList:
    """`append(key, value)`, `values(key)`, `clear(key)` on one collection, safe on MongoDB and FerretDB."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection
        self._next: dict[str, int] = {}  # per key: the slot after the last one this process wrote

    async def append(self, key: str, value: str) -> None:
        n = self._next.get(key, 0)
        while True:
            try:
                await self._collection.insert_one({"_id": _slot(key, n), "value": value})
                break
            except DuplicateKeyError:
                n += 1
        self._next[key] = n + 1
        if len(self._next) > 50_000:
            self._next.pop(next(iter(self._next)))

    async def values(self, key: str) -> list[str]:
        found: list[str] = []
        while (doc := await self._collection.find_one({"_id": _slot(key, len(found))})) is not None:
            found.append(str(doc["value"]))
        return found

    async def clear(self, key: str, count: int) -> None:
        """Remove the first `count` slots (the ones a reader has handled)."""
        for n in range(count):
            await self._collection.delete_one({"_id": _slot(key, n)})
        self._next.pop(key, None)
