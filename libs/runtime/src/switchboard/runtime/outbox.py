"""The outbox relay: events stored with the state change are published to Kafka afterwards, in order.

Services never write to Mongo and Kafka in one breath. A command's events are stored as one commit
document (all or nothing); just before it, a small *pending* marker with the commit's id is written.
This relay publishes commits with the idempotent, acks=all producer and then deletes their markers.
A crash between the two publishes a commit again after the restart, which consumers de-duplicate by
event id; nothing stored is ever lost. The markers live in their own small collection, so finding
what is unpublished never reads the (ever growing) commits - FerretDB would scan them all.

Each process publishes its own commits straight away (handed over in memory, no polling), but only
after the subject's previous commit is published, so one ticket's events reach Kafka in order even
with several replicas writing. Whatever is left behind - a crash, a predecessor not yet published -
is found by a sweep over the markers that one replica at a time runs, holding a lease in Mongo.
A marker whose commit never arrived (the writer lost a race or died in between) is dropped after a
minute.

Every look-up is by `_id`, the one filter FerretDB's SQLite backend answers from an index.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge, Histogram
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from .latency import STAGE_BUCKETS
from .lease import Lease

log = structlog.get_logger(__name__)

Document = dict[str, Any]
PUBLISHED = Counter("switchboard_outbox_published_total", "Events the outbox relay published.", ["service"])
SWEPT = Gauge("switchboard_outbox_unpublished", "Pending markers the last sweep found.", ["service"])
STORED_TO_PUBLISHED = Histogram(
    "switchboard_outbox_delay_seconds",
    "From a commit being made (before its two writes) to Kafka acknowledging its events.",
    ["service"],
    buckets=STAGE_BUCKETS,
)
ORPHAN_AFTER = timedelta(minutes=1)


class OutboxRelay:
    """Publishes the commits in `commits`: this process's own at once, everyone's leftovers by sweep."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        commits: AsyncCollection[Document],
        pending: AsyncCollection[Document],
        leases: AsyncCollection[Document],
        service: str,
        batch_size: int = 500,
        sweep_interval_s: float = 2.0,
        lease_ttl_s: float = 10.0,
        grace_s: float = 3.0,
    ) -> None:
        self._broker = broker
        self._commits = commits
        self._pending = pending
        self._service = service
        self._batch = batch_size
        self._sweep_every = sweep_interval_s
        self._grace = timedelta(seconds=grace_s)
        self._lease = Lease(leases, "outbox", ttl_s=lease_ttl_s)
        self._queue: asyncio.Queue[Document] = asyncio.Queue()
        self._published: OrderedDict[str, None] = OrderedDict()  # recently published commit ids
        self._tasks: list[asyncio.Task[None]] = []
        self._paused = False

    def submit(self, commit: Document) -> None:
        """A commit was stored by this process: publish it as soon as its predecessor is out."""
        if not self._paused:
            self._queue.put_nowait(commit)

    def pause(self) -> None:
        """Store-only mode: nothing is queued; the sweep of a running relay publishes the backlog later."""
        self._paused = True

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._publish_own(), name=f"{self._service}-outbox"),
            asyncio.create_task(
                self._lease.run_every(
                    self._sweep_every, self._sweep, failed="outbox sweep failed; retrying", logger=log, wait_first=True
                ),
                name=f"{self._service}-outbox-sweep",
            ),
        ]

    async def stop(self) -> None:
        """Publish what is queued (briefly), then stop; anything left is found by the next sweep."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), 5.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self._lease.release()

    async def _publish_own(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self.publish(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("publishing commits failed; the sweep will retry them", exc_info=True)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _sweep(self) -> None:
        """Sweep batch after batch while they come back full (run by the lease holder only)."""
        while await self.sweep_once() >= self._batch:
            pass

    async def sweep_once(self) -> int:
        """Publish one batch of the commits pending markers name; returns how many markers were looked at."""
        # Markers younger than the grace period belong to a writer's own relay, which is publishing them now;
        # sweeping them too would only send them twice.
        settled = {"stored_at": {"$lt": _now() - self._grace}}
        markers = await self._pending.find(settled).sort("stored_at", ASCENDING).limit(self._batch).to_list()
        SWEPT.labels(self._service).set(len(markers))
        found: list[Document] = []
        orphans: list[str] = []
        for marker in markers:
            commit = await self._commits.find_one({"_id": marker["_id"]})
            if commit is not None:
                found.append(commit)
            elif _now() - _aware(marker["stored_at"]) > ORPHAN_AFTER:
                orphans.append(marker["_id"])
        if orphans:
            await self._pending.delete_many({"_id": {"$in": orphans}})
        if found:
            await self.publish(found)
        return len(markers)

    async def publish(self, commits: Sequence[Document]) -> int:
        """Publish commits whose predecessor is published, in subject order; returns how many went out."""
        ready: list[Document] = []
        ready_ids: set[str] = set()
        for commit in sorted(commits, key=lambda c: (c["subject"], c["sequence"])):
            previous = commit.get("previous")
            if (
                previous is None
                or previous in ready_ids
                or previous in self._published
                or await self._is_published(previous)
            ):
                ready.append(commit)
                ready_ids.add(commit["_id"])
        if not ready:
            return 0
        futures = [
            await self._broker.publish(
                record["value"], record["topic"], key=record["key"], headers=record["headers"], no_confirm=True
            )
            for commit in ready
            for record in commit["records"]
        ]
        await asyncio.gather(*futures)
        acked = _now()
        for commit in ready:
            STORED_TO_PUBLISHED.labels(self._service).observe(
                max(0.0, (acked - _aware(commit["stored_at"])).total_seconds())
            )
        await self._pending.delete_many({"_id": {"$in": [c["_id"] for c in ready]}})
        for commit in ready:
            self._remember(commit["_id"])
        PUBLISHED.labels(self._service).inc(len(futures))
        return len(ready)

    async def _is_published(self, commit: str) -> bool:
        """A stored commit without a pending marker has been published."""
        if await self._pending.find_one({"_id": commit}) is None:
            self._remember(commit)
            return True
        return False

    def _remember(self, commit: str) -> None:
        self._published[commit] = None
        if len(self._published) > 100_000:
            self._published.popitem(last=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
