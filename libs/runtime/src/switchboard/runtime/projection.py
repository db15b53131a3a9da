"""Idempotent read-model writes: each document remembers, per topic, the last sequence applied to it.

A subject's events are ordered within a topic but not across topics, so the guard is kept per topic
(`pos.tickets`, `pos.interactions`). An update applies only when its sequence is past the document's
position for that topic; when the guard fails, the upsert's insert collides on `_id` and the event is
known to be applied already. No transactions are needed, so this works on FerretDB as on MongoDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

Document = dict[str, Any]
DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class GuardedUpsert:
    """An upsert that applies only past the document's position for one topic."""

    filter: Document
    update: Document

    def as_bulk(self) -> UpdateOne:
        return UpdateOne(self.filter, self.update, upsert=True)


def guarded_update(
    subject: str, *, topic: str, sequence: int, update: Document, positions: Sequence[str]
) -> GuardedUpsert:
    """An upsert of `subject`'s document that applies once, in order, for events of `topic`.

    `positions` names every topic the collection tracks, so a document first created by another
    topic's event starts at position 0 for this one.
    """
    field = f"pos.{topic}"
    update = {k: dict(v) for k, v in update.items()}
    update.setdefault("$set", {})[field] = sequence
    on_insert = update.setdefault("$setOnInsert", {})
    for other in positions:
        if other != topic:
            on_insert[f"pos.{other}"] = 0
    return GuardedUpsert({"_id": subject, field: {"$lt": sequence}}, update)


#: FerretDB holds one pooled connection per statement of a bulk write until the whole command ends, so a bulk
#: the size of its pool (1000 in our build) never finishes; bulks are sent in chunks well below that.
BULK_CHUNK = 100


async def apply_in_order(collection: AsyncCollection[Document], operations: Sequence[GuardedUpsert]) -> int:
    """Apply guarded updates in order, skipping those already applied; returns how many applied now."""
    applied = 0
    for start in range(0, len(operations), BULK_CHUNK):
        applied += await _apply_chunk(collection, operations[start : start + BULK_CHUNK])
    return applied


async def _apply_chunk(collection: AsyncCollection[Document], operations: Sequence[GuardedUpsert]) -> int:
    applied = 0
    start = 0
    while start < len(operations):
        try:
            result = await collection.bulk_write([op.as_bulk() for op in operations[start:]], ordered=True)
            return applied + result.upserted_count + result.modified_count
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or errors[0].get("code") != DUPLICATE_KEY:
                raise
            failed_at = start + int(errors[0]["index"])
            applied += failed_at - start
            start = failed_at + 1
        except KeyError:
            # FerretDB 1.x omits `nModified` from a bulk reply that carries a write error, and PyMongo
            # trips over it; the updates are idempotent, so re-applying the rest one by one is safe.
            return applied + await _one_by_one(collection, operations[start:])
    return applied


async def _one_by_one(collection: AsyncCollection[Document], operations: Sequence[GuardedUpsert]) -> int:
    applied = 0
    for operation in operations:
        try:
            await collection.update_one(operation.filter, operation.update, upsert=True)
            applied += 1
        except DuplicateKeyError:
            pass  # already applied
    return applied
