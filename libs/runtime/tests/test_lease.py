"""The lease that lets one replica at a time run the outbox sweep and SLA's timer, over the in-memory store:
one holder while it renews, a takeover once it lets go, and a loop that keeps going after a failed pass."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from switchboard.runtime.lease import Lease
from switchboard.runtime.testing import MemoryDatabase

pytestmark = pytest.mark.unit


async def test_one_replica_holds_the_lease_until_it_lets_go_and_then_another_takes_it() -> None:
    db = MemoryDatabase()
    here, there = (
        Lease(db["leases"].as_pymongo(), "sweep", ttl_s=10),
        Lease(db["leases"].as_pymongo(), "sweep", ttl_s=10),
    )
    assert await here.hold() and not await there.hold()
    assert await here.hold() and not await there.hold()  # renewed by its owner, still refused to the other
    await there.release()  # not the owner: changes nothing
    assert not await there.hold()
    await here.release()
    await asyncio.sleep(0.002)  # stored at millisecond precision: lapsed once the clock has moved on
    assert await there.hold() and not await here.hold()


class Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, **_: Any) -> None:
        self.warnings.append(message)


async def test_a_failed_pass_is_logged_and_the_next_one_still_runs() -> None:
    db = MemoryDatabase()
    lease, log, passes, third = Lease(db["leases"].as_pymongo(), "timer", ttl_s=10), Log(), [0], asyncio.Event()

    async def step() -> None:
        passes[0] += 1
        if passes[0] == 1:
            raise RuntimeError("Mongo went away")
        if passes[0] == 3:
            third.set()

    task = asyncio.create_task(lease.run_every(0.001, step, failed="timer pass failed; retrying", logger=log))
    await asyncio.wait_for(third.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log.warnings == ["timer pass failed; retrying"]


async def test_a_replica_without_the_lease_runs_no_pass() -> None:
    db = MemoryDatabase()
    holder, other = (
        Lease(db["leases"].as_pymongo(), "timer", ttl_s=60),
        Lease(db["leases"].as_pymongo(), "timer", ttl_s=60),
    )
    assert await holder.hold()
    passes: list[int] = []

    async def step() -> None:
        passes.append(1)

    task = asyncio.create_task(other.run_every(0.001, step, failed="x", logger=Log()))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert passes == []
