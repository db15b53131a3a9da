"""Consuming catalogue events at least once with effects exactly once, and poison messages set aside.

A batch is decoded, handed to the service's handler, and its offsets are committed only after the
handler returned (its effects are durable). Undecodable messages go to the dead-letter topic at once.
When a batch fails, its events are retried one by one so a single poison event cannot hold the rest
back: an event whose handler keeps failing is dead-lettered after a bounded number of attempts, while
an outage (Mongo or Kafka unreachable) is never dead-lettered - the batch is rewound and retried later,
and readiness reports the outage meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import AckStatus
from prometheus_client import Counter, Histogram
from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError
from switchboard.events import DecodeError, Envelope, decode
from switchboard.events.topics import Topic

from .latency import STAGE_BUCKETS

log = structlog.get_logger(__name__)

BatchHandler = Callable[[Sequence[Envelope]], Awaitable[None]]
TRANSIENT: tuple[type[BaseException], ...] = (ConnectionFailure, AutoReconnect, ServerSelectionTimeoutError, KafkaError)

POLL_MS = 100


async def _poll(consumer: AIOKafkaConsumer, *, max_records: int) -> tuple[ConsumerRecord[Any, Any], ...]:
    """A batch as soon as there is one.

    FastStream 0.7's batch subscriber sleeps a whole batch timeout after every empty poll, so an event that
    arrives during that sleep waits up to 100 ms more (measured: routing's open-to-routed p99 at 50 tickets/s).
    A poll already waits for the first record; only one that came back empty at once (no partitions yet)
    pauses, so the loop never spins.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    batches = await consumer.getmany(timeout_ms=POLL_MS, max_records=max_records)
    if not batches and loop.time() - started < POLL_MS / 2000:
        await asyncio.sleep(POLL_MS / 1000)
    return tuple(itertools.chain.from_iterable(batches.values()))


EVENTS_HANDLED = Counter(
    "switchboard_events_handled_total", "Catalogue events handled, by consumer and type.", ["consumer", "type"]
)
WAITED = Histogram(
    "switchboard_consumer_wait_seconds",
    "From an event's write to Kafka to the start of its handling: the consumer's queueing.",
    ["consumer"],
    buckets=STAGE_BUCKETS,
)
HANDLED_IN = Histogram(
    "switchboard_consumer_batch_seconds", "Time to handle one batch.", ["consumer"], buckets=STAGE_BUCKETS
)
BATCH_SIZE = Histogram(
    "switchboard_consumer_batch_events",
    "Events per batch handed to the handler.",
    ["consumer"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
DEAD_LETTERED = Counter(
    "switchboard_events_deadlettered_total", "Messages sent to the dead-letter topic.", ["consumer", "reason"]
)


class DeadLetters:
    """Publishes a poison message unchanged to the dead-letter topic, with why and where in headers."""

    def __init__(self, broker: KafkaBroker, topic: str, *, group: str) -> None:
        self._broker = broker
        self._topic = topic
        self._group = group

    async def send(self, record: ConsumerRecord[Any, Any], error: str, reason: str) -> None:
        headers = {k: v.decode("utf-8", "replace") for k, v in record.headers}
        headers |= {
            "dlq_error": error[:2000],
            "dlq_reason": reason,
            "dlq_topic": record.topic,
            "dlq_partition": str(record.partition),
            "dlq_offset": str(record.offset),
            "dlq_consumer_group": self._group,
            "dlq_failed_at": datetime.now(UTC).isoformat(),
        }
        await self._broker.publish(record.value or b"", self._topic, key=record.key, headers=headers)
        DEAD_LETTERED.labels(self._group, reason).inc()
        log.warning(
            "event dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            error=error[:300],
        )


class OffsetCommitter:
    """Commits handled positions in the background, so the next batch need not wait for Kafka's answer.

    FastStream commits after each batch and waits for it, one round trip to the broker per batch on the
    critical path of every event behind it. Here a handled batch's next offsets are merged into what is
    pending and one task commits them, the newest per partition, at most every `every_s`.
    Only handled batches are ever committed, so delivery stays at least once: a crash, or a rebalance that
    makes a commit fail, re-delivers at most the batches handled since the last commit that succeeded.
    """

    def __init__(self, name: str, *, every_s: float = 0.2) -> None:
        self._name = name
        self._every = every_s
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    def later(self, consumer: AIOKafkaConsumer, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        self._consumer = consumer
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            self._pending[partition] = max(self._pending.get(partition, 0), record.offset + 1)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._commit(pause_s=self._every), name=f"{self._name}-commit")

    async def flush(self) -> None:
        """Commit what is pending now (on the way out)."""
        if self._task is not None:  # lets a commit under way finish (it takes at most one pause more)
            with contextlib.suppress(Exception):
                await self._task
        await self._commit(pause_s=0.0)

    async def _commit(self, *, pause_s: float) -> None:
        while self._pending and self._consumer is not None:
            offsets, self._pending = self._pending, {}
            assigned = self._consumer.assignment()
            offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
            if not offsets:
                continue
            try:
                await self._consumer.commit(offsets)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # rebalanced meanwhile, or the broker is away: re-delivered, never lost
                log.info(
                    "offsets not committed; those events may be delivered again", consumer=self._name, error=str(exc)
                )
            await asyncio.sleep(pause_s)


class EventConsumer:
    """One consumer group reading catalogue topics in batches into a handler."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        name: str,
        group_id: str,
        topics: Sequence[Topic],
        namespace: str,
        handler: BatchHandler,
        deadletters: DeadLetters,
        max_attempts: int = 5,
        max_records: int = 500,
        retry_backoff_s: float = 0.1,
    ) -> None:
        self.name = name
        self._handler = handler
        self._deadletters = deadletters
        self._max_attempts = max_attempts
        self._backoff = retry_backoff_s
        self.subscriber = broker.subscriber(
            *(t.qualified(namespace) for t in topics),
            group_id=group_id,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=POLL_MS,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=_no_decode,
            title=f"{name}:consume",
            description=f"{name} reads {', '.join(t.name for t in topics)}",
        )
        self.subscriber(self._on_batch)
        self.offsets = OffsetCommitter(name)
        self.subscriber.get_msg = functools.partial(_poll, max_records=max_records)  # type: ignore[method-assign]

    def ready(self) -> tuple[bool, str]:
        """Ready when the group has given this process partitions to read."""
        consumer = self.subscriber.consumer
        if consumer is None:
            return False, f"{self.name}: consumer not started"
        if not consumer.assignment():
            return False, f"{self.name}: no partitions assigned yet"
        return True, "ok"

    async def _on_batch(self, msg: KafkaMessage) -> None:
        raw = msg.raw_message
        # aiokafka's batch is a tuple of records; FastStream's in-memory test broker hands over a list
        records: tuple[ConsumerRecord[Any, Any], ...] = tuple(raw) if isinstance(raw, tuple | list) else (raw,)
        decoded: list[tuple[ConsumerRecord[Any, Any], Envelope]] = []
        for record in records:
            try:
                decoded.append((record, decode(record.value, dict(record.headers))))
            except DecodeError as exc:
                await self._deadletters.send(record, str(exc), "undecodable")
        if not decoded:
            self._commit_later(msg, records)
            return
        started = time.time()
        for record, _ in decoded:
            WAITED.labels(self.name).observe(max(0.0, started - record.timestamp / 1000))
        BATCH_SIZE.labels(self.name).observe(len(decoded))
        try:
            await self._handler([env for _, env in decoded])
        except TRANSIENT:
            await self._pause_for_outage()
            raise
        except Exception:
            log.warning("batch failed; retrying its events one by one", consumer=self.name, size=len(decoded))
            for record, envelope in decoded:
                await self._one_by_one(record, envelope)
        for _, envelope in decoded:
            EVENTS_HANDLED.labels(self.name, envelope.type).inc()
        HANDLED_IN.labels(self.name).observe(time.time() - started)
        self._commit_later(msg, records)

    def _commit_later(self, msg: KafkaMessage, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Handled: FastStream's own (waiting) commit is skipped and the offsets go to the background committer."""
        consumer = self.subscriber.consumer
        if not isinstance(consumer, AIOKafkaConsumer):
            return  # FastStream's in-memory test broker: its own ack does what little there is
        msg.committed = AckStatus.ACKED
        self.offsets.later(consumer, records)

    async def _one_by_one(self, record: ConsumerRecord[Any, Any], envelope: Envelope) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._handler([envelope])
                return
            except TRANSIENT:
                await self._pause_for_outage()
                raise
            except Exception as exc:
                if attempt == self._max_attempts:
                    await self._deadletters.send(record, f"{type(exc).__name__}: {exc}", "handler_failed")
                    return
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))

    async def _pause_for_outage(self) -> None:
        log.warning("outage while handling a batch; it will be redelivered", consumer=self.name, exc_info=True)
        await asyncio.sleep(1.0)


async def _no_decode(msg: Any) -> None:
    """Skip FastStream's body decoding: the CloudEvents codec does it, and sends failures to dead letters."""
    return None
