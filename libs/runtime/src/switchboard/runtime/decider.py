"""The one path by which a service changes a subject it owns: load it, let the pure rules decide, append, retry.

A command on a ticket, a customer or an account, and every input to a ticket's SLA clocks, goes the same way:

1. load the subject (its state and the requests it has already answered) from its *ledger*;
2. a request seen before (same idempotency key, same channel message id) is answered as the first time, and
   nothing is stored; the same key with other content is refused (`RequestReused`);
3. the pure `decide(state, now)` returns what to store and what to answer;
4. the ledger appends it after exactly the version it loaded, with the outbox marker, and the new commit goes
   to the relay; if someone else wrote first (`ConcurrencyConflict`) the subject is loaded again (from the
   store, not from memory) and decided again, after a short random pause, a bounded number of times.

Writes to one subject queue up inside a process (a lock per subject), so only other replicas can get in first.
A ledger is where one kind of subject lives: `History` keeps subjects whose state is the fold of their event
history (intake's tickets, customers and accounts); a service whose state is not a fold of its own events (SLA's
clocks) gives its own ledger with the same two methods.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import Counter
from switchboard.events import EventPayload

from .conflicts import DEFAULT_RETRY, Retry, retry_conflicts
from .eventstore import EventStore, Stream
from .locks import KeyedLocks

Document = dict[str, Any]
S = TypeVar("S")

RETRIED = Counter(
    "switchboard_write_conflicts_total",
    "Writes decided again because another writer got in first, by kind of subject.",
    ["ledger"],
)


@dataclass(frozen=True)
class Request:
    """Who asked, and how to recognise the same request again."""

    key: str | None = None  # an idempotency key (scoped to the caller) or a channel's own message id
    hash: str | None = None  # of what was asked: the same key with other content is refused
    actor_id: str | None = None
    correlation_id: str | None = None


NO_REQUEST = Request()


def content_hash(payload: Any) -> str:
    """A stable digest of a request's content, to tell a retry from a reuse of its key."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class RequestReused(ValueError):
    """An idempotency key already answered a different request."""


@dataclass(frozen=True)
class Outcome:
    """The answer to give; `replayed` when it is the first answer to a repeated request (nothing stored now)."""

    response: Document
    replayed: bool = False


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """A subject as read: its state, the requests it answered, and where the ledger must append after."""

    subject: str
    state: S
    answered: Mapping[str, Document] = field(default_factory=dict)  # request key -> {"hash", "response"}
    position: Any = None  # the ledger's own: the stream read, or the version of a state document


@dataclass(frozen=True)
class Decision:
    """What the rules decided: events to store (none is fine), the answer, and - for ledgers that keep their
    state beside their events - the state to store (None: unchanged). `event_ids` are given when the events'
    ids derive from what they are about, so that a second decision of the same thing is stored once."""

    events: Sequence[EventPayload]
    response: Document = field(default_factory=dict)
    state: Any = None
    event_ids: Sequence[str] | None = None

    @property
    def changes(self) -> bool:
        return bool(self.events) or self.state is not None


class Ledger(Protocol[S]):
    """Where one kind of subject lives."""

    name: str

    async def load(self, subject: str, *, fresh: bool) -> Loaded[S]:
        """The subject now; `fresh=False` may answer from memory (a stale read only makes the append collide)."""
        ...

    async def append(
        self, loaded: Loaded[S], decision: Decision, *, now: datetime, request: Request
    ) -> Document | None:
        """Store `decision` right after `loaded`; returns the commit for the relay (None when no event was new).

        Raises `ConcurrencyConflict` when `loaded` is no longer the latest version.
        """
        ...


class Relay(Protocol):
    def submit(self, commit: Document) -> None: ...


class History(Generic[S]):
    """Subjects whose state is the fold of their history in an event store: tickets, customers, accounts."""

    def __init__(self, events: EventStore, fold: Callable[[str, Sequence[EventPayload]], S], *, name: str) -> None:
        self.events = events
        self.fold = fold
        self.name = name

    async def read(self, subject: str) -> tuple[S, Stream]:
        """The subject's state and its history, for reads shown to people (always looks for newer commits)."""
        stream = await self.events.read(subject)
        return self.fold(subject, stream.payloads), stream

    async def load(self, subject: str, *, fresh: bool) -> Loaded[S]:
        stream = await self.events.read(subject, fresh=fresh)
        return Loaded(subject, self.fold(subject, stream.payloads), stream.answered, stream)

    async def append(
        self, loaded: Loaded[S], decision: Decision, *, now: datetime, request: Request
    ) -> Document | None:
        _, commit = await self.events.append(
            loaded.position,
            decision.events,
            now=now,
            correlation_id=request.correlation_id,
            event_ids=decision.event_ids,
            request_key=request.key,
            request_hash=request.hash,
            response=decision.response if request.key is not None else None,
        )
        return commit


class Decider:
    """Runs `decide` on subjects' latest state and stores the result, per the module's steps."""

    def __init__(
        self, *, relay: Relay, clock: Callable[[], datetime] | None = None, retry: Retry = DEFAULT_RETRY
    ) -> None:
        self.relay = relay
        self.clock = clock or (lambda: datetime.now(UTC))
        self.retry = retry
        self._locks = KeyedLocks()

    async def run(
        self,
        ledger: Ledger[S],
        subject: str,
        decide: Callable[[S, datetime], Decision],
        *,
        request: Request = NO_REQUEST,
        now: datetime | None = None,
    ) -> Outcome:
        """Decide on the subject's latest state and store the result; `now` defaults to the clock's.

        Raises what `decide` raises (a rule refusing the command), `RequestReused`, or `ConcurrencyConflict`
        when the subject kept changing through every attempt.
        """

        async def attempt(n: int) -> Outcome:
            loaded = await ledger.load(subject, fresh=n > 0)
            if request.key is not None and request.key in loaded.answered:
                return replay(loaded.answered[request.key], request)
            at = now or self.clock()
            decision = decide(loaded.state, at)
            if not decision.changes:
                return Outcome(decision.response)
            commit = await ledger.append(loaded, decision, now=at, request=request)
            if commit is not None:
                self.relay.submit(commit)
            return Outcome(decision.response)

        async with self._locks.hold(subject):
            return await retry_conflicts(
                attempt,
                what=f"{ledger.name} {subject}",
                retry=self.retry,
                on_retry=RETRIED.labels(ledger.name).inc,
            )


def replay(answered: Document, request: Request) -> Outcome:
    """The first answer to a repeated request; a reused key with other content is refused."""
    if request.hash is not None and answered.get("hash") not in (None, request.hash):
        raise RequestReused("this Idempotency-Key was already used for a different request")
    return Outcome(dict(answered.get("response") or {}), replayed=True)
