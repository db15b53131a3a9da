"""Events for tests of every tier, with the values no test asserts on filled in, so a test names only what it
checks: its ticket, its time, and whatever else its rules look at (a subject for routing, a priority for SLA)."""

from __future__ import annotations

from datetime import datetime

from switchboard.events.common import Channel, Priority
from switchboard.events.tickets import Requester, TicketOpened


def ticket_opened(
    ticket_id: str,
    at: datetime,
    *,
    subject: str = "Refund",
    reference: str = "SB-1",
    channel: Channel = Channel.EMAIL,
    customer_id: str = "c-1",
    priority: Priority = Priority.NORMAL,
    language: str | None = None,
) -> TicketOpened:
    """A ticket a customer opened at `at`, as intake announces it."""
    return TicketOpened(
        ticket_id=ticket_id,
        reference=reference,
        subject=subject,
        channel=channel,
        requester=Requester(customer_id=customer_id),
        priority=priority,
        language=language,
        opened_at=at,
    )
