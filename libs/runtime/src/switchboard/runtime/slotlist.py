"""Lists that many writers append to, built from inserts only, so no concurrent addition is ever lost.

MongoDB applies `$addToSet` atomically; FerretDB 1.x does not (it reads the document, changes it and writes
it back, so a concurrent writer's addition can be overwritten, even one that was already read back). An
insert, though, collides atomically on `_id` everywhere. So each entry is its own document, `<key>#<slot>`:
a writer takes the first free slot (starting from where it last wrote, so appends stay cheap), and readers
walk the slots from 0 until the first missing one. A slot is only ever taken after all slots before it
exist, so there are no gaps.

Appends to one key from one process are queued and written by one task, as an *ordered* bulk insert into
consecutive slots: the server stops at the first slot another process took, the writer moves past it
(probing with one document at a time while the other process is still writing there), and the rest follow. Without that, many appends to one key at once (every ticket opened in the same quarter
second lands in the same SLA timer bucket) each walked the slots the others had just taken: ~n² inserts.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

Document = dict[str, Any]


DUPLICATE_KEY = 11000
ORDERED_CHUNK = 100
"""FerretDB 1.24 inserts in chunks of 100 and goes on with the next chunk after one failed, even when told the
insert is ordered (measured: slot 0 taken, 1,000 ordered inserts from slot 0 stored slots 100-199): more than
100 documents in one ordered insert would leave a gap."""


def _fail(queued: list[tuple[str, asyncio.Future[None]]], error: BaseException) -> None:
    for _, future in queued:
        if not future.done():
            future.set_exception(error)


def _slot(key: str, n: int) -> str:
    return f"{key}#{n:07d}"


class SlotList:
    """`append(key, value)`, `values(key)`, `clear(key)` on one collection, safe on MongoDB and FerretDB."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection
        self._next: dict[str, int] = {}  # per key: the slot after the last one this process wrote
        self._queued: dict[str, list[tuple[str, asyncio.Future[None]]]] = {}
        self._writing: dict[str, asyncio.Task[None]] = {}

    async def append(self, key: str, value: str) -> None:
        """Add `value` to the list at `key`; returns once it is stored (raises the store's error otherwise)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.setdefault(key, []).append((value, future))
        if key not in self._writing:
            self._writing[key] = asyncio.create_task(self._write_queued(key))
        await future

    async def _write_queued(self, key: str) -> None:
        try:
            while queued := self._queued.pop(key, []):
                await self._insert_in_order(key, queued)
        finally:
            del self._writing[key]

    async def _insert_in_order(self, key: str, queued: list[tuple[str, asyncio.Future[None]]]) -> None:
        n = self._next.get(key, 0)
        probing = False  # after a collision another process is writing here: find a free slot with one document
        while queued:
            batch = queued[:1] if probing else queued[:ORDERED_CHUNK]
            documents = [{"_id": _slot(key, n + i), "value": value} for i, (value, _) in enumerate(batch)]
            try:
                await self._collection.insert_many(documents, ordered=True)
                stored, taken = len(batch), False
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if not errors or errors[0].get("code") != DUPLICATE_KEY:
                    _fail(queued, exc)
                    return
                stored, taken = int(errors[0]["index"]), True  # everything before it is in; that slot is another's
            except Exception as exc:
                _fail(queued, exc)
                return
            for _, future in queued[:stored]:
                if not future.done():
                    future.set_result(None)
            queued, n, probing = queued[stored:], n + stored + (1 if taken else 0), taken
        self._next[key] = n
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
