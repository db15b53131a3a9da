"""Rebuild: a log of weeks of work in a namespace of its own, `python -m switchboard.reporting rebuild` over it as a
subprocess, and the raw rates beside it (every partition consumed from the beginning; the rebuild's own
documents inserted again with plain `insert_many`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from switchboard.events import decode, encode
from switchboard.events.topics import ALL, topic_of

from bench import PARTITIONS, ROOT
from bench.figures import Json, log
from bench.kafka_clients import create_topics, make_producer, send_record
from bench.machine import CpuWatch, process_cpu_seconds
from bench.profiling import summarise_profile
from bench.reporting_areas import REPORTING_AREAS, busy_only
from bench.reporting_fold import profile_fold
from bench.reporting_history import history
from bench.reporting_phases import Bench
from bench.servers import service_environment

INSERT_CHUNK = 200  # the rebuild's own chunk (maintenance.INSERT_CHUNK)


async def seed_log(bootstrap: str, namespace: str, *, tickets: int, days: int, end: datetime) -> Json:
    """`tickets` lives over the `days` before `end`, with presence and customers, produced to the namespace's
    catalogue topics in time order (as the services would have written them)."""
    names = [t.qualified(namespace) for t in ALL]
    await create_topics(bootstrap, names)
    started = time.monotonic()
    items = sorted(history(tickets, start=end - timedelta(days=days), end=end), key=lambda item: item[0])
    planned_s = time.monotonic() - started
    producer = make_producer(bootstrap)
    await producer.start()
    by_type: Counter[str] = Counter()
    try:
        acks: list[asyncio.Future[Any]] = []
        for _, build in items:
            envelope = build()
            record = encode(envelope)
            by_type[envelope.type] += 1
            topic = topic_of(envelope.data).qualified(namespace)
            acks.append(await send_record(producer, topic, record))
            if len(acks) >= 20_000:
                await asyncio.gather(*acks)
                acks = []
        await producer.flush()
        await asyncio.gather(*acks)
    finally:
        await producer.stop()
    return {
        "tickets": tickets,
        "days": days,
        "events": sum(by_type.values()),
        "by_type": dict(by_type.most_common()),
        "planned_s": round(planned_s, 1),
        "encoded_and_produced_s": round(time.monotonic() - started - planned_s, 1),
    }


async def raw_consume(bootstrap: str, namespace: str, *, decode_too: bool) -> Json:
    """Every partition of the catalogue topics from the beginning to the end offsets, with a consumer configured as
    the feed's (no group, 5,000 records a poll); with `decode_too`, each message decoded as the feed does."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t.qualified(namespace), p) for t in ALL for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        wanted = sum(ends.values())
        count = 0
        started = time.perf_counter()
        while count < wanted:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            if not batches and time.perf_counter() - started > 300:
                break
            for records in batches.values():
                count += len(records)
                if decode_too:
                    for record in records:
                        decode(record.value, dict(record.headers))
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
    return {
        "messages": count,
        "expected": wanted,
        "seconds": round(seconds, 2),
        "msgs_per_s": round(count / seconds, 1),
    }


async def rebuild(env: dict[str, str], pids: dict[str, int], *, spy: str | None, raw_path: Path) -> Json:
    """`python -m switchboard.reporting rebuild` as the operator runs it (the service's environment); its JSON
    report, wall time, CPU by process and peak memory, and (with py-spy) a profile of all its threads."""
    command = [sys.executable, "-m", "switchboard.reporting", "rebuild"]
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command, env=os.environ | env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    watch = CpuWatch(pids)
    watch.start()
    spying = None
    if spy:
        spying = await asyncio.create_subprocess_exec(
            spy, "record", "--pid", str(process.pid), "--rate", "50", "--format", "raw", "--output", str(raw_path),
            "--nonblocking", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    peak_kb, cpu_s = 0, 0.0

    async def sample() -> None:  # /proc/<pid> is gone once it exits: keep the last reading
        nonlocal peak_kb, cpu_s
        while True:
            peak_kb = max(peak_kb, await asyncio.to_thread(_peak_rss_kb, process.pid))
            cpu_s = process_cpu_seconds(process.pid) or cpu_s
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    out, err = await process.communicate()
    wall = time.monotonic() - started
    cpu = watch.stop()
    sampler.cancel()
    if spying is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(spying.wait(), 30)
        if spying.returncode is None:
            spying.kill()
            await spying.wait()
    found: Json = {"command": " ".join(command[1:]), "exit_code": process.returncode, "wall_s": round(wall, 2)}
    found |= {"cpu": cpu, "peak_rss_mb": round(peak_kb / 1024, 1), "rebuild_cpu_s": round(cpu_s, 2)}
    found["rebuild_cores"] = round(cpu_s / wall, 3)  # read every 0.2 s until it exited: CpuWatch cannot see it
    cpu["busy_cores_other_processes"] = round(max(0.0, cpu["busy_cores_other_processes"] - found["rebuild_cores"]), 3)
    cpu["busy_cores_by_process"]["rebuild"] = found["rebuild_cores"]
    text = out.decode(errors="replace")
    lines = text.splitlines()
    start = max((i for i, line in enumerate(lines) if line == "{"), default=0)  # structlog prints to stdout too
    try:
        found["report"] = json.loads("\n".join(lines[start:]))
        found["stdout_before_report"] = lines[:start][-5:]
    except ValueError:
        found["error"] = {
            "stdout": out.decode(errors="replace")[-1500:],
            "stderr": err.decode(errors="replace")[-3000:],
        }
    return found


def _peak_rss_kb(pid: int) -> int:
    """A process's peak resident memory so far (VmHWM), 0 once it is gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


async def insert_many_rate(uri: str, source: str, version: int, target: str) -> Json:
    """Every document the rebuild wrote (each `*_v<version>` collection of `source`) inserted again into `target`
    with plain `insert_many`, in the rebuild's chunks and order of collections: what the store takes for that
    write, without the fold in front of it."""
    client: AsyncMongoClient[Json] = AsyncMongoClient(uri)
    try:
        names = sorted(n for n in await client[source].list_collection_names() if n.endswith(f"_v{version}"))
        collections = {n: await client[source][n].find({}, batch_size=1000).to_list(None) for n in names}
        count = sum(len(docs) for docs in collections.values())
        log(f"baseline: raw insert_many of the rebuild's {count:,} documents, {INSERT_CHUNK} a call ...")
        seconds = 0.0
        for name, docs in collections.items():
            await client[target][name].drop()
            started = time.perf_counter()
            for start in range(0, len(docs), INSERT_CHUNK):
                await client[target][name].insert_many(docs[start : start + INSERT_CHUNK], ordered=False)
            seconds += time.perf_counter() - started
        tickets = collections.get(f"tickets_v{version}", [])[:500]
        size = sum(len(json.dumps(d, default=str)) for d in tickets) / max(1, len(tickets))
    finally:
        await client.close()
    return {
        "documents": count,
        "by_collection": {n: len(d) for n, d in collections.items()},
        "seconds": round(seconds, 2),
        "docs_per_s": round(count / seconds, 1) if seconds else None,
        "mean_ticket_doc_json_bytes": round(size),
    }


async def rebuild_phase(bench: Bench) -> bool:
    options, results, ends = bench.options, bench.results, bench.ends
    namespace = f"{bench.namespace}log"
    log(f"rebuild log: {options.tickets:,} tickets over {options.days} days into {namespace} ...")
    seeded = await seed_log(
        ends.kafka_bootstrap, namespace, tickets=options.tickets, days=options.days, end=datetime.now(UTC)
    )
    phase: Json = {"log": seeded}
    bench.phases["rebuild"] = phase
    log(f"  {seeded['events']:,} events; baseline: raw consume of every partition from the beginning ...")
    phase["raw_consume"] = await raw_consume(ends.kafka_bootstrap, namespace, decode_too=False)
    phase["raw_consume_and_decode"] = await raw_consume(ends.kafka_bootstrap, namespace, decode_too=True)
    log(f"  raw: {phase['raw_consume']}; with decode: {phase['raw_consume_and_decode']}")
    log("rebuild: python -m switchboard.reporting rebuild ...")
    raw_path = bench.data / "rebuild.py-spy.txt"
    built = await rebuild(service_environment(ends, namespace), bench.pids, spy=bench.py_spy, raw_path=raw_path)
    phase |= built
    report: Json = built.get("report", {})
    log(f"  {report or built.get('error')}")
    if bench.py_spy and raw_path.is_file():
        busy, idle = busy_only(raw_path.read_text())
        phase["py_spy"] = summarise_profile(busy, REPORTING_AREAS, seconds=built["wall_s"], hz=50)
        phase["py_spy"]["idle_or_in_uvloop_percent"] = idle
    if report:
        try:
            phase["raw_insert_many"] = await insert_many_rate(
                ends.mongodb_uri, f"{namespace}_reporting", report["version"], f"{namespace}_baseline"
            )
        except PyMongoError as exc:  # the figures measured so far are kept
            phase["raw_insert_many"] = {"error": repr(exc)[:500]}
    if options.profile:
        log(f"the fold in this process (first {options.profile_events:,} events), plainly then under cProfile ...")
        phase["fold_in_process"] = await profile_fold(ends.kafka_bootstrap, namespace, limit=options.profile_events)
    raw, decoded = phase["raw_consume"]["msgs_per_s"], phase["raw_consume_and_decode"]["msgs_per_s"]
    inserted = phase.get("raw_insert_many", {}).get("docs_per_s")
    results.add("baseline.reporting.kafka_consume_msgs_per_s", raw, "msgs/s")
    results.add("baseline.reporting.kafka_consume_decode_msgs_per_s", decoded, "msgs/s")
    results.add("baseline.reporting.mongo_insert_many_docs_per_s", inserted, "docs/s")
    events, fold_s, write_s = report.get("events"), report.get("fold_s"), report.get("write_s")
    results.add("reporting.rebuild.events_per_s", report.get("events_per_s"), "events/s", raw)
    results.add("reporting.rebuild.fold_s", fold_s, "s")
    results.add("reporting.rebuild.write_s", write_s, "s")
    results.add("reporting.rebuild.events", events, "events", seeded["events"])
    results.add(
        "reporting.rebuild.fold_events_per_s", events / fold_s if events and fold_s else None, "events/s", decoded
    )
    documents = report.get("documents")
    write_rate = documents / write_s if documents and write_s else None
    results.add("reporting.rebuild.write_docs_per_s", write_rate, "docs/s", inserted)
    return bool(report) and built.get("exit_code") == 0 and events == seeded["events"]
