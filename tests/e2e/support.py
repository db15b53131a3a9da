"""What the end-to-end tests share beyond the harness: events published as a service publishes them, a ticket's
events read back from a topic, and waiting for what the services make of them, with a deadline."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from switchboard.events import Envelope, encode

T = TypeVar("T")


async def until(check: Callable[[], Awaitable[T]], deadline_s: float = 30) -> T:
    """`check()`'s first truthy answer, polled every 0.3 s; its last answer (falsy) when the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.3)
    return await check()


async def send(producer: Any, topic: str, envelope: Envelope) -> None:
    """One event on `topic` (fully qualified), keyed and headed as the outbox relay publishes it."""
    record = encode(envelope)
    await producer.send_and_wait(
        topic, record.value, key=record.key, headers=[(k, v.encode()) for k, v in record.headers.items()]
    )


async def publish(bootstrap: str, events: Iterable[tuple[str, Envelope]]) -> None:
    """Each `(topic, envelope)` in order, through one producer."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for topic, envelope in events:
            await send(producer, topic, envelope)
    finally:
        await producer.stop()


def ticket_events(records: Iterable[Any], ticket_id: str) -> list[dict[str, Any]]:
    """The ticket's events among Kafka `records`, in order: each its type and id (from the CloudEvents headers)
    with its data."""
    return [
        {"type": dict(r.headers)["ce_type"].decode(), "id": dict(r.headers)["ce_id"].decode(), **json.loads(r.value)}
        for r in records
        if r.key == ticket_id.encode()
    ]
