"""The commit: the one document a command's events are stored in, ready for the outbox relay to send.

A commit is written once and never changed. Its `_id` is the subject and the sequence of its first event,
so two writers who read the same version collide on the insert (the event store's concurrency check). It
holds the events as Kafka records (topic, key, value, headers) encoded when they are stored, so publishing
is a copy, not a re-encoding. Just before a commit, a small *pending marker* with the same `_id` is
written; the relay deletes it once Kafka has the commit's events, so "what is unpublished" is the markers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from switchboard.events import Envelope, encode
from switchboard.events.topics import topic_of

Document = dict[str, Any]


def commit_id(subject: str, first_sequence: int) -> str:
    """A commit's `_id`. Two writers that read the same version of a subject collide on it."""
    return f"{subject}/{first_sequence:010d}"


def commit_document(envelopes: Sequence[Envelope], *, namespace: str, previous: str | None) -> Document:
    """One atomic write: the events a command decided, as Kafka records ready to send.

    `previous` is the `_id` of the subject's commit this one follows (None for the first), which
    the relay checks is published before publishing this one.
    """
    first = envelopes[0]
    if first.sequence is None:
        raise ValueError("commits are for sequenced events")
    records = []
    for envelope in envelopes:
        record = encode(envelope)
        records.append(
            {
                "event_id": envelope.id,
                "type": envelope.type,
                "topic": topic_of(envelope.data).qualified(namespace),
                "key": record.key,
                "value": record.value,
                "headers": record.headers,
            }
        )
    return {
        "_id": commit_id(first.subject, first.sequence),
        "subject": first.subject,
        "sequence": first.sequence,
        "last_sequence": envelopes[-1].sequence,
        "previous": previous,
        "records": records,
        "stored_at": datetime.now(UTC),
    }


def pending_marker(commit: Document) -> Document:
    """What the sweep needs to find an unpublished commit, written just before the commit itself."""
    return {"_id": commit["_id"], "subject": commit["subject"], "stored_at": commit["stored_at"]}


async def ensure_outbox_indexes(pending: AsyncCollection[Document]) -> None:
    """Lets MongoDB sweep the markers in storing order without sorting them all."""
    await pending.create_index([("stored_at", ASCENDING)], name="stored_at")
