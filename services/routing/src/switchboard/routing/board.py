"""The assigner: one process at a time applies every assignment input, in one order, to the board.

Agents' capacity is shared by all tickets, so assignment needs a single writer and a single order. Both
come from Kafka: inputs (a ticket routed, an agent's presence, a ticket released, a reply, a silent
assignee, a roster change) are published to a one-partition internal topic, and the consumer group on it
gives that partition to exactly one routing process. That process rebuilds the board by replaying the
topic from the beginning and then keeps applying inputs. Its decisions get ids derived from their input
and are stored in routing's event store before the relay publishes them: if two processes ever apply the
same input (a rebalance), they decide the same events with the same ids, and the second is a no-op.

A newly opened ticket's routing decision (`ticket routed`) travels inside its board input and is stored by
the assigner, in one commit with the assignment it leads to: one write per ticket instead of two, and no
store round trip before the board hears of the ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge, Histogram
from pydantic import BaseModel, ConfigDict
from switchboard.events import EventPayload, reaction_id
from switchboard.events.common import Channel, Presence, Priority
from switchboard.events.routing import AgentPresenceChanged, TicketRouted
from switchboard.runtime.latency import STAGE_BUCKETS
from switchboard.runtime.outbox import OutboxRelay

from .domain.assignment import (
    Board,
    RoutedTicket,
    empty_board,
    on_agent_responded,
    on_no_response,
    on_presence,
    on_released,
    on_roster_changed,
    on_routed,
)
from .domain.roster import Roster, RosterError
from .store import RoutingStore

log = structlog.get_logger(__name__)
DECISIONS = Counter("switchboard_routing_board_decisions_total", "Assignment decisions made.", ["kind"])


class Decision(NamedTuple):
    """One event the board decided, with the id its input gives it and the moment it was decided."""

    subject: str
    event: EventPayload
    event_id: str
    at: datetime
    input_id: str
    causation_id: str | None = None  # set when the input carries its cause (a routed ticket's `ticket opened`)
    correlation_id: str | None = None


WAITED = Histogram(
    "switchboard_routing_board_wait_seconds",
    "From an input's write to the board topic to its application: the assigner's queueing.",
    buckets=STAGE_BUCKETS,
)
STORED_IN = Histogram(
    "switchboard_routing_board_store_seconds", "Time to store one batch's decisions.", buckets=STAGE_BUCKETS
)
INPUTS = Gauge("switchboard_routing_board_inputs_applied", "Inputs applied to the board since it was rebuilt.")


class BoardInput(BaseModel):
    """One input to the board, in the order the internal topic gives it."""

    model_config = ConfigDict(frozen=True)

    id: str  # the cause (event id or request id): an input seen twice is applied once
    kind: Literal["routed", "presence", "released", "responded", "no_response", "roster"]
    time: datetime
    ticket_id: str | None = None
    queue_id: str | None = None
    channel: Channel | None = None
    priority: Priority | None = None
    skills: dict[str, int] | None = None
    language: str | None = None
    agent_id: str | None = None
    presence: Presence | None = None
    reason: Literal["solved", "reassigned", "escalated", "manual"] | None = None
    roster_version: int | None = None
    routed: TicketRouted | None = None  # the routing decision to store with the assignment (a new ticket)
    correlation_id: str | None = None  # of the event that caused this input, for the decisions it carries


class Assigner:
    """Publishes inputs; and, in the process that owns the board partition, applies them."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        store: RoutingStore,
        relay: OutboxRelay,
        topic: str,
        bootstrap: str,
        group_id: str,
        no_response_check_s: float,
    ) -> None:
        self._broker = broker
        self._store = store
        self._relay = relay
        self._topic = topic
        self._bootstrap = bootstrap
        self._group = group_id
        self._check_every = no_response_check_s
        self.board: Board = empty_board(Roster())
        self._seen: set[str] = set()
        self._rebuild = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.owner = False

    async def submit(self, item: BoardInput) -> None:
        """Durably hand an input to the assigner (acked by Kafka before this returns)."""
        await self._broker.publish(item.model_dump_json().encode(), self._topic, key=b"board")

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._consume(), name="routing-board"),
            asyncio.create_task(self._watch_silence(), name="routing-no-response"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _consume(self) -> None:
        assigner = self

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: Any) -> None:
                assigner.owner = False

            async def on_partitions_assigned(self, assigned: Any) -> None:
                assigner.owner = bool(assigned)
                if assigned:
                    assigner._rebuild.set()

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        consumer.subscribe([self._topic], listener=Listener())
        await consumer.start()
        replay_until = 0  # inputs before this offset were applied before, by this process or another
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                if self._rebuild.is_set():
                    self._rebuild.clear()
                    self.board, self._seen = empty_board(Roster()), set()
                    INPUTS.set(0)
                    await consumer.seek_to_beginning()
                    replay_until = max((await consumer.end_offsets(list(consumer.assignment()))).values(), default=0)
                    log.info("rebuilding the assignment board from the beginning of its inputs", inputs=replay_until)
                    continue
                pending: list[Decision] = []
                started = time.time()
                replaying = False
                for records in batches.values():
                    for record in records:
                        WAITED.observe(max(0.0, started - record.timestamp / 1000))
                        replaying = replaying or record.offset < replay_until
                        pending += await self._apply_logged(record.value)
                if pending:
                    with STORED_IN.time():
                        await self._persist(pending, replaying=replaying)
        finally:
            await consumer.stop()

    async def _apply_logged(self, value: bytes) -> list[Decision]:
        """An input that cannot be applied is logged and skipped, never allowed to stop the assigner."""
        try:
            return await self._apply(BoardInput.model_validate_json(value))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("assignment input failed; skipped")
            return []

    async def _persist(self, pending: list[Decision], *, replaying: bool) -> None:
        """Store a batch's decisions: each subject's in order, different subjects side by side.

        Deciding is sequential and in memory; only storing waits on Mongo, so it is what runs in parallel
        (and goes to the store as a few bulk writes). One input's decisions about one ticket share a commit.
        A replay's decisions are mostly stored already: their histories are read before anything is written.
        """
        by_subject: dict[str, list[list[Decision]]] = {}
        for decision in pending:
            runs = by_subject.setdefault(decision[0], [])
            if runs and runs[-1][-1].input_id == decision.input_id:
                runs[-1].append(decision)  # decided together: one commit
            else:
                runs.append([decision])

        async def store(runs: list[list[Decision]]) -> None:
            for run in runs:
                events, ids = [d.event for d in run], [d.event_id for d in run]
                try:
                    await self._record(run[0], events, ids, replaying=replaying)
                except Exception:
                    log.exception("storing an assignment decision failed; the next rebuild retries it")
                    return
                for event in events:
                    DECISIONS.labels(getattr(event, "type", "?")).inc()

        await asyncio.gather(*(store(runs) for runs in by_subject.values()))

    async def _apply(self, item: BoardInput) -> list[Decision]:
        if item.id in self._seen:
            return []
        self._seen.add(item.id)
        INPUTS.inc()
        announced: list[Decision] = []
        if item.routed is not None:  # stored whatever the board makes of it: routing has decided
            announced.append(
                Decision(
                    item.routed.ticket_id,
                    item.routed,
                    reaction_id(item.id, "routed"),
                    item.time,
                    item.id,
                    causation_id=item.id,
                    correlation_id=item.correlation_id,
                )
            )
        try:
            before = self.board
            self.board, decisions = await self._decide(item)
        except RosterError as exc:  # deterministic, so a replay skips it the same way
            log.warning("board input refused", kind=item.kind, input=item.id, reason=str(exc))
            return announced
        events: list[tuple[str, EventPayload]] = [(_subject(d), d) for d in decisions]
        if item.kind == "presence" and item.agent_id is not None and item.presence is not None:
            previous = before.seats.get(item.agent_id)
            events.insert(
                0,
                (
                    item.agent_id,
                    AgentPresenceChanged(
                        agent_id=item.agent_id,
                        presence=item.presence,
                        previous=previous.presence if previous is not None else None,
                        changed_at=item.time,
                    ),
                ),
            )
        return announced + [
            Decision(
                subject,
                event,
                reaction_id(item.id, f"board/{index}"),
                item.time,
                item.id,
                causation_id=item.id if item.routed is not None else None,
                correlation_id=item.correlation_id,
            )
            for index, (subject, event) in enumerate(events)
        ]

    async def _decide(self, item: BoardInput) -> tuple[Board, Sequence[EventPayload]]:
        now = item.time
        match item.kind:
            case "roster":
                roster = await self._store.roster(item.roster_version)
                if roster is None:
                    raise RosterError([f"roster version {item.roster_version} is not stored"])
                return on_roster_changed(self.board, roster, now)
            case "routed":
                assert item.ticket_id and item.queue_id and item.channel and item.priority
                ticket = RoutedTicket(
                    ticket_id=item.ticket_id,
                    queue_id=item.queue_id,
                    channel=item.channel,
                    priority=item.priority,
                    routed_at=now,
                    skills=item.skills or {},
                    language=item.language,
                )
                return on_routed(self.board, ticket, now)
            case "presence":
                assert item.agent_id and item.presence
                return on_presence(self.board, item.agent_id, item.presence, now)
            case "released":
                assert item.ticket_id and item.reason
                return on_released(self.board, item.ticket_id, item.reason, now)
            case "responded":
                assert item.ticket_id and item.agent_id
                return on_agent_responded(self.board, item.ticket_id, item.agent_id, now)
            case "no_response":
                assert item.ticket_id
                return on_no_response(self.board, item.ticket_id, now)
        raise AssertionError(item.kind)  # pragma: no cover

    async def _record(self, first: Decision, events: list[EventPayload], ids: list[str], *, replaying: bool) -> None:
        """Store decisions once: a replayed input finds its decisions already in the subject's history.

        A new ticket's routing decision is the first thing routing stores about it, so outside a replay nothing
        is read first (a replay would otherwise write a pending marker for every stored ticket, re-publishing it).
        """
        commit = await self._store.events.append_once(
            first.subject,
            events,
            ids,
            now=first.at,
            causation_id=first.causation_id,
            correlation_id=first.correlation_id,
            new_subject=isinstance(first.event, TicketRouted) and not replaying,
        )
        if commit is not None:
            self._relay.submit(commit)

    async def _watch_silence(self) -> None:
        """The owner asks for reassignment of tickets whose assignee stayed silent past the queue's limit."""
        while True:
            await asyncio.sleep(self._check_every)
            if not self.owner:
                continue
            now = datetime.now(UTC)
            for ticket_id, slot in list(self.board.slots.items()):
                queue = self.board.roster.queues.get(slot.ticket.queue_id)
                limit = queue.response_limit_minutes if queue else None
                if slot.agent_id is None or slot.responded or limit is None or slot.assigned_at is None:
                    continue
                due = slot.assigned_at + timedelta(minutes=limit)
                if due <= now:
                    with contextlib.suppress(Exception):
                        await self.submit(
                            BoardInput(
                                id=f"no_response:{ticket_id}:{slot.assigned_at.isoformat()}",
                                kind="no_response",
                                time=due,
                                ticket_id=ticket_id,
                            )
                        )


def _subject(decision: EventPayload) -> str:
    return str(decision.ticket_id)  # type: ignore[attr-defined]
