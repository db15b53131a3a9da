"""Sla's event handlers. The foundation only consumes (so offsets, dead letters and readiness are real);
the domain reactions arrive with sla's own issue."""

from __future__ import annotations

from collections.abc import Sequence

from switchboard.events import Envelope


async def on_events(batch: Sequence[Envelope]) -> None:
    """Nothing to do yet: decoding (and dead-lettering what does not decode) happened in the consumer."""
