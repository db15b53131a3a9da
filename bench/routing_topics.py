"""The routing bench's Kafka side: a tap noting when each (type, ticket) was first consumed and what routing
decided, TicketOpened published on a timetable or all at once, and the raw relay baseline built from the same."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.figures import Json, latency_summary, log, percentile, rate
from bench.kafka_clients import Consumed, Tap, create_topics, make_producer, send_record
from bench.routing_workload import Shape, Ticket, opened_ticket
from bench.waiting import eventually

OPENED = "support.ticket.opened.v1"
ROUTED = "support.ticket.routed.v1"
ASSIGNED = "support.ticket.assigned.v1"
UNASSIGNED = "support.ticket.unassigned.v1"
PRESENCE = "support.agent.presence_changed.v1"


class RoutingTap(Tap):
    """A topic from the beginning for the whole run, noting when each (type, key) was first consumed, and what
    routing decided: the queue of each ticket's first TicketRouted, the agent and event id of each TicketAssigned."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, topic, fetch_max_wait_ms=50, max_records=20_000)
        self.first: dict[tuple[str, str], float] = {}
        self.queue_of: dict[str, str] = {}  # ticket -> queue its (first) TicketRouted named
        self.agents_of: dict[str, list[str]] = {}  # ticket -> agent of every TicketAssigned, in order
        self.assigned_ids: dict[str, set[str]] = {}  # ticket -> distinct ce_id of its TicketAssigned records

    def note(self, record: Consumed) -> None:
        self.first.setdefault((record.kind, record.key), record.at)
        if record.kind == ROUTED:
            self.queue_of.setdefault(record.key, json.loads(record.value)["queue_id"])
        elif record.kind == ASSIGNED:
            self.agents_of.setdefault(record.key, []).append(json.loads(record.value)["agent_id"])
            self.assigned_ids.setdefault(record.key, set()).add(record.headers.get("ce_id", ""))

    def seen(self, kind: str, keys: list[str]) -> int:
        return sum(1 for key in keys if (kind, key) in self.first)


@dataclass
class Published:
    scheduled: dict[str, float]  # ticket id -> when it was due (open loop) or sent (burst)
    started: float
    sent: float  # when the last send was handed to the producer
    acked: float  # when the broker had acknowledged all
    lateness_p99_ms: float = 0.0  # how late the generator itself sent (its own health)


async def publish_open_loop(
    producer: AIOKafkaProducer, topic: str, tickets: Callable[[int], Ticket], *, per_s: float, seconds: float
) -> tuple[Published, list[Ticket]]:
    """Ticket i is due at t0 + i/per_s whatever happened before; its latency counts from that due time."""
    count = round(per_s * seconds)
    scheduled: dict[str, float] = {}
    sent: list[Ticket] = []
    lateness: list[float] = []
    futures = []
    t0 = time.monotonic() + 0.05
    for i in range(count):
        due = t0 + i / per_s
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        ticket = tickets(i)
        lateness.append(max(0.0, time.monotonic() - due))
        futures.append(await send_record(producer, topic, ticket.record))
        scheduled[ticket.ticket_id] = due
        sent.append(ticket)
    last_sent = time.monotonic()
    await asyncio.gather(*futures)
    published = Published(scheduled, t0, last_sent, time.monotonic(), percentile(lateness, 99) * 1000)
    return published, sent


async def publish_burst(producer: AIOKafkaProducer, topic: str, tickets: list[Ticket]) -> Published:
    """Every ticket handed to the producer at once (built beforehand), then flushed."""
    scheduled: dict[str, float] = {}
    started = time.monotonic()
    futures = []
    for ticket in tickets:
        futures.append(await send_record(producer, topic, ticket.record))
        scheduled[ticket.ticket_id] = started
    last_sent = time.monotonic()
    await producer.flush()
    await asyncio.gather(*futures)
    return Published(scheduled, started, last_sent, time.monotonic())


async def wait_for_keys(tap: RoutingTap, kind: str, keys: list[str], *, limit_s: float, stall_s: float) -> int:
    """Wait until `kind` was consumed for every key, nothing new came for `stall_s`, or `limit_s` passed."""
    deadline = time.monotonic() + limit_s
    seen, progress = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_seen = tap.seen(kind, keys)
        if now_seen >= len(keys):
            return now_seen
        if now_seen != seen:
            seen, progress = now_seen, time.monotonic()
        elif time.monotonic() - progress > stall_s:
            break
        await asyncio.sleep(0.05)
    return tap.seen(kind, keys)


async def relay_baseline(
    bootstrap: str, prefix: str, shape: Shape, *, per_s: float, seconds: float, burst: int
) -> Json:
    """A raw consume -> produce relay of TicketOpened records between two 12-partition topics: latency at
    `per_s` (scheduled publish to consumed on the output topic), then throughput on a burst of `burst`."""
    source, sink = f"{prefix}.relay.in", f"{prefix}.relay.out"
    await create_topics(bootstrap, [source, sink])
    tap = RoutingTap(bootstrap, sink)
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"{prefix}.relay",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    relay_producer, producer = make_producer(bootstrap), make_producer(bootstrap)
    relayed = [0]

    async def relay() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            futures = [
                await relay_producer.send(sink, r.value, key=r.key, headers=list(r.headers))
                for records in batches.values()
                for r in records
            ]
            await asyncio.gather(*futures)
            if futures:
                await consumer.commit()
                relayed[0] += len(futures)

    await tap.start()
    await consumer.start()
    await relay_producer.start()
    await producer.start()
    task = asyncio.create_task(relay(), name="relay")
    try:
        await eventually(lambda: bool(consumer.assignment()), limit_s=30)
        warm = [opened_ticket(shape, i) for i in range(200)]
        await publish_burst(producer, source, warm)
        await wait_for_keys(tap, OPENED, [t.ticket_id for t in warm], limit_s=30, stall_s=10)

        log(f"baseline: raw Kafka relay at {per_s:g}/s for {seconds:g} s ...")
        opened, sent = await publish_open_loop(
            producer, source, lambda i: opened_ticket(shape, i), per_s=per_s, seconds=seconds
        )
        keys = [t.ticket_id for t in sent]
        await wait_for_keys(tap, OPENED, keys, limit_s=30, stall_s=10)
        latencies = [tap.first[(OPENED, k)] - opened.scheduled[k] for k in keys if (OPENED, k) in tap.first]

        log(f"baseline: raw Kafka relay, burst of {burst:,} ...")
        tickets = [opened_ticket(shape, i) for i in range(burst)]
        before = relayed[0]
        out = await publish_burst(producer, source, tickets)
        burst_keys = [t.ticket_id for t in tickets]
        done = await wait_for_keys(tap, OPENED, burst_keys, limit_s=60, stall_s=10)
        arrivals = sorted(tap.first[(OPENED, k)] for k in burst_keys if (OPENED, k) in tap.first)
        return {
            "latency_at_rate": {"rate": per_s, "messages": len(keys), **latency_summary(latencies)},
            "burst": {
                "messages": burst,
                "relayed": relayed[0] - before,
                "arrived": done,
                "publish_s": round(out.acked - out.started, 3),
                "msgs_per_s_first_to_last": rate(len(arrivals), arrivals[0], arrivals[-1]) if arrivals else None,
                "msgs_per_s_from_publish": len(arrivals) / (arrivals[-1] - out.started) if arrivals else None,
            },
            "value_bytes": len(tickets[0].record.value),
        }
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()
        await relay_producer.stop()
        await consumer.stop()
        await tap.stop()
