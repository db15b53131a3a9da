"""Mongo as the benches use it: the rate of a raw operation from concurrent tasks, and the commands the server
ran."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pymongo import AsyncMongoClient

from bench.figures import Json
from bench.machine import CpuWatch

T = TypeVar("T")

ADMIN_COMMANDS = {"serverstatus", "ismaster", "hello", "ping", "endsessions", "buildinfo", "getlog", "listdatabases"}


@dataclass
class OperationRun:
    rate: float  # calls per second
    latencies: list[float]  # seconds, one per measured call
    cpu: Json  # CpuWatch.stop() over the measured window ({} without a watch)


async def operation_rate(
    prepare: Callable[[], T],
    call: Callable[[T], Awaitable[object]],
    *,
    tasks: int,
    seconds: float,
    cpu: CpuWatch | None = None,
) -> OperationRun:
    """`call` as often as `tasks` concurrent tasks manage in `seconds`, after 1 s of warm-up; each call's argument
    is prepared just before it, outside its latency (building a document is the client's cost, not the store's)."""
    latencies: list[float] = []

    async def worker(until: float, measure: bool) -> None:
        while time.monotonic() < until:
            argument = prepare()
            started = time.monotonic()
            await call(argument)
            if measure:
                latencies.append(time.monotonic() - started)

    await asyncio.gather(*(worker(time.monotonic() + 1.0, False) for _ in range(tasks)))
    if cpu is not None:
        cpu.start()
    t0 = time.monotonic()
    await asyncio.gather(*(worker(t0 + seconds, True) for _ in range(tasks)))
    elapsed = time.monotonic() - t0
    return OperationRun(len(latencies) / elapsed, latencies, {} if cpu is None else cpu.stop())


async def command_counts(client: AsyncMongoClient[Json]) -> Counter[str] | None:
    """Data commands the server has run so far, by name (serverStatus.metrics.commands; MongoDB and FerretDB)."""
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
    """The commands run between two counts, divided by `per` (tickets, seconds, ...): the total, then by command,
    most frequent first; None if either count is missing or `per` is not positive."""
    if before is None or after is None or per <= 0:
        return None
    used = after - before
    return {"total": round(sum(used.values()) / per, 2)} | {k: round(v / per, 2) for k, v in used.most_common()}
