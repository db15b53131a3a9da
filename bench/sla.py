"""SLA benchmark: 100,000 running clocks, the lag from each deadline to its breach on Kafka, and what the timer
costs while nothing is due, next to raw Kafka and Mongo baselines measured in the same run.

`.venv/bin/python bench/sla.py` starts its own Kafka and FerretDB under `.local/bench-sla/` (ports 29392 and
27120, wiped first; `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` override them) and one SLA process
(`python -m switchboard.sla`) in a fresh namespace, then, in order:

* policies: PUTs `[bench-window, standard]` through the admin API (`bench-window`: urgent tickets, first
  response in 60 min, no warnings; `standard` is the service's default, unchanged);
* seeding: 96,000 clocks written straight into the service's collections. They are NOT invented documents:
  the service's own handler (`Sla.on_events`, i.e. `decide` + `next_due` + `SlaStore` + `EventStore`) runs in
  this process on a TicketOpened envelope per ticket, against an in-memory stand-in for its Mongo
  collections; the `clocks`, `commits` and `timers` documents it wrote are then bulk-inserted (insert_many)
  into the service's database. The pending outbox markers are dropped, i.e. the clock_started events of seeded
  tickets count as published but are not on the topic. Opened 0-35 min ago: running, next due in >= 10 min;
* baselines: raw PyMongo find_one by `_id` on the seeded `clocks` (1 and 32 tasks), raw aiokafka produce
  rate, and a raw produce -> consume round trip on the SLA topic's broker (the floor under any lag on Kafka);
* `sla.decisions_per_s`: 2,000 real TicketOpened published to `<ns>.support.tickets` at once; tickets decided
  per second until the last clock_started pair is on `<ns>.support.sla`. Then a fidelity check: for some of
  these tickets the seeding path is replayed and its documents compared with those the service wrote;
* 2,000 more seeded clocks under `bench-window` whose first-response deadlines are spread evenly over the
  measured window (60 s), starting after the idle minute: 100,000 running clocks in all;
* `sla.idle_cpu_s_per_min`: the SLA process's CPU over the idle minute (nothing due), and FerretDB's;
* `sla.deadline_to_breach.p{50,99}_ms`: each breach consumed from `<ns>.support.sla` minus its `breached_at`
  (the true deadline); every window ticket must be breached exactly once.

Results are merged into `bench/results/latest.json` (other keys kept; details under `_meta_sla`). Everything
it started is stopped on the way out. Not a test: it exits 1 only when the run is not clean (a breach missing
or duplicated, decisions not finished, seeded documents unlike the service's own, or a ticket the service
decided that is in no timer bucket: `sla.timers_lost.*`, see bench/README.md "Lost timers").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
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
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import bson
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient, InsertOne, MongoClient, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError
from switchboard.events import Envelope, encode
from switchboard.events.common import Channel, Priority
from switchboard.events.tickets import Requester, TicketOpened
from switchboard.events.topics import SLA, TICKETS
from switchboard.runtime.outbox import commit_id
from switchboard.sla.app import DEFAULT_POLICIES
from switchboard.sla.handlers import Configuration, Sla
from switchboard.sla.store import TIMER_STEP, SlaStore, bucket, bucket_start

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import infra  # noqa: E402

DATA = ROOT / ".local" / "bench-sla"
RESULTS = ROOT / "bench" / "results"
KAFKA_PORT = 29392
MONGO_PORT = 27120
PARTITIONS = 12
MONGO_POOL = 32  # the service's default MONGODB_MAX_POOL_SIZE

BREACHED = "support.sla.breached.v1"
STARTED = "support.sla.clock_started.v1"

#: Urgent tickets get it: first response in 60 min (24/7 calendar), no warnings, so the only timer event in the
#: window is the breach. Everything else keeps the service's default policy.
WINDOW_POLICY: dict[str, Any] = {
    "id": "bench-window",
    "name": "Bench: first response due inside the measured window",
    "calendar": "default",
    "when": {"priority": ["urgent"]},
    "targets": {"first_response": 60, "resolution": 4320},
    "warnings": [],
}
WINDOW_TARGET = timedelta(minutes=60)

Json = dict[str, Any]
BSON_OPTIONS: CodecOptions[Json] = CodecOptions(tz_aware=True)


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
    summary["min_ms"] = min(seconds, default=float("nan")) * 1000
    return {"count": len(seconds)} | {k: None if math.isnan(v) else round(v, 2) for k, v in summary.items()}


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
    clean: bool = True

    def add(self, name: str, value: float | None, unit: str, baseline: float | None = None) -> None:
        metric = Metric(value, unit, baseline)
        self.metrics[name] = metric
        shown = metric.as_json()
        text = "not measured" if shown["value"] is None else f"{shown['value']:,.3f} {unit}"
        ratio = "" if shown["ratio"] is None else f"  (baseline {shown['baseline']:,.3f}, ratio {shown['ratio']:.3f})"
        log(f"  {name} = {text}{ratio}")

    def value(self, name: str) -> float | None:
        metric = self.metrics.get(name)
        return None if metric is None else metric.value


def merge_into(path: Path, results: Results) -> None:
    """Update this run's keys in `path`, keeping every other key (the other benches write the same file)."""
    existing: Json = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text())
        if isinstance(loaded, dict):
            existing = loaded
    existing |= {name: metric.as_json() for name, metric in results.metrics.items()}
    existing["_meta_sla"] = results.meta
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".sla.tmp")
    tmp.write_text(json.dumps(existing, indent=2, allow_nan=False, default=str) + "\n")
    tmp.replace(path)


# ----------------------------------------------------------------------------------------------------------
# CPU accounting from /proc


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (all its threads) so far, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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
    return (sum(values[:8]) - idle) / CLOCK_TICKS, sum(values[:8]) / CLOCK_TICKS


class CpuWatch:
    """CPU seconds used by named processes between start() and stop(), and what the rest of the machine did."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._start: dict[str, float] = {}
        self._everyone: dict[int, tuple[str, float]] = {}
        self._t0 = 0.0
        self._machine0 = (0.0, 0.0)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._machine0 = machine_cpu_seconds()
        self._everyone = all_process_cpu()
        self._start = {name: cpu for name, pid in self._pids.items() if (cpu := process_cpu_seconds(pid)) is not None}

    def stop(self) -> Json:
        wall = max(1e-9, time.monotonic() - self._t0)
        busy1, total1 = machine_cpu_seconds()
        busy = busy1 - self._machine0[0]
        seconds = {}
        for name, pid in self._pids.items():
            end = process_cpu_seconds(pid)
            if end is not None and name in self._start:
                seconds[name] = round(end - self._start[name], 3)
        ours = set(self._pids.values())
        others = Counter(
            {  # a process started meanwhile counts with all its CPU
                f"{name}[{pid}]": (cpu - self._everyone.get(pid, (name, 0.0))[1]) / wall
                for pid, (name, cpu) in all_process_cpu().items()
                if pid not in ours
            }
        )
        return {
            "window_s": round(wall, 2),
            "cpu_seconds_by_process": seconds,
            "busy_cores_by_process": {k: round(v / wall, 3) for k, v in seconds.items()},
            "machine_busy_cores": round(busy / wall, 3),
            "machine_idle_cores": round((total1 - self._machine0[1] - busy) / wall, 3),
            "busy_cores_other_processes": round(max(0.0, busy / wall - sum(seconds.values()) / wall), 3),
            "top_other_processes": {k: round(v, 3) for k, v in others.most_common(4) if v >= 0.01},
        }


# ----------------------------------------------------------------------------------------------------------
# the service's own handler against an in-memory stand-in for its collections (for seeding)


class _Result:
    def __init__(self, matched: int) -> None:
        self.matched_count = matched
        self.modified_count = matched


class MemoryCollection:
    """The few collection methods SlaStore and EventStore call, on a dict by `_id` (filters are by `_id`, plus
    equality on other fields for the optimistic `version` check; updates are `$set` and `$addToSet`)."""

    def __init__(self) -> None:
        self.docs: dict[Any, Json] = {}

    def _matches(self, doc: Json, query: Json) -> bool:
        return all(doc.get(k) == v for k, v in query.items())

    async def find_one(self, query: Json) -> Json | None:
        if set(query) != {"_id"}:
            raise NotImplementedError(f"in-memory find_one by _id only, got {query}")
        doc = self.docs.get(query["_id"])
        return None if doc is None else dict(doc)

    def find(self, query: Json | None = None) -> AsyncIterator[Json]:
        if query:
            raise NotImplementedError(f"in-memory find() without a filter only, got {query}")

        async def every() -> AsyncIterator[Json]:
            for doc in list(self.docs.values()):
                yield dict(doc)

        return every()

    async def insert_one(self, doc: Json) -> None:
        if doc["_id"] in self.docs:
            raise DuplicateKeyError(f"E11000 duplicate key {doc['_id']}")
        self.docs[doc["_id"]] = dict(doc)

    async def replace_one(self, query: Json, doc: Json, upsert: bool = False) -> _Result:
        current = self.docs.get(query["_id"])
        if current is None and not upsert:
            return _Result(0)
        self.docs[query["_id"]] = dict(doc)
        return _Result(1)

    async def update_one(self, query: Json, update: Json, upsert: bool = False) -> _Result:
        doc = self.docs.get(query["_id"])
        if doc is not None and not self._matches(doc, query):
            return _Result(0)
        if doc is None:
            if not upsert:
                return _Result(0)
            doc = self.docs[query["_id"]] = {"_id": query["_id"]}
        for operator, fields in update.items():
            for key, value in fields.items():
                if operator == "$set":
                    doc[key] = value
                elif operator == "$addToSet":
                    listed = doc.setdefault(key, [])
                    if value not in listed:
                        listed.append(value)
                else:
                    raise NotImplementedError(f"in-memory update {operator}")
        return _Result(1)

    async def insert_many(self, docs: list[Json], ordered: bool = True) -> None:
        """Ordered or not, as the server does it: an ordered insert stops at the first duplicate."""
        errors: list[Json] = []
        for index, doc in enumerate(docs):
            try:
                await self.insert_one(doc)
            except DuplicateKeyError as exc:
                errors.append({"index": index, "code": 11000, "errmsg": str(exc)})
                if ordered:
                    break
        if errors:
            raise BulkWriteError(
                {"writeErrors": errors, "writeConcernErrors": [], "nInserted": len(docs) - len(errors)}
            )

    async def bulk_write(self, ops: list[Any], ordered: bool = True) -> None:
        """Inserts and updates, as the event store's group commit sends them; errors per write, like the server."""
        errors: list[Json] = []
        for index, op in enumerate(ops):
            try:
                if isinstance(op, InsertOne):
                    await self.insert_one(op._doc)
                elif isinstance(op, UpdateOne):
                    await self.update_one(op._filter, op._doc, upsert=bool(op._upsert))
                else:
                    raise NotImplementedError(f"in-memory bulk {type(op).__name__}")
            except DuplicateKeyError as exc:
                errors.append({"index": index, "code": 11000, "errmsg": str(exc)})
                if ordered:
                    break
        if errors:
            raise BulkWriteError({"writeErrors": errors, "writeConcernErrors": [], "nInserted": len(ops) - len(errors)})

    async def create_index(self, *args: Any, **kwargs: Any) -> None:
        return None


class MemoryDatabase:
    def __init__(self) -> None:
        self.collections: dict[str, MemoryCollection] = {}

    def __getitem__(self, name: str) -> MemoryCollection:
        return self.collections.setdefault(name, MemoryCollection())


class HeldRelay:
    """Stands in for the outbox relay: the seeding path publishes nothing."""

    def submit(self, commit: Json) -> None:
        return None


class Seeder:
    """`Sla.on_events` - the service's consumer handler - with this process's memory as its Mongo."""

    def __init__(self, namespace: str) -> None:
        self.db = MemoryDatabase()
        self.store = SlaStore(cast(Any, self.db), namespace=namespace)
        self.config = Configuration(self.store)
        self.sla = Sla(store=self.store, relay=cast(Any, HeldRelay()), config=self.config)

    async def load_configuration(self, service_db: Any) -> None:
        """The service's calendars and policy set, as it stored them."""
        for name in ("calendars", "config", "policy_sets"):
            for doc in await service_db[name].find().to_list():
                self.db[name].docs[doc["_id"]] = doc
        await self.config.reload()

    async def decide(self, envelopes: list[Envelope]) -> None:
        for start in range(0, len(envelopes), 500):  # the consumer's max_records
            await self.sla.on_events(envelopes[start : start + 500])

    def take(self, *, timers: bool) -> dict[str, list[Json]]:
        """The documents written since the last take (timers only when asked: a bucket collects many tickets)."""
        names = ["clocks", "commits"] + (["timers"] if timers else [])
        taken = {name: list(self.db[name].docs.values()) for name in names}
        for name in [*names, "outbox_pending"]:
            self.db[name].docs.clear()
        return taken


def opened_envelope(n: int, *, opened_at: datetime, priority: Priority = Priority.NORMAL) -> Envelope:
    """TicketOpened #n as intake publishes it (sequence 1, stamped when the ticket opened)."""
    ticket_id = str(uuid.uuid4())
    event = TicketOpened(
        ticket_id=ticket_id,
        reference=f"SB-{n}",
        subject=f"Bench ticket {n}: the parcel has not arrived",
        channel=Channel.EMAIL,
        requester=Requester(customer_id=str(uuid.uuid4()), email=f"c{n}@customers.example.com"),
        priority=priority,
        language="en",
        opened_at=opened_at,
    )
    return Envelope.new(event, source="/switchboard/intake", subject=ticket_id, sequence=1, time=opened_at)


class BulkWriter:
    """insert_many on a worker thread (sync PyMongo), so the next chunk is decided while this one is stored."""

    def __init__(self, uri: str, database: str) -> None:
        self._client: MongoClient[Json] = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        self._db = self._client[database]
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-insert")
        self._pending: Future[int] | None = None
        self.inserted: Counter[str] = Counter()
        self.insert_seconds = 0.0

    def _write(self, documents: dict[str, list[Json]], batch: int) -> int:
        started = time.monotonic()
        count = 0
        for name in ("commits", "clocks", "timers"):  # the service's order: events, clocks, then the timer
            docs = documents.get(name, [])
            for start in range(0, len(docs), batch):
                chunk = docs[start : start + batch]
                try:
                    self._db[name].insert_many(chunk, ordered=False)
                except BulkWriteError as exc:
                    if name != "timers" or any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                        raise
                    raise  # slot documents are unique by construction: a collision is a seeding bug
                self.inserted[name] += len(chunk)
                count += len(chunk)
        self.insert_seconds += time.monotonic() - started
        return count

    async def submit(self, documents: dict[str, list[Json]], batch: int = 1000) -> None:
        await self.drain()
        self._pending = self._pool.submit(self._write, documents, batch)

    async def drain(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await asyncio.wrap_future(pending)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()


async def seed(
    seeder: Seeder, writer: BulkWriter, envelopes: list[Envelope], *, chunk: int = 4000
) -> tuple[float, float]:
    """Decide every envelope with the service's handler and store what it wrote; (decide s, wall s)."""
    started = time.monotonic()
    deciding = 0.0
    for start in range(0, len(envelopes), chunk):
        t = time.monotonic()
        await seeder.decide(envelopes[start : start + chunk])
        deciding += time.monotonic() - t
        await writer.submit(seeder.take(timers=False))
    await writer.submit(seeder.take(timers=True))
    await writer.drain()
    return deciding, time.monotonic() - started


def comparable(doc: Json | None, drop: tuple[str, ...] = ()) -> Json | None:
    """A document as Mongo hands it back (BSON round trip: ms precision, aware datetimes), minus `drop`."""
    if doc is None:
        return None
    decoded = bson.decode(bson.encode({k: v for k, v in doc.items() if k not in drop}), codec_options=BSON_OPTIONS)
    return dict(decoded)


async def fidelity_check(seeder: Seeder, service_db: Any, envelopes: list[Envelope]) -> Json:
    """Replay the seeding path for tickets the service itself decided, and compare the documents: clocks and
    commits must be identical (but `stored_at`); the ticket must be listed in the same timer bucket."""
    differences: list[str] = []
    same_documents = 0
    for envelope in envelopes:
        ticket = envelope.subject
        await seeder.decide([envelope])
        ours = seeder.take(timers=True)
        theirs_clock = await service_db["clocks"].find_one({"_id": ticket})
        same = comparable(ours["clocks"][0]) == comparable(theirs_clock)
        if not same:
            differences.append(f"{ticket}: clocks differ: seeded {ours['clocks'][0]} vs service {theirs_clock}")
        for commit in ours["commits"]:  # by _id: FerretDB would scan the commits for any other filter
            stored = await service_db["commits"].find_one({"_id": commit["_id"]})
            if comparable(commit, ("stored_at",)) != comparable(stored, ("stored_at",)):
                same = False
                differences.append(f"{ticket}: commit differs: seeded {commit} vs service {stored}")
        after = commit_id(ticket, 1 + sum(len(c["records"]) for c in ours["commits"]))
        if await service_db["commits"].find_one({"_id": after}) is not None:
            same = False
            differences.append(f"{ticket}: the service stored more commits than the seeding path ({after})")
        same_documents += same
    return {
        "checked": len(envelopes),
        "clocks_and_commits_identical": same_documents,
        "differences": differences[:3],
        "timers": "compared by the timer check over every published ticket (timers_check_published)",
    }


async def timer_check(service_db: Any, tickets: list[str]) -> Json:
    """Is each ticket listed in the timer bucket of its clocks' `due_at`? A clock whose ticket is not listed
    there is never fired: its warnings and breach never come."""
    buckets: dict[str, set[str]] = {}
    missing: list[str] = []
    no_clocks: list[str] = []
    nothing_due = 0
    semaphore = asyncio.Semaphore(16)

    async def one(ticket: str) -> None:
        nonlocal nothing_due
        async with semaphore:
            doc = await service_db["clocks"].find_one({"_id": ticket})
            if doc is None:
                no_clocks.append(ticket)
                return
            if doc.get("due_at") is None:
                nothing_due += 1
                return
            name = bucket(doc["due_at"])
            if name not in buckets:  # timers are slot documents `<bucket>#<n>` (runtime/sets.py)
                listed: set[str] = set()
                while (slot := await service_db["timers"].find_one({"_id": f"{name}#{len(listed):07d}"})) is not None:
                    listed.add(str(slot["value"]))
                buckets.setdefault(name, listed)
            if ticket not in buckets[name]:
                missing.append(ticket)

    await asyncio.gather(*(one(t) for t in tickets))
    return {
        "tickets": len(tickets),
        "without_timer": len(missing),
        "without_timer_examples": missing[:3],
        "without_clocks": len(no_clocks),
        "nothing_due": nothing_due,
        "buckets": len(buckets),
    }


def log_problems(path: Path, since: float = 0.0) -> Json:
    """Warnings in the service's JSON log since `since` (epoch s): count and last line of each kind."""
    kinds: Counter[str] = Counter()
    last: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError, KeyError):
                entry = json.loads(line)
                if entry.get("level") not in ("warning", "error"):
                    continue
                if datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp() < since:
                    continue
                kinds[entry["event"]] += 1
                if exception := entry.get("exception"):
                    last[entry["event"]] = exception.strip().splitlines()[-1][:300]
    return {"counts": dict(kinds), "last_exception": last}


# ----------------------------------------------------------------------------------------------------------
# Kafka


def make_producer(bootstrap: str) -> AIOKafkaProducer:
    """Like the services' broker (switchboard.runtime.kafka.make_broker): idempotent, acks=all, linger 2 ms."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)


def make_reader(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )


@dataclass
class SlaRecord:
    kind: str
    event_id: str
    ticket: str
    payload: Json
    produced: float  # the record's CreateTime (the service's producer), epoch seconds
    consumed: float  # when getmany handed it to this process, epoch seconds


class SlaTap:
    """Reads `<ns>.support.sla` from the beginning for the whole run, noting when each record was consumed."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._bootstrap = bootstrap
        self._consumer = make_reader(bootstrap)
        self.records: list[SlaRecord] = []
        self.counts: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([self.topic])  # the service created it at start-up
        finally:
            await admin.close()
        partitions = sorted(p["partition"] for p in described.get("partitions", []))
        if not partitions:
            raise RuntimeError(f"topic {self.topic} has no partitions: {described}")
        await self._consumer.start()
        self._consumer.assign([TopicPartition(self.topic, p) for p in partitions])
        self._task = asyncio.create_task(self._run(), name="sla-tap")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=10_000)
            consumed = time.time()
            for records in batches.values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers}
                    kind = headers.get("ce_type", "")
                    self.counts[kind] += 1
                    self.records.append(
                        SlaRecord(
                            kind,
                            headers.get("ce_id", ""),
                            (record.key or b"").decode(),
                            json.loads(record.value) if kind == BREACHED else {},
                            record.timestamp / 1000,
                            consumed,
                        )
                    )

    def of(self, kind: str) -> list[SlaRecord]:
        return [r for r in self.records if r.kind == kind]


async def kafka_baselines(bootstrap: str, namespace: str, *, messages: int, round_trips: int) -> Json:
    """Raw produce rate (idempotent, acks=all, ~1 KB) and a paced produce -> consume round trip."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    rate_topic, trip_topic = f"{namespace}.bench.baseline-produce", f"{namespace}.bench.baseline-roundtrip"
    try:
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in (rate_topic, trip_topic)])
    finally:
        await admin.close()
    await asyncio.sleep(1.0)  # partition leaders elected
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        value = os.urandom(512).hex().encode()  # 1 KB
        for n in range(200):  # warm-up: metadata, connections
            await producer.send(rate_topic, value, key=str(n).encode())
        await producer.flush()
        started = time.monotonic()
        futures = [await producer.send(rate_topic, value, key=str(n).encode()) for n in range(messages)]
        await asyncio.gather(*futures)
        produce_rate = messages / (time.monotonic() - started)

        consumer = make_reader(bootstrap)
        await consumer.start()
        lags: list[float] = []
        try:
            consumer.assign([TopicPartition(trip_topic, p) for p in range(PARTITIONS)])
            await consumer.seek_to_end()

            async def read() -> None:
                while len(lags) < round_trips:
                    batches = await consumer.getmany(timeout_ms=100)
                    now = time.time()
                    lags.extend(now - float(r.value) for rs in batches.values() for r in rs)

            reader = asyncio.create_task(read())
            await asyncio.sleep(1.0)  # the reader's first fetch is in flight
            for n in range(round_trips):  # paced (100/s): each message alone, as breaches mostly are
                await producer.send(trip_topic, str(time.time()).encode(), key=str(n).encode())
                await asyncio.sleep(0.01)
            await asyncio.wait_for(reader, 30)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
    return {
        "produce_msgs_per_s": round(produce_rate, 1),
        "produce_messages": messages,
        "round_trip": latency_summary(lags),
        "round_trip_setup": f"{round_trips} messages at 100/s, producer as the services' (idempotent, acks=all, "
        "linger 2 ms), consumer as this bench's SLA reader (fetch_max_wait 100 ms)",
    }


# ----------------------------------------------------------------------------------------------------------
# Mongo


async def mongo_find_rate(uri: str, database: str, ids: list[str], *, tasks: int, seconds: float) -> Json:
    """Raw find_one by `_id` on the seeded `clocks` (the service's first read of each decision)."""
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri, tz_aware=True, maxPoolSize=max(tasks, 1))
    latencies: list[float] = []
    rng = random.Random(tasks)
    try:
        collection = client[database]["clocks"]
        await collection.find_one({"_id": ids[0]})

        async def worker(until: float, measure: bool) -> None:
            while time.monotonic() < until:
                t = time.monotonic()
                doc = await collection.find_one({"_id": rng.choice(ids)})
                assert doc is not None
                if measure:
                    latencies.append(time.monotonic() - t)

        await asyncio.gather(*(worker(time.monotonic() + 1.0, False) for _ in range(tasks)))  # warm-up
        started = time.monotonic()
        await asyncio.gather(*(worker(started + seconds, True) for _ in range(tasks)))
        wall = time.monotonic() - started
    finally:
        await client.close()
    return {"tasks": tasks, "rps": round(len(latencies) / wall, 1), "latency": latency_summary(latencies)}


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


def command_diff(before: Counter[str] | None, after: Counter[str] | None, per: float) -> Json | None:
    if before is None or after is None or per <= 0:
        return None
    diff = {k: (after[k] - before.get(k, 0)) / per for k in after if after[k] - before.get(k, 0) > 0}
    return {"total": round(sum(diff.values()), 2)} | {k: round(v, 2) for k, v in sorted(diff.items())}


# ----------------------------------------------------------------------------------------------------------
# processes


async def wait_until(check: Callable[[], bool], *, limit_s: float, interval_s: float) -> bool:
    """Poll `check` until it holds (True) or `limit_s` passed (False)."""
    deadline = time.monotonic() + limit_s
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval_s)


async def sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


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


def spawn_sla(env: dict[str, str]) -> Service:
    port = free_port()
    log_path = DATA / "sla.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "switchboard.sla"],
            env=os.environ | env | {"SLA_PORT": str(port)},
            stdout=out,
            stderr=out,
            cwd=ROOT,
        )
    return Service(f"http://127.0.0.1:{port}", process, log_path)


@contextlib.asynccontextmanager
async def sla_process(env: dict[str, str]) -> AsyncIterator[Service]:
    """`python -m switchboard.sla`, as it runs in production; stopped (SIGTERM, then kill) on the way out."""
    service = spawn_sla(env)
    process, log_path = service.process, service.log_path
    try:
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"sla exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{service.url}/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sla not ready after 120 s:\n{log_path.read_text()[-3000:]}")
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


async def scrape(url: str) -> dict[str, float]:
    """The service's Prometheus samples of the SLA timer (name -> value), or {} if /metrics does not answer."""
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"{url}/metrics")).text
        samples = {}
        for line in text.splitlines():
            match = re.match(r"^(switchboard_sla_\w+?)(\{[^}]*\})?\s+([0-9.eE+-]+|NaN)$", line)
            if match and not match.group(2):
                samples[match.group(1)] = float(match.group(3))
        return samples
    return {}


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
# the run


@dataclass(frozen=True)
class Options:
    clocks: int
    published: int
    window_clocks: int
    window_s: float
    idle_s: float
    drain_s: float


@dataclass
class Bench:
    options: Options
    results: Results
    namespace: str
    ends: infra.Endpoints
    service: Service
    database: Any  # AsyncDatabase of the service
    status: AsyncMongoClient[Json]
    tap: SlaTap
    pids: dict[str, int]
    seeded_ids: list[str] = field(default_factory=list)


async def run(options: Options) -> Results:
    results = Results()
    namespace = f"benchsla{uuid.uuid4().hex[:8]}"
    results.meta = machine_facts() | {"namespace": namespace, "settings": dataclasses.asdict(options)}
    t_start = time.monotonic()
    async with servers() as ends:
        origin = "environment" if not (ends.started_kafka or ends.started_ferretdb) else "local (.local/bench-sla)"
        results.meta["servers"] = {"kafka": ends.kafka_bootstrap, "mongodb": ends.mongodb_uri, "origin": origin}
        log(f"servers up in {time.monotonic() - t_start:.1f}s: kafka {ends.kafka_bootstrap}, mongo {ends.mongodb_uri}")
        token = secrets.token_urlsafe(16)
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": ends.kafka_bootstrap,
            "MONGODB_URI": ends.mongodb_uri,
            "SWITCHBOARD_NAMESPACE": namespace,
            "SWITCHBOARD_API_TOKEN": token,
            "SWITCHBOARD_TOPIC_PARTITIONS": str(PARTITIONS),
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
        }
        log("starting sla ...")
        async with sla_process(env) as service:
            log(f"sla ready after {time.monotonic() - t_start:.1f}s")
            client: AsyncMongoClient[Json] = AsyncMongoClient(ends.mongodb_uri, tz_aware=True)
            tap = SlaTap(ends.kafka_bootstrap, SLA.qualified(namespace))
            try:
                await tap.start()
                pids = {"sla": service.process.pid} | server_pids() | {"bench": os.getpid()}
                bench = Bench(options, results, namespace, ends, service, client[f"{namespace}_sla"], client, tap, pids)
                await measure(bench, token)
            finally:
                await tap.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.close(), 5.0)
            code = await asyncio.to_thread(service.stop)
            results.meta["sla_exit_code"] = code
    results.meta["wall_seconds"] = round(time.monotonic() - t_start, 1)
    return results


async def measure(bench: Bench, token: str) -> None:
    options, results = bench.options, bench.results
    async with httpx.AsyncClient(
        base_url=bench.service.url, headers={"authorization": f"Bearer {token}"}, timeout=30
    ) as api:
        answer = await api.put("/v1/sla/policies", json=[WINDOW_POLICY, *DEFAULT_POLICIES])
        answer.raise_for_status()
        results.meta["policies"] = answer.json()

    far = options.clocks - options.published - options.window_clocks
    await seed_far(bench, far)
    await baselines(bench)
    since = time.time()
    published = await decisions(bench)
    if published:
        seeder = Seeder(bench.namespace)
        await seeder.load_configuration(bench.database)
        sample = random.Random(3).sample(published, min(20, len(published)))
        fidelity = await fidelity_check(seeder, bench.database, sample)
        results.meta["seed_fidelity"] = fidelity
        same = fidelity["clocks_and_commits_identical"]
        log(f"  seed fidelity: {same}/{fidelity['checked']} tickets' clocks and commits exactly as the service's")
        if fidelity["differences"]:
            results.clean = False
        check = await timer_check(bench.database, [e.subject for e in published])
        results.meta["timers_check_published"] = check
        log(f"  timers: {check['without_timer']} of {check['tickets']} decided tickets are in no timer bucket")
        results.add("sla.timers_lost.published", float(check["without_timer"]), "tickets", float(check["tickets"]))
        if check["without_timer"] or check["without_clocks"]:
            results.clean = False
    results.meta["decisions"]["service_log_warnings"] = log_problems(bench.service.log_path, since)
    window = await seed_window(bench)
    await idle_minute(bench, window)
    since = time.time()
    await breach_window(bench, window)
    check = await timer_check(bench.database, sorted(window.deadlines))
    results.meta["window"]["timers_check_after_breach"] = check
    results.meta["window"]["service_log_warnings"] = log_problems(bench.service.log_path, since)
    log(
        f"  timers: {check['without_timer']} of {check['tickets']} breached tickets are in no timer bucket for "
        "their next due time (resolution)"
    )
    results.add("sla.timers_lost.after_breach", float(check["without_timer"]), "tickets", float(check["tickets"]))
    if check["without_timer"] or check["without_clocks"]:
        results.clean = False


async def seed_far(bench: Bench, count: int) -> None:
    """`count` running clocks under the default policy, opened 0-35 min ago: nothing of theirs is due for 10 min."""
    log(f"seeding {count:,} running clocks through the service's handler (in memory) + insert_many ...")
    now = datetime.now(UTC)
    rng = random.Random(1)
    envelopes = [opened_envelope(n, opened_at=now - timedelta(seconds=rng.uniform(0, 35 * 60))) for n in range(count)]
    seeder = Seeder(bench.namespace)
    await seeder.load_configuration(bench.database)
    writer = BulkWriter(bench.ends.mongodb_uri, f"{bench.namespace}_sla")
    try:
        deciding, wall = await seed(seeder, writer, envelopes)
    finally:
        writer.close()
    bench.seeded_ids = [e.subject for e in envelopes]
    bench.results.meta["seeding"] = {
        "method": "Sla.on_events (the service's consumer handler: decide, next_due, SlaStore, EventStore) run in "
        "the bench process against in-memory collections, one TicketOpened envelope per ticket; the clocks, "
        "commits and timers documents it wrote inserted with insert_many (batches of 1,000). Pending outbox "
        "markers dropped: the seeded tickets' clock_started events count as published but are not on the topic.",
        "far_future_clocks": count,
        "opened": "uniformly 0-35 min before seeding, policy 'standard' (first warning at 45 min)",
        "decide_s": round(deciding, 1),
        "decisions_per_s_in_memory": round(count / deciding, 1) if deciding else None,
        "insert_s": round(writer.insert_seconds, 1),
        "wall_s": round(wall, 1),
        "documents": dict(writer.inserted),
    }
    log(
        f"  seeded in {wall:.1f}s (deciding {deciding:.1f}s, inserting {writer.insert_seconds:.1f}s): "
        f"{dict(writer.inserted)}"
    )


async def baselines(bench: Bench) -> None:
    results = bench.results
    log("baseline: raw PyMongo find_one by _id on the seeded clocks ...")
    db = f"{bench.namespace}_sla"
    c1 = await mongo_find_rate(bench.ends.mongodb_uri, db, bench.seeded_ids, tasks=1, seconds=3)
    c32 = await mongo_find_rate(bench.ends.mongodb_uri, db, bench.seeded_ids, tasks=MONGO_POOL, seconds=4)
    log("baseline: raw aiokafka produce rate and produce -> consume round trip ...")
    kafka = await kafka_baselines(bench.ends.kafka_bootstrap, bench.namespace, messages=20_000, round_trips=500)
    results.meta["baseline_mongo"] = {"find_one_c1": c1, "find_one_c32": c32}
    results.meta["baseline_kafka"] = kafka
    results.add("sla.baseline.mongo.find_one_rps_c1", c1["rps"], "reads/s")
    results.add("sla.baseline.mongo.find_one_rps_c32", c32["rps"], "reads/s")
    results.add("sla.baseline.mongo.find_one_p50_ms_c1", c1["latency"]["p50_ms"], "ms")
    results.add("sla.baseline.kafka.produce_msgs_per_s", kafka["produce_msgs_per_s"], "msgs/s")
    results.add("sla.baseline.kafka.round_trip_p50_ms", kafka["round_trip"]["p50_ms"], "ms")
    results.add("sla.baseline.kafka.round_trip_p99_ms", kafka["round_trip"]["p99_ms"], "ms")


async def decisions(bench: Bench) -> list[Envelope]:
    """Real TicketOpened through Kafka, all at once: decisions per second with the store already holding the
    seeded clocks. Returns the envelopes (their tickets are decided by the service)."""
    count = bench.options.published
    log(f"decisions: publishing {count:,} TicketOpened to {TICKETS.qualified(bench.namespace)} at once ...")
    base = bench.tap.counts[STARTED]
    envelopes = [opened_envelope(1_000_000 + n, opened_at=datetime.now(UTC)) for n in range(count)]
    commands0 = await command_counts(bench.status)
    cpu = CpuWatch(bench.pids)
    producer = make_producer(bench.ends.kafka_bootstrap)
    await producer.start()
    cpu.start()
    first = time.time()
    try:
        futures = []
        for envelope in envelopes:
            record = encode(envelope)
            headers = [(k, v.encode()) for k, v in record.headers.items()]
            futures.append(
                await producer.send(TICKETS.qualified(bench.namespace), record.value, key=record.key, headers=headers)
            )
        await asyncio.gather(*futures)
        acked = time.time()
    finally:
        await producer.stop()
    expected = base + 2 * count  # first response and resolution start on every ticket
    await wait_until(lambda: bench.tap.counts[STARTED] >= expected, limit_s=180, interval_s=0.05)
    split = cpu.stop()
    commands1 = await command_counts(bench.status)
    tickets = {e.subject for e in envelopes}
    started = [r for r in bench.tap.of(STARTED) if r.ticket in tickets]
    decided = sum(1 for n in Counter(r.ticket for r in started).values() if n >= 2)
    done = bench.tap.counts[STARTED] >= expected
    last = max((r.produced for r in started), default=first)
    rate = decided / (last - first) if done and last > first else None
    phase: Json = {
        "tickets": count,
        "published_in_s": round(acked - first, 2),
        "decided_tickets": decided,
        "complete": done,
        "first_publish_to_last_clock_started_s": round(last - first, 2),
        "mongo_commands_per_decision": command_diff(commands0, commands1, decided),
        "cpu": split,
    }
    for name, seconds in split["cpu_seconds_by_process"].items():
        if decided:
            phase[f"{name}_cpu_ms_per_decision"] = round(seconds * 1000 / decided, 2)
    bench.results.meta["decisions"] = phase
    log(f"  {decided:,} decided in {last - first:.1f}s; cpu {split['busy_cores_by_process']}")
    if not done:
        bench.results.clean = False
        log(f"  NOT COMPLETE: {bench.tap.counts[STARTED] - base} of {2 * count} clock_started events after 180 s")
    bench.results.add(
        "sla.decisions_per_s",
        rate,
        "tickets/s",
        bench.results.value("sla.baseline.mongo.find_one_rps_c32"),
    )
    return envelopes if done else []


@dataclass(frozen=True)
class Window:
    start: datetime  # first deadline
    end: datetime  # last deadline
    deadlines: dict[str, datetime]  # ticket -> its first-response deadline
    seeded_at: float  # monotonic, when its documents were stored


async def seed_window(bench: Bench) -> Window:
    """The clocks that fall due in the window: urgent tickets opened an hour before their deadline, which are
    spread evenly over the window; it starts once the idle minute is over."""
    options = bench.options
    count = options.window_clocks
    start = datetime.now(UTC) + timedelta(seconds=options.idle_s + 12)
    step = timedelta(seconds=options.window_s) / max(1, count - 1)
    deadlines = [start + step * n for n in range(count)]
    random.Random(2).shuffle(deadlines)
    envelopes = [
        opened_envelope(2_000_000 + n, opened_at=deadline - WINDOW_TARGET, priority=Priority.URGENT)
        for n, deadline in enumerate(deadlines)
    ]
    log(f"seeding {count:,} clocks due between {start:%H:%M:%S} and {start + step * (count - 1):%H:%M:%S} ...")
    seeder = Seeder(bench.namespace)
    await seeder.load_configuration(bench.database)
    writer = BulkWriter(bench.ends.mongodb_uri, f"{bench.namespace}_sla")
    try:
        await seeder.decide(envelopes)
        taken = seeder.take(timers=True)
        # check the seeded clocks are what the window needs: governed by bench-window, due at the planned instant
        wanted = {e.subject: d for e, d in zip(envelopes, deadlines, strict=True)}
        wrong = [
            doc["_id"]
            for doc in taken["clocks"]
            if doc["due_at"] != wanted[doc["_id"]] or '"id":"bench-window"' not in doc["state"]
        ]
        if wrong:
            raise RuntimeError(f"{len(wrong)} window clocks are not due at their planned deadline: {wrong[:3]}")
        await writer.submit(taken)
        await writer.drain()
    finally:
        writer.close()
    seconds = time.monotonic()
    bench.results.meta["window_seeding"] = {
        "clocks": count,
        "policy": WINDOW_POLICY,
        "first_deadline": start.isoformat(),
        "last_deadline": (start + step * (count - 1)).isoformat(),
        "spacing_ms": round(step.total_seconds() * 1000, 2),
        "timer_buckets": len(taken["timers"]),
        "insert_s": round(writer.insert_seconds, 2),
        "stored_before_first_deadline_s": round((start - datetime.now(UTC)).total_seconds(), 1),
    }
    total = await bench.database["clocks"].estimated_document_count()
    bench.results.meta["clocks_documents"] = total
    log(f"  clocks documents in the service's store: {total:,}")
    return Window(
        start, start + step * (count - 1), dict(zip((e.subject for e in envelopes), deadlines, strict=True)), seconds
    )


async def idle_minute(bench: Bench, window: Window) -> None:
    """100k running clocks, nothing due: what the SLA process (its timer polling every 0.1 s, the consumer's
    fetches, the outbox sweep) and FerretDB spend."""
    await asyncio.sleep(2.0)  # let the window's inserts settle
    length = min(bench.options.idle_s, (window.start - datetime.now(UTC)).total_seconds() - 3.0)
    log(f"idle: {length:.0f}s with {bench.options.clocks:,} running clocks and nothing due ...")
    before_records = len(bench.tap.records)
    commands0 = await command_counts(bench.status)
    metrics0 = await scrape(bench.service.url)
    cpu = CpuWatch(bench.pids)
    cpu.start()
    await asyncio.sleep(length)
    split = cpu.stop()
    commands1 = await command_counts(bench.status)
    metrics1 = await scrape(bench.service.url)
    wall = split["window_s"]
    per_min = {name: round(seconds * 60 / wall, 3) for name, seconds in split["cpu_seconds_by_process"].items()}
    bench.results.meta["idle"] = {
        "seconds": wall,
        "cpu_s_per_min_by_process": per_min,
        "cpu": split,
        "mongo_commands_per_s": command_diff(commands0, commands1, wall),
        "timers_fired": metrics1.get("switchboard_sla_timer_fire_delay_seconds_count", 0)
        - metrics0.get("switchboard_sla_timer_fire_delay_seconds_count", 0),
        "sla_records_on_topic_meanwhile": len(bench.tap.records) - before_records,
        "scheduler_lag_s_at_end": metrics1.get("switchboard_sla_scheduler_lag_seconds"),
    }
    log(f"  cpu s/min: {per_min}; mongo commands/s {bench.results.meta['idle']['mongo_commands_per_s']}")
    bench.results.add("sla.idle_cpu_s_per_min", per_min.get("sla"), "cpu s/min")
    bench.results.add("sla.idle_store_cpu_s_per_min", per_min.get("ferretdb"), "cpu s/min")


async def breach_window(bench: Bench, window: Window) -> None:
    """Every window clock falls due; each breach consumed from the SLA topic is timed against its deadline."""
    options = bench.options
    await sleep_until(window.start - timedelta(seconds=1))
    log(f"window: {len(window.deadlines):,} deadlines over {options.window_s:.0f}s ...")
    commands0 = await command_counts(bench.status)
    metrics0 = await scrape(bench.service.url)
    cpu = CpuWatch(bench.pids)
    cpu.start()
    wanted = set(window.deadlines)
    until = window.end + timedelta(seconds=options.drain_s)

    def arrived() -> set[str]:
        return {r.ticket for r in bench.tap.of(BREACHED) if r.ticket in wanted}

    await sleep_until(window.end + timedelta(seconds=1))
    split = cpu.stop()
    await wait_until(
        lambda: len(arrived()) >= len(wanted), limit_s=(until - datetime.now(UTC)).total_seconds(), interval_s=0.2
    )
    await asyncio.sleep(3.0)  # anything sent twice would be here by now
    commands1 = await command_counts(bench.status)
    metrics1 = await scrape(bench.service.url)

    breaches = bench.tap.of(BREACHED)
    ours = [r for r in breaches if r.ticket in wanted]
    per_ticket = Counter(r.ticket for r in ours)
    per_id = Counter(r.event_id for r in ours)
    lags, to_bucket_end, service_part, transport = [], [], [], []
    wrong_time = []
    for record in ours:
        breached_at = datetime.fromisoformat(record.payload["breached_at"])
        if breached_at != window.deadlines[record.ticket] or record.payload.get("target") != "first_response":
            wrong_time.append(record.ticket)
        deadline = breached_at.timestamp()
        end = (bucket_start(breached_at) + TIMER_STEP).timestamp()
        lags.append(record.consumed - deadline)
        to_bucket_end.append(end - deadline)
        service_part.append(record.produced - end)
        transport.append(record.consumed - record.produced)
    missing = [t for t in wanted if per_ticket[t] == 0]
    verification: Json = {
        "window_tickets": len(wanted),
        "breached_once": sum(1 for n in per_ticket.values() if n == 1),
        "missing": len(missing),
        "missing_examples": missing[:3],
        "tickets_breached_more_than_once": sum(1 for n in per_ticket.values() if n > 1),
        "breach_records_total": len(ours),
        "duplicate_event_ids": sum(n - 1 for n in per_id.values() if n > 1),
        "breaches_of_other_tickets": len(breaches) - len(ours),
        "breached_at_not_the_deadline": len(wrong_time),
    }
    leftover = 0
    for name in sorted({bucket(d) for d in window.deadlines.values()}):
        leftover += await bench.database["timers"].find_one({"_id": f"{name}#{0:07d}"}) is not None
    verification["window_timer_buckets_left"] = leftover
    fired = metrics1.get("switchboard_sla_timer_fire_delay_seconds_count", 0) - metrics0.get(
        "switchboard_sla_timer_fire_delay_seconds_count", 0
    )
    fire_sum = metrics1.get("switchboard_sla_timer_fire_delay_seconds_sum", 0) - metrics0.get(
        "switchboard_sla_timer_fire_delay_seconds_sum", 0
    )
    bench.results.meta["window"] = {
        "deadline_to_breach": latency_summary(lags),
        "breakdown": {
            "deadline_to_bucket_end": latency_summary(to_bucket_end),
            "bucket_end_to_produced": latency_summary(service_part),
            "produced_to_consumed": latency_summary(transport),
            "note": "a bucket (250 ms) is fired once it is over: deadline -> bucket end is the design's wait; "
            "bucket end -> produced is the service (timer poll <= 100 ms, decide, store, outbox relay) timed by "
            "the Kafka record's CreateTime; produced -> consumed is Kafka and this reader",
        },
        "scheduler_buckets_fired": fired,
        "scheduler_mean_fire_delay_ms": round(fire_sum / fired * 1000, 1) if fired else None,
        "cpu_during_window": split,
        "cpu_ms_per_breach_by_process": {
            name: round(seconds * 1000 / max(1, len(ours)), 2)
            for name, seconds in split["cpu_seconds_by_process"].items()
        },
        "mongo_commands_per_breach": command_diff(commands0, commands1, len(ours)),
        "verification": verification,
    }
    summary = bench.results.meta["window"]["deadline_to_breach"]
    log(f"  deadline -> breach consumed: {summary}")
    log(f"  verification: {verification}")
    round_trip = bench.results.meta.get("baseline_kafka", {}).get("round_trip", {})
    bench.results.add("sla.deadline_to_breach.p50_ms", summary["p50_ms"], "ms", round_trip.get("p50_ms"))
    bench.results.add("sla.deadline_to_breach.p99_ms", summary["p99_ms"], "ms", round_trip.get("p99_ms"))
    bench.results.add("sla.deadline_to_breach.max_ms", summary["max_ms"], "ms")
    bench.results.add("sla.breaches_delivered", float(len(per_ticket)), "tickets", float(len(wanted)))
    bench.results.add(
        "sla.breaches_missing_or_duplicated",
        float(len(missing) + verification["tickets_breached_more_than_once"] + verification["duplicate_event_ids"]),
        "tickets",
    )
    if (
        missing
        or verification["tickets_breached_more_than_once"]
        or verification["duplicate_event_ids"]
        or verification["breaches_of_other_tickets"]
        or wrong_time
    ):
        bench.results.clean = False


# ----------------------------------------------------------------------------------------------------------
# output


def table(results: Results) -> str:
    rows = [("metric", "value", "unit", "baseline", "ratio")]
    for name, metric in results.metrics.items():
        shown = metric.as_json()

        def fmt(value: Any, digits: int = 2) -> str:
            return "-" if value is None else f"{value:,.{digits}f}"

        rows.append((name, fmt(shown["value"]), metric.unit, fmt(shown["baseline"]), fmt(shown["ratio"], 3)))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if i in (0, 2) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    window = results.meta.get("window", {})
    if window:
        lines += ["", "deadline -> breach, split (ms):"]
        for part, summary in window["breakdown"].items():
            if isinstance(summary, dict):
                lines.append(f"  {part:24} p50 {summary['p50_ms']}  p99 {summary['p99_ms']}  max {summary['max_ms']}")
        lines.append(f"verification: {json.dumps(window['verification'])}")
    if "seed_fidelity" in results.meta:
        lines.append(f"seed fidelity: {json.dumps(results.meta['seed_fidelity'])[:400]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clocks", type=int, default=100_000, help="running clocks in all (default 100,000)")
    parser.add_argument("--published", type=int, default=2_000, help="TicketOpened sent through Kafka (2,000)")
    parser.add_argument("--window-clocks", type=int, default=2_000, help="clocks due in the window (2,000)")
    parser.add_argument("--window-seconds", type=float, default=60.0, help="window the deadlines span (60)")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="idle measurement (60)")
    parser.add_argument("--drain-seconds", type=float, default=30.0, help="wait for late breaches (30)")
    parser.add_argument("--limit-seconds", type=float, default=900.0, help="hard bound on the whole run (900)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="results file to merge into")
    args = parser.parse_args(argv)
    options = Options(
        clocks=args.clocks,
        published=args.published,
        window_clocks=args.window_clocks,
        window_s=args.window_seconds,
        idle_s=args.idle_seconds,
        drain_s=args.drain_seconds,
    )
    if options.published + options.window_clocks > options.clocks:
        parser.error("--clocks must cover --published and --window-clocks")
    # a hard bound: on expiry the run is cancelled, which still stops the service and the servers
    results = asyncio.run(asyncio.wait_for(run(options), args.limit_seconds))
    output: Path = args.output.resolve()
    merge_into(output, results)
    print(table(results))
    print(f"\nmerged into {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0 if results.clean else 1


if __name__ == "__main__":
    sys.exit(main())
