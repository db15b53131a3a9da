"""The outbox relay: events stored with the state change are published to Kafka afterwards, in order.

Services never write to Mongo and Kafka in one breath. They store events in an append-only collection
(unique per subject and sequence) marked unpublished; this relay publishes them with the idempotent,
acks=all producer and then marks them published. A crash between the two publishes an event again on
restart, which consumers de-duplicate by event id; nothing stored is ever lost.

Only one replica relays at a time (a lease in Mongo), so each subject's events reach Kafka in sequence
order even with several intake processes writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from collections.abc import Sequence
from typing import Any

import structlog
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from switchboard.events import Envelope, encode
from switchboard.events.topics import topic_of

log = structlog.get_logger(__name__)

Document = dict[str, Any]
PUBLISHED = Counter("switchboard_outbox_published_total", "Events the outbox relay published.", ["service"])
LAG = Gauge("switchboard_outbox_unpublished", "Events stored but not yet published, at the last look.", ["service"])


def commit_document(envelopes: Sequence[Envelope], *, namespace: str, **fields: Any) -> Document:
    """One atomic write: the events a command decided, as Kafka records ready to send.

    A command may decide several events (a ticket opens with its first message); storing them in one
    document makes them all-or-nothing. `sequence` is the first event's sequence, so two writers that
    read the same version of a subject collide on the unique (subject, sequence) index.
    """
    first = envelopes[0]
    records = []
    for envelope in envelopes:
        record = encode(envelope)
        records.append({
            "event_id": envelope.id,
            "type": envelope.type,
            "topic": topic_of(envelope.data).qualified(namespace),
            "key": record.key,
            "value": record.value,
            "headers": record.headers,
        })
    return {
        "_id": first.id,
        "subject": first.subject,
        "sequence": first.sequence,
        "last_sequence": envelopes[-1].sequence,
        "records": records,
        "stored_at": datetime.now(UTC),
        "published": False,
        **fields,
    }


async def ensure_outbox_indexes(commits: AsyncCollection[Document]) -> None:
    """One commit per (subject, first sequence); the relay finds unpublished commits in storing order."""
    await commits.create_index([("subject", ASCENDING), ("sequence", ASCENDING)], unique=True, name="subject_sequence")
    await commits.create_index([("published", ASCENDING), ("stored_at", ASCENDING)], name="unpublished")


class OutboxRelay:
    """Publishes unpublished commits from `events` while this process holds the relay lease."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        events: AsyncCollection[Document],
        leases: AsyncCollection[Document],
        service: str,
        batch_size: int = 500,
        idle_poll_s: float = 0.2,
        lease_ttl_s: float = 10.0,
    ) -> None:
        self._broker = broker
        self._events = events
        self._leases = leases
        self._service = service
        self._batch = batch_size
        self._idle = idle_poll_s
        self._ttl = timedelta(seconds=lease_ttl_s)
        self._me = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Something was stored: publish now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self._service}-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(PyMongoError):
            await self._leases.update_one({"_id": "outbox", "owner": self._me}, {"$set": {"expires_at": _now()}})

    async def _run(self) -> None:
        while True:
            try:
                published = await self.relay_once() if await self._hold_lease() else 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox relay failed; retrying", exc_info=True)
                published = 0
                await asyncio.sleep(1.0)
            if published < self._batch:  # caught up: wait for a write or the next poll
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle)
                self._wake.clear()

    async def _hold_lease(self) -> bool:
        now = _now()
        try:
            doc = await self._leases.find_one_and_update(
                {"_id": "outbox", "$or": [{"owner": self._me}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self._me, "expires_at": now + self._ttl}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # another replica holds it
            return False
        return doc is not None and doc.get("owner") == self._me

    async def relay_once(self) -> int:
        """Publish one batch of unpublished events; returns how many were published."""
        batch = await self._events.find({"published": False}).sort("stored_at", ASCENDING).limit(self._batch).to_list()
        LAG.labels(self._service).set(len(batch))
        if not batch:
            return 0
        ready = await self._in_sequence(batch)
        futures = [
            await self._broker.publish(
                record["value"], record["topic"], key=record["key"], headers=record["headers"], no_confirm=True
            )
            for doc in ready
            for record in doc["records"]
        ]
        await asyncio.gather(*futures)
        await self._events.update_many(
            {"_id": {"$in": [doc["_id"] for doc in ready]}}, {"$set": {"published": True, "published_at": _now()}}
        )
        PUBLISHED.labels(self._service).inc(len(futures))
        return len(ready)

    async def _in_sequence(self, batch: list[Document]) -> list[Document]:
        """Drop events whose subject has an earlier unpublished event outside the batch.

        Storing order across replicas is only roughly time order, so a later event of a subject may be
        seen before an earlier one; it waits for the next round rather than overtaking it.
        """
        by_subject: dict[str, list[Document]] = defaultdict(list)
        for doc in batch:
            by_subject[doc["subject"]].append(doc)
        earliest: dict[str, int] = {}
        cursor = self._events.find(
            {"published": False, "subject": {"$in": list(by_subject)}}, {"subject": 1, "sequence": 1}
        )
        async for doc in cursor:
            seq = doc.get("sequence") or 0
            earliest[doc["subject"]] = min(seq, earliest.get(doc["subject"], seq))
        ready: list[Document] = []
        for subject, docs in by_subject.items():
            docs.sort(key=lambda d: d.get("sequence") or 0)
            expected = earliest.get(subject, 0)
            for doc in docs:
                seq = doc.get("sequence") or 0
                if seq and seq != expected:
                    break
                ready.append(doc)
                expected = (doc.get("last_sequence") or seq) + 1
        ready.sort(key=lambda d: d["stored_at"])
        return ready


def _now() -> datetime:
    return datetime.now(UTC)
