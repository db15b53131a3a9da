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
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from switchboard.events import Envelope
from switchboard.events.common import Priority
from switchboard.events.routing import TicketRouted
from switchboard.events.topics import ROUTING, TICKETS
from switchboard.runtime.commits import commit_document, pending_marker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/routing.py` puts bench/ on the path
from bench import PARTITIONS, RESULTS, ROOT
from bench.figures import Json, Results, latency_summary, log, merge_into, metric_table, percentile, rate
from bench.kafka_clients import make_producer
from bench.machine import CpuWatch, machine_facts, process_cpu_seconds
from bench.mongo_clients import command_counts, command_diff, operation_rate
from bench.profile_areas import ROUTING_AREAS
from bench.profiling import SCRATCH_VENV, PySpy, find_py_spy, profile_lines
from bench.routing_board import board_domain_ceiling
from bench.routing_topics import (
    ASSIGNED,
    PRESENCE,
    ROUTED,
    UNASSIGNED,
    RoutingTap,
    publish_burst,
    publish_open_loop,
    relay_baseline,
    wait_for_keys,
)
from bench.routing_workload import SetupBlocked, Shape, Ticket, opened_ticket, roster_lookup_evidence, setup_roster
from bench.servers import Endpoints, metric_families, own_servers, server_pids, service_environment, service_process
from tests.harness import ServiceProcess

DATA = ROOT / ".local" / "bench-routing"
KAFKA_PORT = 29292
MONGO_PORT = 27119
MONGO_POOL = 32  # routing's default MONGODB_MAX_POOL_SIZE
PY_SPY_VENVS = (SCRATCH_VENV, Path(tempfile.gettempdir()) / "switchboard-bench-routing-py-spy")


# ----------------------------------------------------------------------------------------------------------
# baselines


def routed_commit(n: int) -> Json:
    """A commit as routing's event store writes it, built by the production code (`commit_document`): one
    TicketRouted record with CloudEvents headers, ~1 KB."""
    ticket_id = str(uuid.uuid4())
    routed = TicketRouted(
        ticket_id=ticket_id,
        queue_id=f"q{n % 50:02d}",
        priority=Priority.NORMAL,
        language="en",
        rule_id=f"to-q{n % 50:02d}",
        rule_set_version=1,
        routed_at=datetime.now(UTC),
    )
    envelope = Envelope.new(
        routed, source="/switchboard/routing", subject=ticket_id, sequence=1, causationid=str(uuid.uuid4())
    )
    return commit_document([envelope], namespace="bench", previous=None)


async def mongo_write_rate(uri: str, database: str, *, tasks: int, seconds: float, upsert: bool = False) -> Json:
    """insert_one (or, with `upsert`, replace_one upserting the commit's pending marker by _id, as routing's event
    store writes its outbox markers) calls per second from `tasks` concurrent tasks on one client, after 1 s
    warm-up."""
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri, tz_aware=True, maxPoolSize=MONGO_POOL)
    try:
        collection = client[database][f"{'markers' if upsert else 'commits'}_c{tasks}"]
        await collection.insert_one(routed_commit(0))
        counter = [0]

        def document() -> Json:
            counter[0] += 1
            doc = routed_commit(counter[0])
            return pending_marker(doc) if upsert else doc

        async def write(doc: Json) -> None:
            if upsert:
                await collection.replace_one({"_id": doc["_id"]}, doc, upsert=True)
            else:
                await collection.insert_one(doc)

        run = await operation_rate(document, write, tasks=tasks, seconds=seconds)
        return {"tasks": tasks, "writes_per_s": run.rate, **latency_summary(run.latencies)}
    finally:
        await client.close()


HOT_PATH_METRICS = (
    ("routing.open_to_assigned.p50_ms", "ms"),
    ("routing.open_to_assigned.p99_ms", "ms"),
    ("routing.open_to_routed.p99_ms", "ms"),
    ("routing.decisions_per_s", "decisions/s"),
    ("routing.assignments_per_s", "assignments/s"),
    ("routing.routed_per_s", "routed/s"),
)


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
    routing: ServiceProcess
    tap: RoutingTap
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
        "mongo_commands_per_ticket": command_diff(before, after, len(keys)),
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
    found: dict[str, dict[float, float]] = {}
    for family in await metric_families(url):
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

    spy = None
    if py_spy:
        spy = PySpy(py_spy, routing_pid, DATA / f"routing-{name}.raw.txt", seconds=10, nonblocking=True)
        await spy.start()
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
        "mongo_commands_per_ticket": command_diff(before, after, count),
        "cpu": split,
        "timeline_s_routed_assigned_routingcores": timeline,
    }
    if spy is not None:
        phase["profile"] = await spy.finish(ROUTING_AREAS)
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


async def baselines(ends: Endpoints, options: Options, results: Results, namespace: str) -> Json:
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
    servers = own_servers(DATA, kafka_port=KAFKA_PORT, mongo_port=MONGO_PORT)
    async with servers as ends, contextlib.AsyncExitStack() as stack:
        results.meta["servers"] = {"kafka": ends.kafka_bootstrap, "started_here": ends.started_kafka}
        pids = server_pids(DATA) | {"bench client": os.getpid()}
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

        env = service_environment(ends, namespace)
        log("routing: starting one process ...")
        routing = await stack.enter_async_context(service_process("routing", env, DATA / "routing.log"))
        tap = RoutingTap(ends.kafka_bootstrap, ROUTING.qualified(namespace))
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
            phases["setup"] = await setup_roster(
                routing.url,
                options.shape,
                lambda: tap.counts[PRESENCE],
                token=env["SWITCHBOARD_API_TOKEN"],
                budget_s=options.setup_budget_s,
            )
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
                py_spy = await asyncio.to_thread(find_py_spy, options.install_py_spy, PY_SPY_VENVS)
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


def table(results: Results) -> str:
    lines = metric_table(results)
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
    lines += profile_lines(profile, "routing profile ({samples} samples, busy {busy_share_of_one_thread}):")
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
    merge_into(output, results, "_meta_routing")
    print(table(results))
    print(f"\nmerged into {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    if "blocked" in results.meta:
        print(f"\nBLOCKED: {results.meta['blocked']}; the hot-path figures were not measured")
        return 2
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
