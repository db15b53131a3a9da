"""Garbage-collection pauses, measured and kept short: a full collection stops the event loop, and every ticket in flight.

A service that keeps large in-memory state (routing's board, the event store's history cache) makes the
collector's full passes long: measured in routing with 2,000 agents and ~10,000 tickets, 75-205 ms each, a
few per second while its caches filled, and each found next to nothing to free - the state is long-lived and
acyclic, freed by reference counting when it goes. So `GcPolicy` moves what has survived a moment into the
interpreter's permanent generation (`gc.freeze()`, O(1)): the collector's passes then look only at what is new.
Objects there are still freed by reference counting; only a reference *cycle* that was frozen cannot be
collected until the next full pass, which the policy runs on a schedule (by default every 10 minutes, one
long pause at a known rate) after `gc.unfreeze()`.

Operations see pauses as `switchboard_gc_pause_seconds`, and a pause long enough to show in a latency target
is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from typing import Any

import structlog
from prometheus_client import Histogram

log = structlog.get_logger(__name__)
PAUSES = Histogram(
    "switchboard_gc_pause_seconds",
    "Garbage-collection pauses of the event loop, by generation.",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
LOG_ABOVE_S = 0.05
_started: list[float] = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    pause = time.perf_counter() - _started[0]
    generation = int(info.get("generation", -1))
    PAUSES.labels(str(generation)).observe(pause)
    if pause > LOG_ABOVE_S:
        log.warning(
            "long garbage-collection pause",
            generation=generation,
            pause_ms=round(pause * 1000, 1),
            collected=info.get("collected"),
        )


def watch_gc() -> None:
    """Measure every collection from now on (once per process)."""
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)


class GcPolicy:
    """Freezes surviving objects every `freeze_every_s`; unfreezes and collects everything every `full_every_s`."""

    def __init__(self, *, freeze_every_s: float, full_every_s: float) -> None:
        self._freeze_every = freeze_every_s
        self._full_every = full_every_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._freeze_every > 0:
            # Young collections every 10,000 allocations rather than 700: a service allocates in bursts per
            # event, and what survives a second is frozen anyway, so the older generations stay small.
            gc.set_threshold(10_000, 10, 10)
            self._task = asyncio.create_task(self._run(), name="gc-policy")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        last_full = time.monotonic()
        while True:
            await asyncio.sleep(self._freeze_every)
            if self._full_every > 0 and time.monotonic() - last_full >= self._full_every:
                gc.unfreeze()
                gc.collect()
                last_full = time.monotonic()
            gc.freeze()  # O(1); counting the frozen objects is not (a walk of all of them), so no gauge of it
