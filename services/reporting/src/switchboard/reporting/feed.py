"""Every partition of every catalogue topic, read by this replica alone and folded into its engine.

No consumer group: each replica assigns itself all partitions and seeks to the offsets its engine stored with
the effects, so a restart resumes exactly where the last committed batch ended (nothing lost, nothing folded
twice) and two replicas never split a ticket's topics between them. An undecodable message is counted, logged
by position and skipped here: the services that own a topic dead-letter it in their own groups.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter, Histogram
from switchboard.events import DecodeError, Envelope, decode
from switchboard.events.topics import ALL, Topic

from .engine import Engine, Position

log = structlog.get_logger(__name__)

LAG = Histogram(
    "switchboard_reporting_event_to_projection_seconds",
    "From an event's time to its fold into this replica's read models (worklist and analytics).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FOLDED = Counter("switchboard_reporting_events_folded_total", "Events folded into the read models.", ["topic"])
SKIPPED = Counter("switchboard_reporting_events_skipped_total", "Messages that could not be decoded.", ["topic"])


class Feed:
    """The loop that keeps one engine caught up with the log."""

    def __init__(
        self,
        engine: Engine,
        *,
        bootstrap: str,
        namespace: str,
        topics: Sequence[Topic] = ALL,
        max_records: int = 2000,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._engine = engine
        self._bootstrap = bootstrap
        self._names = {t.qualified(namespace): t for t in topics}
        self._max_records = max_records
        self._task: asyncio.Task[None] | None = None
        self._on_batch = on_batch
        self.caught_up = False
        self.assigned = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="reporting-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def ready(self) -> tuple[bool, str]:
        if not self.assigned:
            return False, "no partitions assigned yet"
        return (True, "caught up") if self.caught_up else (False, "folding the log, not caught up yet")

    async def run(self, *, until_caught_up: bool = False) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap.split(","),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        try:
            partitions = await self._assign(consumer)
            while True:
                records = await consumer.getmany(timeout_ms=100, max_records=self._max_records)
                batch = [r for rs in records.values() for r in rs]
                if batch:
                    await asyncio.to_thread(self._fold, batch)
                elif not self.caught_up or until_caught_up:
                    ends = await consumer.end_offsets(partitions)
                    stored = self._engine.offsets()
                    if all(stored.get((tp.topic, tp.partition), 0) >= end for tp, end in ends.items()):
                        self.caught_up = True
                        if until_caught_up:
                            return
        finally:
            await consumer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Every partition of every topic, once the broker knows them all (a fresh namespace creates them late)."""
        while True:
            # aiokafka keeps metadata only for assigned topics; this asks for all of them (the call `topics()` makes)
            cluster = await consumer._client.fetch_all_metadata()
            known = {name: cluster.partitions_for_topic(name) for name in self._names}
            if all(known.values()):
                break
            await asyncio.sleep(0.5)
        partitions = [TopicPartition(name, p) for name, ps in known.items() for p in sorted(ps or ())]
        consumer.assign(partitions)
        stored = self._engine.offsets()
        for tp in partitions:
            if (tp.topic, tp.partition) in stored:
                consumer.seek(tp, stored[(tp.topic, tp.partition)])
            else:
                await consumer.seek_to_beginning(tp)
        self.assigned = len(partitions)
        log.info("reporting feed assigned", partitions=len(partitions))
        return partitions

    def _fold(self, batch: Sequence[Any]) -> None:
        items: list[tuple[Position, Envelope | None]] = []
        for record in batch:
            try:
                envelope: Envelope | None = decode(record.value, dict(record.headers))
            except DecodeError as exc:
                SKIPPED.labels(topic=record.topic).inc()
                log.warning(
                    "undecodable message skipped",
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    error=str(exc)[:200],
                )
                envelope = None
            items.append((Position(record.topic, record.partition, record.offset), envelope))
        self._engine.apply(items)
        now = datetime.now(UTC)
        for position, envelope in items:
            if envelope is not None:
                LAG.observe(max(0.0, (now - envelope.time).total_seconds()))
                FOLDED.labels(topic=self._names[position.topic].label).inc()
        if self._on_batch is not None:
            self._on_batch(len(items))
