"""An append-only event store on Mongo: each subject's history as a chain of commits, no transactions.

A commit holds the events one command decided, all or nothing. Its `_id` is the subject and the
sequence of its first event, so two writers who read the same version collide on the insert:
that is the optimistic concurrency check, and it needs no index beyond `_id` - the only one FerretDB's
SQLite backend answers from. A commit may also carry the request key that caused it and the answer
given, so a retried request is recognised and answered as the first time.

Writes go through group commit (`BulkWriter`): the markers and commits of concurrent appends reach the
server as one bulk each, while every append still learns its own outcome.

Reading walks the chain by `_id`. Recently read histories are kept in memory; since commits never
change, a cached history is only ever extended, by probing for the commit after its last one.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from switchboard.events import Envelope, EventPayload, decode

from .batching import BulkWriter
from .commits import commit_document, commit_id, ensure_outbox_indexes, pending_marker
from .conflicts import DEFAULT_RETRY, ConcurrencyConflict, Retry, retry_conflicts

Document = dict[str, Any]


@dataclass(frozen=True)
class Stream:
    """A subject's history as read: its events, version, last commit, and the requests it has answered."""

    subject: str
    events: tuple[Envelope, ...] = ()
    last_commit: str | None = None
    answered: dict[str, Document] = field(default_factory=dict)  # request key -> {"hash", "response"}

    @property
    def version(self) -> int:
        return len(self.events)

    @property
    def payloads(self) -> list[EventPayload]:
        return [e.data for e in self.events]


class EventStore:
    """Subjects' histories in one collection of commits, which is also the outbox."""

    def __init__(
        self,
        commits: AsyncCollection[Document],
        pending: AsyncCollection[Document],
        *,
        source: str,
        namespace: str,
        cache_size: int = 20_000,
    ):
        self.commits = commits
        self.pending = pending
        self._source = source
        self._namespace = namespace
        self._cache: OrderedDict[str, Stream] = OrderedDict()
        self._cache_size = cache_size
        self._commit_writes = BulkWriter(commits)
        self._marker_writes = BulkWriter(pending)

    async def setup(self) -> None:
        await ensure_outbox_indexes(self.pending)

    async def read(self, subject: str, *, fresh: bool = True) -> Stream:
        """The subject's whole history (an empty stream when it has none).

        `fresh=False` answers from memory when it can: for a write about to be appended, a stale
        history is harmless, because the append then collides with the commit it missed and the
        writer reads again. Reads shown to people always look for newer commits.
        """
        cached = self._cache.get(subject)
        if cached is not None and not fresh:
            self._cache.move_to_end(subject)
            return cached
        stream = cached or Stream(subject)
        events = list(stream.events)
        answered = dict(stream.answered)
        last = stream.last_commit
        while (commit := await self.commits.find_one({"_id": commit_id(subject, len(events) + 1)})) is not None:
            events.extend(decode(r["value"], r["headers"]) for r in commit["records"])
            if commit.get("request_key"):
                answered[commit["request_key"]] = {
                    "hash": commit.get("request_hash"),
                    "response": commit.get("response"),
                }
            last = commit["_id"]
        current = Stream(subject, tuple(events), last, answered)
        if current.version:
            self._remember(current)
        return current

    async def append(
        self,
        stream: Stream,
        events: Sequence[EventPayload],
        *,
        now: datetime,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        cause: Envelope | None = None,
        event_ids: Sequence[str] | None = None,
        request_key: str | None = None,
        request_hash: str | None = None,
        response: Document | None = None,
    ) -> tuple[Stream, Document]:
        """Store `events` after `stream` as one commit; raises ConcurrencyConflict if `stream` is stale.

        Returns the extended stream and the stored commit (for the outbox relay).
        """
        envelopes: list[Envelope] = []
        for offset, event in enumerate(events):
            envelopes.append(
                Envelope.new(
                    event,
                    source=self._source,
                    subject=stream.subject,
                    sequence=stream.version + offset + 1,
                    time=now,
                    cause=cause,
                    causationid=causation_id,
                    event_id=event_ids[offset] if event_ids else None,
                    correlationid=correlation_id or (envelopes[0].correlationid if envelopes else None),
                )
            )
        commit = commit_document(envelopes, namespace=self._namespace, previous=stream.last_commit)
        if request_key is not None:
            commit |= {"request_key": request_key, "request_hash": request_hash, "response": response}
        # A marker already there names the same commit id (a concurrent or earlier writer's): just as good.
        with contextlib.suppress(DuplicateKeyError):
            await self._marker_writes.insert(pending_marker(commit))
        try:
            await self._commit_writes.insert(commit)
        except DuplicateKeyError as exc:
            self._cache.pop(stream.subject, None)
            raise ConcurrencyConflict(f"{stream.subject} changed meanwhile") from exc
        answered = dict(stream.answered)
        if request_key is not None:
            answered[request_key] = {"hash": request_hash, "response": response}
        extended = Stream(stream.subject, stream.events + tuple(envelopes), commit["_id"], answered)
        self._remember(extended)
        return extended, commit

    async def append_once(
        self,
        subject: str,
        events: Sequence[EventPayload],
        event_ids: Sequence[str],
        *,
        now: datetime,
        cause: Envelope | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        retry: Retry = DEFAULT_RETRY,
        new_subject: bool = False,
    ) -> Document | None:
        """Store reactions whose ids derive from their cause, skipping any already stored.

        The way a reaction stays exactly-once: a redelivered cause, or another process deciding the same
        thing, finds the ids already in the subject's history. Returns the new commit (for the relay), or
        None when everything was stored before.

        `new_subject` says the cause is what starts the subject's history here (a ticket opened): the first
        try then skips looking for a history it does not have in memory. That is safe because a history
        it missed makes the insert collide, and the retry reads it.
        """

        async def attempt(n: int) -> Document | None:
            if n == 0 and new_subject and subject not in self._cache:
                stream = Stream(subject)
            else:
                stream = await self.read(subject, fresh=n > 0)
            known = {e.id for e in stream.events}
            fresh = [(i, e) for i, e in zip(event_ids, events, strict=True) if i not in known]
            if not fresh:
                return None
            _, commit = await self.append(
                stream,
                [e for _, e in fresh],
                now=now,
                cause=cause,
                correlation_id=correlation_id,
                causation_id=causation_id,
                event_ids=[i for i, _ in fresh],
            )
            return commit

        return await retry_conflicts(attempt, what=f"{subject} ({len(event_ids)} event(s) to store)", retry=retry)

    def _remember(self, stream: Stream) -> None:
        self._cache[stream.subject] = stream
        self._cache.move_to_end(stream.subject)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
