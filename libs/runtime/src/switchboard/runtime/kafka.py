"""The Kafka side of a service: one broker per process, topics created idempotently, typed publishers."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY
from switchboard.events.topics import ALL, DEADLETTER_NAME, Topic

from .settings import ServiceSettings

log = structlog.get_logger(__name__)


def make_broker(settings: ServiceSettings, *, service: str) -> KafkaBroker:
    """An idempotent, acks=all producer and the consumers' connection, with Prometheus metrics."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers.split(","),
        client_id=f"switchboard-{service}",
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        graceful_timeout=settings.graceful_timeout_s,
        allow_auto_create_topics=False,
        middlewares=[KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service)],
        logger=logging.getLogger("switchboard.broker"),
        log_level=logging.DEBUG,  # one line per message is noise at INFO; errors are still logged
        description=f"Switchboard {service} service",
    )


def declare_publisher(broker: KafkaBroker, topic: Topic, *, namespace: str) -> Any:
    """A publisher for a catalogue topic, so the AsyncAPI document lists what the service emits."""
    union: Any = topic.events[0]
    for model in topic.events[1:]:
        union = union | model
    return broker.publisher(
        topic.qualified(namespace), title=f"{topic.name}:publish", description=topic.description, schema=union
    )


async def ensure_topics(settings: ServiceSettings, topics: tuple[Topic, ...] = ALL) -> list[str]:
    """Create the catalogue's topics and the dead-letter topic if missing; harmless when they exist."""
    configs = {t.qualified(settings.namespace): t.configs for t in topics}
    names = [*configs, f"{settings.namespace}.{DEADLETTER_NAME}" if settings.namespace else DEADLETTER_NAME]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers.split(","))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            new = [
                NewTopic(n, settings.topic_partitions, settings.topic_replication, topic_configs=configs.get(n, {}))
                for n in missing
            ]
            with contextlib.suppress(TopicAlreadyExistsError):  # a replica created them meanwhile
                await admin.create_topics(new)
            log.info("topics created", topics=missing, partitions=settings.topic_partitions)
        return names
    finally:
        await admin.close()


async def ensure_topic(settings: ServiceSettings, name: str, *, partitions: int) -> str:
    """Create one topic (namespaced) with a fixed partition count, if missing."""
    qualified = f"{settings.namespace}.{name}" if settings.namespace else name
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers.split(","))
    await admin.start()
    try:
        if qualified not in set(await admin.list_topics()):
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(qualified, partitions, settings.topic_replication)])
        return qualified
    finally:
        await admin.close()


def deadletter_topic(settings: ServiceSettings) -> str:
    """The dead-letter topic's name on the broker."""
    return f"{settings.namespace}.{DEADLETTER_NAME}" if settings.namespace else DEADLETTER_NAME
