"""TicketOpened as intake publishes it: the event the benches feed the services, and store as a baseline commit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from switchboard.events import Envelope
from switchboard.events.common import Channel, Priority
from switchboard.events.tickets import Requester, TicketOpened

INTAKE = "/switchboard/intake"


def ticket_opened(
    n: int, *, subject: str, channel: Channel, opened_at: datetime | None = None, priority: Priority = Priority.NORMAL
) -> Envelope:
    """TicketOpened #n (reference SB-n) of a new customer, as intake publishes it: sequence 1, stamped when the
    ticket opened (now, unless given)."""
    opened_at = opened_at or datetime.now(UTC)
    ticket_id = str(uuid.uuid4())
    event = TicketOpened(
        ticket_id=ticket_id,
        reference=f"SB-{n}",
        subject=subject,
        channel=channel,
        requester=Requester(customer_id=str(uuid.uuid4()), email=f"c{n}@customers.example.com"),
        priority=priority,
        language="en",
        opened_at=opened_at,
    )
    return Envelope.new(event, source=INTAKE, subject=ticket_id, sequence=1, time=opened_at)
