"""Catalogue topics are created kept forever, since a rebuild folds them from offset 0; the broker is asked."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from switchboard.events.topics import ALL, TICKETS
from switchboard.runtime.kafka import ensure_topics
from switchboard.runtime.settings import ServiceSettings

from tests.harness import Servers

pytestmark = pytest.mark.integration


async def test_catalogue_topics_are_created_with_unlimited_retention(servers: Servers, namespace: str) -> None:
    settings = ServiceSettings(kafka_bootstrap_servers=servers.kafka_bootstrap, namespace=namespace)
    await ensure_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, TICKETS.qualified(namespace))]
        )
        entries = {entry[0]: entry[1] for entry in response.resources[0][4]}
    finally:
        await admin.close()
    assert entries["retention.ms"] == "-1" and entries["retention.bytes"] == "-1"
    assert all(topic.kept_forever for topic in ALL)
