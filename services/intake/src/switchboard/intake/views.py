"""How intake's API shows its subjects: a ticket (with its history), a customer, an account, as JSON documents.

The same documents are the answers stored with a command's commit, so a retried request gets back exactly
what the first one did.
"""

from __future__ import annotations

from typing import Any

from switchboard.runtime.eventstore import Stream

from .domain.customer import Account, Customer
from .domain.ticket import Ticket

Document = dict[str, Any]


def ticket_view(ticket: Ticket) -> Document:
    """A ticket as the API shows it."""
    return {
        "id": ticket.ticket_id,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "channel": ticket.channel.value,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "category": ticket.category,
        "tags": list(ticket.tags),
        "custom_fields": dict(ticket.custom_fields),
        "customer_id": ticket.customer_id,
        "account_id": ticket.account_id,
        "language": ticket.language,
        "merged_into": ticket.merged_into,
        "opened_at": ticket.opened_at.isoformat() if ticket.opened_at else None,
        "last_activity_at": ticket.last_activity_at.isoformat() if ticket.last_activity_at else None,
        "interaction_count": ticket.interaction_count,
        "version": ticket.version,
    }


def history_view(stream: Stream) -> list[Document]:
    """A ticket's events, oldest first, as the ticket page lists them."""
    return [
        {"sequence": e.sequence, "type": e.type, "time": e.time.isoformat(), "data": e.data.model_dump(mode="json")}
        for e in stream.events
    ]


def events_view(stream: Stream) -> list[Document]:
    """A subject's events as CloudEvents."""
    return [e.model_dump(mode="json") for e in stream.events]


def opened_view(ticket: Ticket) -> Document:
    """The answer to opening a ticket over the API."""
    return {"id": ticket.ticket_id, "reference": ticket.reference, "status": ticket.status.value}


def recorded_view(ticket: Ticket, interaction_id: str) -> Document:
    """The answer to recording an interaction over the API."""
    return {"ticket_id": ticket.ticket_id, "interaction_id": interaction_id, "status": ticket.status.value}


def delivered_view(ticket: Ticket, interaction_id: str, action: str) -> Document:
    """The answer to a channel message: the ticket it landed on and what happened (`opened`, `appended`)."""
    return {
        "ticket_id": ticket.ticket_id,
        "reference": ticket.reference,
        "interaction_id": interaction_id,
        "action": action,
    }


def customer_view(customer: Customer) -> Document:
    """A customer as the API shows them."""
    return {
        "id": customer.customer_id,
        "name": customer.name,
        "emails": list(customer.emails),
        "phones": list(customer.phones),
        "social_handles": list(customer.social_handles),
        "language": customer.language,
        "time_zone": customer.time_zone,
        "account_id": customer.account_id,
        "version": customer.version,
    }


def account_view(account: Account) -> Document:
    """An account as the API shows it."""
    return {
        "id": account.account_id,
        "name": account.name,
        "tier": account.tier,
        "key_account": account.key_account,
        "domains": list(account.domains),
        "version": account.version,
    }
