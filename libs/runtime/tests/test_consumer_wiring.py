"""The consumer's wiring under FastStream's in-memory broker: what a service subscribes reaches its handler
decoded, and what does not decode goes to the dead-letter topic. The same paths on a real broker are in
test_consumer_integration.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from switchboard.events import Envelope, encode
from switchboard.events.topics import INTERACTIONS, TICKETS
from switchboard.runtime.kafka import deadletter_topic
from switchboard.runtime.service import Runtime
from switchboard.runtime.settings import ServiceSettings

from tests.factories import ticket_opened

pytestmark = pytest.mark.unit


def opened(ticket_id: str) -> Envelope:
    data = ticket_opened(ticket_id, datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    return Envelope.new(data, source="/test", subject=ticket_id, sequence=1)


async def test_a_subscribed_topic_reaches_the_handler_decoded_and_poison_is_dead_lettered() -> None:
    settings = ServiceSettings(namespace="wiring")
    runtime = Runtime.create("wiring", settings)
    handled: list[Envelope] = []
    dead: list[tuple[bytes, dict[str, str]]] = []

    async def handler(batch: Sequence[Envelope]) -> None:
        handled.extend(batch)

    consumer = runtime.subscribe((TICKETS, INTERACTIONS), handler)

    @runtime.broker.subscriber(deadletter_topic(settings))
    async def deadletters(message: KafkaMessage) -> None:
        dead.append((message.body, {k: str(v) for k, v in message.headers.items()}))

    envelope = opened("t-1")
    record = encode(envelope)
    async with TestKafkaBroker(runtime.broker) as broker:
        await broker.publish(record.value, TICKETS.qualified("wiring"), key=record.key, headers=record.headers)
        await broker.publish(b"not an event", TICKETS.qualified("wiring"), key=b"t-2", headers={"ce_type": "nope"})

    assert consumer.name == "wiring"
    assert [(e.id, e.type, e.subject) for e in handled] == [(envelope.id, "support.ticket.opened.v1", "t-1")]
    assert handled[0].data == envelope.data
    assert len(dead) == 1
    body, headers = dead[0]
    assert body == b"not an event"
    assert headers["dlq_reason"] == "undecodable"
    assert headers["dlq_topic"] == TICKETS.qualified("wiring")
    assert headers["dlq_consumer_group"] == "wiring.switchboard-wiring-main"
