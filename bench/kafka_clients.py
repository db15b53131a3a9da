"""Kafka as the benches use it: a producer configured like the services', new topics, readers from the
beginning (and a tap that reads a topic for the whole run), events sent as the services send them, and the raw
produce rate."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from switchboard.events import KafkaRecord

from bench import PARTITIONS


def make_producer(bootstrap: str) -> AIOKafkaProducer:
    """Like the services' broker (switchboard.runtime.kafka.make_broker): idempotent, acks=all, linger 2 ms."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)


def make_reader(bootstrap: str, *topics: str, fetch_max_wait_ms: int) -> AIOKafkaConsumer:
    """A consumer without a group that reads from the beginning and commits nothing."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


async def create_topics(bootstrap: str, names: Sequence[str]) -> None:
    """New topics of the benches' partition count (one replica)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    finally:
        await admin.close()


async def send_record(producer: AIOKafkaProducer, topic: str, record: KafkaRecord) -> asyncio.Future[Any]:
    """Hand one encoded event to the producer as the services send it (CloudEvents binary mode); its ack."""
    headers = [(k, v.encode()) for k, v in record.headers.items()]
    future: asyncio.Future[Any] = await producer.send(topic, record.value, key=record.key, headers=headers)
    return future


async def produce_rate(
    producer: AIOKafkaProducer, topic: str, values: Sequence[bytes], *, messages: int, key: Callable[[int], bytes]
) -> float:
    """Messages per second with all `messages` in flight, then flushed, after 200 warm-up sends (metadata: the
    leaders of a new topic; connections; the producer id)."""
    for n in range(200):
        await producer.send(topic, values[0], key=key(n))
    await producer.flush()
    started = time.monotonic()
    futures = [await producer.send(topic, values[n % len(values)], key=key(n)) for n in range(messages)]
    await producer.flush()
    await asyncio.gather(*futures)
    return messages / (time.monotonic() - started)


@dataclass(frozen=True)
class Consumed:
    """One record as a tap consumed it."""

    kind: str  # its CloudEvents type (ce_type)
    key: str
    headers: dict[str, str]
    value: bytes
    created: float  # the record's CreateTime (its producer's clock), epoch seconds
    at: float  # when getmany handed it over, time.monotonic()
    wall: float  # the same moment, epoch seconds


class Tap:
    """Reads a topic from the beginning in the background for the whole run, counting its records by type; a
    bench's tap keeps what it needs of each in `note`."""

    def __init__(self, bootstrap: str, topic: str, *, fetch_max_wait_ms: int, max_records: int) -> None:
        self.topic = topic
        self.counts: Counter[str] = Counter()
        self._consumer = make_reader(bootstrap, topic, fetch_max_wait_ms=fetch_max_wait_ms)
        self._max_records = max_records
        self._task: asyncio.Task[None] | None = None

    def note(self, record: Consumed) -> None:
        """What the bench keeps of a record (here: nothing beyond the count)."""

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"tap:{self.topic}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=self._max_records)
            at, wall = time.monotonic(), time.time()
            for records in batches.values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers}
                    kind = headers.get("ce_type", "")
                    self.counts[kind] += 1
                    key = (record.key or b"").decode()
                    self.note(Consumed(kind, key, headers, record.value, record.timestamp / 1000, at, wall))
