"""The consumer on a real broker: poison goes to the dead-letter topic, everything valid is handled."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from switchboard.events import Envelope, encode
from switchboard.events.common import Channel
from switchboard.events.tickets import Requester, TicketOpened
from switchboard.events.topics import TICKETS
from switchboard.runtime.consumer import DeadLetters, EventConsumer
from switchboard.runtime.kafka import deadletter_topic, ensure_topics, make_broker
from switchboard.runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration


def opened(ticket_id: str) -> Envelope:
    data = TicketOpened(
        ticket_id=ticket_id,
        reference="SB-1",
        subject="s",
        channel=Channel.CHAT,
        requester=Requester(customer_id="c"),
        opened_at=datetime.now(UTC),
    )
    return Envelope.new(data, source="/test", subject=ticket_id, sequence=1)


async def test_poison_is_dead_lettered_and_the_consumer_carries_on(servers: Any, namespace: str) -> None:
    settings = ServiceSettings(kafka_bootstrap_servers=servers.kafka_bootstrap, namespace=namespace, topic_partitions=1)
    await ensure_topics(settings)
    handled: list[str] = []

    async def handler(batch: Sequence[Envelope]) -> None:
        for envelope in batch:
            if envelope.subject == "explodes":
                raise RuntimeError("this ticket always fails")
            handled.append(envelope.subject)

    broker = make_broker(settings, service="test")
    group = f"{namespace}.test"
    EventConsumer(
        broker=broker,
        name="test",
        group_id=group,
        topics=[TICKETS],
        namespace=namespace,
        handler=handler,
        deadletters=DeadLetters(broker, deadletter_topic(settings), group=group),
        max_attempts=3,
        retry_backoff_s=0.01,
    )

    producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap)
    await producer.start()
    topic = TICKETS.qualified(namespace)
    try:
        for envelope in (opened("first"), None, opened("explodes"), opened("last")):
            if envelope is None:
                await producer.send_and_wait(topic, b"\xff not an event", key=b"x", headers=[("ce_type", b"junk")])
            else:
                record = encode(envelope)
                await producer.send_and_wait(
                    topic, record.value, key=record.key, headers=[(k, v.encode()) for k, v in record.headers.items()]
                )
    finally:
        await producer.stop()

    await broker.start()
    try:
        for _ in range(200):
            if "last" in handled:
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
    # At least once: the failed batch is retried event by event, so "first" may be seen twice (handlers
    # are idempotent); what matters is that the valid events are all handled and in order.
    assert sorted(set(handled)) == ["first", "last"]
    assert handled[-1] == "last"

    dead = AIOKafkaConsumer(
        deadletter_topic(settings),
        bootstrap_servers=servers.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await dead.start()
    try:
        batches = await dead.getmany(timeout_ms=5000)
        records = [r for rs in batches.values() for r in rs]
    finally:
        await dead.stop()
    reasons = sorted(dict(r.headers)["dlq_reason"].decode() for r in records)
    assert reasons == ["handler_failed", "undecodable"]
    junk = next(r for r in records if dict(r.headers)["dlq_reason"] == b"undecodable")
    assert junk.value == b"\xff not an event"  # kept unchanged for re-driving
    assert dict(junk.headers)["dlq_topic"].decode() == topic
    assert b"missing headers" in dict(junk.headers)["dlq_error"]
