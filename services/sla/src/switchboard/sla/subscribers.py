"""SLA's reactions to consumed events: a ticket's events move its clocks; an account's tier is kept for policies."""

from __future__ import annotations

from collections.abc import Sequence

from switchboard.events import Envelope
from switchboard.events.customers import AccountUpserted
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.routing import TicketRouted
from switchboard.events.tickets import TicketMerged, TicketOpened, TicketReopened, TicketStatusChanged, TicketUpdated
from switchboard.runtime.fanout import per_subject

from .clocks import Clocks
from .domain.clock import LateInput
from .store import SlaStore

#: The events that move a ticket's clocks (everything else on the topics SLA reads is ignored).
TICKET_INPUTS = (
    TicketOpened,
    TicketUpdated,
    TicketStatusChanged,
    TicketReopened,
    TicketMerged,
    TicketRouted,
    InteractionRecorded,
)


class Subscribers:
    """The batch entry of SLA's consumer and one reaction per kind of event."""

    def __init__(self, *, store: SlaStore, clocks: Clocks) -> None:
        self.store = store
        self.clocks = clocks

    async def on_events(self, batch: Sequence[Envelope]) -> None:
        """Each ticket's (and account's) events in order, different subjects side by side."""
        await per_subject(batch, self.on_event)

    async def on_event(self, envelope: Envelope) -> None:
        data = envelope.data
        if isinstance(data, AccountUpserted):
            await self.on_account_upserted(data)
        elif isinstance(data, TICKET_INPUTS):
            await self.on_ticket_event(data, envelope)

    async def on_account_upserted(self, event: AccountUpserted) -> None:
        """Remember the account's tier and key-account flag: policies select on them when its tickets open."""
        await self.store.remember_account(event.account_id, tier=event.tier, key_account=event.key_account)

    async def on_ticket_event(self, event: TicketOpened | LateInput, envelope: Envelope) -> None:
        """The ticket's clocks decide the event at the time it was published (the envelope's), once per id."""
        await self.clocks.decide_input(event, event_id=envelope.id, at=envelope.time)
