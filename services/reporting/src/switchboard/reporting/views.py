"""Reporting's read models: how each event folds into the documents analysts query, and how they are read.

Folding is pure (each event becomes the guarded upsert its document needs); `on_events` applies a consumed
batch's upserts in order, and a document already past an event's position skips it, so a redelivered batch
changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from switchboard.events import Envelope
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.tickets import (
    TicketMerged,
    TicketOpened,
    TicketReopened,
    TicketStatusChanged,
    TicketUpdated,
)
from switchboard.events.topics import INTERACTIONS, TICKETS, topic_of
from switchboard.runtime.mongo import Document
from switchboard.runtime.projection import GuardedUpsert, apply_in_order, guarded_update

#: Per-topic position fields a ticket document keeps (see switchboard.runtime.projection).
TICKET_POSITIONS = (TICKETS.label, INTERACTIONS.label)


class TicketsView:
    """`tickets`: one document per ticket with its current attributes and interaction counts."""

    collection = "tickets"

    @staticmethod
    def update_for(envelope: Envelope) -> GuardedUpsert | None:
        data = envelope.data
        seq = envelope.sequence
        if seq is None:
            return None
        update: dict[str, dict[str, Any]]
        match data:
            case TicketOpened():
                update = {
                    "$set": {
                        "reference": data.reference,
                        "subject": data.subject,
                        "channel": data.channel.value,
                        "status": data.status.value,
                        "priority": data.priority.value,
                        "category": data.category,
                        "tags": list(data.tags),
                        "language": data.language,
                        "customer_id": data.requester.customer_id,
                        "account_id": data.requester.account_id,
                        "requester_email": data.requester.email,
                        "opened_at": data.opened_at,
                    }
                }
            case TicketUpdated():
                changes = {
                    k: v
                    for k, v in {
                        "priority": data.priority.value if data.priority else None,
                        "category": data.category,
                        "tags": list(data.tags) if data.tags is not None else None,
                    }.items()
                    if v is not None
                }
                update = {"$set": changes | {"updated_at": data.updated_at}}
            case TicketStatusChanged():
                update = {"$set": {"status": data.to_status.value, "status_changed_at": data.changed_at}}
            case TicketReopened():
                update = {"$set": {"reopened_at": data.reopened_at}, "$inc": {"reopen_count": 1}}
            case TicketMerged():
                update = {"$set": {"merged_into": data.into_ticket_id, "merged_at": data.merged_at}}
            case InteractionRecorded():
                update = {
                    "$inc": {"interaction_count": 1, f"interactions_by_kind.{data.kind.value}": 1},
                    "$max": {"last_interaction_at": data.occurred_at},
                }
            case _:
                return None
        topic = topic_of(data).label
        return guarded_update(envelope.subject, topic=topic, sequence=seq, update=update, positions=TICKET_POSITIONS)

    @classmethod
    async def get(cls, db: AsyncDatabase[Document], ticket_id: str) -> Document | None:
        """A ticket as analysts see it, without the projection's bookkeeping; None when not (yet) projected."""
        doc = await db[cls.collection].find_one({"_id": ticket_id})
        if doc is None:
            return None
        doc.pop("pos", None)
        return {"id": doc.pop("_id"), **doc}


async def on_events(batch: Sequence[Envelope], *, db: AsyncDatabase[Document]) -> None:
    """Fold a consumed batch into the read models."""
    updates = [u for u in (TicketsView.update_for(e) for e in batch) if u is not None]
    if updates:
        await apply_in_order(db[TicketsView.collection], updates)
