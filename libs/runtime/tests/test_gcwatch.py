"""Collections are measured once watched: operations can see the event loop's pauses."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from switchboard.runtime import gcwatch
from switchboard.runtime.gcwatch import GcPolicy, watch_gc

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _stop_watching() -> Iterator[None]:
    """The test process's own pauses are none of the other tests' business."""
    yield
    if gcwatch._on_gc in gc.callbacks:
        gc.callbacks.remove(gcwatch._on_gc)


def _full_collections() -> float:
    return REGISTRY.get_sample_value("switchboard_gc_pause_seconds_count", {"generation": "2"}) or 0.0


def test_a_full_collection_is_measured_once_even_when_watched_twice() -> None:
    watch_gc()
    watch_gc()
    before = _full_collections()
    gc.collect()
    assert _full_collections() == before + 1


async def test_the_policy_freezes_survivors_and_still_runs_full_collections() -> None:
    watch_gc()
    policy = GcPolicy(freeze_every_s=0.02, full_every_s=0.15)
    survivor = [object() for _ in range(1000)]  # long-lived state, as a service's caches are
    before = _full_collections()
    gc.unfreeze()
    try:
        policy.start()
        await asyncio.sleep(0.1)
        assert gc.get_freeze_count() >= len(survivor)
        await asyncio.sleep(0.3)
        assert _full_collections() >= before + 1  # the scheduled full pass ran
        assert gc.get_freeze_count() > 0  # and froze again afterwards
    finally:
        await policy.stop()
        gc.unfreeze()


async def test_a_zero_interval_turns_the_policy_off() -> None:
    gc.unfreeze()
    policy = GcPolicy(freeze_every_s=0, full_every_s=600)
    policy.start()
    await asyncio.sleep(0.05)
    await policy.stop()
    assert gc.get_freeze_count() == 0
