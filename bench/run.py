"""Switchboard benchmarks: intake's ticket opens against raw-client baselines measured in the same run.

`make bench` (or `.venv/bin/python bench/run.py`) starts its own Kafka and FerretDB under `.local/bench/`
(ports 29192 and 27118, wiped first; `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` override them), one intake
process in a fresh namespace, and measures in one run:

* baselines: raw PyMongo `insert_one` (64 tasks, ~1 KB ticket-commit-shaped documents) and raw aiokafka
  produce (idempotent, acks=all, ~1 KB values, 12 partitions);
* closed-loop ticket opens per second at 1, 8 and 64 concurrent clients, new customers and a pool of 100
  recurring ones; ratio = opens/s over raw inserts/s;
* open-loop latency at a fixed 500 opens/s, timed from each request's *scheduled* send time;
* that every 201 reached `<namespace>.support.tickets`, and how long the outbox took after the last 201;
* the CPU each process used during the c64 run, and (py-spy permitting) where intake's time goes.

A phase in which intake stops answering (no response for `--stall-seconds`) is cut short and reported as
stalled (its figures null); if the store no longer answers either, the remaining phases are skipped.

Results go to `bench/results/latest.json`; see bench/README.md for what each figure means. Not a test: it
asserts nothing beyond the run being valid, and everything it started is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient
from switchboard.events.topics import TICKETS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import infra  # noqa: E402

DATA = ROOT / ".local" / "bench"
RESULTS = ROOT / "bench" / "results"
KAFKA_PORT = 29192
MONGO_PORT = 27118
PARTITIONS = 12
RECURRING_CUSTOMERS = 100
PY_SPY_VENV = Path(tempfile.gettempdir()) / "switchboard-bench-py-spy"

Json = dict[str, Any]
T = TypeVar("T")


# ----------------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class Metric:
    value: float | None  # None: not measured (phase stalled or skipped)
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

    def as_json(self) -> Json:
        return {name: m.as_json() for name, m in self.metrics.items()} | {"_meta": self.meta}


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


# ----------------------------------------------------------------------------------------------------------
# CPU accounting from /proc (a ps/top snapshot, but exact over the measured window)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (all its threads) so far, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class CpuWatch:
    """CPU used by named processes between start() and stop(), in cores (1.0 = one core busy)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._start: dict[str, float] = {}
        self._t0 = 0.0
        self._machine0 = (0.0, 0.0)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._machine0 = machine_cpu_seconds()
        self._start = {name: cpu for name, pid in self._pids.items() if (cpu := process_cpu_seconds(pid)) is not None}

    def stop(self) -> Json:
        wall = time.monotonic() - self._t0
        busy1, total1 = machine_cpu_seconds()
        busy = busy1 - self._machine0[0]
        cores = {}
        for name, pid in self._pids.items():
            end = process_cpu_seconds(pid)
            if end is not None and name in self._start:
                cores[name] = round((end - self._start[name]) / wall, 3)
        machine_busy = busy / wall
        return {
            "window_s": round(wall, 2),
            "cores": os.cpu_count(),
            "machine_busy_cores": round(machine_busy, 3),
            "machine_idle_cores": round((total1 - self._machine0[1] - busy) / wall, 3),
            "busy_cores_by_process": cores,
            "busy_cores_other_processes": round(max(0.0, machine_busy - sum(cores.values())), 3),
        }


# ----------------------------------------------------------------------------------------------------------
# requests


SUBJECTS = [
    "Cannot log in after password reset",
    "Invoice shows the wrong VAT number",
    "Order #{n} arrived damaged",
    "Refund not received yet",
    "App crashes when uploading a photo",
]
DESCRIPTIONS = [
    "Hello, since this morning I cannot log in to my account. I reset my password twice and the reset e-mail "
    "arrives, but the new password is refused with 'invalid credentials'. I use the web app in Firefox on "
    "Windows and also tried the mobile app. Could you please check whether my account is locked? Thanks.",
    "Good afternoon, the invoice for last month lists our old VAT number although we updated it in the account "
    "settings in March. Our accounting department cannot book it like this. Please send a corrected invoice to "
    "this address and make sure future invoices use the new number. Kind regards.",
    "Hi, my order arrived today but the box was crushed and the screen of the monitor inside is cracked. I took "
    "photos of the package and the damage before unpacking anything else. What should I do now, can you send a "
    "replacement or should I return it first? I need it for work next week.",
    "Guten Tag, ich habe die Bestellung vor drei Wochen zurückgeschickt und die Rücksendung wurde laut "
    "Sendungsverfolgung am Montag zugestellt. Die Erstattung ist aber noch nicht auf meinem Konto eingegangen. "
    "Können Sie bitte nachsehen, wann das Geld überwiesen wird? Vielen Dank.",
    "Bonjour, l'application se ferme dès que j'essaie d'envoyer une photo depuis la galerie. Le problème a "
    "commencé après la dernière mise à jour. J'ai déjà réinstallé l'application et redémarré le téléphone, sans "
    "succès. Pouvez-vous m'aider ? Merci d'avance.",
    "Merhaba, dün verdiğim siparişin durumu hâlâ hazırlanıyor olarak görünüyor. Kargo takip numarası da "
    "gelmedi. Siparişimin ne zaman gönderileceğini öğrenebilir miyim? Acil ihtiyacım var, teşekkürler.",
]
CHANNELS = ["email", "api", "email", "web_form"]


class Opener:
    """Builds open-ticket bodies; a fresh customer e-mail each time, or one of a fixed pool of regulars."""

    def __init__(self, run_id: str, seed: int = 7) -> None:
        self._run = run_id
        self._n = 0
        self._random = random.Random(seed)

    def body(self, *, recurring: bool) -> Json:
        self._n += 1
        n = self._n
        if recurring:
            k = self._random.randrange(RECURRING_CUSTOMERS)
            email, name = f"regular-{k}.{self._run}@customers.example.com", f"Regular Customer {k}"
        else:
            email, name = f"c{n}.{self._run}@customers.example.com", f"Customer {n}"
        return {
            "subject": self._random.choice(SUBJECTS).format(n=n),
            "description": self._random.choice(DESCRIPTIONS),
            "channel": self._random.choice(CHANNELS),
            "customer": {"email": email, "name": name},
        }


@dataclass
class Tally:
    """What the load generator saw in one phase."""

    latencies: list[float] = field(default_factory=list)  # of the 201s
    statuses: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # one sample answer per failure kind
    ticket_ids: list[str] = field(default_factory=list)
    last_created: float = 0.0  # monotonic time of the last 201
    last_answer: float = field(default_factory=time.monotonic)  # of the last response of any kind
    in_flight: int = 0
    stalled: bool = False

    def record(self, response: httpx.Response | None, latency: float, error: Exception | None = None) -> None:
        self.last_answer = time.monotonic()
        if response is not None and response.status_code == 201:
            self.latencies.append(latency)
            self.ticket_ids.append(str(response.json()["id"]))
            self.last_created = self.last_answer
            self.statuses["201"] += 1
        elif response is not None:
            self.statuses[str(response.status_code)] += 1
            self.examples.setdefault(str(response.status_code), response.text[:300])
        else:
            kind = type(error).__name__
            self.statuses[kind] += 1
            self.examples.setdefault(kind, repr(error)[:300])

    @property
    def created(self) -> int:
        return len(self.ticket_ids)

    @property
    def failed(self) -> int:
        """Requests sent that did not answer 201 (requests the open loop never sent are not counted)."""
        return sum(count for status, count in self.statuses.items() if status not in ("201", "unsent"))

    @property
    def valid(self) -> bool:
        """Figures from this phase mean something: it did not stall and (nearly) every answer was a 201."""
        return not self.stalled and self.created > 0 and self.failed <= 0.01 * (self.created + self.failed)


async def post_open(client: httpx.AsyncClient, body: Json, tally: Tally, started: float) -> None:
    tally.in_flight += 1
    try:
        response = await client.post("/v1/tickets", json=body)
    except httpx.HTTPError as exc:
        tally.record(None, time.monotonic() - started, exc)
        return
    finally:
        tally.in_flight -= 1
    tally.record(response, time.monotonic() - started)


@contextlib.asynccontextmanager
async def connections(url: str, token: str, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """`count` keep-alive connections, each its own one-connection client: httpx's pool costs the load
    generator CPU in proportion to the connections it holds, which on a small machine is taken from the
    server under test. They share one TLS context (never used on http://, but httpx builds one per client,
    which costs milliseconds each)."""
    tls = ssl.create_default_context()
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=url,
                    headers={"authorization": f"Bearer {token}"},
                    verify=tls,
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                    timeout=httpx.Timeout(120.0),  # the stall watchdog, not a timeout, ends a hung phase
                )
            )
            for _ in range(count)
        ]


async def unless_stalled(work: Coroutine[Any, Any, T], tally: Tally, stall_s: float) -> T | None:
    """Run `work`; cancel it if requests are outstanding but nothing has answered for `stall_s` seconds."""
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.wait({task}, timeout=0.25)
        if not task.done() and tally.in_flight and time.monotonic() - tally.last_answer > stall_s:
            tally.stalled = True
            tally.statuses["abandoned (stall)"] += tally.in_flight
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return None
    return task.result()


async def closed_loop(
    url: str,
    token: str,
    opener: Opener,
    *,
    clients: int,
    seconds: float,
    stall_s: float,
    max_requests: int = 100_000,
    recurring: bool = False,
) -> tuple[Tally, float]:
    """`clients` tasks each sending one open after another for `seconds` (or `max_requests` in all).

    Returns the tally and the seconds it covers (up to the last answer when the phase stalled)."""
    tally = Tally()
    budget = [max_requests]
    async with connections(url, token, clients) as pool:
        t0 = time.monotonic()
        deadline = t0 + seconds

        async def worker(client: httpx.AsyncClient) -> None:
            while time.monotonic() < deadline and budget[0] > 0:
                budget[0] -= 1
                await post_open(client, opener.body(recurring=recurring), tally, time.monotonic())

        async def all_workers() -> None:
            await asyncio.gather(*(worker(client) for client in pool))

        await unless_stalled(all_workers(), tally, stall_s)
        elapsed = (tally.last_answer if tally.stalled else time.monotonic()) - t0
    return tally, elapsed


@dataclass
class OpenLoopRun:
    tally: Tally
    scheduled: int
    unsent: int
    elapsed: float
    lateness_ms_p99: float  # how late the generator itself dispatched requests (its own health)


async def open_loop(
    url: str,
    token: str,
    opener: Opener,
    *,
    rate: float,
    seconds: float,
    max_in_flight: int,
    grace: float,
    stall_s: float,
) -> OpenLoopRun:
    """Requests on a fixed timetable; latency counts from the scheduled send time, so a slow server (or a
    full in-flight window) shows up as latency instead of as fewer requests. Requests still waiting for a
    slot `grace` seconds after the timetable ends are never sent and count with the latency they had so far
    (a lower bound); requests already sent are always awaited, so every ticket opened is accounted for."""
    tally = Tally()
    count = round(rate * seconds)
    lateness: list[float] = []
    waiting: dict[asyncio.Task[None], float] = {}  # not yet sent -> scheduled time
    tasks: set[asyncio.Task[None]] = set()

    async with connections(url, token, max_in_flight) as pool:
        idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in pool:
            idle.put_nowait(client)
        t0 = cut = time.monotonic() + 0.05

        async def one(scheduled: float, body: Json) -> None:
            client = await idle.get()  # FIFO: requests get a connection in timetable order
            try:
                task = asyncio.current_task()
                assert task is not None
                waiting.pop(task, None)
                await post_open(client, body, tally, scheduled)
            finally:
                idle.put_nowait(client)

        async def timetable() -> None:
            nonlocal cut
            for i in range(count):
                scheduled = t0 + i / rate
                delay = scheduled - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                lateness.append(max(0.0, time.monotonic() - scheduled))
                task = asyncio.create_task(one(scheduled, opener.body(recurring=False)))
                waiting[task] = scheduled
                tasks.add(task)
            if waiting:  # give the backlog `grace` seconds to get a slot
                await asyncio.wait(set(waiting), timeout=max(0.0, t0 + count / rate + grace - time.monotonic()))
            cut = time.monotonic()
            for task, scheduled in list(waiting.items()):
                task.cancel()
                tally.latencies.append(cut - scheduled)  # censored: at least this late, never sent
                tally.statuses["unsent"] += 1
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            await unless_stalled(timetable(), tally, stall_s)
        finally:
            unsent = len(waiting) if tally.stalled else tally.statuses["unsent"]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        end = tally.last_answer if tally.stalled else max(tally.last_created, cut)
    return OpenLoopRun(tally, count, unsent, end - t0, percentile(lateness, 99) * 1000)


# ----------------------------------------------------------------------------------------------------------
# baselines


def commit_like_document(rng: random.Random) -> Json:
    """Shaped like one of intake's ticket commits (records with a CloudEvents value and headers), ~1 KB."""
    ticket_id = str(uuid.uuid4())
    value = json.dumps(
        {
            "type": "support.ticket.opened.v1",
            "ticket_id": ticket_id,
            "reference": f"SB-{rng.randrange(10**6)}",
            "subject": rng.choice(SUBJECTS).format(n=1),
            "description": rng.choice(DESCRIPTIONS)[:300],
            "channel": "email",
            "customer_id": str(uuid.uuid4()),
            "priority": "normal",
            "status": "new",
        }
    ).encode()
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid4()),
        "ce_source": "/switchboard/intake",
        "ce_type": "support.ticket.opened.v1",
        "ce_subject": ticket_id,
        "ce_time": datetime.now(UTC).isoformat(),
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
                "type": headers["ce_type"],
                "topic": "bench.support.tickets",
                "key": ticket_id.encode(),
                "value": value,
                "headers": headers,
            }
        ],
        "stored_at": datetime.now(UTC),
        "published": False,
    }


@dataclass
class InsertRun:
    rate: float  # inserts per second
    latencies: list[float]
    document_bytes: int
    cpu: Json  # CpuWatch.stop() over the measured window


async def mongo_insert_rate(uri: str, database: str, *, tasks: int, seconds: float, cpu: CpuWatch) -> InsertRun:
    """insert_one calls per second from `tasks` concurrent tasks on one client; also latencies and CPU."""
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri, tz_aware=True)
    try:
        collection = client[database]["commits"]
        rng = random.Random(1)
        await collection.insert_one(commit_like_document(rng))  # creates the collection
        latencies: list[float] = []
        done = [0]

        async def worker(until: float, measure: bool) -> None:
            while time.monotonic() < until:
                doc = commit_like_document(rng)
                started = time.monotonic()
                await collection.insert_one(doc)
                if measure:
                    latencies.append(time.monotonic() - started)
                    done[0] += 1

        await asyncio.gather(*(worker(time.monotonic() + 1.0, False) for _ in range(tasks)))  # warm-up
        cpu.start()
        t0 = time.monotonic()
        await asyncio.gather(*(worker(t0 + seconds, True) for _ in range(tasks)))
        elapsed = time.monotonic() - t0
        split = cpu.stop()
        size = len(json.dumps(commit_like_document(rng), default=str))
        return InsertRun(done[0] / elapsed, latencies, size, split)
    finally:
        await client.close()


async def kafka_produce_rate(bootstrap: str, topic: str, *, messages: int) -> tuple[float, float]:
    """Messages per second from one idempotent acks=all producer with everything in flight, then flushed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    # linger_ms=2 as intake's broker (switchboard.runtime.kafka.make_broker) sets it.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)
    await producer.start()
    try:
        rng = random.Random(2)
        values = [json.dumps(commit_like_document(rng), default=str).encode()[:1024] for _ in range(64)]
        for _ in range(200):  # warm-up: metadata (leaders of a new topic), connections, producer id
            await producer.send(topic, values[0], key=uuid.uuid4().bytes)
        await producer.flush()
        t0 = time.monotonic()
        futures = [
            await producer.send(topic, values[i % len(values)], key=str(uuid.uuid4()).encode()) for i in range(messages)
        ]
        await producer.flush()
        await asyncio.gather(*futures)
        return messages / (time.monotonic() - t0), float(len(values[0]))
    finally:
        await producer.stop()


ADMIN_COMMANDS = {"serverstatus", "ismaster", "hello", "ping", "endsessions", "buildinfo", "getlog", "listdatabases"}


async def command_counts(client: AsyncMongoClient[Json]) -> Counter[str] | None:
    """Commands the server has run so far, by name (serverStatus.metrics.commands; MongoDB and FerretDB)."""
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


async def store_answers(uri: str, database: str, limit_s: float = 5.0) -> bool:
    """Whether the Mongo server still answers a by-_id read on this database within `limit_s`."""
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri, serverSelectionTimeoutMS=2000)
    try:
        await asyncio.wait_for(client[database]["commits"].find_one({"_id": "bench-probe"}), limit_s)
        return True
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 2.0)


# ----------------------------------------------------------------------------------------------------------
# Kafka: has everything the bench opened been published?


class TopicWatch:
    """Counts the messages on a topic (end offsets; the topic is new, so begins at 0)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self._admin.start()
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def count(self) -> int:
        if not self._partitions:
            (described,) = await self._admin.describe_topics([self._topic])
            found = sorted(p["partition"] for p in described.get("partitions", []))
            self._partitions = [TopicPartition(self._topic, p) for p in found]
            if not self._partitions:
                return 0
        ends = await self._consumer.end_offsets(self._partitions)
        return sum(ends.values())

    async def wait_for(self, expected: int, since: float, limit_s: float = 60.0) -> float | None:
        """Seconds from `since` until the topic holds `expected` messages; None after `limit_s`."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if await self.count() >= expected:
                return max(0.0, time.monotonic() - since)
            await asyncio.sleep(0.02)
        return None

    async def keys(self) -> Counter[str]:
        """Every message key on the topic, read from the beginning."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
        await consumer.start()
        try:
            if not self._partitions:
                await self.count()
            keys: Counter[str] = Counter()
            if not self._partitions:
                return keys
            consumer.assign(self._partitions)
            await consumer.seek_to_beginning(*self._partitions)
            ends = await consumer.end_offsets(self._partitions)
            deadline = time.monotonic() + 120
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                if time.monotonic() > deadline:
                    raise TimeoutError("reading the tickets topic back took over 120 s")
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batches.values():
                    keys.update((r.key or b"").decode() for r in records)
            return keys
        finally:
            await consumer.stop()


# ----------------------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Intake:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, wait_s: float = 25.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(wait_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def intake_process(env: dict[str, str]) -> Iterator[Intake]:
    port = free_port()
    log_path = DATA / "intake.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "switchboard.intake"],
            env=os.environ | env | {"INTAKE_PORT": str(port)},
            stdout=out,
            stderr=out,
            cwd=ROOT,
        )
    intake = Intake(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"intake exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{intake.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"intake not ready after 120 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield intake
    finally:
        intake.stop()


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
    for candidate in (os.environ.get("PY_SPY"), shutil.which("py-spy"), str(PY_SPY_VENV / "bin" / "py-spy")):
        if candidate and Path(candidate).is_file():
            return candidate
    if not install:
        return None
    log(f"installing py-spy into a scratch venv {PY_SPY_VENV} (not the project) ...")
    pip = [str(PY_SPY_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PY_SPY_VENV)], check=True, timeout=120, capture_output=True)
        subprocess.run([*pip, "py-spy"], check=True, timeout=300, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"  py-spy unavailable ({exc}); skipping the profile")
        return None
    binary = PY_SPY_VENV / "bin" / "py-spy"
    return str(binary) if binary.is_file() else None


FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def package(file: str) -> str:
    """py-spy names files from their import root ('pymongo/pool.py', 'intake/handlers.py', 'uuid.py')."""
    return file.split("/", 1)[0]


# What a sample's innermost frame is part of (py-spy samples only running threads: this is CPU time).
# First match wins; arguments are (file, function name without its class or closure).
SELF_AREAS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("language detection (lingua)", lambda f, fn: package(f) == "lingua" or f == "intake/language.py"),
    ("pymongo / bson (Mongo client)", lambda f, fn: package(f) in ("pymongo", "bson")),
    ("aiokafka / faststream (Kafka client)", lambda f, fn: package(f) in ("aiokafka", "faststream")),
    ("pydantic (validation, dumps)", lambda f, fn: package(f).startswith("pydantic")),
    ("email_validator / dns", lambda f, fn: package(f) in ("email_validator", "dns")),
    ("fastapi / starlette", lambda f, fn: package(f) in ("fastapi", "starlette")),
    ("uvicorn / h11 / httptools", lambda f, fn: package(f) in ("uvicorn", "h11", "httptools")),
    ("json (stdlib)", lambda f, fn: package(f) == "json"),
    ("prometheus_client", lambda f, fn: package(f) == "prometheus_client"),
    ("structlog / logging", lambda f, fn: package(f) in ("structlog", "logging")),
    ("switchboard code", lambda f, fn: package(f) in ("intake", "runtime", "events")),
    ("asyncio / uvloop (event loop)", lambda f, fn: package(f) in ("asyncio", "uvloop")),
]

# Time spent inside (anywhere below) these calls, whatever the innermost frame.
INCLUSIVE: list[tuple[str, Callable[[str, str], bool]]] = [
    ("POST /v1/tickets handler (all of it)", lambda f, fn: fn == "open_ticket" and f == "intake/api/tickets.py"),
    ("  identify.customer (find or create)", lambda f, fn: fn == "customer" and f == "intake/identify.py"),
    ("  language detection", lambda f, fn: fn == "detect" and f == "intake/language.py"),
    ("  EventStore.read (history reads)", lambda f, fn: fn == "read" and f == "runtime/eventstore.py"),
    ("  EventStore.append (commit insert)", lambda f, fn: fn == "append" and f == "runtime/eventstore.py"),
    ("  commit_document / CloudEvents encode", lambda f, fn: fn in ("commit_document", "encode")),
    ("FastAPI request parsing + validation", lambda f, fn: fn == "solve_dependencies"),
    ("FastAPI response serialisation", lambda f, fn: fn == "serialize_response"),
    ("outbox relay publish", lambda f, fn: fn == "publish" and f == "runtime/outbox.py"),
    ("outbox sweep", lambda f, fn: fn == "sweep_once" and f == "runtime/outbox.py"),
    ("any pymongo / bson frame", lambda f, fn: package(f) in ("pymongo", "bson")),
    ("any aiokafka / faststream frame", lambda f, fn: package(f) in ("aiokafka", "faststream")),
    ("any pydantic frame", lambda f, fn: package(f).startswith("pydantic")),
]


def parse_frame(frame: str) -> tuple[str, str]:
    """'Class.method (pkg/file.py:12)' -> ('pkg/file.py', 'method')."""
    match = FRAME.match(frame.strip())
    if not match:
        return "", frame
    return match["file"], match["func"].rsplit(".", 1)[-1]


def summarise_profile(raw: str) -> Json:
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
        leaves[f"{leaf_func} ({leaf_file})"] += count
        for area, matches in SELF_AREAS:
            if matches(leaf_file, leaf_func):
                self_time[area] += count
                break
        else:
            self_time["other (stdlib, runpy, ...)"] += count
        for area, matches in INCLUSIVE:
            if any(matches(f, fn) for f, fn in frames):
                inclusive[area] += count

    def share(counter: Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common()} if total else {}

    return {
        "samples": total,
        "self_percent_by_area": share(self_time),
        "inclusive_percent": {area: round(100 * inclusive[area] / total, 1) for area, _ in INCLUSIVE} if total else {},
        "top_leaf_functions_percent": dict(list(share(leaves).items())[:15]),
    }


def convert_to_speedscope(raw_path: Path, out: Path) -> None:
    """Collapsed stacks -> a speedscope 'sampled' profile, loadable at https://www.speedscope.app."""
    frames: dict[str, int] = {}
    samples: list[list[int]] = []
    weights: list[int] = []
    for line in raw_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples.append([frames.setdefault(f, len(frames)) for f in stack.split(";")])
        weights.append(int(count))
    document = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": name} for name in frames]},
        "profiles": [
            {
                "type": "sampled",
                "name": "intake c64",
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
    }
    out.write_text(json.dumps(document))


# ----------------------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class Options:
    seconds: float
    rate: float
    max_in_flight: int
    stall_s: float
    profile: bool
    install_py_spy: bool
    recurring: bool


@dataclass
class Bench:
    """One intake under load, phase after phase, and what every phase left behind."""

    options: Options
    results: Results
    intake: Intake
    watch: TopicWatch
    opener: Opener
    token: str
    mongodb_uri: str
    database: str
    status_client: AsyncMongoClient[Json]
    opened: list[str] = field(default_factory=list)  # ticket ids of every 201, all phases
    failed: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    lags: dict[str, float | None] = field(default_factory=dict)
    phases: dict[str, Json] = field(default_factory=dict)
    wedged: str | None = None  # the phase after which the store stopped answering

    async def settle(self, name: str, tally: Tally) -> None:
        """Account for a phase; wait until the outbox has published it, so phases do not overlap."""
        self.opened.extend(tally.ticket_ids)
        self.failed.update({k: v for k, v in tally.statuses.items() if k not in ("201", "unsent")})
        self.examples |= tally.examples
        if tally.stalled:
            abandoned = tally.statuses["abandoned (stall)"]
            log(f"  STALLED: no answer for {self.options.stall_s:g} s with {abandoned} requests outstanding")
        if tally.failed:
            log(f"  {tally.failed} answers were not 201: {dict(tally.statuses - Counter({'201': tally.created}))}")
        if (tally.stalled or tally.failed) and not await store_answers(self.mongodb_uri, self.database):
            self.wedged = name
            log("  the store no longer answers reads on intake's database: skipping the remaining phases")
        if tally.created and not tally.stalled and not self.wedged:
            self.lags[name] = await self.watch.wait_for(len(self.opened), since=tally.last_created)

    async def closed(self, name: str, clients: int, *, recurring: bool, cpu: CpuWatch | None = None) -> Tally | None:
        if self.wedged:
            self.phases[name] = {"skipped": f"store stopped answering after {self.wedged}"}
            return None
        kind = "100 recurring" if recurring else "new"
        log(f"closed loop {name}: {clients} client(s), {kind} customers, {self.options.seconds:g} s ...")
        before = await command_counts(self.status_client)
        if cpu:
            cpu.start()
        tally, elapsed = await closed_loop(
            self.intake.url,
            self.token,
            self.opener,
            clients=clients,
            seconds=self.options.seconds,
            stall_s=self.options.stall_s,
            recurring=recurring,
        )
        self.phases[name] = {
            "opens": tally.created,
            "non_201": dict(tally.statuses - Counter({"201": tally.created})),
            "seconds": round(elapsed, 2),
            "opens_per_s": round(tally.created / elapsed, 2) if elapsed > 0 else None,
            "stalled": tally.stalled,
            "valid": tally.valid,
            "latency": latency_summary(tally.latencies),
        }
        if cpu:
            split = cpu.stop()
            self.phases[name]["cpu"] = split
            if tally.created:
                per_open = {
                    k: round(1000 * v / (tally.created / elapsed), 2) for k, v in split["busy_cores_by_process"].items()
                }
                self.phases[name]["cpu_ms_per_open"] = per_open
        after = await command_counts(self.status_client)
        if before is not None and after is not None and tally.created:
            used = after - before
            self.phases[name]["mongo_commands_per_open"] = {
                k: round(v / tally.created, 2) for k, v in sorted(used.items(), key=lambda kv: -kv[1])
            } | {"total": round(sum(used.values()) / tally.created, 2)}
        await self.settle(name, tally)
        return tally


async def run(options: Options) -> Results:
    results = Results()
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    results.meta = machine_facts() | {
        "namespace": namespace,
        "settings": {
            "seconds_per_phase": options.seconds,
            "open_loop_rate": options.rate,
            "open_loop_max_in_flight": options.max_in_flight,
            "stall_seconds": options.stall_s,
        },
    }
    py_spy = find_py_spy(options.install_py_spy) if options.profile else None
    t_start = time.monotonic()
    async with servers() as ends:
        origin = "environment" if not (ends.started_kafka or ends.started_ferretdb) else "local (.local/bench)"
        results.meta["servers"] = {"kafka": ends.kafka_bootstrap, "mongodb": ends.mongodb_uri, "origin": origin}
        log(f"servers up in {time.monotonic() - t_start:.1f}s: kafka {ends.kafka_bootstrap}, mongo {ends.mongodb_uri}")
        await baselines(results, options, ends, namespace)
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": ends.kafka_bootstrap,
            "MONGODB_URI": ends.mongodb_uri,
            "SWITCHBOARD_NAMESPACE": namespace,
            "SWITCHBOARD_API_TOKEN": (token := secrets.token_urlsafe(16)),
            "SWITCHBOARD_TOPIC_PARTITIONS": str(PARTITIONS),
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
        }
        log("starting intake ...")
        with intake_process(env) as intake:
            watch = TopicWatch(ends.kafka_bootstrap, TICKETS.qualified(namespace))
            await watch.start()
            status_client: AsyncMongoClient[Json] = AsyncMongoClient(ends.mongodb_uri, serverSelectionTimeoutMS=3000)
            try:
                bench = Bench(
                    options,
                    results,
                    intake,
                    watch,
                    Opener(uuid.uuid4().hex[:6]),
                    token,
                    ends.mongodb_uri,
                    f"{namespace}_intake",
                    status_client,
                )
                await measure_intake(bench, py_spy)
                if bench.wedged:
                    # intake's requests hang on the store; stop it before waiting on anything else
                    await asyncio.to_thread(intake.stop, 5.0)
                log("verifying: every 201 is on the tickets topic ...")
                keys = await watch.keys()
            finally:
                await watch.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(status_client.close(), 5.0)
        missing = [i for i in bench.opened if i not in keys]
        results.meta["verification"] = {
            "opened_201": len(bench.opened),
            "non_201": dict(bench.failed),
            "non_201_examples": bench.examples,
            "tickets_topic_messages": sum(keys.values()),
            "tickets_topic_distinct_tickets": len(keys),
            "opened_but_not_on_topic": len(missing),
            "duplicates_on_topic": sum(keys.values()) - len(keys),
            "store_stopped_answering_after": bench.wedged,
        }
        results.add("intake.open.not_published", float(len(missing)), "tickets")
    results.meta["wall_seconds"] = round(time.monotonic() - t_start, 1)
    return results


async def baselines(results: Results, options: Options, ends: infra.Endpoints, namespace: str) -> None:
    log("baseline: raw PyMongo insert_one ...")
    database = f"{namespace}_baseline"
    pids = {"client": os.getpid()} | {k: v for k, v in server_pids().items() if k == "ferretdb"}
    c64 = await mongo_insert_rate(
        ends.mongodb_uri, database, tasks=64, seconds=min(options.seconds, 8.0), cpu=CpuWatch(pids)
    )
    results.add("baseline.mongo.insert_one_rps_c64", c64.rate, "inserts/s")
    c1 = await mongo_insert_rate(ends.mongodb_uri, database, tasks=1, seconds=3.0, cpu=CpuWatch(pids))
    results.add("baseline.mongo.insert_one_rps_c1", c1.rate, "inserts/s")
    results.add("baseline.mongo.insert_one_p50_ms_c1", percentile(c1.latencies, 50) * 1000, "ms")
    busy = c64.cpu["busy_cores_by_process"]
    results.add("baseline.mongo.client_cpu_ms_per_insert", 1000 * busy["client"] / c64.rate, "ms")
    if "ferretdb" in busy:
        results.add("baseline.mongo.store_cpu_ms_per_insert", 1000 * busy["ferretdb"] / c64.rate, "ms")
    results.meta["baseline_mongo"] = {
        "document_bytes_as_json": c64.document_bytes,
        "latency_c64": latency_summary(c64.latencies),
        "latency_c1": latency_summary(c1.latencies),
        "cpu_c64": c64.cpu,
    }
    log("baseline: raw aiokafka produce ...")
    messages = 20_000
    kafka_rps, value_size = await kafka_produce_rate(
        ends.kafka_bootstrap, f"{namespace}.bench.baseline", messages=messages
    )
    results.add("baseline.kafka.produce_msgs_per_s", kafka_rps, "msgs/s")
    results.meta["baseline_kafka"] = {"value_bytes": value_size, "partitions": PARTITIONS, "messages": messages}


async def measure_intake(bench: Bench, py_spy: str | None) -> None:
    options, results = bench.options, bench.results
    mongo_rps = results.metrics["baseline.mongo.insert_one_rps_c64"].value
    mongo_c1_p50_ms = results.metrics["baseline.mongo.insert_one_p50_ms_c1"].value
    pids = {"intake": bench.intake.process.pid, "bench client": os.getpid()} | server_pids()

    log("warming up intake (3 s at 8 clients) ...")
    tally, _ = await closed_loop(
        bench.intake.url, bench.token, bench.opener, clients=8, seconds=3.0, stall_s=options.stall_s
    )
    await bench.settle("warm-up", tally)

    # Low concurrency first: should the store wedge under load, the light phases are already measured.
    plan = [("c1", 1, False), ("c8", 8, False)]
    if options.recurring:
        plan += [("c1_recurring", 1, True), ("c8_recurring", 8, True)]
    plan += [("c64", 64, False)]
    if options.recurring:
        plan += [("c64_recurring", 64, True)]
    for name, clients, recurring in plan:
        phase = await bench.closed(name, clients, recurring=recurring, cpu=CpuWatch(pids))
        valid = phase is not None and phase.valid
        rate = bench.phases[name].get("opens_per_s") if valid else None
        results.add(f"intake.open.rps_{name}", rate, "opens/s", mongo_rps)
        if name == "c1":
            p50 = percentile(phase.latencies, 50) * 1000 if phase is not None and valid else None
            results.add("intake.open.p50_ms_c1", p50, "ms", mongo_c1_p50_ms)
    per_open_metrics(bench)

    await open_loop_phase(bench, pids, rate=options.rate, label=f"{options.rate:g}rps")
    # and at a rate intake can sustain, so the latency is service time rather than a growing queue
    c64 = results.metrics["intake.open.rps_c64"].value
    await open_loop_phase(bench, pids, rate=max(1.0, round(c64 / 2)) if c64 else None, label="half_c64")

    if py_spy is not None and not bench.wedged:
        tally, profile = await profiled_c64(bench, py_spy)
        bench.phases["c64_profiled"] = {
            "opens": tally.created,
            "opens_per_s": profile["opens_per_s_under_profiler"],
            "stalled": tally.stalled,
            "latency": latency_summary(tally.latencies),
        }
        results.meta["profile"] = profile
        await bench.settle("c64_profiled", tally)

    measured = [lag for lag in bench.lags.values() if lag is not None]
    results.add("intake.outbox.publish_lag_s", max(measured) if measured else None, "s")
    results.meta["publish_lag_s_by_phase"] = {k: None if v is None else round(v, 3) for k, v in bench.lags.items()}
    results.meta["phases"] = bench.phases
    if bench.failed:
        log(f"  non-201 outcomes: {dict(bench.failed)}")


def per_open_metrics(bench: Bench) -> None:
    """What one open costs: Mongo commands, and CPU of intake and of the store, against one raw insert."""
    results, phases = bench.results, bench.phases

    def baseline(name: str) -> float | None:
        metric = results.metrics.get(name)
        return None if metric is None else metric.value

    # c1 for new customers (no concurrency, so no retries); c8_recurring for regulars (c1_recurring still
    # creates the 100 customers).
    for phase, suffix in (("c1", ""), ("c8_recurring", "_recurring")):
        if phases.get(phase, {}).get("valid"):
            total = phases[phase].get("mongo_commands_per_open", {}).get("total")
            results.add(f"intake.open.mongo_commands_per_open{suffix}", total, "commands", 1.0)
    for phase in ("c8", "c64"):
        per_open = phases.get(phase, {}).get("cpu_ms_per_open", {})
        if per_open and phases[phase].get("valid"):
            results.add(
                f"intake.open.intake_cpu_ms_per_open_{phase}",
                per_open.get("intake"),
                "ms",
                baseline("baseline.mongo.client_cpu_ms_per_insert"),
            )
            if "ferretdb" in per_open:
                results.add(
                    f"intake.open.store_cpu_ms_per_open_{phase}",
                    per_open["ferretdb"],
                    "ms",
                    baseline("baseline.mongo.store_cpu_ms_per_insert"),
                )


async def open_loop_phase(bench: Bench, pids: dict[str, int], *, rate: float | None, label: str) -> None:
    """Fixed-rate load; metrics intake.open.{p50_ms,p99_ms,achieved_rps}_at_<label> (null when skipped)."""
    options, results = bench.options, bench.results
    name = f"open_loop_{label}"
    p50 = p99 = achieved = None
    if bench.wedged:
        bench.phases[name] = {"skipped": f"store stopped answering after {bench.wedged}"}
    elif rate is None:
        bench.phases[name] = {"skipped": "no valid rate to derive it from"}
    else:
        log(f"open loop {label}: {rate:g} opens/s for {options.seconds:g} s ...")
        cpu = CpuWatch(pids)
        cpu.start()
        run = await open_loop(
            bench.intake.url,
            bench.token,
            bench.opener,
            rate=rate,
            seconds=options.seconds,
            max_in_flight=options.max_in_flight,
            grace=3.0,
            stall_s=options.stall_s,
        )
        tally = run.tally
        bench.phases[name] = {
            "rate": rate,
            "scheduled": run.scheduled,
            "opens": tally.created,
            "non_201": dict(tally.statuses - Counter({"201": tally.created, "unsent": run.unsent})),
            "unsent_censored": run.unsent,
            "seconds": round(run.elapsed, 2),
            "stalled": tally.stalled,
            "generator_lateness_p99_ms": round(run.lateness_ms_p99, 2),
            "latency_from_schedule": latency_summary(tally.latencies),
            "cpu": cpu.stop(),
        }
        bench.phases[name]["valid"] = tally.valid
        if tally.valid:
            p50 = percentile(tally.latencies, 50) * 1000
            p99 = percentile(tally.latencies, 99) * 1000
            achieved = tally.created / run.elapsed
        await bench.settle(name, tally)
    results.add(f"intake.open.p50_ms_at_{label}", p50, "ms")
    results.add(f"intake.open.p99_ms_at_{label}", p99, "ms")
    results.add(f"intake.open.achieved_rps_at_{label}", achieved, "opens/s", rate)


async def profiled_c64(bench: Bench, py_spy: str) -> tuple[Tally, Json]:
    """A separate c64 run with py-spy sampling intake (so the measured c64 figure carries no profiler)."""
    seconds = max(1, round(bench.options.seconds))
    log(f"profile: py-spy on intake during a {seconds} s c64 run ...")
    raw_path = DATA / "intake-c64.raw.txt"
    speedscope_path = DATA / "intake-c64.speedscope.json"
    spy = await asyncio.create_subprocess_exec(
        *[py_spy, "record", "--pid", str(bench.intake.process.pid), "--duration", str(seconds), "--rate", "100"],
        *["--format", "raw", "--output", str(raw_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    await asyncio.sleep(0.5)  # py-spy attaches
    tally, elapsed = await closed_loop(
        bench.intake.url, bench.token, bench.opener, clients=64, seconds=seconds, stall_s=bench.options.stall_s
    )
    try:
        _, err = await asyncio.wait_for(spy.communicate(), 30)
    except TimeoutError:
        spy.kill()
        _, err = await spy.communicate()
    profile: Json = {"opens_per_s_under_profiler": round(tally.created / elapsed, 1), "raw_file": str(raw_path)}
    if spy.returncode:
        profile["error"] = err.decode(errors="replace")[-500:]
    if raw_path.is_file():
        profile |= summarise_profile(raw_path.read_text())
        with contextlib.suppress(OSError):
            convert_to_speedscope(raw_path, speedscope_path)
            profile["speedscope_file"] = str(speedscope_path)
    return tally, profile


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
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# ----------------------------------------------------------------------------------------------------------
# output


def render(rows: list[tuple[str, ...]], left: set[int]) -> list[str]:
    """Rows as aligned columns (the first row is the header); columns in `left` are left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def number(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(results: Results) -> str:
    rows: list[tuple[str, ...]] = [("metric", "value", "unit", "baseline", "ratio")]
    for name, metric in results.metrics.items():
        data = metric.as_json()
        rows.append((name, number(data["value"]), metric.unit, number(data["baseline"]), number(data["ratio"], 3)))
    lines = render(rows, left={0, 2})
    meta = results.meta
    phases: dict[str, Json] = meta.get("phases", {})
    rows = [("phase", "opens/s", "p50 ms", "p99 ms", "cmds/open", "CPU cores: intake", "ferretdb", "kafka", "client")]
    rows[0] += ("others", "idle")
    for name, phase in phases.items():
        if phase.get("skipped"):
            rows.append((name, "skipped", *[""] * 9))
            continue
        latency = phase.get("latency") or phase.get("latency_from_schedule") or {}
        cpu = phase.get("cpu", {})
        cores = cpu.get("busy_cores_by_process", {})
        rate = phase.get("opens_per_s") or (phase["opens"] / phase["seconds"] if phase.get("seconds") else None)
        rows.append(
            (
                name + (" STALLED" if phase.get("stalled") else " INVALID" if phase.get("valid") is False else ""),
                number(rate, 1),
                number(latency.get("p50_ms"), 1),
                number(latency.get("p99_ms"), 1),
                number(phase.get("mongo_commands_per_open", {}).get("total"), 1),
                number(cores.get("intake")),
                number(cores.get("ferretdb")),
                number(cores.get("kafka")),
                number(cores.get("bench client")),
                number(cpu.get("busy_cores_other_processes")),
                number(cpu.get("machine_idle_cores")),
            )
        )
    if len(rows) > 1:
        lines += ["", f"phases ({meta.get('cpu_count')} cores; 'others' = processes this run did not start):"]
        lines += render(rows, left={0})
    profile = meta.get("profile")
    if profile and profile.get("samples"):
        lines += ["", f"intake profile during c64 ({profile['samples']} samples), by innermost frame:"]
        lines += [f"  {v:5.1f}%  {k}" for k, v in profile["self_percent_by_area"].items()]
        lines.append("time spent below:")
        lines += [f"  {v:5.1f}%  {k}" for k, v in profile["inclusive_percent"].items()]
    if "verification" in meta:
        shown = {k: v for k, v in meta["verification"].items() if k != "non_201_examples"}
        lines += ["", f"verification: {json.dumps(shown)}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load phase (default 10)")
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop opens per second (default 500)")
    parser.add_argument("--max-in-flight", type=int, default=256, help="open-loop concurrency cap (default 256)")
    parser.add_argument(
        "--stall-seconds", type=float, default=10.0, help="no answer for this long ends a phase as stalled"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile of intake")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install py-spy into /tmp if missing")
    parser.add_argument("--no-recurring", action="store_true", help="skip the recurring-customer variant")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="where to write the results")
    args = parser.parse_args(argv)
    options = Options(
        seconds=args.seconds,
        rate=args.rate,
        max_in_flight=args.max_in_flight,
        stall_s=args.stall_seconds,
        profile=not args.no_profile,
        install_py_spy=not args.no_install,
        recurring=not args.no_recurring,
    )
    results = asyncio.run(run(options))
    output: Path = args.output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    merged = json.loads(output.read_text()) if output.exists() else {}  # keep the other benchmarks' figures
    merged.update(results.as_json())
    tmp.write_text(json.dumps(merged, indent=2, allow_nan=False, default=str) + "\n")
    tmp.replace(output)
    print(table(results))
    print(f"\nwritten to {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    verification = results.meta.get("verification", {})
    clean = not (
        verification.get("opened_but_not_on_topic")
        or verification.get("non_201")
        or verification.get("store_stopped_answering_after")
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
