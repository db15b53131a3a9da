"""Intake's event store in Mongo: each ticket's commits under optimistic concurrency, and references."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from switchboard.events import Envelope, EventPayload, decode
from switchboard.runtime.mongo import Document
from switchboard.runtime.outbox import commit_document, commit_id, ensure_outbox_indexes

SOURCE = "/switchboard/intake"


class ConcurrencyConflict(Exception):
    """Someone else appended to the ticket since it was read; re-read and decide again."""


class TicketStore:
    """Append-only ticket history; the same documents are the outbox the relay publishes."""

    def __init__(self, db: AsyncDatabase[Document], *, namespace: str, reference_block: int = 50) -> None:
        self.commits = db["ticket_commits"]
        self.leases = db["leases"]
        self._counters = db["counters"]
        self._namespace = namespace
        self._block = reference_block
        self._next_ref = 0
        self._ref_limit = 0
        self._ref_lock = asyncio.Lock()

    async def setup(self) -> None:
        await ensure_outbox_indexes(self.commits)

    async def load(self, ticket_id: str) -> tuple[list[EventPayload], str | None]:
        """Every event of a ticket in sequence order, and the id of its last commit.

        Commits are chained by sequence, so the history is read by `_id` look-ups, one per commit.
        """
        events: list[EventPayload] = []
        last: str | None = None
        sequence = 1
        while (commit := await self.commits.find_one({"_id": commit_id(ticket_id, sequence)})) is not None:
            events.extend(decode(r["value"], r["headers"]).data for r in commit["records"])
            last = commit["_id"]
            sequence = int(commit["last_sequence"]) + 1
        return events, last

    async def append(
        self,
        ticket_id: str,
        *,
        expected_version: int,
        previous_commit: str | None,
        events: Sequence[EventPayload],
        now: datetime,
        correlation_id: str | None = None,
    ) -> Document:
        """Store a command's events atomically after `expected_version`; raises ConcurrencyConflict.

        Returns the stored commit, for the outbox relay to publish.
        """
        envelopes: list[Envelope] = []
        for offset, event in enumerate(events, start=1):
            envelopes.append(
                Envelope.new(
                    event,
                    source=SOURCE,
                    subject=ticket_id,
                    sequence=expected_version + offset,
                    time=now,
                    correlationid=correlation_id or (envelopes[0].correlationid if envelopes else None),
                )
            )
        commit = commit_document(envelopes, namespace=self._namespace, previous=previous_commit)
        try:
            await self.commits.insert_one(commit)
        except DuplicateKeyError as exc:
            raise ConcurrencyConflict(f"ticket {ticket_id} changed meanwhile") from exc
        return commit

    async def next_reference_number(self) -> int:
        """Ticket reference numbers, unique across replicas, taken from Mongo a block at a time."""
        async with self._ref_lock:
            if self._next_ref >= self._ref_limit:
                doc = await self._counters.find_one_and_update(
                    {"_id": "ticket_reference"},
                    {"$inc": {"value": self._block}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                assert doc is not None
                self._ref_limit = int(doc["value"]) + 1
                self._next_ref = self._ref_limit - self._block
            number = self._next_ref
            self._next_ref += 1
            return number
