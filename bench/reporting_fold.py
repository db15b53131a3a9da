"""The rebuild's fold without Kafka or Mongo, in this process: the log's messages read as the feed reads them
(batches of up to 5,000 over every partition), then decoded and folded into a fresh engine (`durable=False`, as
`rebuild` opens it) batch by batch, once plainly (decode and fold timed apart) and once under cProfile, which
records only the thread that enables it, so the fold runs in a thread of its own as it does in the feed.

The one place this bench imports reporting's own modules.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from switchboard.events import DecodeError, Envelope, decode
from switchboard.events.topics import ALL
from switchboard.reporting.business import business_minutes
from switchboard.reporting.engine import Engine, Position

from bench import PARTITIONS
from bench.figures import Json

Batch = list[Any]  # aiokafka ConsumerRecords


async def read_batches(bootstrap: str, namespace: str, *, limit: int, max_records: int = 5000) -> list[Batch]:
    """The first `limit` messages of the log, in the batches a feed's getmany hands over (`rebuild` asks for
    5,000 records a poll)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    batches: list[Batch] = []
    try:
        partitions = [TopicPartition(t.qualified(namespace), p) for t in ALL for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        wanted = min(limit, sum((await consumer.end_offsets(partitions)).values()))
        count = 0
        while count < wanted:
            got = await consumer.getmany(timeout_ms=1000, max_records=min(max_records, wanted - count))
            batch = [r for records in got.values() for r in records]
            if batch:
                batches.append(batch)
                count += len(batch)
    finally:
        await consumer.stop()
    return batches


def _decoded(batch: Batch) -> list[tuple[Position, Envelope | None]]:
    items: list[tuple[Position, Envelope | None]] = []
    for record in batch:
        try:
            envelope: Envelope | None = decode(record.value, dict(record.headers))
        except DecodeError:
            envelope = None
        items.append((Position(record.topic, record.partition, record.offset), envelope))
    return items


def fold(batches: list[Batch], *, profile: bool, top: int = 30) -> Json:
    """Decode and fold every batch into a fresh engine; seconds spent in each, and with `profile` the functions
    that took the most time (own time, and cumulative)."""
    profiler = cProfile.Profile() if profile else None
    decode_s = apply_s = 0.0
    events = sum(len(b) for b in batches)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.open(Path(tmp) / "fold.sqlite3", business=business_minutes, durable=False)
        if profiler is not None:
            profiler.enable()
        for batch in batches:
            t0 = time.perf_counter()
            items = _decoded(batch)
            t1 = time.perf_counter()
            engine.apply(items)
            decode_s, apply_s = decode_s + t1 - t0, apply_s + time.perf_counter() - t1
        if profiler is not None:
            profiler.disable()
        tickets = engine.conn.execute("SELECT count(*) FROM ticket_state").fetchone()[0]
        engine.conn.close()
    subjects = [{(r.key or b"") for r in batch} for batch in batches]
    found: Json = {
        "events": events,
        "batches": len(batches),
        "partitions_per_batch_mean": round(
            sum(len({(r.topic, r.partition) for r in b}) for b in batches) / len(batches), 1
        ),
        "folds_per_subject": round(sum(len(s) for s in subjects) / max(1, len(set().union(*subjects))), 2),
        "tickets": tickets,
        "decode_s": round(decode_s, 2),
        "apply_s": round(apply_s, 2),
        "events_per_s": round(events / (decode_s + apply_s), 1),
    }
    if profiler is not None:
        found["by_own_time"] = _top(profiler, "tottime", top)
        found["by_cumulative_time"] = _top(profiler, "cumulative", top)
    return found


def _top(profiler: cProfile.Profile, key: str, top: int) -> list[str]:
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(key).print_stats(top)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return [line.rstrip() for line in lines[start:] if line.strip()]


async def profile_fold(bootstrap: str, namespace: str, *, limit: int) -> Json:
    batches = await read_batches(bootstrap, namespace, limit=limit)
    plain = await asyncio.to_thread(fold, batches, profile=False)
    profiled = await asyncio.to_thread(fold, batches, profile=True)
    return {"plain": plain, "cprofile": profiled}
