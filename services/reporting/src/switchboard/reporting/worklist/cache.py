"""What a replica's worklist remembers between requests: counts until the next commit, row estimates a while.

Counts are results, so one is served only while the file has not changed (`PRAGMA data_version` moves with
every commit of another connection): exact, and a lead's page polled every few seconds is counted once per
batch the feed folds. Estimates only steer the planner (results never depend on them), so they are kept for
`estimate_ttl_s` whatever is committed: the queues, statuses and teams agents filter on repeat all day.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

V = TypeVar("V")


class QueryCache:
    def __init__(
        self, *, size: int = 4096, estimate_ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._size = size
        self._ttl = estimate_ttl_s
        self._clock = clock
        self._counts: OrderedDict[Hashable, tuple[int, int]] = OrderedDict()
        self._estimates: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def count(self, key: Hashable, version: int) -> int | None:
        found = self._counts.get(key)
        if found is None or found[0] != version:
            return None
        self._counts.move_to_end(key)
        return found[1]

    def keep_count(self, key: Hashable, version: int, count: int) -> None:
        _keep(self._counts, key, (version, count), self._size)

    def estimate(self, key: Hashable) -> float | None:
        found = self._estimates.get(key)
        if found is None or self._clock() - found[0] > self._ttl:
            return None
        self._estimates.move_to_end(key)
        return found[1]

    def keep_estimate(self, key: Hashable, rows: float) -> None:
        _keep(self._estimates, key, (self._clock(), rows), self._size)


def _keep(found: OrderedDict[Hashable, V], key: Hashable, value: V, size: int) -> None:
    found[key] = value
    found.move_to_end(key)
    while len(found) > size:
        found.popitem(last=False)
