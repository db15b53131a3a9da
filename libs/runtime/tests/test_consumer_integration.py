"""The consumer on a real broker: poison goes to the dead-letter topic, everything valid is handled."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from switchboard.events import Envelope, encode
from switchboard.events.topics import TICKETS
from switchboard.runtime.consumer import DeadLetters, EventConsumer
from switchboard.runtime.kafka import deadletter_topic, ensure_topics, make_broker
from switchboard.runtime.settings import ServiceSettings

from tests.factories import ticket_opened

pytestmark = pytest.mark.integration


def opened(ticket_id: str) -> Envelope:
    return Envelope.new(ticket_opened(ticket_id, datetime.now(UTC)), source="/test", subject=ticket_id, sequence=1)


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


async def test_handled_positions_are_committed_so_a_restart_resumes_after_them(servers: Any, namespace: str) -> None:
    """The background committer keeps at-least-once: what was handled is not read again, nothing is skipped."""
    settings = ServiceSettings(kafka_bootstrap_servers=servers.kafka_bootstrap, namespace=namespace, topic_partitions=2)
    await ensure_topics(settings)
    topic = TICKETS.qualified(namespace)
    group = f"{namespace}.resume"

    async def publish(names: list[str]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap)
        await producer.start()
        try:
            for name in names:
                record = encode(opened(name))
                await producer.send_and_wait(
                    topic, record.value, key=record.key, headers=[(k, v.encode()) for k, v in record.headers.items()]
                )
        finally:
            await producer.stop()

    async def run_until(expected: set[str], *, stop_after_s: float = 0.0) -> list[str]:
        handled: list[str] = []

        async def handler(batch: Sequence[Envelope]) -> None:
            handled.extend(e.subject for e in batch)

        broker = make_broker(settings, service="test")
        EventConsumer(
            broker=broker,
            name="resume",
            group_id=group,
            topics=[TICKETS],
            namespace=namespace,
            handler=handler,
            deadletters=DeadLetters(broker, deadletter_topic(settings), group=group),
        )
        await broker.start()
        try:
            for _ in range(300):
                if expected <= set(handled):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(stop_after_s)
        finally:
            await broker.stop()
        return handled

    await publish([f"a{i}" for i in range(20)])
    first = await run_until({f"a{i}" for i in range(20)}, stop_after_s=1.0)  # the committer has had its turn
    assert sorted(set(first)) == sorted(f"a{i}" for i in range(20))

    await publish([f"b{i}" for i in range(10)])
    second = await run_until({f"b{i}" for i in range(10)}, stop_after_s=1.0)
    assert sorted(second) == sorted(f"b{i}" for i in range(10)), "only what came after the commit is read again"
