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
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from switchboard.events.common import Channel
from switchboard.events.topics import TICKETS
from switchboard.runtime.commits import commit_document

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/run.py` puts bench/ on the path
from bench import PARTITIONS, RESULTS, ROOT
from bench.figures import Json, Results, latency_summary, log, merge_into, metric_table, number, percentile, render
from bench.intake_load import SUBJECTS, Opener, Tally, closed_loop, open_loop
from bench.kafka_clients import create_topics, make_producer, produce_rate
from bench.machine import CpuWatch, machine_facts
from bench.mongo_clients import OperationRun, command_counts, command_diff, operation_rate
from bench.profile_areas import INTAKE_AREAS
from bench.profiling import PySpy, find_py_spy, profile_lines, write_speedscope
from bench.servers import Endpoints, own_servers, server_pids, service_environment, service_process
from bench.tickets import ticket_opened
from tests.harness import ServiceProcess

DATA = ROOT / ".local" / "bench"
KAFKA_PORT = 29192
MONGO_PORT = 27118


# ----------------------------------------------------------------------------------------------------------
# baselines


def ticket_commit(rng: random.Random) -> Json:
    """A ticket's first commit as intake's event store writes it, built by the production code: its TicketOpened
    as a Kafka record with CloudEvents headers, ~1.3 KB as JSON. (Intake stores the customer's first message in
    it too, which would double its size and move the baseline.)"""
    opened = ticket_opened(rng.randrange(10**6), subject=rng.choice(SUBJECTS).format(n=1), channel=Channel.EMAIL)
    return commit_document([opened], namespace="bench", previous=None)


async def mongo_insert_rate(uri: str, database: str, *, tasks: int, seconds: float, cpu: CpuWatch) -> OperationRun:
    """insert_one calls per second from `tasks` concurrent tasks on one client; also latencies and CPU."""
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri, tz_aware=True)
    try:
        collection = client[database]["commits"]
        rng = random.Random(1)
        await collection.insert_one(ticket_commit(rng))  # creates the collection
        return await operation_rate(
            lambda: ticket_commit(rng), collection.insert_one, tasks=tasks, seconds=seconds, cpu=cpu
        )
    finally:
        await client.close()


async def kafka_produce_rate(bootstrap: str, topic: str, *, messages: int) -> tuple[float, float]:
    """Messages per second from one idempotent acks=all producer with everything in flight, then flushed."""
    await create_topics(bootstrap, [topic])
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        rng = random.Random(2)
        values = [json.dumps(ticket_commit(rng), default=str).encode()[:1024] for _ in range(64)]
        rate = await produce_rate(producer, topic, values, messages=messages, key=lambda _: str(uuid.uuid4()).encode())
        return rate, float(len(values[0]))
    finally:
        await producer.stop()


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
    intake: ServiceProcess
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
        commands = command_diff(before, await command_counts(self.status_client), tally.created)
        if commands is not None:
            self.phases[name]["mongo_commands_per_open"] = commands
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
    async with own_servers(DATA, kafka_port=KAFKA_PORT, mongo_port=MONGO_PORT) as ends:
        origin = "environment" if not (ends.started_kafka or ends.started_ferretdb) else "local (.local/bench)"
        results.meta["servers"] = {"kafka": ends.kafka_bootstrap, "mongodb": ends.mongodb_uri, "origin": origin}
        log(f"servers up in {time.monotonic() - t_start:.1f}s: kafka {ends.kafka_bootstrap}, mongo {ends.mongodb_uri}")
        await baselines(results, options, ends, namespace)
        env = service_environment(ends, namespace)
        log("starting intake ...")
        async with service_process("intake", env, DATA / "intake.log") as intake:
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
                    env["SWITCHBOARD_API_TOKEN"],
                    ends.mongodb_uri,
                    f"{namespace}_intake",
                    status_client,
                )
                await measure_intake(bench, py_spy)
                if bench.wedged:
                    # intake's requests hang on the store; stop it before waiting on anything else
                    await asyncio.to_thread(intake.terminate, 5.0)
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


async def baselines(results: Results, options: Options, ends: Endpoints, namespace: str) -> None:
    log("baseline: raw PyMongo insert_one ...")
    database = f"{namespace}_baseline"
    pids = {"client": os.getpid()} | {k: v for k, v in server_pids(DATA).items() if k == "ferretdb"}
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
        "document_bytes_as_json": len(json.dumps(ticket_commit(random.Random(1)), default=str)),
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
    pids = {"intake": bench.intake.process.pid, "bench client": os.getpid()} | server_pids(DATA)

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
    spy = PySpy(py_spy, bench.intake.process.pid, raw_path, seconds=seconds)
    await spy.start()
    tally, elapsed = await closed_loop(
        bench.intake.url, bench.token, bench.opener, clients=64, seconds=seconds, stall_s=bench.options.stall_s
    )
    profile: Json = {"opens_per_s_under_profiler": round(tally.created / elapsed, 1)} | await spy.finish(INTAKE_AREAS)
    if raw_path.is_file():
        with contextlib.suppress(OSError):
            write_speedscope(raw_path, speedscope_path, "intake c64")
            profile["speedscope_file"] = str(speedscope_path)
    return tally, profile


# ----------------------------------------------------------------------------------------------------------
# output


def table(results: Results) -> str:
    lines = metric_table(results)
    meta = results.meta
    phases: dict[str, Json] = meta.get("phases", {})
    rows: list[tuple[str, ...]] = [
        ("phase", "opens/s", "p50 ms", "p99 ms", "cmds/open", "CPU cores: intake", "ferretdb", "kafka", "client")
    ]
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
    lines += profile_lines(meta.get("profile"), "intake profile during c64 ({samples} samples), by innermost frame:")
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
    merge_into(output, results, "_meta")  # keeps the other benchmarks' figures
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
