"""Someone else wrote first: the one exception that says so, and the one way to try again.

Every write that decides on what it read (a ticket's next commit, a ticket's SLA clocks, the next version of
the roster or of the SLA policies) is guarded by the store - an insert that collides on `_id`, an update
filtered on the version read - and a lost race raises `ConcurrencyConflict`. The writer then reads again and
decides again. Retries pause for a random time that grows with each attempt ("full jitter"), so replicas that
collided once do not collide again in lock step, and they stop after a bounded number of attempts: a subject
that keeps changing is reported, not retried forever.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class ConcurrencyConflict(Exception):
    """Someone else wrote to this subject since it was read: read it again and decide again."""


@dataclass(frozen=True)
class Retry:
    """How often and how patiently a conflicting write is tried again.

    The pause before attempt n (n >= 1) is uniform in [0, min(cap_s, base_s * 2**n)]: with the defaults at most
    ~10, 20, 40 ... 250 ms, so eight attempts take well under a second even when every one of them collides.
    """

    attempts: int = 8
    base_s: float = 0.005
    cap_s: float = 0.25

    def pause_s(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap_s, self.base_s * 2**attempt)) if attempt else 0.0


DEFAULT_RETRY = Retry()


async def retry_conflicts(
    attempt: Callable[[int], Awaitable[T]],
    *,
    what: str,
    retry: Retry = DEFAULT_RETRY,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Run `attempt(n)` until it does not raise `ConcurrencyConflict`, pausing between tries.

    `attempt` gets the attempt number, so a first try may read from memory and later ones from the store.
    After the last attempt the conflict is raised again, naming `what` kept changing.
    """
    for n in range(retry.attempts):
        if n:
            if on_retry is not None:
                on_retry()
            await asyncio.sleep(retry.pause_s(n))
        try:
            return await attempt(n)
        except ConcurrencyConflict:
            continue
    raise ConcurrencyConflict(f"{what} is being changed by others right now ({retry.attempts} attempts); try again")
