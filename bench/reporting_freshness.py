"""Freshness: ticket lives published on a fixed timetable, and when each event became visible.

Every lag is timed from the event's own time (`ce_time`), which is when it was due on the timetable, so a late
generator or a slow broker counts against the figure. Three ways of seeing an event:
- `OffsetsWatch` reads the replica's SQLite file (a separate read-only connection, every few ms). The engine
  commits the next offset of every partition in the transaction that folds its events, so the first moment a
  partition's stored offset passes an event's offset is the moment its effects became readable on the replica:
  exact for every event, to the polling period.
- `watch_ticket` polls one sampled ticket's view (reporting's `GET /v1/tickets/{id}`, or its document in Mongo's
  `tickets_v1`) while any of its events is due and not yet shown, and notes when each step's test first holds.
- `raw_latency` is the baseline: a plain consumer of every partition, as the feed reads them, with no fold behind.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from switchboard.events import KafkaRecord, encode
from switchboard.events.topics import EVENT_TYPES, TOPIC_OF

from bench.figures import percentile
from bench.kafka_clients import send_record
from bench.reporting_workload import Json, Ticket, shows, ticket

MEAN_STEPS = 13.2  # events per life, measured over 5,000 lives of `ticket`


@dataclass
class Event:
    """One event of the timetable, and what became of it."""

    life: int
    step: int
    due: float  # epoch seconds: the event's time
    topic: str = ""
    partition: int = -1
    offset: int = -1
    sent: float = 0.0  # when it was handed to the producer
    record: KafkaRecord | None = None  # built ahead (`Timetable.prepare`), so the generator only sends


@dataclass
class Timetable:
    """Tickets opening `rate / MEAN_STEPS` times a second, each ticket's events `gap_s` apart, for `seconds`:
    `rate` events a second once the first lives are under way (a warm-up covers that ramp)."""

    lives: list[Ticket]
    opened: list[float]  # epoch seconds each life opened
    events: list[Event]  # by due time
    gap_s: float
    published: list[int]  # steps of each life inside the timetable (its first ones)

    @classmethod
    def build(cls, *, rate: float, seconds: float, gap_s: float, seed: int, topic: Callable[[str], str]) -> Timetable:
        """The timetable, starting once every event is built and encoded (stamped with its due time), with
        `topic(catalogue name)` as each event's topic."""
        start = time.time() + 4.0 + rate * seconds * 150e-6  # building takes ~60-100 us an event; clients start
        table = cls._plan(rate=rate, seconds=seconds, gap_s=gap_s, start=start, seed=seed)
        times: dict[int, dict[str, datetime]] = {}
        for event in table.events:
            if event.life not in times:
                times[event.life] = table.times(event.life)
            life = table.lives[event.life]
            event.record = encode(life.envelope(life.steps[event.step], times[event.life]))
            event.topic = topic(topic_name(event.record.headers["ce_type"]))
        return table

    @classmethod
    def _plan(cls, *, rate: float, seconds: float, gap_s: float, start: float, seed: int) -> Timetable:
        rng = random.Random(seed)
        every = MEAN_STEPS / rate
        lives: list[Ticket] = []
        opened: list[float] = []
        events: list[Event] = []
        while (opens := len(lives) * every) < seconds:
            life = ticket(seed * 1_000_000 + len(lives), rng, customer_id=f"customer-{rng.randrange(5000):05d}")
            events += [Event(len(lives), k, start + opens + k * gap_s) for k in range(len(life.steps))]
            lives.append(life)
            opened.append(start + opens)
        events = sorted((e for e in events if e.due < start + seconds), key=lambda e: e.due)
        published = [0] * len(lives)
        for event in events:
            published[event.life] += 1
        return cls(lives, opened, events, gap_s, published)

    def times(self, life: int) -> dict[str, datetime]:
        return self.lives[life].times(datetime.fromtimestamp(self.opened[life], UTC), gap_s=self.gap_s)

    def due(self, life: int, step: int) -> float:
        return self.opened[life] + step * self.gap_s


def topic_name(event_type: str) -> str:
    return TOPIC_OF[EVENT_TYPES[event_type]].name


async def publish(producer: AIOKafkaProducer, timetable: Timetable) -> list[float]:
    """Every event at its due time; returns the generator's lateness per event (s). Each event notes its
    partition and offset once the broker acknowledged it."""
    lateness: list[float] = []
    acks: list[asyncio.Future[Any]] = []
    for event in timetable.events:
        delay = event.due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        assert event.record is not None, "Timetable.build encodes every event"
        event.sent = time.time()
        lateness.append(max(0.0, event.sent - event.due))
        ack = await send_record(producer, event.topic, event.record)
        ack.add_done_callback(partial(_acknowledged, event))
        acks.append(ack)
    await asyncio.gather(*acks)
    return lateness


def _acknowledged(event: Event, ack: asyncio.Future[Any]) -> None:
    if not ack.cancelled() and ack.exception() is None:
        event.partition, event.offset = ack.result().partition, ack.result().offset


class OffsetsWatch:
    """The replica's committed offsets per partition, read every `period_s` from its SQLite file, as a timeline of
    (moment, next offset) per partition."""

    def __init__(self, path: Path, *, period_s: float = 0.005) -> None:
        self._path, self._period = path, period_s
        self.timeline: dict[tuple[str, int], tuple[list[float], list[int]]] = {}
        self.reads = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="offsets-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, check_same_thread=False)
        try:
            while True:
                rows = conn.execute("SELECT topic, partition, next FROM offsets").fetchall()
                now = time.time()
                self.reads += 1
                for topic, partition, next_offset in rows:
                    moments, offsets = self.timeline.setdefault((topic, partition), ([], []))
                    if not offsets or offsets[-1] != next_offset:
                        moments.append(now)
                        offsets.append(next_offset)
                await asyncio.sleep(self._period)
        finally:
            conn.close()

    def folded_at(self, event: Event) -> float | None:
        """When the replica's stored offset first passed the event's: the moment its fold was committed."""
        moments, offsets = self.timeline.get((event.topic, event.partition), ([], []))
        index = bisect.bisect_right(offsets, event.offset)
        return moments[index] if event.offset >= 0 and index < len(offsets) else None

    def commits(self, since: float, until: float) -> Json:
        """The feed's batches as seen from here: moments the stored offsets moved (a commit, to the polling period),
        events per commit and the time between commits."""
        moved: dict[float, int] = {}
        for moments, offsets in self.timeline.values():
            for i in range(1, len(offsets)):
                if since <= moments[i] <= until:
                    moved[moments[i]] = moved.get(moments[i], 0) + offsets[i] - offsets[i - 1]
        at = sorted(moved)
        gaps = [b - a for a, b in itertools.pairwise(at)]
        sizes = [float(moved[t]) for t in at]
        return {
            "commits": len(at),
            "events_per_commit": {q: percentile(sizes, float(q[1:])) for q in ("p50", "p90", "p99")},
            "ms_between_commits": {q: round(percentile(gaps, float(q[1:])) * 1000, 1) for q in ("p50", "p90", "p99")},
        }

    def all_folded(self, events: list[Event]) -> bool:
        return all(self.folded_at(e) is not None for e in events)


async def watch_ticket(
    timetable: Timetable, life: int, fetch: Callable[[str], Awaitable[Json | None]], *, poll_s: float, limit_s: float
) -> dict[int, tuple[float, float]]:
    """Poll one ticket's view while an event of it is due and not yet shown; per step, the (request sent, answer
    received) moments of the first answer that showed it. Steps nothing visible reflects are left out."""
    steps = timetable.lives[life].steps
    inside = steps[: timetable.published[life]]
    pending = {k: check for k, step in enumerate(inside) if (check := shows(step)) is not None}
    seen: dict[int, tuple[float, float]] = {}
    deadline = timetable.opened[life] + len(steps) * timetable.gap_s + limit_s
    ticket_id = timetable.lives[life].ticket_id
    while pending and time.time() < deadline:
        first_due = min(timetable.due(life, k) for k in pending)
        if (wait := first_due - time.time()) > 0:
            await asyncio.sleep(wait)
            continue
        asked = time.time()
        view = await fetch(ticket_id)
        answered = time.time()
        for k in [k for k in pending if timetable.due(life, k) <= asked]:
            if view is not None and pending[k](view):
                seen[k] = (asked, answered)
                del pending[k]
        await asyncio.sleep(poll_s)
    return seen


async def raw_latency(
    bootstrap: str,
    producer: AIOKafkaProducer,
    timetable: Timetable,
    topics: list[str],
    partitions: int,
    *,
    fetch_max_wait_ms: int,
) -> tuple[list[tuple[float, float]], list[float]]:
    """The baseline: the same timetable published to `topics` and read back by a consumer of every partition with
    no group, configured as reporting's feed but for `fetch_max_wait_ms`; per event received, (its time, consumed
    minus its time) in seconds, and the generator's lateness per event."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_wait_ms=fetch_max_wait_ms,
    )
    await consumer.start()
    lags: list[tuple[float, float]] = []
    try:
        consumer.assign([TopicPartition(t, p) for t in topics for p in range(partitions)])
        await consumer.seek_to_end()
        wanted = len(timetable.events)

        async def read() -> None:
            while len(lags) < wanted:
                batches = await consumer.getmany(timeout_ms=100, max_records=2000)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        stamp = datetime.fromisoformat(dict(record.headers)["ce_time"].decode()).timestamp()
                        lags.append((stamp, now - stamp))

        reader = asyncio.create_task(read(), name="raw-reader")
        await asyncio.sleep(1.0)  # the first fetch is in flight
        lateness = await publish(producer, timetable)
        with contextlib.suppress(TimeoutError):  # what never arrived is missing from the count, and reported
            await asyncio.wait_for(reader, 30)
    finally:
        await consumer.stop()
    return lags, lateness
