"""Reporting's consumer: each batch of events becomes guarded upserts on the read models."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase
from switchboard.events import Envelope
from switchboard.runtime.mongo import Document
from switchboard.runtime.projection import apply_in_order

from .views import TicketsView


async def on_events(batch: Sequence[Envelope], *, db: AsyncDatabase[Document]) -> None:
    updates = [u for u in (TicketsView.update_for(e) for e in batch) if u is not None]
    if updates:
        await apply_in_order(db[TicketsView.collection], updates)
