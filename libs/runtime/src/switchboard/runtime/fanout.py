"""A batch of events split by subject: each subject's events in order, different subjects side by side.

Events about one ticket must be handled in the order they came (the topic keeps them in order per key), but
two tickets have nothing to do with each other, and waiting for one ticket's store round trips before starting
the next would make a batch as slow as the sum of its tickets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from switchboard.events import Envelope


async def per_subject(batch: Sequence[Envelope], handle: Callable[[Envelope], Awaitable[None]]) -> None:
    """Run `handle` on every event of `batch`: in order within a subject, concurrently across subjects."""
    by_subject: dict[str, list[Envelope]] = {}
    for envelope in batch:
        by_subject.setdefault(envelope.subject, []).append(envelope)

    async def in_order(envelopes: list[Envelope]) -> None:
        for envelope in envelopes:
            await handle(envelope)

    await asyncio.gather(*(in_order(group) for group in by_subject.values()))
