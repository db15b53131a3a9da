"""Events grouped by topic, each group in log order: how a test (or a replay) sees what ordering Kafka keeps."""

from __future__ import annotations

from collections.abc import Sequence

from switchboard.events import Envelope
from switchboard.events.topics import topic_of


def by_topic(events: Sequence[Envelope]) -> dict[str, list[Envelope]]:
    lanes: dict[str, list[Envelope]] = {}
    for event in events:
        lanes.setdefault(topic_of(event.data).name, []).append(event)
    return lanes
