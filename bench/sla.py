"""SLA benchmark: 100,000 running clocks, the lag from each deadline to its breach on Kafka, and what the timer
costs while nothing is due, next to raw Kafka and Mongo baselines measured in the same run.

`.venv/bin/python bench/sla.py` starts its own Kafka and FerretDB under `.local/bench-sla/` (ports 29392 and
27120, wiped first; `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` override them) and one SLA process
(`python -m switchboard.sla`) in a fresh namespace, then, in order:

* policies: PUTs `[bench-window, standard]` through the admin API (`bench-window`: urgent tickets, first
  response in 60 min, no warnings; `standard` is the service's default, unchanged);
* seeding: 96,000 clocks written straight into the service's collections. They are NOT invented documents:
  the service's own handler (`Sla.subscribers.on_events`, i.e. `decide` + `next_due` + `SlaStore` +
  `EventStore`) runs in this process on a TicketOpened envelope per ticket, against an in-memory stand-in for
  its Mongo collections; the `clocks`, `commits` and `timers` documents it wrote are then bulk-inserted
  (insert_many) into the service's database. The pending outbox markers are dropped, i.e. the clock_started
  events of seeded tickets count as published but are not on the topic. Opened 0-35 min ago: running, next due
  in >= 10 min;
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
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import TopicPartition
from pymongo import AsyncMongoClient
from switchboard.events import Envelope, encode
from switchboard.events.common import Channel, Priority
from switchboard.events.topics import SLA, TICKETS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/sla.py` puts bench/ on the path
from bench import PARTITIONS, RESULTS, ROOT
from bench.figures import Json, Results, latency_summary, log, merge_into, metric_table
from bench.kafka_clients import Consumed, Tap, create_topics, make_producer, make_reader, produce_rate, send_record
from bench.machine import CpuWatch, machine_facts
from bench.mongo_clients import command_counts, command_diff, operation_rate
from bench.seeding import BulkWriter
from bench.servers import (
    STOP_S,
    Endpoints,
    log_problems,
    metric_families,
    own_servers,
    server_pids,
    service_environment,
    service_process,
)
from bench.sla_service import Seeder, bucket_end, buckets_left, fidelity_check, policies_with, seed, timer_check
from bench.tickets import ticket_opened
from bench.waiting import eventually, sleep_until
from tests.harness import ServiceProcess

DATA = ROOT / ".local" / "bench-sla"
KAFKA_PORT = 29392
MONGO_PORT = 27120
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


@dataclass
class SlaResults(Results):
    clean: bool = True  # False: a breach missing or doubled, decisions unfinished, seeds unlike the service's


def opened_envelope(n: int, *, opened_at: datetime, priority: Priority = Priority.NORMAL) -> Envelope:
    """TicketOpened #n as intake publishes it (sequence 1, stamped when the ticket opened)."""
    subject = f"Bench ticket {n}: the parcel has not arrived"
    return ticket_opened(n, subject=subject, channel=Channel.EMAIL, opened_at=opened_at, priority=priority)


# ----------------------------------------------------------------------------------------------------------
# Kafka


@dataclass
class SlaRecord:
    kind: str
    event_id: str
    ticket: str
    payload: Json
    produced: float  # the record's CreateTime (the service's producer), epoch seconds
    consumed: float  # when getmany handed it to this process, epoch seconds


class SlaTap(Tap):
    """`<ns>.support.sla` from the beginning for the whole run: every record, and when it was consumed."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, topic, fetch_max_wait_ms=100, max_records=10_000)
        self.records: list[SlaRecord] = []

    def note(self, record: Consumed) -> None:
        payload = json.loads(record.value) if record.kind == BREACHED else {}
        event_id = record.headers.get("ce_id", "")
        self.records.append(SlaRecord(record.kind, event_id, record.key, payload, record.created, record.wall))

    def of(self, kind: str) -> list[SlaRecord]:
        return [r for r in self.records if r.kind == kind]


async def kafka_baselines(bootstrap: str, namespace: str, *, messages: int, round_trips: int) -> Json:
    """Raw produce rate (idempotent, acks=all, ~1 KB) and a paced produce -> consume round trip."""
    rate_topic, trip_topic = f"{namespace}.bench.baseline-produce", f"{namespace}.bench.baseline-roundtrip"
    await create_topics(bootstrap, [rate_topic, trip_topic])
    await asyncio.sleep(1.0)  # partition leaders elected
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        value = os.urandom(512).hex().encode()  # 1 KB
        produced = await produce_rate(producer, rate_topic, [value], messages=messages, key=lambda n: str(n).encode())

        consumer = make_reader(bootstrap, fetch_max_wait_ms=100)
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
        "produce_msgs_per_s": round(produced, 1),
        "produce_messages": messages,
        "round_trip": latency_summary(lags, count_and_min=True),
        "round_trip_setup": f"{round_trips} messages at 100/s, producer as the services' (idempotent, acks=all, "
        "linger 2 ms), consumer as this bench's SLA reader (fetch_max_wait 100 ms)",
    }


# ----------------------------------------------------------------------------------------------------------
# Mongo and the service's metrics


async def mongo_find_rate(uri: str, database: str, ids: list[str], *, tasks: int, seconds: float) -> Json:
    """Raw find_one by `_id` on the seeded `clocks` (the service's first read of each decision)."""
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri, tz_aware=True, maxPoolSize=max(tasks, 1))
    rng = random.Random(tasks)
    try:
        collection = client[database]["clocks"]
        await collection.find_one({"_id": ids[0]})

        async def find(ticket: str) -> None:
            doc = await collection.find_one({"_id": ticket})
            assert doc is not None

        found = await operation_rate(lambda: rng.choice(ids), find, tasks=tasks, seconds=seconds)
    finally:
        await client.close()
    return {
        "tasks": tasks,
        "rps": round(found.rate, 1),
        "latency": latency_summary(found.latencies, count_and_min=True),
    }


async def scrape(url: str) -> dict[str, float]:
    """The service's unlabelled Prometheus samples of the SLA timer (name -> value), or {} if /metrics does not
    answer."""
    return {
        sample.name: sample.value
        for family in await metric_families(url)
        for sample in family.samples
        if sample.name.startswith("switchboard_sla_") and not sample.labels
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
    results: SlaResults
    namespace: str
    ends: Endpoints
    service: ServiceProcess
    database: Any  # AsyncDatabase of the service
    status: AsyncMongoClient[Json]
    tap: SlaTap
    pids: dict[str, int]
    seeded_ids: list[str] = field(default_factory=list)


async def run(options: Options) -> SlaResults:
    results = SlaResults()
    namespace = f"benchsla{uuid.uuid4().hex[:8]}"
    results.meta = machine_facts() | {"namespace": namespace, "settings": dataclasses.asdict(options)}
    t_start = time.monotonic()
    async with own_servers(DATA, kafka_port=KAFKA_PORT, mongo_port=MONGO_PORT) as ends:
        origin = "environment" if not (ends.started_kafka or ends.started_ferretdb) else "local (.local/bench-sla)"
        results.meta["servers"] = {"kafka": ends.kafka_bootstrap, "mongodb": ends.mongodb_uri, "origin": origin}
        log(f"servers up in {time.monotonic() - t_start:.1f}s: kafka {ends.kafka_bootstrap}, mongo {ends.mongodb_uri}")
        env = service_environment(ends, namespace)
        log("starting sla ...")
        async with service_process("sla", env, DATA / "sla.log") as service:
            log(f"sla ready after {time.monotonic() - t_start:.1f}s")
            client: AsyncMongoClient[Json] = AsyncMongoClient(ends.mongodb_uri, tz_aware=True)
            tap = SlaTap(ends.kafka_bootstrap, SLA.qualified(namespace))
            try:
                await tap.start()
                pids = {"sla": service.process.pid} | server_pids(DATA) | {"bench": os.getpid()}
                bench = Bench(options, results, namespace, ends, service, client[f"{namespace}_sla"], client, tap, pids)
                await measure(bench, env["SWITCHBOARD_API_TOKEN"])
            finally:
                await tap.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.close(), 5.0)
            code = await asyncio.to_thread(service.terminate, STOP_S)
            results.meta["sla_exit_code"] = code
    results.meta["wall_seconds"] = round(time.monotonic() - t_start, 1)
    return results


async def measure(bench: Bench, token: str) -> None:
    options, results = bench.options, bench.results
    async with httpx.AsyncClient(
        base_url=bench.service.url, headers={"authorization": f"Bearer {token}"}, timeout=30
    ) as api:
        answer = await api.put("/v1/sla/policies", json=policies_with(WINDOW_POLICY))
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
        "method": "Sla.subscribers.on_events (the service's consumer handler: decide, next_due, SlaStore, "
        "EventStore) run in the bench process against in-memory collections, one TicketOpened envelope per ticket; the clocks, "
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
        topic = TICKETS.qualified(bench.namespace)
        futures = [await send_record(producer, topic, encode(envelope)) for envelope in envelopes]
        await asyncio.gather(*futures)
        acked = time.time()
    finally:
        await producer.stop()
    expected = base + 2 * count  # first response and resolution start on every ticket
    await eventually(lambda: bench.tap.counts[STARTED] >= expected, limit_s=180, every_s=0.05)
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
        taken = await seeder.take(timers=True)
        # check the seeded clocks are what the window needs: governed by bench-window, due at the planned instant
        # (as stored: Mongo keeps datetimes to the millisecond, and the in-memory store copies through BSON)
        wanted = {
            e.subject: d.replace(microsecond=d.microsecond // 1000 * 1000)
            for e, d in zip(envelopes, deadlines, strict=True)
        }
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
    await eventually(
        lambda: len(arrived()) >= len(wanted), limit_s=(until - datetime.now(UTC)).total_seconds(), every_s=0.2
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
        end = bucket_end(breached_at).timestamp()
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
    verification["window_timer_buckets_left"] = await buckets_left(bench.database, window.deadlines.values())
    fired = metrics1.get("switchboard_sla_timer_fire_delay_seconds_count", 0) - metrics0.get(
        "switchboard_sla_timer_fire_delay_seconds_count", 0
    )
    fire_sum = metrics1.get("switchboard_sla_timer_fire_delay_seconds_sum", 0) - metrics0.get(
        "switchboard_sla_timer_fire_delay_seconds_sum", 0
    )
    bench.results.meta["window"] = {
        "deadline_to_breach": latency_summary(lags, count_and_min=True),
        "breakdown": {
            "deadline_to_bucket_end": latency_summary(to_bucket_end, count_and_min=True),
            "bucket_end_to_produced": latency_summary(service_part, count_and_min=True),
            "produced_to_consumed": latency_summary(transport, count_and_min=True),
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
    lines = metric_table(results)
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
    merge_into(output, results, "_meta_sla")
    print(table(results))
    print(f"\nmerged into {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0 if results.clean else 1


if __name__ == "__main__":
    sys.exit(main())
