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
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


# ----------------------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class Metric:
    value: float
    unit: str
    baseline: float | None = None

    def as_json(self) -> Json:
        value = None if math.isnan(self.value) else round(self.value, 3)
        ratio = self.value / self.baseline if self.baseline and value is not None else None
        return {
            "value": value,
            "unit": self.unit,
            "baseline": None if self.baseline is None else round(self.baseline, 3),
            "ratio": None if ratio is None else round(ratio, 4),
        }


@dataclass
class Results:
    metrics: dict[str, Metric] = field(default_factory=dict)
    meta: Json = field(default_factory=dict)

    def add(self, name: str, value: float, unit: str, baseline: float | None = None) -> None:
        self.metrics[name] = Metric(value, unit, baseline)
        ratio = f"  ratio {value / baseline:.3f}" if baseline else ""
        log(f"  {name} = {value:,.2f} {unit}{ratio}")

    def as_json(self) -> Json:
        return {name: m.as_json() for name, m in self.metrics.items()} | {"_meta": self.meta}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_summary(seconds: list[float]) -> Json:
    return {f"p{q}_ms": round(percentile(seconds, q) * 1000, 2) for q in (50, 90, 99, 99.9)} | {
        "max_ms": round(max(seconds, default=float("nan")) * 1000, 2)
    }


# ----------------------------------------------------------------------------------------------------------
# CPU accounting from /proc (a ps/top snapshot, but exact over the measured window)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process and its reaped children so far, in seconds."""
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
CHANNELS = ["email", "api", "email", "web"]


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
    """What the load generator saw: latencies of 201s, other outcomes, ticket ids, time of the last 201."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    ticket_ids: list[str] = field(default_factory=list)
    last_created: float = 0.0

    def record(self, response: httpx.Response | None, latency: float, error: str | None = None) -> None:
        if response is not None and response.status_code == 201:
            self.latencies.append(latency)
            self.ticket_ids.append(str(response.json()["id"]))
            self.last_created = time.monotonic()
            self.statuses["201"] += 1
        elif response is not None:
            self.statuses[str(response.status_code)] += 1
        else:
            self.statuses[error or "error"] += 1

    @property
    def created(self) -> int:
        return len(self.ticket_ids)

    @property
    def failed(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != "201")


async def post_open(client: httpx.AsyncClient, body: Json, tally: Tally, started: float) -> None:
    try:
        response = await client.post("/v1/tickets", json=body)
    except httpx.HTTPError as exc:
        tally.record(None, time.monotonic() - started, type(exc).__name__)
        return
    tally.record(response, time.monotonic() - started)


def http_client(url: str, token: str, connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url,
        headers={"authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=httpx.Timeout(60.0),
    )


async def closed_loop(
    url: str, token: str, opener: Opener, *, clients: int, seconds: float, max_requests: int, recurring: bool = False
) -> tuple[Tally, float]:
    """`clients` tasks each sending one open after another for `seconds` (or `max_requests` in all)."""
    tally = Tally()
    budget = [max_requests]
    async with http_client(url, token, clients) as client:
        t0 = time.monotonic()
        deadline = t0 + seconds

        async def worker() -> None:
            while time.monotonic() < deadline and budget[0] > 0:
                budget[0] -= 1
                started = time.monotonic()
                await post_open(client, opener.body(recurring=recurring), tally, started)

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.monotonic() - t0
    return tally, elapsed


@dataclass
class OpenLoopRun:
    tally: Tally
    scheduled: int
    unsent: int
    elapsed: float
    lateness_ms_p99: float  # how late the generator itself dispatched requests (its own health)


async def open_loop(
    url: str, token: str, opener: Opener, *, rate: float, seconds: float, max_in_flight: int, grace: float
) -> OpenLoopRun:
    """Requests on a fixed timetable; latency counts from the scheduled send time, so a slow server (or a
    full in-flight window) shows up as latency instead of as fewer requests. Requests still waiting for a
    slot `grace` seconds after the timetable ends are never sent and count with the latency they had so far
    (a lower bound); requests already sent are always awaited, so every ticket opened is accounted for."""
    tally = Tally()
    count = round(rate * seconds)
    window = asyncio.Semaphore(max_in_flight)
    lateness: list[float] = []
    waiting: dict[int, asyncio.Task[None]] = {}
    in_flight: set[asyncio.Task[None]] = set()
    all_sent = asyncio.Event()
    dispatched = False

    async with http_client(url, token, max_in_flight) as client:

        async def one(i: int, scheduled: float, body: Json) -> None:
            async with window:
                waiting.pop(i, None)
                if dispatched and not waiting:
                    all_sent.set()
                task = asyncio.current_task()
                assert task is not None
                in_flight.add(task)
                await post_open(client, body, tally, scheduled)

        t0 = time.monotonic() + 0.05
        for i in range(count):
            scheduled = t0 + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            lateness.append(max(0.0, time.monotonic() - scheduled))
            waiting[i] = asyncio.create_task(one(i, scheduled, opener.body(recurring=False)))
        dispatched = True
        if not waiting:
            all_sent.set()
        end_of_timetable = t0 + count / rate
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_sent.wait(), max(0.0, end_of_timetable + grace - time.monotonic()))
        unsent = list(waiting.items())
        for _, task in unsent:
            task.cancel()
        cut = time.monotonic()
        for i, _ in unsent:
            tally.latencies.append(cut - (t0 + i / rate))  # censored: at least this late, never sent
            tally.statuses["unsent"] += 1
        await asyncio.gather(*in_flight, return_exceptions=True)
        elapsed = max(tally.last_created, cut) - t0
    return OpenLoopRun(tally, count, len(unsent), elapsed, percentile(lateness, 99) * 1000)


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


async def mongo_insert_rate(uri: str, database: str, *, tasks: int, seconds: float) -> tuple[float, list[float], int]:
    """insert_one calls per second from `tasks` concurrent tasks on one client; also their latencies."""
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
        t0 = time.monotonic()
        await asyncio.gather(*(worker(t0 + seconds, True) for _ in range(tasks)))
        elapsed = time.monotonic() - t0
        size = len(json.dumps(commit_like_document(rng), default=str))
        return done[0] / elapsed, latencies, size
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
        for _ in range(200):  # warm-up: metadata, connections, producer id
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


# ----------------------------------------------------------------------------------------------------------
# Kafka: has everything the bench opened been published?


class TopicWatch:
    """Counts the messages on a topic (end offsets; the topic is new, so begins at 0)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._topic = topic
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def count(self) -> int:
        if not self._partitions:
            await self._consumer.topics()  # refreshes metadata
            found = self._consumer.partitions_for_topic(self._topic) or set()
            self._partitions = [TopicPartition(self._topic, p) for p in sorted(found)]
            if not self._partitions:
                return 0
        ends = await self._consumer.end_offsets(self._partitions)
        return sum(ends.values())

    async def wait_for(self, expected: int, since: float, limit_s: float = 90.0) -> float | None:
        """Seconds from `since` until the topic holds `expected` messages; None after `limit_s`."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if await self.count() >= expected:
                return max(0.0, time.monotonic() - since)
            await asyncio.sleep(0.02)
        return None

    async def keys(self, bootstrap: str) -> Counter[str]:
        """Every message key on the topic, read from the beginning."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=50
        )
        await consumer.start()
        try:
            if not self._partitions:
                await self.count()
            consumer.assign(self._partitions)
            await consumer.seek_to_beginning(*self._partitions)
            ends = await consumer.end_offsets(self._partitions)
            keys: Counter[str] = Counter()
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

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
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
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PY_SPY_VENV)], check=True, timeout=120, capture_output=True)
        subprocess.run(
            [
                str(PY_SPY_VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "py-spy",
            ],
            check=True,
            timeout=300,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"  py-spy unavailable ({exc}); skipping the profile")
        return None
    binary = PY_SPY_VENV / "bin" / "py-spy"
    return str(binary) if binary.is_file() else None


FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# Where a sample's innermost frame lives -> what to call that time. First match wins.
SELF_AREAS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("language detection (lingua)", lambda f, fn: "lingua" in f or f.endswith("intake/language.py")),
    ("pymongo / bson (Mongo client)", lambda f, fn: "/pymongo/" in f or "/bson/" in f),
    ("aiokafka / faststream (Kafka client)", lambda f, fn: "/aiokafka/" in f or "/faststream/" in f),
    ("pydantic (validation, dumps)", lambda f, fn: "/pydantic" in f),
    ("email_validator / dns", lambda f, fn: "email_validator" in f or "/dns/" in f),
    ("fastapi / starlette", lambda f, fn: "/fastapi/" in f or "/starlette/" in f),
    ("uvicorn / httptools / h11", lambda f, fn: "/uvicorn/" in f or "httptools" in f or "/h11/" in f),
    ("json (stdlib)", lambda f, fn: "/json/" in f),
    ("prometheus_client", lambda f, fn: "prometheus_client" in f),
    ("structlog / logging", lambda f, fn: "structlog" in f or "/logging/" in f),
    ("switchboard code", lambda f, fn: "switchboard" in f),
    ("asyncio / uvloop (event loop)", lambda f, fn: "/asyncio/" in f or "uvloop" in f),
    ("uuid / hashlib / datetime / other stdlib", lambda f, fn: "/lib/python3" in f and "site-packages" not in f),
]

# Time spent inside (anywhere below) these calls, whatever the innermost frame.
INCLUSIVE: list[tuple[str, Callable[[str, str], bool]]] = [
    ("request handler open_ticket (all of it)", lambda f, fn: fn == "open_ticket" and "api/tickets.py" in f),
    ("  identify.customer (find or create customer)", lambda f, fn: fn == "customer" and "intake/identify.py" in f),
    ("  language detection", lambda f, fn: fn == "detect" and f.endswith("intake/language.py")),
    ("  EventStore.read (history reads)", lambda f, fn: fn == "read" and "runtime/eventstore.py" in f),
    ("  EventStore.append (commit insert)", lambda f, fn: fn == "append" and "runtime/eventstore.py" in f),
    ("  commit_document / CloudEvents encode", lambda f, fn: fn in ("commit_document", "encode")),
    (
        "FastAPI body validation + response serialisation",
        lambda f, fn: fn in ("solve_dependencies", "serialize_response"),
    ),
    ("outbox relay publish (Kafka send + mark published)", lambda f, fn: fn == "publish" and "runtime/outbox.py" in f),
    ("any pymongo / bson frame", lambda f, fn: "/pymongo/" in f or "/bson/" in f),
    ("any aiokafka frame", lambda f, fn: "/aiokafka/" in f),
    ("any pydantic frame", lambda f, fn: "/pydantic" in f),
]


def parse_frame(frame: str) -> tuple[str, str]:
    match = FRAME.match(frame.strip())
    return (match["file"], match["func"]) if match else ("", frame)


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
        leaves[f"{leaf_func} ({leaf_file.rsplit('site-packages/', 1)[-1]})"] += count
        for area, matches in SELF_AREAS:
            if matches(leaf_file, leaf_func):
                self_time[area] += count
                break
        else:
            self_time["other"] += count
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


# ----------------------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class Options:
    seconds: float
    rate: float
    max_in_flight: int
    profile: bool
    install_py_spy: bool
    recurring: bool


async def run(options: Options) -> Results:
    results = Results()
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    token = secrets.token_urlsafe(16)
    run_id = uuid.uuid4().hex[:6]
    opener = Opener(run_id)
    results.meta = machine_facts() | {
        "namespace": namespace,
        "settings": {
            "seconds_per_phase": options.seconds,
            "open_loop_rate": options.rate,
            "open_loop_max_in_flight": options.max_in_flight,
        },
    }
    py_spy = find_py_spy(options.install_py_spy) if options.profile else None
    t_start = time.monotonic()
    async with servers() as ends:
        origin = "environment" if not (ends.started_kafka or ends.started_ferretdb) else "local (.local/bench)"
        results.meta["servers"] = {"kafka": ends.kafka_bootstrap, "mongodb": ends.mongodb_uri, "origin": origin}
        log(f"servers up in {time.monotonic() - t_start:.1f}s: kafka {ends.kafka_bootstrap}, mongo {ends.mongodb_uri}")

        # 1. baselines ------------------------------------------------------------------------------------
        log("baseline: raw PyMongo insert_one ...")
        mongo_rps, mongo_lat, doc_size = await mongo_insert_rate(
            ends.mongodb_uri, f"{namespace}_baseline", tasks=64, seconds=min(options.seconds, 8.0)
        )
        results.add("baseline.mongo.insert_one_rps_c64", mongo_rps, "inserts/s")
        mongo_c1_rps, mongo_c1_lat, _ = await mongo_insert_rate(
            ends.mongodb_uri, f"{namespace}_baseline", tasks=1, seconds=3.0
        )
        results.add("baseline.mongo.insert_one_rps_c1", mongo_c1_rps, "inserts/s")
        results.add("baseline.mongo.insert_one_p50_ms_c1", percentile(mongo_c1_lat, 50) * 1000, "ms")
        results.meta["baseline_mongo"] = {
            "document_bytes_json": doc_size,
            "latency_c64": latency_summary(mongo_lat),
            "latency_c1": latency_summary(mongo_c1_lat),
        }
        log("baseline: raw aiokafka produce ...")
        kafka_rps, value_size = await kafka_produce_rate(
            ends.kafka_bootstrap, f"{namespace}.bench.baseline", messages=20_000
        )
        results.add("baseline.kafka.produce_msgs_per_s", kafka_rps, "msgs/s")
        results.meta["baseline_kafka"] = {"value_bytes": value_size, "partitions": PARTITIONS, "messages": 20_000}

        # 2. intake ---------------------------------------------------------------------------------------
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": ends.kafka_bootstrap,
            "MONGODB_URI": ends.mongodb_uri,
            "SWITCHBOARD_NAMESPACE": namespace,
            "SWITCHBOARD_API_TOKEN": token,
            "SWITCHBOARD_TOPIC_PARTITIONS": str(PARTITIONS),
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
        }
        log("starting intake ...")
        with intake_process(env) as intake:
            watch = TopicWatch(ends.kafka_bootstrap, TICKETS.qualified(namespace))
            await watch.start()
            try:
                opened = await measure_intake(results, options, intake, watch, opener, token, py_spy)
                log("verifying: every 201 is on the tickets topic ...")
                keys = await watch.keys(ends.kafka_bootstrap)
            finally:
                await watch.stop()
        missing = [i for i in opened.ticket_ids if i not in keys]
        results.meta["verification"] = {
            "opened_201": len(opened.ticket_ids),
            "non_201": dict(opened.failed),
            "tickets_topic_messages": sum(keys.values()),
            "tickets_topic_distinct_tickets": len(keys),
            "opened_but_not_on_topic": len(missing),
            "duplicates_on_topic": sum(keys.values()) - len(keys),
        }
    results.meta["wall_seconds"] = round(time.monotonic() - t_start, 1)
    return results


@dataclass
class Opened:
    """Every ticket the bench opened (201) and every other outcome, over all phases."""

    ticket_ids: list[str] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)


async def measure_intake(
    results: Results,
    options: Options,
    intake: Intake,
    watch: TopicWatch,
    opener: Opener,
    token: str,
    py_spy: str | None,
) -> Opened:
    mongo_rps = results.metrics["baseline.mongo.insert_one_rps_c64"].value
    mongo_c1_p50_ms = results.metrics["baseline.mongo.insert_one_p50_ms_c1"].value
    account = Opened()
    opened, failed = account.ticket_ids, account.failed
    lags: dict[str, float | None] = {}
    phases: dict[str, Json] = {}

    async def settle(name: str, tally: Tally) -> None:
        """Account for a phase and wait until the outbox has published it (so phases do not overlap)."""
        opened.extend(tally.ticket_ids)
        failed.update({k: v for k, v in tally.statuses.items() if k != "201"})
        if tally.created:
            lags[name] = await watch.wait_for(len(opened), since=tally.last_created)

    log("warming up intake (3 s at 8 clients) ...")
    tally, _ = await closed_loop(intake.url, token, opener, clients=8, seconds=3.0, max_requests=10_000)
    await settle("warm-up", tally)

    pids = {"intake": intake.process.pid, "bench client": os.getpid()} | server_pids()
    variants = [("", False), ("_recurring", True)] if options.recurring else [("", False)]
    for suffix, recurring in variants:
        for clients in (1, 8, 64):
            name = f"c{clients}{suffix}"
            log(f"closed loop: {clients} client(s), {'100 recurring' if recurring else 'new'} customers ...")
            cpu = CpuWatch(pids)
            cpu.start()
            tally, elapsed = await closed_loop(
                intake.url,
                token,
                opener,
                clients=clients,
                seconds=options.seconds,
                max_requests=50_000,
                recurring=recurring,
            )
            split = cpu.stop()
            results.add(f"intake.open.rps_{name}", tally.created / elapsed, "opens/s", mongo_rps)
            if clients == 1 and not recurring:
                results.add("intake.open.p50_ms_c1", percentile(tally.latencies, 50) * 1000, "ms", mongo_c1_p50_ms)
            phases[name] = {"opens": tally.created, "failed": tally.failed, "seconds": round(elapsed, 2)}
            phases[name] |= {"latency": latency_summary(tally.latencies), "cpu": split}
            await settle(name, tally)

    log(f"open loop: {options.rate:g} opens/s for {options.seconds:g} s ...")
    cpu = CpuWatch(pids)
    cpu.start()
    run = await open_loop(
        intake.url,
        token,
        opener,
        rate=options.rate,
        seconds=options.seconds,
        max_in_flight=options.max_in_flight,
        grace=5.0,
    )
    split = cpu.stop()
    rate_name = f"{options.rate:g}rps"
    results.add(f"intake.open.p50_ms_at_{rate_name}", percentile(run.tally.latencies, 50) * 1000, "ms")
    results.add(f"intake.open.p99_ms_at_{rate_name}", percentile(run.tally.latencies, 99) * 1000, "ms")
    results.add(f"intake.open.achieved_rps_at_{rate_name}", run.tally.created / run.elapsed, "opens/s", options.rate)
    phases[f"open_loop_{rate_name}"] = {
        "scheduled": run.scheduled,
        "opens": run.tally.created,
        "failed": run.tally.failed - run.unsent,
        "unsent_censored": run.unsent,
        "seconds": round(run.elapsed, 2),
        "generator_lateness_p99_ms": round(run.lateness_ms_p99, 2),
        "latency_from_schedule": latency_summary(run.tally.latencies),
        "cpu": split,
    }
    failed.update({k: v for k, v in run.tally.statuses.items() if k not in ("201", "unsent")})
    opened.extend(run.tally.ticket_ids)
    if run.tally.created:
        lags[f"open_loop_{rate_name}"] = await watch.wait_for(len(opened), since=run.tally.last_created)

    if py_spy is not None:
        tally, profile = await profiled_c64(py_spy, intake, token, opener, options.seconds)
        phases["c64_profiled"] = {"opens": tally.created, "failed": tally.failed}
        results.meta["profile"] = profile
        await settle("c64_profiled", tally)

    measured = [lag for lag in lags.values() if lag is not None]
    results.add("intake.outbox.publish_lag_s", max(measured, default=float("nan")), "s")
    results.meta["publish_lag_s_by_phase"] = {k: None if v is None else round(v, 3) for k, v in lags.items()}
    results.meta["phases"] = phases
    if failed:
        log(f"  non-201 outcomes: {dict(failed)}")
    return account


async def profiled_c64(py_spy: str, intake: Intake, token: str, opener: Opener, seconds: float) -> tuple[Tally, Json]:
    """A separate c64 run with py-spy sampling intake (so the measured c64 figure carries no profiler)."""
    log(f"profile: py-spy on intake during a {seconds:g} s c64 run ...")
    raw_path = DATA / "intake-c64.raw.txt"
    speedscope_path = DATA / "intake-c64.speedscope.json"
    duration = max(1, round(seconds))
    base = [py_spy, "record", "--pid", str(intake.process.pid), "--duration", str(duration), "--rate", "100"]
    spy = await asyncio.create_subprocess_exec(
        *base, "--format", "raw", "--output", str(raw_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    await asyncio.sleep(0.5)  # py-spy attaches
    tally, elapsed = await closed_loop(intake.url, token, opener, clients=64, seconds=duration, max_requests=50_000)
    try:
        _, err = await asyncio.wait_for(spy.communicate(), 30)
    except TimeoutError:
        spy.kill()
        _, err = await spy.communicate()
    profile: Json = {"rps_under_profiler": round(tally.created / elapsed, 1), "raw_file": str(raw_path)}
    if spy.returncode:
        profile["error"] = err.decode(errors="replace")[-500:]
    if raw_path.is_file():
        profile |= summarise_profile(raw_path.read_text())
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            convert_to_speedscope(raw_path, speedscope_path)
            profile["speedscope_file"] = str(speedscope_path)
    return tally, profile


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


def machine_facts() -> Json:
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain")),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "load_average_at_start": list(os.getloadavg()),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# ----------------------------------------------------------------------------------------------------------
# output


def table(results: Results) -> str:
    rows = [("metric", "value", "unit", "baseline", "ratio")]
    for name, metric in results.metrics.items():
        data = metric.as_json()
        rows.append(
            (
                name,
                f"{metric.value:,.2f}",
                metric.unit,
                "-" if metric.baseline is None else f"{metric.baseline:,.2f}",
                "-" if data["ratio"] is None else f"{data['ratio']:.3f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))]
        cells[2] = row[2].ljust(widths[2])
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    meta = results.meta
    if "phases" in meta and "c64" in meta["phases"]:
        split = meta["phases"]["c64"]["cpu"]
        by_process = ", ".join(f"{k} {v:.2f}" for k, v in split["busy_cores_by_process"].items())
        lines.append("")
        lines.append(
            f"CPU during c64 ({split['cores']} cores): {by_process}, other processes "
            f"{split['busy_cores_other_processes']:.2f}, idle {split['machine_idle_cores']:.2f} (in cores)"
        )
    profile = meta.get("profile")
    if profile and profile.get("samples"):
        lines.append("")
        lines.append(f"intake profile during c64 ({profile['samples']} samples, innermost frame):")
        lines.extend(f"  {v:5.1f}%  {k}" for k, v in profile["self_percent_by_area"].items())
        lines.append("inclusive (time spent below):")
        lines.extend(f"  {v:5.1f}%  {k}" for k, v in profile["inclusive_percent"].items())
    if "verification" in meta:
        lines.append("")
        lines.append(f"verification: {json.dumps(meta['verification'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load phase (default 10)")
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop opens per second (default 500)")
    parser.add_argument("--max-in-flight", type=int, default=256, help="open-loop concurrency cap (default 256)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile of intake")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install py-spy into /tmp if missing")
    parser.add_argument("--no-recurring", action="store_true", help="skip the recurring-customer variant")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="where to write the results")
    args = parser.parse_args(argv)
    options = Options(
        seconds=args.seconds,
        rate=args.rate,
        max_in_flight=args.max_in_flight,
        profile=not args.no_profile,
        install_py_spy=not args.no_install,
        recurring=not args.no_recurring,
    )
    results = asyncio.run(run(options))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results.as_json(), indent=2, allow_nan=False, default=str) + "\n")
    tmp.replace(args.output)
    print(table(results))
    print(f"\nwritten to {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    verification = results.meta.get("verification", {})
    return 1 if verification.get("opened_but_not_on_topic") else 0


if __name__ == "__main__":
    sys.exit(main())
