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

The board accepts every roster version the API stored (a removed queue's tickets move to the default queue),
so what `GET /v1/roster` shows is what the board works to. Versions are applied in order: an older version's
input arriving after a newer one's (two replicas' changes racing to the topic) is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge, Histogram
from switchboard.events import EventPayload
from switchboard.runtime.decider import Relay
from switchboard.runtime.kafka import ensure_topic
from switchboard.runtime.latency import STAGE_BUCKETS
from switchboard.runtime.settings import ServiceSettings

from .board_inputs import BoardInput, Decision, react
from .domain.assignment import Board, empty_board
from .domain.roster import Roster, RosterError
from .store import RoutingStore

log = structlog.get_logger(__name__)
DECISIONS = Counter("switchboard_routing_board_decisions_total", "Assignment decisions made.", ["kind"])
WAITED = Histogram(
    "switchboard_routing_board_wait_seconds",
    "From an input's write to the board topic to its application: the assigner's queueing.",
    buckets=STAGE_BUCKETS,
)
STORED_IN = Histogram(
    "switchboard_routing_board_store_seconds", "Time to store one batch's decisions.", buckets=STAGE_BUCKETS
)
INPUTS = Gauge("switchboard_routing_board_inputs_applied", "Inputs applied to the board since it was rebuilt.")


class InputLog(Protocol):
    """Where the board's inputs are kept in order: the internal topic (or, in unit tests, a list)."""

    topic: str

    async def publish(self, item: BoardInput) -> None: ...

    def consumer(self) -> AIOKafkaConsumer: ...


class BoardTopic:
    """The one-partition internal topic `internal.routing.board` and the consumer group that owns it."""

    def __init__(self, broker: KafkaBroker, name: str, *, settings: ServiceSettings, group_id: str) -> None:
        self._broker = broker
        self._settings = settings
        self._name = name
        self.topic = f"{settings.namespace}.{name}" if settings.namespace else name
        self._group = group_id

    async def setup(self) -> None:
        await ensure_topic(self._settings, self._name, partitions=1)

    async def publish(self, item: BoardInput) -> None:
        await self._broker.publish(item.model_dump_json().encode(), self.topic, key=b"board")

    def consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )


class Assigner:
    """Publishes inputs; and, in the process that owns the board partition, applies them."""

    def __init__(self, *, store: RoutingStore, relay: Relay, inputs: InputLog, no_response_check_s: float) -> None:
        self._store = store
        self._relay = relay
        self._inputs = inputs
        self._check_every = no_response_check_s
        self.board: Board = empty_board(Roster())
        self.roster_version = 0  # of the roster the board works to
        self._seen: set[str] = set()
        self._rebuild = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.owner = False

    async def submit(self, item: BoardInput) -> None:
        """Durably hand an input to the assigner (acked by Kafka before this returns)."""
        await self._inputs.publish(item)

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

    def reset(self) -> None:
        """Forget the board, to rebuild it from the first input."""
        self.board, self.roster_version, self._seen = empty_board(Roster()), 0, set()
        INPUTS.set(0)

    async def _consume(self) -> None:
        assigner = self

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: Any) -> None:
                assigner.owner = False

            async def on_partitions_assigned(self, assigned: Any) -> None:
                assigner.owner = bool(assigned)
                if assigned:
                    assigner._rebuild.set()

        consumer = self._inputs.consumer()
        consumer.subscribe([self._inputs.topic], listener=Listener())
        await consumer.start()
        replay_until = 0  # inputs before this offset were applied before, by this process or another
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                if self._rebuild.is_set():
                    self._rebuild.clear()
                    self.reset()
                    await consumer.seek_to_beginning()
                    replay_until = max((await consumer.end_offsets(list(consumer.assignment()))).values(), default=0)
                    log.info("rebuilding the assignment board from the beginning of its inputs", inputs=replay_until)
                    continue
                started = time.time()
                values: list[bytes] = []
                replaying = False
                for records in batches.values():
                    for record in records:
                        WAITED.observe(max(0.0, started - record.timestamp / 1000))
                        replaying = replaying or record.offset < replay_until
                        values.append(record.value)
                await self.apply_batch(values, replaying=replaying)
        finally:
            await consumer.stop()

    async def apply_batch(self, values: Sequence[bytes], *, replaying: bool) -> None:
        """Apply inputs in order, then store what they decided (a replay's decisions are mostly stored already)."""
        pending: list[Decision] = []
        for value in values:
            pending += await self._apply_logged(value)
        if pending:
            with STORED_IN.time():
                await self._persist(pending, replaying=replaying)

    async def _apply_logged(self, value: bytes) -> list[Decision]:
        """An input that cannot be applied is logged and skipped, never allowed to stop the assigner."""
        try:
            return await self._apply(BoardInput.model_validate_json(value))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("assignment input failed; skipped")
            return []

    async def _apply(self, item: BoardInput) -> list[Decision]:
        if item.id in self._seen:
            return []
        roster: Roster | None = None
        if item.kind == "roster":
            version = item.roster_version or 0
            if version <= self.roster_version:
                self._seen.add(item.id)
                log.info("an older roster version arrived after a newer one; skipped", version=version)
                return []
            try:
                roster = await self._store.roster(version)
            except RosterError as exc:  # the API stores checked rosters only: a stored version always loads
                log.error("a stored roster version does not load; skipped", version=version, reason=str(exc))
            if roster is None:
                self._seen.add(item.id)
                return []
        self.board, decisions = react(self.board, item, roster)
        self._seen.add(item.id)
        if roster is not None:
            self.roster_version = item.roster_version or 0
        INPUTS.inc()
        return decisions

    async def _persist(self, pending: list[Decision], *, replaying: bool) -> None:
        """Store a batch's decisions: each subject's in order, different subjects side by side.

        Deciding is sequential and in memory; only storing waits on Mongo, so it is what runs in parallel
        (and goes to the store as a few bulk writes). One input's decisions about one ticket share a commit.
        A replay's decisions are mostly stored already: their histories are read before anything is written.
        """
        by_subject: dict[str, list[list[Decision]]] = {}
        for decision in pending:
            runs = by_subject.setdefault(decision.subject, [])
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
            new_subject=first.opens and not replaying,
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
