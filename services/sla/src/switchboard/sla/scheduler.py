"""The SLA timer: one replica at a time (a lease in Mongo) walks the due-time buckets, a quarter second each.

It resumes from a stored watermark, so after downtime it visits every bucket it missed and fires every
clock that fell due meanwhile; the events carry the true warning and breach times, not the late firing.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from prometheus_client import Gauge, Histogram
from switchboard.runtime.lease import Lease

from .clocks import Clocks
from .store import TIMER_STEP, SlaStore, bucket, bucket_start

log = structlog.get_logger(__name__)
LAG = Gauge("switchboard_sla_scheduler_lag_seconds", "How far the timer is behind the wall clock.")
FIRED = Histogram("switchboard_sla_timer_fire_delay_seconds", "From a bucket's second to its clocks being decided.")


class Scheduler:
    """The timer loop, run beside the consumer; each due ticket's clocks decide a `Tick` at its bucket's end."""

    def __init__(
        self, *, clocks: Clocks, store: SlaStore, poll_s: float = 0.1, lease_ttl_s: float = 10.0, concurrency: int = 32
    ) -> None:
        self._clocks = clocks
        self._store = store
        self._poll = poll_s
        self._lease = Lease(store.leases, "scheduler", ttl_s=lease_ttl_s)
        self._concurrency = concurrency
        self._task: asyncio.Task[None] | None = None

    async def setup(self) -> None:
        """At the very first start the timer begins now: nothing can have fallen due before SLA ever ran."""
        if await self._store.watermark() is None:
            await self._store.advance_watermark(bucket(datetime.now(UTC)))

    def start(self) -> None:
        self._task = asyncio.create_task(
            self._lease.run_every(self._poll, self._pass, failed="SLA timer pass failed; retrying", logger=log),
            name="sla-scheduler",
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _pass(self) -> None:
        await self.run_due(datetime.now(UTC))

    async def run_due(self, now: datetime) -> int:
        """Fire every bucket that has fully passed, from the watermark on; returns how many clocks fired.

        A bucket is fired only once it is over, with a tick at its end, so everything due inside it is due.
        """
        mark = await self._store.watermark()
        start = (datetime.fromisoformat(mark) + TIMER_STEP) if mark else bucket_start(now) - TIMER_STEP
        LAG.set(max(0.0, (now - start).total_seconds()))
        fired = 0
        semaphore = asyncio.Semaphore(self._concurrency)

        async def fire(ticket_id: str, at: datetime) -> None:
            async with semaphore:
                await self._clocks.tick(ticket_id, at)

        while start + TIMER_STEP <= now:
            name = bucket(start)
            tickets = await self._store.due_in(name)
            if tickets:
                end = start + TIMER_STEP
                await asyncio.gather(*(fire(t, end) for t in dict.fromkeys(tickets)))
                FIRED.observe(max(0.0, (datetime.now(UTC) - end).total_seconds()))
                fired += len(tickets)
                await self._store.forget_bucket(name, len(tickets))
            await self._store.advance_watermark(name)
            start += TIMER_STEP
        return fired
