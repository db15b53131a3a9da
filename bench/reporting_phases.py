"""The reporting bench's two parts, freshness and rebuild, and the figures each one adds (bench/reporting.py runs
them; bench/reporting_freshness.py and bench/reporting_rebuild.py hold their mechanics)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from switchboard.events.topics import ALL

from bench import PARTITIONS
from bench.figures import Json, Results, latency_summary, log, percentile
from bench.kafka_clients import create_topics, make_producer
from bench.machine import CpuWatch
from bench.mongo_clients import command_counts, command_diff
from bench.profiling import PySpy, summarise_profile
from bench.reporting_areas import REPORTING_AREAS, busy_only
from bench.reporting_figures import buckets, by_5s, by_topic, quantiles
from bench.reporting_freshness import OffsetsWatch, Timetable, publish, raw_latency, watch_ticket
from bench.reporting_workload import shows
from bench.servers import Endpoints, log_problems, service_environment, service_process
from tests.harness import ServiceProcess

FEED_FETCH_MAX_WAIT_MS = 500  # aiokafka's default, which reporting's feed keeps
WATCH_LIMIT_S = 20.0  # a sampled step not shown this long after its ticket's last event counts as never shown


@dataclass(frozen=True)
class Options:
    rate: float
    seconds: float
    warm_up: float
    gap_s: float
    sample_every: int
    http_poll_ms: float
    mongo_poll_ms: float
    offsets_poll_ms: float
    baseline_seconds: float
    tickets: int
    days: int
    profile: bool
    profile_events: int
    install_py_spy: bool
    only: str | None


@dataclass
class Bench:
    options: Options
    results: Results
    namespace: str
    ends: Endpoints
    pids: dict[str, int]
    data: Path
    py_spy: str | None

    @property
    def phases(self) -> Json:
        found: Json = self.results.meta.setdefault("phases", {})
        return found


# ----------------------------------------------------------------------------------------------------------
# freshness


async def freshness(bench: Bench) -> bool:
    options, results, ends = bench.options, bench.results, bench.ends
    producer = make_producer(ends.kafka_bootstrap)
    await producer.start()
    try:
        prefix = f"{bench.namespace}base"
        topics = [f"{prefix}.{t.name}" for t in ALL]
        await create_topics(ends.kafka_bootstrap, topics)
        await asyncio.sleep(1.0)  # partition leaders elected
        log(f"baseline: raw aiokafka produce -> consume of ticket lives at {options.rate:g}/s ...")
        seconds = options.warm_up + options.baseline_seconds
        timetable = Timetable.build(
            rate=options.rate, seconds=seconds, gap_s=options.gap_s, seed=1, topic=lambda name: f"{prefix}.{name}"
        )
        window = timetable.events[0].due + options.warm_up
        received, lateness = await raw_latency(
            ends.kafka_bootstrap, producer, timetable, topics, PARTITIONS, fetch_max_wait_ms=FEED_FETCH_MAX_WAIT_MS
        )
        lags = [lag for due, lag in received if due >= window]
        measured = sum(1 for e in timetable.events if e.due >= window)
        baseline = {"events": measured, "received": len(lags), **latency_summary(lags)}
        baseline["generator_lateness_p99_ms"] = round(percentile(lateness, 99) * 1000, 2)
        baseline["consumer"] = f"no group, every partition, fetch_max_wait_ms {FEED_FETCH_MAX_WAIT_MS} (as the feed)"
        warm = [lag for due, lag in received if due < window]
        baseline["warm_up"] = latency_summary(warm) | {"events": len(warm)}
        bench.phases["baseline_kafka"] = baseline
        results.add("baseline.reporting.kafka_p50_ms", baseline["p50_ms"], "ms")
        results.add("baseline.reporting.kafka_p99_ms", baseline["p99_ms"], "ms")

        engine = bench.data / "reporting.sqlite3"
        env = service_environment(ends, bench.namespace) | {"REPORTING_ENGINE_PATH": str(engine)}
        log("reporting: starting one process ...")
        async with service_process("reporting", env, bench.data / "reporting.log") as service:
            since = time.time()
            clean = await _measure(bench, service, producer, engine, env["SWITCHBOARD_API_TOKEN"])
            bench.phases["freshness"]["service_log_warnings"] = log_problems(service.log_path, since)
            if bench.py_spy:
                bench.phases["freshness_profiled"] = await _profiled(bench, service, producer)
        return clean
    finally:
        await producer.stop()


async def _measure(bench: Bench, service: ServiceProcess, producer: Any, engine: Path, token: str) -> bool:
    options, results = bench.options, bench.results
    watch = OffsetsWatch(engine, period_s=options.offsets_poll_ms / 1000)
    watch.start()
    timetable = Timetable.build(
        rate=options.rate,
        seconds=options.warm_up + options.seconds,
        gap_s=options.gap_s,
        seed=2,
        topic=lambda name: f"{bench.namespace}.{name}",
    )
    window = timetable.events[0].due + options.warm_up
    sampled = [i for i in range(len(timetable.lives)) if options.sample_every and i % options.sample_every == 0]
    answers: dict[str, int] = {}
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    mongo: AsyncMongoClient[Json] = AsyncMongoClient(bench.ends.mongodb_uri, tz_aware=True)
    documents = mongo[f"{bench.namespace}_reporting"]["tickets_v1"]
    async with httpx.AsyncClient(base_url=service.url, headers=headers, limits=limits, timeout=10) as http:

        async def api(ticket_id: str) -> Json | None:
            answer = await http.get(f"/v1/tickets/{ticket_id}")
            answers[str(answer.status_code)] = answers.get(str(answer.status_code), 0) + 1
            found: Json | None = answer.json() if answer.status_code == 200 else None
            return found

        async def document(ticket_id: str) -> Json | None:
            answers["mongo"] = answers.get("mongo", 0) + 1
            found: Json | None = await documents.find_one({"_id": ticket_id})
            return found

        def watching(fetch: Any, poll_ms: float) -> list[asyncio.Task[dict[int, tuple[float, float]]]]:
            return [
                asyncio.create_task(watch_ticket(timetable, i, fetch, poll_s=poll_ms / 1000, limit_s=WATCH_LIMIT_S))
                for i in sampled
            ]

        api_tasks, mongo_tasks = watching(api, options.http_poll_ms), watching(document, options.mongo_poll_ms)
        cpu = CpuWatch(bench.pids | {"reporting": service.process.pid}, threads_of="reporting")

        async def at_window() -> dict[float, float]:
            await asyncio.sleep(max(0.0, window - time.time()))
            before = await buckets(service.url)
            cpu.start()
            return before

        opening = asyncio.create_task(at_window())
        log(f"freshness: {len(timetable.events):,} events at {options.rate:g}/s ({options.warm_up:g} s warm-up) ...")
        commands_before, started = await command_counts(mongo), time.monotonic()
        lateness = await publish(producer, timetable)
        before = await opening
        split = cpu.stop()
        store = command_diff(commands_before, await command_counts(mongo), time.monotonic() - started)
        drained = time.time()
        folded = await _until(lambda: watch.all_folded(timetable.events), 60)
        api_seen = await asyncio.gather(*api_tasks)
        mongo_seen = await asyncio.gather(*mongo_tasks)
        after = await buckets(service.url)
    await mongo.close()
    await watch.stop()
    cut = time.time()
    measured = [e for e in timetable.events if e.due >= window]
    exact = {id(e): (watch.folded_at(e) or cut) - e.due for e in measured}
    api_lags, api_missing = _seen(timetable, sampled, api_seen, window, cut)
    mongo_lags, mongo_missing = _seen(timetable, sampled, mongo_seen, window, cut)
    sent = sorted(e.sent for e in measured)
    histogram = quantiles(before, after)
    phase: Json = {
        "events": len(timetable.events),
        "measured_events": len(measured),
        "tickets": len(timetable.lives),
        "achieved_events_per_s": round(len(sent) / (sent[-1] - sent[0]), 1) if len(sent) > 1 else None,
        "generator_lateness_p99_ms": round(percentile(lateness, 99) * 1000, 2),
        "not_folded": sum(1 for e in measured if watch.folded_at(e) is None),
        "drain_s": round(time.time() - drained, 2) if folded else None,
        "event_to_fold_committed": latency_summary(list(exact.values()), count_and_min=True),
        "lag_ms_by_topic": by_topic(measured, exact),
        "lag_p99_ms_by_5s_of_timetable": by_5s(measured, exact, window),
        "event_to_api": latency_summary(api_lags[1], count_and_min=True) | {"missing": api_missing},
        "event_to_api_request_sent": latency_summary(api_lags[0]),
        "event_to_mongo": latency_summary(mongo_lags[1], count_and_min=True) | {"missing": mongo_missing},
        "event_to_mongo_request_sent": latency_summary(mongo_lags[0]),
        "histogram": histogram,
        "feed_commits": watch.commits(window, window + options.seconds),
        "sampling": {"tickets": len(sampled), "requests": answers, "offsets_reads": watch.reads},
        "cpu": split,
        "mongo_commands_per_s": store,
    }
    bench.phases["freshness"] = phase
    floor = bench.phases["baseline_kafka"]
    fold = phase["event_to_fold_committed"]
    results.add("reporting.event_to_projection.p99_ms", fold["p99_ms"], "ms", floor["p99_ms"])
    results.add("reporting.event_to_projection.p50_ms", fold["p50_ms"], "ms", floor["p50_ms"])
    results.add("reporting.event_to_projection.api_p99_ms", phase["event_to_api"]["p99_ms"], "ms", floor["p99_ms"])
    results.add("reporting.event_to_projection.histogram_p99_ms", histogram.get("p99_ms"), "ms", floor["p99_ms"])
    results.add("reporting.event_to_mongo.p99_ms", phase["event_to_mongo"]["p99_ms"], "ms", floor["p99_ms"])
    results.add("reporting.event_to_mongo.p50_ms", phase["event_to_mongo"]["p50_ms"], "ms", floor["p50_ms"])
    results.add("reporting.freshness.achieved_events_per_s", phase["achieved_events_per_s"], "events/s", options.rate)
    cpu_s = split["cpu_seconds_by_process"].get("reporting")
    results.add("reporting.freshness.cpu_ms_per_event", cpu_s and 1000 * cpu_s / len(measured), "ms")
    return not (phase["not_folded"] or api_missing or mongo_missing)


async def _profiled(bench: Bench, service: ServiceProcess, producer: Any) -> Json:
    """The same load again for 12 s, with py-spy sampling the service for 10 of them (apart from the measured
    window, which therefore carries no profiler)."""
    options = bench.options
    log(f"freshness, profiled: {options.rate:g} events/s for 12 s, py-spy on reporting for 10 s ...")
    timetable = Timetable.build(
        rate=options.rate, seconds=12, gap_s=options.gap_s, seed=3, topic=lambda name: f"{bench.namespace}.{name}"
    )
    sending = asyncio.create_task(publish(producer, timetable))
    await asyncio.sleep(max(0.0, timetable.events[0].due + 1.5 - time.time()))
    raw = bench.data / "reporting-live.py-spy.txt"
    spy = PySpy(bench.py_spy or "py-spy", service.process.pid, raw, seconds=10, nonblocking=True)
    await spy.start()
    cpu = CpuWatch(bench.pids | {"reporting": service.process.pid}, threads_of="reporting")
    cpu.start()
    profile = await spy.finish(REPORTING_AREAS)
    split = cpu.stop()
    if raw.is_file():
        busy, idle = busy_only(raw.read_text())
        profile |= summarise_profile(busy, REPORTING_AREAS, seconds=10, hz=100) | {"idle_or_in_uvloop_percent": idle}
    await sending
    return {"events": len(timetable.events), "profile": profile, "cpu": split}


async def _until(check: Any, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.2)
    return bool(check())


def _seen(
    timetable: Timetable, sampled: list[int], seen: list[dict[int, tuple[float, float]]], window: float, cut: float
) -> tuple[tuple[list[float], list[float]], int]:
    """Lags (request sent, answer received) of the sampled steps due in the window; never shown ones count as
    `cut` (a lower bound, so they cannot flatter the tail) and are counted."""
    sent: list[float] = []
    answered: list[float] = []
    missing = 0
    for life, found in zip(sampled, seen, strict=True):
        steps = timetable.lives[life].steps[: timetable.published[life]]
        for k, step in enumerate(steps):
            due = timetable.due(life, k)
            if due < window or shows(step) is None:
                continue
            if k in found:
                sent.append(max(0.0, found[k][0] - due))
                answered.append(found[k][1] - due)
            else:
                missing += 1
                answered.append(cut - due)
    return (sent, answered), missing
