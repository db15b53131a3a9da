"""Routing benchmark: one routing process deciding queues and agents for TicketOpened events, against raw
Kafka and Mongo baselines measured in the same run.

`.venv/bin/python bench/routing.py` starts its own Kafka and FerretDB under `.local/bench-routing/` (ports
29292 and 27119, wiped first; `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` override them), one routing process
in a fresh namespace, and measures:

* baselines: a raw aiokafka relay (consumer -> idempotent acks=all producer, the same TicketOpened records
  routing reads) for throughput and for end-to-end latency at the open-loop rate; raw PyMongo `insert_one`
  with 32 tasks (routing's pool size) and with 1 task;
* setup: 50 queues (a team each), 2,000 agents (40 a team, capacity {"web_form": 10}) and a 50-rule set
  (subject word "qNN" -> queue qNN) through the admin API, then every agent set online through the presence
  API, timed;
* `routing.open_to_assigned.p{50,99}_ms`: TicketOpened published straight to `<ns>.support.tickets` at a
  fixed 200/s for 20 s (open loop); latency from each event's *scheduled* publish time to the moment its
  `support.ticket.assigned.v1` is consumed from `<ns>.support.routing`;
* `routing.decisions_per_s` / `routing.assignments_per_s`: 5,000 TicketOpened published at once; routed +
  assigned records (and assigned alone) per second on the routing topic, first to last;
* CPU of routing (and of its busiest thread), FerretDB, Kafka and this client per phase; Mongo commands per
  ticket; and (py-spy permitting) where routing's time goes during a separate saturation run.

Results are merged into `bench/results/latest.json` (other keys are kept; details under `_meta_routing`).
Everything it started is stopped on the way out. Not a test: it asserts nothing about speed; it exits 1 when
the run is not clean (a ticket never assigned, routed to the wrong queue, or assigned twice).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient
from switchboard.events import Envelope, KafkaRecord, encode
from switchboard.events.common import Channel, Presence, Priority
from switchboard.events.tickets import Requester, TicketOpened
from switchboard.events.topics import ROUTING, TICKETS
from switchboard.routing.domain.assignment import RoutedTicket, empty_board, on_presence, on_routed
from switchboard.routing.models import roster_from_document

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import infra  # type: ignore[import-not-found]  # noqa: E402

DATA = ROOT / ".local" / "bench-routing"
RESULTS = ROOT / "bench" / "results"
KAFKA_PORT = 29292
MONGO_PORT = 27119
PARTITIONS = 12
MONGO_POOL = 32  # routing's default MONGODB_MAX_POOL_SIZE
PY_SPY_VENVS = (
    Path(tempfile.gettempdir()) / "switchboard-bench-py-spy",  # bench/run.py's scratch venv, if there
    Path(tempfile.gettempdir()) / "switchboard-bench-routing-py-spy",
)

OPENED = "support.ticket.opened.v1"
ROUTED = "support.ticket.routed.v1"
ASSIGNED = "support.ticket.assigned.v1"
UNASSIGNED = "support.ticket.unassigned.v1"
PRESENCE = "support.agent.presence_changed.v1"

Json = dict[str, Any]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def latency_summary(seconds: list[float]) -> Json:
    summary = {f"p{q:g}_ms": percentile(seconds, q) * 1000 for q in (50, 90, 99, 99.9)}
    summary["max_ms"] = max(seconds, default=float("nan")) * 1000
    return {k: None if math.isnan(v) else round(v, 2) for k, v in summary.items()}


def rate(count: int, first: float, last: float) -> float | None:
    return count / (last - first) if count > 1 and last > first else None


# ----------------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class Metric:
    value: float | None  # None: not measured
    unit: str
    baseline: float | None = None

    def as_json(self) -> Json:
        value = None if self.value is None or math.isnan(self.value) else self.value
        ratio = value / self.baseline if value is not None and self.baseline else None
        return {
            "value": None if value is None else round(value, 3),
            "unit": self.unit,
            "baseline": None if self.baseline is None else round(self.baseline, 3),
            "ratio": None if ratio is None else round(ratio, 4),
        }


@dataclass
class Results:
    metrics: dict[str, Metric] = field(default_factory=dict)
    meta: Json = field(default_factory=dict)

    def add(self, name: str, value: float | None, unit: str, baseline: float | None = None) -> None:
        metric = Metric(value, unit, baseline)
        self.metrics[name] = metric
        shown = metric.as_json()
        text = "not measured" if shown["value"] is None else f"{shown['value']:,.2f} {unit}"
        ratio = "" if shown["ratio"] is None else f"  ratio {shown['ratio']:.3f}"
        log(f"  {name} = {text}{ratio}")

    def value(self, name: str) -> float | None:
        metric = self.metrics.get(name)
        return None if metric is None else metric.value


def merge_into(path: Path, results: Results) -> None:
    """Update this run's keys in `path`, keeping every other key (the intake bench writes the same file)."""
    existing: Json = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text())
        if isinstance(loaded, dict):
            existing = loaded
    existing |= {name: metric.as_json() for name, metric in results.metrics.items()}
    existing["_meta_routing"] = results.meta
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".routing.tmp")
    tmp.write_text(json.dumps(existing, indent=2, allow_nan=False, default=str) + "\n")
    tmp.replace(path)


# ----------------------------------------------------------------------------------------------------------
# CPU accounting from /proc (psutil is not in the project's venv)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_cpu(path: Path) -> float | None:
    try:
        fields = path.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (all its threads) so far, in seconds."""
    return _stat_cpu(Path(f"/proc/{pid}/stat"))


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds so far of each thread of a process."""
    found: dict[int, float] = {}
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            if (cpu := _stat_cpu(task / "stat")) is not None:
                found[int(task.name)] = cpu
    return found


def all_process_cpu() -> dict[int, tuple[str, float]]:
    """Every process's (command name, CPU seconds so far)."""
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                text = (entry / "stat").read_text()
                name = text[text.index("(") + 1 : text.rindex(")")]
                fields = text.rsplit(")", 1)[1].split()
                found[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class CpuWatch:
    """CPU used by named processes between start() and stop(), in cores (1.0 = one core busy), plus the
    busiest thread of `threads_of` (routing's event loop: one thread cannot use more than one core)."""

    def __init__(self, pids: dict[str, int], threads_of: str | None = None) -> None:
        self._pids = pids
        self._threads_of = threads_of
        self._start: dict[str, float] = {}
        self._threads: dict[int, float] = {}
        self._everyone: dict[int, tuple[str, float]] = {}
        self._t0 = 0.0
        self._machine0 = (0.0, 0.0)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._machine0 = machine_cpu_seconds()
        self._everyone = all_process_cpu()
        self._start = {name: cpu for name, pid in self._pids.items() if (cpu := process_cpu_seconds(pid)) is not None}
        if self._threads_of in self._pids:
            self._threads = thread_cpu_seconds(self._pids[self._threads_of])

    def stop(self) -> Json:
        wall = max(1e-9, time.monotonic() - self._t0)
        busy1, total1 = machine_cpu_seconds()
        busy = busy1 - self._machine0[0]
        cores = {}
        for name, pid in self._pids.items():
            end = process_cpu_seconds(pid)
            if end is not None and name in self._start:
                cores[name] = round((end - self._start[name]) / wall, 3)
        machine_busy = busy / wall
        split: Json = {
            "window_s": round(wall, 2),
            "cores": os.cpu_count(),
            "machine_busy_cores": round(machine_busy, 3),
            "machine_idle_cores": round((total1 - self._machine0[1] - busy) / wall, 3),
            "busy_cores_by_process": cores,
            "busy_cores_other_processes": round(max(0.0, machine_busy - sum(cores.values())), 3),
        }
        ours = set(self._pids.values())
        others = Counter(
            {
                f"{name}[{pid}]": (cpu - self._everyone[pid][1]) / wall
                for pid, (name, cpu) in all_process_cpu().items()
                if pid in self._everyone and pid not in ours
            }
        )
        split["top_other_processes"] = {k: round(v, 3) for k, v in others.most_common(3) if v >= 0.01}
        if self._threads_of in self._pids:
            after = thread_cpu_seconds(self._pids[self._threads_of])
            used = sorted(((after[t] - self._threads.get(t, 0.0)) / wall for t in after), reverse=True)
            split[f"{self._threads_of}_busiest_thread_cores"] = round(used[0], 3) if used else None
            split[f"{self._threads_of}_threads"] = len(after)
        return split


# ----------------------------------------------------------------------------------------------------------
# the workload


@dataclass(frozen=True)
class Shape:
    queues: int
    agents_per_team: int
    capacity: int

    def queue(self, n: int) -> str:
        return f"q{n:02d}"

    def team(self, n: int) -> str:
        return f"t{n:02d}"

    def agent(self, team: int, k: int) -> str:
        return f"a{team:02d}-{k:03d}"

    @staticmethod
    def team_of_agent(agent_id: str) -> str:
        return "t" + agent_id[1:].split("-", 1)[0]

    def agents(self) -> list[tuple[str, int]]:
        return [(self.agent(t, k), t) for t in range(self.queues) for k in range(self.agents_per_team)]

    def team_body(self, n: int) -> Json:
        return {"name": f"Team {n}"}

    def queue_body(self, n: int) -> Json:
        return {"team_id": self.team(n)}

    def agent_body(self, agent_id: str, team: int) -> Json:
        return {
            "name": f"Agent {agent_id}",
            "languages": ["en"],
            "teams": [self.team(team)],
            "capacity": {"web_form": self.capacity},
        }

    def roster_document(self) -> Json:
        """The roster the admin API would store after the whole setup (models.DEFAULT_ROSTER plus ours)."""
        return {
            "version": 1,
            "skills": [],
            "agents": {agent_id: self.agent_body(agent_id, team) for agent_id, team in self.agents()},
            "teams": {"support": {"name": "Support"}} | {self.team(n): self.team_body(n) for n in range(self.queues)},
            "queues": {"general": {"team_id": "support"}}
            | {self.queue(n): self.queue_body(n) for n in range(self.queues)},
        }

    def rules(self) -> str:
        lines = ["version: 1", "default: {queue: general}", "rules:"]
        for n in range(self.queues):
            q = self.queue(n)
            lines += [f"  - id: to-{q}", f"    when: {{subject_words: [{q}]}}", f"    then: {{queue: {q}}}"]
        return "\n".join(lines) + "\n"


SUBJECTS = (
    "Cannot log in after password reset",
    "Invoice shows the wrong VAT number",
    "Order arrived damaged",
    "Refund not received yet",
    "App crashes when uploading a photo",
)


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    queue: str
    record: KafkaRecord


def opened_ticket(shape: Shape, n: int) -> Ticket:
    """TicketOpened #n, as intake would publish it (CloudEvents binary mode, key = ticket id, sequence 1)."""
    ticket_id = str(uuid.uuid4())
    queue = shape.queue(n % shape.queues)
    event = TicketOpened(
        ticket_id=ticket_id,
        reference=f"SB-{n}",
        subject=f"{SUBJECTS[n % len(SUBJECTS)]} [{queue}]",
        channel=Channel.WEB_FORM,
        requester=Requester(customer_id=str(uuid.uuid4()), email=f"c{n}@customers.example.com"),
        language="en",
        opened_at=datetime.now(UTC),
    )
    envelope = Envelope.new(event, source="/switchboard/intake", subject=ticket_id, sequence=1)
    return Ticket(ticket_id, queue, encode(envelope))


def kafka_headers(record: KafkaRecord) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in record.headers.items()]


# ----------------------------------------------------------------------------------------------------------
# Kafka plumbing


class Tap:
    """Reads a topic from the beginning for the whole run, noting when each (type, key) was first consumed."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self.first: dict[tuple[str, str], float] = {}
        self.counts: Counter[str] = Counter()
        self.queue_of: dict[str, str] = {}  # ticket -> queue its (first) TicketRouted named
        self.agents_of: dict[str, list[str]] = {}  # ticket -> agent of every TicketAssigned, in order
        self.assigned_ids: dict[str, set[str]] = {}  # ticket -> distinct ce_id of its TicketAssigned records
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"tap:{self.topic}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=20_000)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers)
                    kind = headers.get("ce_type", b"").decode()
                    key = (record.key or b"").decode()
                    self.counts[kind] += 1
                    self.first.setdefault((kind, key), now)
                    if kind == ROUTED:
                        self.queue_of.setdefault(key, json.loads(record.value)["queue_id"])
                    elif kind == ASSIGNED:
                        self.agents_of.setdefault(key, []).append(json.loads(record.value)["agent_id"])
                        self.assigned_ids.setdefault(key, set()).add(headers.get("ce_id", b"").decode())

    def seen(self, kind: str, keys: list[str]) -> int:
        return sum(1 for key in keys if (kind, key) in self.first)


async def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    finally:
        await admin.close()


def make_producer(bootstrap: str) -> AIOKafkaProducer:
    """Like intake's and routing's broker (switchboard.runtime.kafka.make_broker): idempotent, acks=all."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)


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
        futures.append(
            await producer.send(topic, ticket.record.value, key=ticket.record.key, headers=kafka_headers(ticket.record))
        )
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
        futures.append(
            await producer.send(topic, ticket.record.value, key=ticket.record.key, headers=kafka_headers(ticket.record))
        )
        scheduled[ticket.ticket_id] = started
    last_sent = time.monotonic()
    await producer.flush()
    await asyncio.gather(*futures)
    return Published(scheduled, started, last_sent, time.monotonic())


async def eventually(check: Callable[[], bool], *, limit_s: float, every_s: float = 0.05) -> bool:
    """Poll `check` until it holds or `limit_s` passed; whether it held."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(every_s)
    return check()


async def wait_for_keys(tap: Tap, kind: str, keys: list[str], *, limit_s: float, stall_s: float) -> int:
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


# ----------------------------------------------------------------------------------------------------------
# baselines


async def relay_baseline(
    bootstrap: str, prefix: str, shape: Shape, *, per_s: float, seconds: float, burst: int
) -> Json:
    """A raw consume -> produce relay of TicketOpened records between two 12-partition topics: latency at
    `per_s` (scheduled publish to consumed on the output topic), then throughput on a burst of `burst`."""
    source, sink = f"{prefix}.relay.in", f"{prefix}.relay.out"
    await create_topics(bootstrap, [source, sink])
    tap = Tap(bootstrap, sink)
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


def commit_like_document(n: int) -> Json:
    """Shaped like one of routing's commits (a TicketRouted record with CloudEvents headers), ~1 KB."""
    ticket_id = str(uuid.uuid4())
    value = json.dumps(
        {
            "type": ROUTED,
            "ticket_id": ticket_id,
            "queue_id": f"q{n % 50:02d}",
            "priority": "normal",
            "required_skills": [],
            "language": "en",
            "rule_id": f"to-q{n % 50:02d}",
            "rule_set_version": 1,
            "routed_at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid4()),
        "ce_source": "/switchboard/routing",
        "ce_type": ROUTED,
        "ce_subject": ticket_id,
        "ce_time": datetime.now(UTC).isoformat(),
        "ce_correlationid": str(uuid.uuid4()),
        "ce_causationid": str(uuid.uuid4()),
        "content-type": "application/json",
        "ce_sequence": "1",
    }
    return {
        "_id": f"{ticket_id}/0000000001",
        "subject": ticket_id,
        "sequence": 1,
        "last_sequence": 1,
        "previous": None,
        "records": [
            {
                "event_id": headers["ce_id"],
                "type": ROUTED,
                "topic": "bench.support.routing",
                "key": ticket_id.encode(),
                "value": value,
                "headers": headers,
            }
        ],
        "stored_at": datetime.now(UTC),
    }


async def mongo_write_rate(uri: str, database: str, *, tasks: int, seconds: float, upsert: bool = False) -> Json:
    """insert_one (or, with `upsert`, replace_one upserting a small marker by _id, as routing's event store
    writes its outbox markers) calls per second from `tasks` concurrent tasks on one client, after 1 s warm-up."""
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri, tz_aware=True, maxPoolSize=MONGO_POOL)
    try:
        collection = client[database][f"{'markers' if upsert else 'commits'}_c{tasks}"]
        await collection.insert_one(commit_like_document(0))
        latencies: list[float] = []
        counter = [0]

        async def worker(until: float, measure: bool) -> None:
            while time.monotonic() < until:
                counter[0] += 1
                doc = commit_like_document(counter[0])
                started = time.monotonic()
                if upsert:
                    marker = {"_id": doc["_id"], "subject": doc["subject"], "stored_at": doc["stored_at"]}
                    await collection.replace_one({"_id": marker["_id"]}, marker, upsert=True)
                else:
                    await collection.insert_one(doc)
                if measure:
                    latencies.append(time.monotonic() - started)

        await asyncio.gather(*(worker(time.monotonic() + 1.0, False) for _ in range(tasks)))
        t0 = time.monotonic()
        await asyncio.gather(*(worker(t0 + seconds, True) for _ in range(tasks)))
        elapsed = time.monotonic() - t0
        return {"tasks": tasks, "writes_per_s": len(latencies) / elapsed, **latency_summary(latencies)}
    finally:
        await client.close()


ADMIN_COMMANDS = {"serverstatus", "ismaster", "hello", "ping", "endsessions", "buildinfo", "getlog", "listdatabases"}


async def command_counts(client: AsyncMongoClient[Json]) -> Counter[str] | None:
    """Commands the server has run so far, by name (serverStatus.metrics.commands)."""
    try:
        status = await asyncio.wait_for(client.admin.command("serverStatus"), 5.0)
    except Exception:
        return None
    commands = status.get("metrics", {}).get("commands", {})
    return Counter(
        {
            name: int(entry.get("total", 0))
            for name, entry in commands.items()
            if isinstance(entry, dict) and name.lower() not in ADMIN_COMMANDS
        }
    )


# ----------------------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, wait_s: float = 25.0) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(wait_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def spawn_routing(env: dict[str, str]) -> Service:
    port = free_port()
    log_path = DATA / "routing.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "switchboard.routing"],
            env=os.environ | env | {"ROUTING_PORT": str(port)},
            stdout=out,
            stderr=out,
            cwd=ROOT,
        )
    return Service(f"http://127.0.0.1:{port}", process, log_path)


@contextlib.asynccontextmanager
async def routing_process(env: dict[str, str]) -> AsyncIterator[Service]:
    """`python -m switchboard.routing`, as it runs in production; stopped (SIGTERM, then kill) on the way out."""
    service = spawn_routing(env)
    process, log_path = service.process, service.log_path
    try:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"routing exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{service.url}/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"routing not ready after 120 s:\n{log_path.read_text()[-3000:]}")
                await asyncio.sleep(0.2)
        yield service
    finally:
        await asyncio.to_thread(service.stop)


@contextlib.asynccontextmanager
async def servers() -> AsyncIterator[infra.Endpoints]:
    if not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URI")):
        await asyncio.to_thread(infra.down, data=DATA)  # leftovers of an interrupted run, by their pid files
        shutil.rmtree(DATA, ignore_errors=True)  # every run starts from empty servers
    DATA.mkdir(parents=True, exist_ok=True)
    ends = await asyncio.to_thread(infra.up, data=DATA, kafka_port=KAFKA_PORT, mongo_port=MONGO_PORT)
    try:
        yield ends
    finally:
        await asyncio.to_thread(
            infra.down, data=DATA, stop_kafka=ends.started_kafka, stop_ferretdb=ends.started_ferretdb
        )


def server_pids() -> dict[str, int]:
    pids = {}
    if (pid := infra.ferretdb.running_pid(DATA / "ferretdb" / "data")) is not None:
        pids["ferretdb"] = pid
    if (pid := infra.kafka.running_pid(DATA / "kafka" / "data")) is not None:
        pids["kafka"] = pid
    return pids


# ----------------------------------------------------------------------------------------------------------
# profiling with py-spy (optional; never installed into the project)


def find_py_spy(install: bool) -> str | None:
    candidates = [os.environ.get("PY_SPY"), shutil.which("py-spy"), *(str(v / "bin" / "py-spy") for v in PY_SPY_VENVS)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    if not install:
        return None
    venv = PY_SPY_VENVS[-1]
    log(f"installing py-spy into a scratch venv {venv} (not the project) ...")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, capture_output=True)
        subprocess.run([*pip, "py-spy"], check=True, timeout=300, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"  py-spy unavailable ({exc}); skipping the profile")
        return None
    binary = venv / "bin" / "py-spy"
    return str(binary) if binary.is_file() else None


FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse_frame(frame: str) -> tuple[str, str]:
    """'Class.method (pkg/file.py:12)' -> ('/pkg/file.py', 'method') (a leading '/' so suffixes match)."""
    match = FRAME.match(frame.strip())
    if not match:
        return "", frame
    return "/" + match["file"].lstrip("/"), match["func"].rsplit(".", 1)[-1]


def under(*parts: str) -> Callable[[str, str], bool]:
    return lambda f, fn: any(f"/{part}/" in f for part in parts)


def at(suffix: str, *functions: str) -> Callable[[str, str], bool]:
    return lambda f, fn: f.endswith("/" + suffix) and (not functions or fn in functions)


# What a sample's innermost frame is part of (py-spy samples running threads only: this is CPU time).
SELF_AREAS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("pymongo / bson (Mongo client)", under("pymongo", "bson")),
    ("aiokafka / faststream / kafka (Kafka client)", under("aiokafka", "faststream", "kafka")),
    ("pydantic (validation, dumps)", lambda f, fn: "/pydantic" in f),
    ("routing rules: text folding / words", at("domain/text.py")),
    ("routing domain (board, pick, roster, rules)", under("domain")),
    ("routing service (handlers, board, store)", under("routing")),
    ("switchboard runtime / events", under("runtime", "events")),
    ("fastapi / starlette / uvicorn", under("fastapi", "starlette", "uvicorn", "h11", "httptools")),
    ("json (stdlib)", under("json")),
    ("uuid / datetime / unicodedata", lambda f, fn: f.endswith(("/uuid.py", "/datetime.py", "/_strptime.py"))),
    ("prometheus_client", under("prometheus_client")),
    ("structlog / logging", under("structlog", "logging")),
    ("asyncio (event loop)", under("asyncio")),
]

# Time spent inside (anywhere below) these calls, whatever the innermost frame.
INCLUSIVE: list[tuple[str, Callable[[str, str], bool]]] = [
    ("consumer batch: EventConsumer._on_batch (all)", at("runtime/consumer.py", "_on_batch")),
    ("  CloudEvents decode (events.codec.decode)", at("events/codec.py", "decode")),
    ("  Routing.route_opened", at("routing/handlers.py", "route_opened")),
    ("    rules: route()", at("rules/evaluate.py", "route")),
    ("      subject words (domain/text.words)", at("domain/text.py", "words")),
    ("    Routing.record (store TicketRouted)", at("routing/handlers.py", "record")),
    ("    Assigner.submit (publish to the board topic)", at("routing/board.py", "submit")),
    ("board: Assigner._apply_logged (all)", at("routing/board.py", "_apply_logged")),
    ("  BoardInput.model_validate_json", lambda f, fn: fn == "model_validate_json" and "/pydantic" in f),
    ("  Assigner._decide (the domain reaction)", at("routing/board.py", "_decide")),
    ("    on_routed", at("assignment/reactions.py", "on_routed")),
    ("    on_roster_changed / roster_from_document", lambda f, fn: fn in ("on_roster_changed", "roster_from_document")),
    (
        "    Draft copy + Board freeze",
        lambda f, fn: (
            (f.endswith("assignment/draft.py") and fn in ("__init__", "result"))
            or (f.endswith("assignment/board.py") and fn == "__post_init__")
        ),
    ),
    ("    pick / candidates / roster.members", lambda f, fn: fn in ("pick", "candidates", "members")),
    ("  Assigner._record (store the decision)", at("routing/board.py", "_record")),
    ("EventStore.append", at("runtime/eventstore.py", "append")),
    ("EventStore.read", at("runtime/eventstore.py", "read")),
    ("  commit_document / CloudEvents encode", lambda f, fn: fn in ("commit_document", "encode")),
    ("outbox relay publish", at("runtime/outbox.py", "publish")),
    ("any pymongo / bson frame", under("pymongo", "bson")),
    ("any aiokafka / faststream frame", under("aiokafka", "faststream")),
    ("any pydantic frame", lambda f, fn: "/pydantic" in f),
    ("any structlog / logging frame", under("structlog", "logging")),
]


def summarise_profile(raw: str, *, seconds: float, hz: int) -> Json:
    """Collapsed stacks (py-spy --format raw) -> share of samples by innermost area and by enclosing call."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [parse_frame(f) for f in stack.split(";")]
        total += count
        leaf_file, leaf_func = frames[-1]
        leaves[f"{leaf_func} ({leaf_file.lstrip('/')})"] += count
        for area, matches in SELF_AREAS:
            if matches(leaf_file, leaf_func):
                self_time[area] += count
                break
        else:
            self_time["other (stdlib, ...)"] += count
        for area, matches in INCLUSIVE:
            if any(matches(f, fn) for f, fn in frames):
                inclusive[area] += count

    def share(counter: Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common()} if total else {}

    return {
        "samples": total,
        "busy_share_of_one_thread": round(total / (seconds * hz), 3) if seconds else None,
        "self_percent_by_area": share(self_time),
        "inclusive_percent": {area: round(100 * inclusive[area] / total, 1) for area, _ in INCLUSIVE} if total else {},
        "top_leaf_functions_percent": dict(list(share(leaves).items())[:15]),
    }


# ----------------------------------------------------------------------------------------------------------
# the assignment board's own cost, without I/O


HOT_PATH_METRICS = (
    ("routing.open_to_assigned.p50_ms", "ms"),
    ("routing.open_to_assigned.p99_ms", "ms"),
    ("routing.open_to_routed.p99_ms", "ms"),
    ("routing.decisions_per_s", "decisions/s"),
    ("routing.assignments_per_s", "assignments/s"),
    ("routing.routed_per_s", "routed/s"),
)


def board_domain_ceiling(shape: Shape, tickets: int) -> Json:
    """The board's pure-Python cost at the full shape, in this process with no Mongo or Kafka: the roster the
    admin API would store is converted (as every roster edit does, in the API and again in the board), every
    agent comes online, then `tickets` tickets go through `on_routed` one after another, as the assigner
    applies them. Microseconds per call as the board fills: a ceiling for one board, whatever the store."""
    document = shape.roster_document()
    started = time.perf_counter()
    roster = roster_from_document(document)
    roster_ms = (time.perf_counter() - started) * 1000
    now = datetime.now(UTC)
    board = empty_board(roster)
    started = time.perf_counter()
    agents = shape.agents()
    for agent_id, _ in agents:
        board, _ = on_presence(board, agent_id, Presence.ONLINE, now)
    presence_us = (time.perf_counter() - started) / len(agents) * 1e6
    by_thousand: dict[int, float] = {}
    assigned = 0
    spent = 0.0
    for i in range(tickets):
        ticket = RoutedTicket(
            ticket_id=str(uuid.uuid4()),
            queue_id=shape.queue(i % shape.queues),
            channel=Channel.WEB_FORM,
            priority=Priority.NORMAL,
            routed_at=now,
            language="en",
        )
        started = time.perf_counter()
        board, decisions = on_routed(board, ticket, now)
        spent += time.perf_counter() - started
        assigned += len(decisions)
        if (i + 1) % 1000 == 0 or i + 1 == tickets:
            by_thousand[i + 1] = round(spent / (i + 1 - 1000 * (i // 1000)) * 1e6, 1)
            spent = 0.0
    last = list(by_thousand.values())[-1] if by_thousand else None
    return {
        "agents": len(agents),
        "roster_from_document_ms": round(roster_ms, 1),
        "on_presence_us_mean": round(presence_us, 1),
        "on_routed_us_mean_by_tickets_on_board": by_thousand,
        "assigned": assigned,
        "ceiling_assignments_per_s_at_end": round(1e6 / last, 1) if last else None,
    }


# ----------------------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class Options:
    shape: Shape
    rate: float
    seconds: float
    low_rate: float
    low_seconds: float
    saturation: int
    profile_tickets: int
    setup_budget_s: float
    baseline_seconds: float
    stall_s: float
    profile: bool
    install_py_spy: bool

    @property
    def total_tickets(self) -> int:
        warm = 100
        return (
            warm
            + round(self.rate * self.seconds + self.low_rate * self.low_seconds)
            + self.saturation
            + self.profile_tickets
        )


@dataclass
class Bench:
    options: Options
    results: Results
    routing: Service
    tap: Tap
    producer: AIOKafkaProducer
    tickets_topic: str
    pids: dict[str, int]
    status_client: AsyncMongoClient[Json]
    expected_queue: dict[str, str] = field(default_factory=dict)  # every ticket published -> its queue
    phases: dict[str, Json] = field(default_factory=dict)
    unassigned: list[str] = field(default_factory=list)
    n: int = 0

    def tickets(self, count: int) -> list[Ticket]:
        made = [opened_ticket(self.options.shape, self.n + i) for i in range(count)]
        self.n += count
        self.expected_queue |= {t.ticket_id: t.queue for t in made}
        return made

    def next_ticket(self, _: int) -> Ticket:
        (ticket,) = self.tickets(1)
        return ticket

    def cpu(self) -> CpuWatch:
        return CpuWatch(self.pids, threads_of="routing")

    async def settle(self, name: str, keys: list[str], limit_s: float = 120.0) -> int:
        """Wait for every ticket's TicketAssigned; note the ones that never came."""
        done = await wait_for_keys(self.tap, ASSIGNED, keys, limit_s=limit_s, stall_s=self.options.stall_s)
        if done < len(keys):
            missing = [k for k in keys if (ASSIGNED, k) not in self.tap.first]
            routed = sum(1 for k in missing if (ROUTED, k) in self.tap.first)
            log(f"  {name}: {len(missing)} of {len(keys)} tickets never assigned ({routed} of them were routed)")
            self.unassigned += missing
        return done


class SetupBlocked(Exception):
    """The roster could not be set up within the budget; `evidence` says how far it got and why."""

    def __init__(self, message: str, evidence: Json) -> None:
        super().__init__(message)
        self.evidence = evidence


async def setup_roster(bench: Bench, token: str, budget_s: float) -> Json:
    """Queues, teams, agents and rules through the admin API, then every agent online; timed. Raises
    SetupBlocked when it has not finished within `budget_s` (the figures would then never come)."""
    shape = bench.options.shape
    timings: Json = {"budget_s": budget_s}
    began = time.monotonic()
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)

    def check_budget(stage: str) -> None:
        if time.monotonic() - began > budget_s:
            raise SetupBlocked(f"setup exceeded its {budget_s:g} s budget during {stage}", timings)

    async with httpx.AsyncClient(base_url=bench.routing.url, headers=headers, timeout=120, limits=limits) as admin:

        async def put(path: str, **kwargs: Any) -> float:
            """Seconds the (last) PUT took."""
            for attempt in range(20):  # roster edits are optimistic: a concurrent edit answers 409, try again
                started = time.monotonic()
                try:
                    response = await admin.put(path, **kwargs)
                except httpx.TransportError:  # a keep-alive connection the server closed as it was reused
                    if attempt == 19:
                        raise
                    continue
                if response.status_code != 409:
                    break
            if response.status_code != 200:
                raise RuntimeError(f"PUT {path}: {response.status_code} {response.text[:500]}")
            return time.monotonic() - started

        agents = shape.agents()
        log(f"setup: {shape.queues} teams and queues, {len(agents):,} agents in one roster PUT ...")
        t0 = time.monotonic()
        roster = {  # keeps the stock `general` queue, which the rules in force until the PUT below name
            "teams": {"support": {"name": "Support"}}
            | {shape.team(n): shape.team_body(n) for n in range(shape.queues)},
            "queues": {"general": {"team_id": "support"}}
            | {shape.queue(n): shape.queue_body(n) for n in range(shape.queues)},
            "agents": {agent_id: shape.agent_body(agent_id, team) for agent_id, team in agents},
        }
        await put("/v1/roster", json=roster)
        timings["roster_put_s"] = round(time.monotonic() - t0, 2)
        timings["agents_put"] = len(agents)
        check_budget("the roster PUT")

        t0 = time.monotonic()
        await put("/v1/routing/rules", content=shape.rules(), headers={"content-type": "application/yaml"})
        timings["rules_put_s"] = round(time.monotonic() - t0, 3)
        last = shape.queue(shape.queues - 1)
        explained = await admin.post("/v1/routing/explain", json={"channel": "web_form", "subject": f"Help [{last}]"})
        decision = explained.json().get("decision", {})
        if explained.status_code != 200 or decision.get("queue") != last:
            raise RuntimeError(f"the rule set does not route [{last}] to {last}: {explained.text[:500]}")

        log(f"setup: {len(agents):,} agents online through the presence API (32 at a time) ...")
        t0 = time.monotonic()
        gate = asyncio.Semaphore(32)

        async def online(agent_id: str) -> None:
            async with gate:
                check_budget("the presence PUTs")
                await put(f"/v1/agents/{agent_id}/presence", json={"presence": "online"})

        await asyncio.gather(*(online(agent_id) for agent_id, _ in agents))
        timings["presence_puts_s"] = round(time.monotonic() - t0, 2)
    # The board applies inputs in order: once every presence change is out, every roster edit was applied too.
    left = max(1.0, budget_s - (time.monotonic() - began))
    await eventually(lambda: bench.tap.counts[PRESENCE] >= len(agents), limit_s=left)
    timings["presence_applied_s"] = round(time.monotonic() - t0, 2)
    timings["presence_changes_seen"] = bench.tap.counts[PRESENCE]
    if bench.tap.counts[PRESENCE] < len(agents):
        raise SetupBlocked(f"only {bench.tap.counts[PRESENCE]} of {len(agents)} agents came online in time", timings)
    timings["total_s"] = round(time.monotonic() - began, 2)
    return timings


async def roster_lookup_evidence(client: AsyncMongoClient[Json], database: str) -> Json:
    """How routing's store finds a roster version (integer _id) next to a string _id look-up on the same server:
    the query plan FerretDB reports and the time one look-up takes now."""
    db = client[database]
    found: Json = {}
    with contextlib.suppress(Exception):
        pointer = await db["config"].find_one({"_id": "roster"})
        version = int(pointer["version"]) if pointer else 1
        found["roster_versions_stored"] = await db["rosters"].count_documents({})
        found["roster_version_in_force"] = version
        for label, collection, key in (
            ("rosters by int _id", "rosters", version),
            ("config by str _id", "config", "roster"),
        ):
            explained = await db.command("explain", {"find": collection, "filter": {"_id": key}})
            started = time.monotonic()
            doc = await db[collection].find_one({"_id": key})
            found[label] = {
                "plan": explained.get("queryPlanner", {}).get("Plan"),
                "find_one_ms": round((time.monotonic() - started) * 1000, 1),
                "document_bytes": len(json.dumps(doc, default=str)) if doc else None,
            }
    return found


async def warm_up(bench: Bench, count: int = 100) -> None:
    log(f"warm-up: {count} tickets ...")
    tickets = bench.tickets(count)
    await publish_burst(bench.producer, bench.tickets_topic, tickets)
    await bench.settle("warm-up", [t.ticket_id for t in tickets], limit_s=60)


async def open_loop_phase(bench: Bench, *, per_s: float, seconds: float, name: str, suffix: str = "") -> None:
    """TicketOpened on a fixed timetable; open-to-routed and open-to-assigned latency from the timetable."""
    results = bench.results
    log(f"{name}: TicketOpened at {per_s:g}/s for {seconds:g} s ...")
    cpu = bench.cpu()
    before = await command_counts(bench.status_client)
    stages_before = await histograms(bench.routing.url)
    cpu.start()
    published, sent = await publish_open_loop(
        bench.producer, bench.tickets_topic, bench.next_ticket, per_s=per_s, seconds=seconds
    )
    keys = [t.ticket_id for t in sent]
    done = await bench.settle(name, keys, limit_s=90)
    split = cpu.stop()
    after = await command_counts(bench.status_client)
    stages = stage_breakdown(stages_before, await histograms(bench.routing.url))
    tap, scheduled = bench.tap, published.scheduled
    cut = time.monotonic()
    # A ticket never assigned counts with the time waited so far (a lower bound), so it cannot flatter p99.
    assigned = {k: tap.first.get((ASSIGNED, k), cut) - scheduled[k] for k in keys}
    routed = [tap.first[(ROUTED, k)] - scheduled[k] for k in keys if (ROUTED, k) in tap.first]
    by_second: dict[int, list[float]] = {}
    for k in keys:
        by_second.setdefault(int((scheduled[k] - published.started) // 2) * 2, []).append(assigned[k])
    bench.phases[name] = {
        "rate": per_s,
        "published": len(keys),
        "assigned": done,
        "routed": len(routed),
        "open_to_routed": latency_summary(routed),
        "open_to_assigned": latency_summary(list(assigned.values())),
        "open_to_assigned_p50_ms_by_2s_of_timetable": {
            s: round(percentile(v, 50) * 1000, 1) for s, v in sorted(by_second.items())
        },
        "generator_lateness_p99_ms": round(published.lateness_p99_ms, 2),
        "mongo_commands_per_ticket": per_ticket(before, after, len(keys)),
        "routing_stages": stages,
        "cpu": split,
    }
    log(f"  stages (routing's own histograms): {json.dumps(stages)}")
    relay = bench.phases.get("baselines", {}).get("kafka_relay", {}).get("latency_at_rate", {})
    samples = list(assigned.values())
    results.add(f"routing.open_to_assigned.p50_ms{suffix}", percentile(samples, 50) * 1000, "ms", relay.get("p50_ms"))
    results.add(f"routing.open_to_assigned.p99_ms{suffix}", percentile(samples, 99) * 1000, "ms", relay.get("p99_ms"))
    results.add(f"routing.open_to_routed.p99_ms{suffix}", percentile(routed, 99) * 1000, "ms", relay.get("p99_ms"))
    results.add(f"routing.open_loop.assigned{suffix}", float(done), "tickets", float(len(keys)))


STAGES = {
    "consumer wait (Kafka write -> handling starts)": "switchboard_consumer_wait_seconds",
    "consumer batch (handling one batch)": "switchboard_consumer_batch_seconds",
    "board wait (board topic write -> applied)": "switchboard_routing_board_wait_seconds",
    "board store (one batch's decisions)": "switchboard_routing_board_store_seconds",
    "outbox (commit made -> Kafka ack)": "switchboard_outbox_delay_seconds",
}


async def histograms(url: str) -> dict[str, dict[float, float]]:
    """Routing's own latency histograms from /metrics: cumulative bucket counts per metric (labels summed)."""
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, dict[float, float]] = {}
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"{url}/metrics")).text
        for family in text_string_to_metric_families(text):
            if family.name not in STAGES.values():
                continue
            buckets = found.setdefault(family.name, {})
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    bound = float(sample.labels["le"])
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return found


def stage_breakdown(before: dict[str, dict[float, float]], after: dict[str, dict[float, float]]) -> Json:
    """p50/p99 of each stage over the phase, from bucket deltas (an upper bound: the bucket's edge)."""
    shown: Json = {}
    for label, metric in STAGES.items():
        counts = {b: n - before.get(metric, {}).get(b, 0.0) for b, n in after.get(metric, {}).items()}
        total = counts.get(math.inf, 0.0)
        if total <= 0:
            continue

        def edge(q: float, counts: dict[float, float] = counts, total: float = total) -> float | None:
            bound = next(b for b in sorted(counts) if counts[b] >= q * total)
            return None if math.isinf(bound) else round(bound * 1000, 1)

        shown[label] = {"observations": int(total), "p50_ms_at_most": edge(0.5), "p99_ms_at_most": edge(0.99)}
    return shown


def per_ticket(before: Counter[str] | None, after: Counter[str] | None, tickets: int) -> Json | None:
    if before is None or after is None or not tickets:
        return None
    delta = after - before
    shown = {name: round(count / tickets, 2) for name, count in delta.most_common()}
    return {"total": round(sum(delta.values()) / tickets, 2), **shown}


async def saturation_phase(bench: Bench, name: str, count: int, py_spy: str | None = None) -> Json:
    """`count` TicketOpened at once; decisions (routed + assigned) and assignments per second, first to last."""
    log(f"{name}: {count:,} TicketOpened at once{' (py-spy on routing)' if py_spy else ''} ...")
    tap, routing_pid = bench.tap, bench.routing.process.pid
    tickets = bench.tickets(count)
    keys = [t.ticket_id for t in tickets]
    timeline: list[list[float]] = []
    stop_sampling = asyncio.Event()

    async def sample() -> None:
        t0, cpu0 = time.monotonic(), process_cpu_seconds(routing_pid) or 0.0
        last_t, last_cpu, last_routed, last_assigned = t0, cpu0, 0, 0
        while not stop_sampling.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_sampling.wait(), 1.0)
            now, cpu = time.monotonic(), process_cpu_seconds(routing_pid) or last_cpu
            routed, assigned = tap.seen(ROUTED, keys), tap.seen(ASSIGNED, keys)
            span = max(1e-9, now - last_t)
            timeline.append(
                [
                    round(now - t0, 2),
                    round((routed - last_routed) / span, 1),
                    round((assigned - last_assigned) / span, 1),
                    round((cpu - last_cpu) / span, 3),
                ]
            )
            last_t, last_cpu, last_routed, last_assigned = now, cpu, routed, assigned

    spy: asyncio.subprocess.Process | None = None
    raw_path = DATA / f"routing-{name}.raw.txt"
    spy_seconds, spy_hz = 10, 100
    if py_spy:
        spy = await asyncio.create_subprocess_exec(
            *[py_spy, "record", "--pid", str(routing_pid), "--duration", str(spy_seconds), "--rate", str(spy_hz)],
            *["--nonblocking", "--format", "raw", "--output", str(raw_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        await asyncio.sleep(0.5)  # py-spy attaches
    cpu = bench.cpu()
    before = await command_counts(bench.status_client)
    sampler = asyncio.create_task(sample())
    cpu.start()
    published = await publish_burst(bench.producer, bench.tickets_topic, tickets)
    done = await bench.settle(name, keys, limit_s=180)
    split = cpu.stop()
    stop_sampling.set()
    await sampler
    after = await command_counts(bench.status_client)

    routed_at = sorted(tap.first[(ROUTED, k)] for k in keys if (ROUTED, k) in tap.first)
    assigned_at = sorted(tap.first[(ASSIGNED, k)] for k in keys if (ASSIGNED, k) in tap.first)
    decisions = sorted(routed_at + assigned_at)
    phase: Json = {
        "tickets": count,
        "publish_s": round(published.acked - published.started, 3),
        "routed": len(routed_at),
        "assigned": done,
        "decisions_per_s": rate(len(decisions), decisions[0], decisions[-1]) if decisions else None,
        "assignments_per_s": rate(len(assigned_at), assigned_at[0], assigned_at[-1]) if assigned_at else None,
        "routed_per_s": rate(len(routed_at), routed_at[0], routed_at[-1]) if routed_at else None,
        "first_routed_after_s": round(routed_at[0] - published.started, 3) if routed_at else None,
        "last_routed_after_s": round(routed_at[-1] - published.started, 3) if routed_at else None,
        "first_assigned_after_s": round(assigned_at[0] - published.started, 3) if assigned_at else None,
        "last_assigned_after_s": round(assigned_at[-1] - published.started, 3) if assigned_at else None,
        "mongo_commands_per_ticket": per_ticket(before, after, count),
        "cpu": split,
        "timeline_s_routed_assigned_routingcores": timeline,
    }
    if spy is not None:
        try:
            _, err = await asyncio.wait_for(spy.communicate(), 30)
        except TimeoutError:
            spy.kill()
            _, err = await spy.communicate()
        profile: Json = {"raw_file": str(raw_path), "seconds": spy_seconds, "hz": spy_hz}
        if spy.returncode:
            profile["error"] = err.decode(errors="replace")[-500:]
        if raw_path.is_file():
            profile |= summarise_profile(raw_path.read_text(), seconds=spy_seconds, hz=spy_hz)
        phase["profile"] = profile
    bench.phases[name] = phase
    return phase


def verify(bench: Bench) -> Json:
    """Every ticket routed to the queue its subject names, assigned once, to an agent of that queue's team."""
    tap, shape = bench.tap, bench.options.shape
    wrong_queue = [t for t, q in bench.expected_queue.items() if t in tap.queue_of and tap.queue_of[t] != q]
    twice = [t for t, ids in tap.assigned_ids.items() if t in bench.expected_queue and len(ids) > 1]
    wrong_team = [
        t
        for t, agents in tap.agents_of.items()
        if t in bench.expected_queue
        and any(shape.team_of_agent(a) != "t" + bench.expected_queue[t][1:] for a in agents)
    ]
    per_agent = Counter(a for t, agents in tap.agents_of.items() if t in bench.expected_queue for a in agents[:1])
    return {
        "tickets_published": len(bench.expected_queue),
        "never_assigned": len(bench.unassigned),
        "never_assigned_examples": bench.unassigned[:5],
        "routed_to_wrong_queue": len(wrong_queue),
        "assigned_more_than_once": len(twice),
        "assigned_outside_queue_team": len(wrong_team),
        "unassigned_events": tap.counts[UNASSIGNED],
        "agents_used": len(per_agent),
        "max_tickets_per_agent": max(per_agent.values(), default=0),
        "capacity_per_agent": shape.capacity,
        "routing_topic_counts": dict(tap.counts),
    }


def machine_facts() -> Json:
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain")),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


async def baselines(ends: infra.Endpoints, options: Options, results: Results, namespace: str) -> Json:
    found: Json = {}
    relay = await relay_baseline(
        ends.kafka_bootstrap,
        f"{namespace}base",
        options.shape,
        per_s=options.rate,
        seconds=options.baseline_seconds,
        burst=options.saturation,
    )
    found["kafka_relay"] = relay
    log(f"baseline: raw PyMongo insert_one ({MONGO_POOL} tasks, then 1), replace_one upsert (1 task) ...")
    database = f"{namespace}_baseline"
    many = await mongo_write_rate(ends.mongodb_uri, database, tasks=MONGO_POOL, seconds=4.0)
    one = await mongo_write_rate(ends.mongodb_uri, database, tasks=1, seconds=3.0)
    upsert = await mongo_write_rate(ends.mongodb_uri, database, tasks=1, seconds=3.0, upsert=True)
    found["mongo"] = {f"insert_one_c{MONGO_POOL}": many, "insert_one_c1": one, "replace_one_upsert_c1": upsert}
    results.add("baseline.routing.kafka_relay_msgs_per_s", relay["burst"]["msgs_per_s_first_to_last"], "msgs/s")
    results.add("baseline.routing.kafka_relay_p50_ms", relay["latency_at_rate"]["p50_ms"], "ms")
    results.add("baseline.routing.kafka_relay_p99_ms", relay["latency_at_rate"]["p99_ms"], "ms")
    results.add(f"baseline.routing.mongo_insert_one_per_s_c{MONGO_POOL}", many["writes_per_s"], "inserts/s")
    results.add("baseline.routing.mongo_insert_one_per_s_c1", one["writes_per_s"], "inserts/s")
    results.add("baseline.routing.mongo_upsert_per_s_c1", upsert["writes_per_s"], "upserts/s")
    return found


async def run(options: Options) -> tuple[Results, bool]:
    results = Results()
    namespace = f"benchr{secrets.token_hex(4)}"
    token = secrets.token_urlsafe(16)
    started = time.monotonic()
    results.meta = machine_facts() | {
        "namespace": namespace,
        "shape": {
            "queues": options.shape.queues,
            "agents": options.shape.queues * options.shape.agents_per_team,
            "capacity": {"web_form": options.shape.capacity},
            "rules": options.shape.queues,
        },
        "settings": {
            "rate": options.rate,
            "seconds": options.seconds,
            "low_rate": options.low_rate,
            "low_seconds": options.low_seconds,
            "saturation": options.saturation,
            "profile_tickets": options.profile_tickets,
            "setup_budget_s": options.setup_budget_s,
            "partitions": PARTITIONS,
        },
    }
    clean = False
    log(f"servers: Kafka on {KAFKA_PORT}, FerretDB on {MONGO_PORT}, data under {DATA.relative_to(ROOT)} ...")
    async with servers() as ends, contextlib.AsyncExitStack() as stack:
        results.meta["servers"] = {"kafka": ends.kafka_bootstrap, "started_here": ends.started_kafka}
        pids = server_pids() | {"bench client": os.getpid()}
        phases: Json = {"baselines": await baselines(ends, options, results, namespace)}
        log(
            f"board domain (no I/O): {options.shape.queues * options.shape.agents_per_team:,} agents, "
            f"{options.total_tickets:,} tickets through on_routed ..."
        )
        domain = await asyncio.to_thread(board_domain_ceiling, options.shape, options.total_tickets)
        phases["board_domain"] = domain
        results.add(
            "routing.board_domain.ceiling_assignments_per_s",
            domain["ceiling_assignments_per_s_at_end"],
            "assignments/s",
        )

        env = {
            "KAFKA_BOOTSTRAP_SERVERS": ends.kafka_bootstrap,
            "MONGODB_URI": ends.mongodb_uri,
            "SWITCHBOARD_NAMESPACE": namespace,
            "SWITCHBOARD_API_TOKEN": token,
            "SWITCHBOARD_TOPIC_PARTITIONS": str(PARTITIONS),
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
        }
        log("routing: starting one process ...")
        routing = await stack.enter_async_context(routing_process(env))
        tap = Tap(ends.kafka_bootstrap, ROUTING.qualified(namespace))
        await tap.start()
        stack.push_async_callback(tap.stop)
        producer = make_producer(ends.kafka_bootstrap)
        await producer.start()
        stack.push_async_callback(producer.stop)
        status_client: AsyncMongoClient[Json] = AsyncMongoClient(ends.mongodb_uri)
        stack.push_async_callback(status_client.close)
        bench = Bench(
            options=options,
            results=results,
            routing=routing,
            tap=tap,
            producer=producer,
            tickets_topic=TICKETS.qualified(namespace),
            pids=pids | {"routing": routing.process.pid},
            status_client=status_client,
            phases=phases,
        )
        cpu = bench.cpu()
        cpu.start()
        database = f"{namespace}_routing"
        try:
            phases["setup"] = await setup_roster(bench, token, options.setup_budget_s)
        except SetupBlocked as blocked:
            log(f"BLOCKED: {blocked}")
            phases["setup"] = blocked.evidence | {"blocked": str(blocked)}
            results.meta["blocked"] = str(blocked)
        phases["setup"]["cpu"] = cpu.stop()
        with contextlib.suppress(TimeoutError):
            evidence = roster_lookup_evidence(status_client, database)
            phases["setup"]["roster_lookup"] = await asyncio.wait_for(evidence, 60)
        setup = phases["setup"]
        if "roster_put_s" in setup:
            results.add("routing.setup.roster_put_s", setup["roster_put_s"], "s")
        if "presence_applied_s" in setup and "blocked" not in setup:
            agents = options.shape.queues * options.shape.agents_per_team
            results.add("routing.setup.presence_applied_per_s", agents / setup["presence_applied_s"], "agents/s")

        if "blocked" in setup:
            for name, unit in HOT_PATH_METRICS:
                results.add(name, None, unit)
        else:
            await warm_up(bench)
            await open_loop_phase(bench, per_s=options.rate, seconds=options.seconds, name="open_loop")
            if options.low_rate:
                suffix = f"_at_{options.low_rate:g}rps"
                await open_loop_phase(
                    bench, per_s=options.low_rate, seconds=options.low_seconds, name=f"open_loop{suffix}", suffix=suffix
                )
            saturated = await saturation_phase(bench, "saturation", options.saturation)
            relay_rate = phases["baselines"]["kafka_relay"]["burst"]["msgs_per_s_first_to_last"]
            results.add("routing.decisions_per_s", saturated["decisions_per_s"], "decisions/s", relay_rate)
            results.add("routing.assignments_per_s", saturated["assignments_per_s"], "assignments/s", relay_rate)
            results.add("routing.routed_per_s", saturated["routed_per_s"], "routed/s", relay_rate)
            if options.profile and options.profile_tickets:
                py_spy = await asyncio.to_thread(find_py_spy, options.install_py_spy)
                if py_spy:
                    await saturation_phase(bench, "saturation_profiled", options.profile_tickets, py_spy)
                else:
                    phases["saturation_profiled"] = {"skipped": "py-spy not available"}
            verification = verify(bench)
            phases["verification"] = verification
            clean = not (
                verification["never_assigned"]
                or verification["routed_to_wrong_queue"]
                or verification["assigned_more_than_once"]
                or verification["assigned_outside_queue_team"]
            )
        results.meta["phases"] = phases
        log("stopping routing and the servers ...")
    results.meta["wall_seconds"] = round(time.monotonic() - started, 1)
    return results, clean


# ----------------------------------------------------------------------------------------------------------
# output


def number(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(results: Results) -> str:
    rows = [("metric", "value", "unit", "baseline", "ratio")]
    for name, metric in results.metrics.items():
        data = metric.as_json()
        rows.append((name, number(data["value"]), metric.unit, number(data["baseline"]), number(data["ratio"], 3)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(c.ljust(w) if i in (0, 2) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    phases: Json = results.meta.get("phases", {})
    lines += ["", "CPU (cores busy; routing's busiest thread is its event loop):"]
    for name, phase in phases.items():
        cpu = phase.get("cpu") if isinstance(phase, dict) else None
        if cpu:
            cores = ", ".join(f"{k} {v:.2f}" for k, v in cpu["busy_cores_by_process"].items())
            lines.append(
                f"  {name:20} {cores}; routing loop thread {cpu.get('routing_busiest_thread_cores')}; "
                f"others {cpu['busy_cores_other_processes']:.2f}; idle {cpu['machine_idle_cores']:.2f} "
                f"of {cpu['cores']}"
            )
    domain = phases.get("board_domain")
    if domain:
        lines.append(
            f"  board domain without I/O ({domain['agents']:,} agents): roster_from_document "
            f"{domain['roster_from_document_ms']} ms; on_routed us by tickets on the board: "
            f"{json.dumps(domain['on_routed_us_mean_by_tickets_on_board'])}"
        )
    setup = phases.get("setup", {})
    if setup.get("blocked"):
        lines.append(f"  setup BLOCKED: {setup['blocked']} ({setup.get('agents_put', 0)} agents stored)")
        lines.append(f"  agent PUT latency [agents, elapsed s, PUT s]: {setup.get('agent_put_latency_samples')}")
    if setup.get("roster_lookup"):
        lines.append(f"  roster look-ups: {json.dumps(setup['roster_lookup'])}")
    for name in ("open_loop", "saturation"):
        commands = phases.get(name, {}).get("mongo_commands_per_ticket")
        if commands:
            lines.append(f"  Mongo commands per ticket ({name}): {json.dumps(commands)}")
    profile = phases.get("saturation_profiled", {}).get("profile")
    if profile and profile.get("samples"):
        lines += ["", f"routing profile ({profile['samples']} samples, busy {profile['busy_share_of_one_thread']}):"]
        lines += [f"  {v:5.1f}%  {k}" for k, v in profile["self_percent_by_area"].items()]
        lines.append("time spent below:")
        lines += [f"  {v:5.1f}%  {k}" for k, v in profile["inclusive_percent"].items()]
    if "verification" in phases:
        lines += ["", f"verification: {json.dumps(phases['verification'])}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queues", type=int, default=50, help="queues, a team each (default 50)")
    parser.add_argument("--agents-per-team", type=int, default=40, help="agents per team (default 40)")
    parser.add_argument("--capacity", type=int, default=10, help="web_form tickets an agent holds (default 10)")
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop TicketOpened per second (default 200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="open-loop length (default 20)")
    parser.add_argument("--low-rate", type=float, default=50.0, help="second open loop's rate (0: skip; default 50)")
    parser.add_argument("--low-seconds", type=float, default=10.0, help="second open loop's length (default 10)")
    parser.add_argument("--setup-budget", type=float, default=90.0, help="give up on the roster setup after (s)")
    parser.add_argument("--saturation", type=int, default=5000, help="tickets in the saturation burst (default 5000)")
    parser.add_argument("--profile-tickets", type=int, default=3000, help="tickets in the profiled burst")
    parser.add_argument("--baseline-seconds", type=float, default=10.0, help="relay latency baseline length")
    parser.add_argument("--stall-seconds", type=float, default=15.0, help="no new assignment for this long: give up")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile of routing")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install py-spy into /tmp if missing")
    parser.add_argument("--note", default=None, help="a remark stored with the results (_meta_routing.note)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="results file to merge into")
    args = parser.parse_args(argv)
    shape = Shape(args.queues, args.agents_per_team, args.capacity)
    options = Options(
        shape=shape,
        rate=args.rate,
        seconds=args.seconds,
        low_rate=args.low_rate,
        low_seconds=args.low_seconds,
        saturation=args.saturation,
        profile_tickets=0 if args.no_profile else args.profile_tickets,
        setup_budget_s=args.setup_budget,
        baseline_seconds=args.baseline_seconds,
        stall_s=args.stall_seconds,
        profile=not args.no_profile,
        install_py_spy=not args.no_install,
    )
    if options.total_tickets > shape.queues * shape.agents_per_team * shape.capacity:
        parser.error(f"{options.total_tickets} tickets would exceed the agents' capacity; raise --capacity")
    results, clean = asyncio.run(run(options))
    if args.note:
        results.meta["note"] = args.note
    output: Path = args.output.resolve()
    merge_into(output, results)
    print(table(results))
    print(f"\nmerged into {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    if "blocked" in results.meta:
        print(f"\nBLOCKED: {results.meta['blocked']}; the hot-path figures were not measured")
        return 2
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
