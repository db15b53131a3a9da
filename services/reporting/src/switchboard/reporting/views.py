"""Read models analysts query. Pure: each event becomes the guarded update its view needs; no I/O here."""

from __future__ import annotations

from typing import Any

from switchboard.events import Envelope
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.tickets import (
    TicketMerged,
    TicketOpened,
    TicketReopened,
    TicketStatusChanged,
    TicketUpdated,
)
from switchboard.runtime.projection import GuardedUpsert, guarded_update

#: Per-topic position fields a ticket document keeps (see switchboard.runtime.projection).
TICKET_POSITIONS = ("tickets", "interactions")


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
                topic = "tickets"
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
                topic = "tickets"
            case TicketStatusChanged():
                update = {"$set": {"status": data.to_status.value, "status_changed_at": data.changed_at}}
                topic = "tickets"
            case TicketReopened():
                update = {"$set": {"reopened_at": data.reopened_at}, "$inc": {"reopen_count": 1}}
                topic = "tickets"
            case TicketMerged():
                update = {"$set": {"merged_into": data.into_ticket_id, "merged_at": data.merged_at}}
                topic = "tickets"
            case InteractionRecorded():
                update = {
                    "$inc": {"interaction_count": 1, f"interactions_by_kind.{data.kind.value}": 1},
                    "$max": {"last_interaction_at": data.occurred_at},
                }
                topic = "interactions"
            case _:
                return None
        return guarded_update(envelope.subject, topic=topic, sequence=seq, update=update, positions=TICKET_POSITIONS)
