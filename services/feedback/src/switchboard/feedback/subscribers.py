"""Feedback's reactions to the events it consumes. None yet: surveys and follow-ups arrive with feedback's own
issue; until then the consumer is real (offsets, dead letters and readiness work) and decides nothing."""

from __future__ import annotations

from collections.abc import Sequence

from switchboard.events import Envelope


async def on_events(batch: Sequence[Envelope]) -> None:
    """Nothing to react to yet: decoding (and dead-lettering what does not decode) happened in the consumer."""
