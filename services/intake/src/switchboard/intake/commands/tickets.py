"""Ticket use cases: open a ticket, record an interaction, change it, move its status, merge it, read it.

Each one gathers what the rules need (the customer, a reference number, the language, ids derived from the
request), then lets `domain.ticket` decide on the ticket's latest history through the runtime's `Decider`,
which stores the commit with its outbox marker, answers a repeated request as the first time, and retries
when another replica wrote first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from switchboard.events.common import Actor, TicketStatus
from switchboard.events.interactions import AttachmentRef, InteractionKind
from switchboard.runtime.decider import Decider, Decision, Outcome, Request, replay
from switchboard.runtime.eventstore import Stream

from ..domain import ticket as tickets
from ..domain.errors import NotFound
from ..domain.ticket import Ticket
from ..language import detect
from ..store import IntakeStore
from ..views import events_view, history_view, opened_view, recorded_view, ticket_view
from .customers import Customers
from .ids import derived_id, new_id
from .inputs import AttachmentLike, NewInteraction, NewTicket, TicketChanges

Document = dict[str, Any]
MAX_MERGE_HOPS = 5


def attachment_refs(items: Iterable[AttachmentLike]) -> tuple[AttachmentRef, ...]:
    return tuple(
        AttachmentRef(filename=a.filename, content_type=a.content_type, size_bytes=a.size_bytes, url=a.url)
        for a in items
    )


class Tickets:
    """The use cases on tickets; channel messages (`channels.py`) land on tickets through the same methods."""

    def __init__(
        self,
        store: IntakeStore,
        decider: Decider,
        customers: Customers,
        *,
        reference_prefix: str,
        languages: tuple[str, ...],
    ) -> None:
        self._store = store
        self._decider = decider
        self._customers = customers
        self._prefix = reference_prefix
        self._languages = languages

    async def open(self, new: NewTicket, *, request: Request) -> Outcome:
        """Open a ticket for the customer the hints name; a repeated Idempotency-Key gets the first answer."""
        ticket_id = new_id("ticket", request)
        if (replayed := await self.replay(ticket_id, request)) is not None:
            return replayed
        requester = await self._customers.resolve(new.customer, request)
        command = tickets.OpenTicket(
            ticket_id=ticket_id,
            reference=await self.reference(),
            subject=new.subject,
            description=new.description,
            channel=new.channel,
            customer_id=requester.customer_id,
            customer_email=requester.emails[0] if requester.emails else None,
            customer_name=requester.name,
            account_id=requester.account_id,
            priority=new.priority,
            category=new.category,
            tags=tuple(new.tags),
            custom_fields=new.custom_fields,
            language=new.language or self.detect_language(f"{new.subject}\n{new.description}"),
            interaction_id=derived_id("interaction", ticket_id, "1"),
        )
        return await self.open_command(command, request, opened_view)

    async def record_interaction(self, ticket_id: str, new: NewInteraction, *, request: Request) -> Outcome:
        """Record an interaction; channel and author default to the ticket's channel and customer (for customer
        messages) or the caller (for anything else)."""
        interaction_id = new_id("interaction", request)
        author = new.author_type or ("customer" if new.kind is InteractionKind.CUSTOMER_MESSAGE else "agent")
        detected = new.language or self.detect_language(new.body_text)
        refs = attachment_refs(new.attachments)

        def command(ticket: Ticket) -> tickets.RecordInteraction:
            return tickets.RecordInteraction(
                interaction_id=interaction_id,
                kind=new.kind,
                channel=new.channel or ticket.channel,
                author_type=author,
                author_id=new.author_id or (ticket.customer_id if author == "customer" else request.actor_id),
                body_text=new.body_text,
                body_html=new.body_html,
                language=detected,
                call_direction=new.call_direction,
                call_duration_seconds=new.call_duration_seconds,
                attachments=refs,
                public=new.public,
            )

        return await self.decide_on(ticket_id, command, request, lambda t: recorded_view(t, interaction_id))

    async def update(self, ticket_id: str, changes: TicketChanges, *, request: Request) -> Outcome:
        command = tickets.UpdateTicket(
            actor=Actor.AGENT,
            actor_id=request.actor_id,
            priority=changes.priority,
            category=changes.category,
            tags=tuple(changes.tags) if changes.tags is not None else None,
            custom_fields=changes.custom_fields,
        )
        return await self.decide_on(ticket_id, lambda _: command, request, ticket_view)

    async def change_status(
        self, ticket_id: str, *, status: TicketStatus, reason: str | None, request: Request
    ) -> Outcome:
        command = tickets.ChangeStatus(status, Actor.AGENT, request.actor_id, reason)
        return await self.decide_on(ticket_id, lambda _: command, request, ticket_view)

    async def merge(self, ticket_id: str, *, into: str, request: Request) -> Outcome:
        """Merge a duplicate: the source stops taking writes, the target gets a note saying so."""
        target, _ = await self.read(into)
        tickets.check_merge_target(target)
        source, _ = await self.read(ticket_id)
        merge = tickets.MergeInto(into, request.actor_id)
        outcome = await self.decide_on(ticket_id, lambda _: merge, request, ticket_view)
        note = tickets.RecordInteraction(
            interaction_id=derived_id("merge-note", ticket_id, into),
            kind=InteractionKind.INTERNAL_NOTE,
            channel=target.channel,
            author_type="agent",
            author_id=request.actor_id,
            body_text=f"Ticket {source.reference} was merged into this ticket.",
        )
        note_request = Request(
            key=f"merge:{ticket_id}", actor_id=request.actor_id, correlation_id=request.correlation_id
        )
        await self.decide_on(into, lambda _: note, note_request, lambda t: recorded_view(t, note.interaction_id))
        return outcome

    async def get(self, ticket_id: str) -> Document:
        """The ticket with its full history."""
        ticket, stream = await self._existing(ticket_id)
        return ticket_view(ticket) | {"history": history_view(stream)}

    async def events(self, ticket_id: str) -> list[Document]:
        """The ticket's events as CloudEvents."""
        _, stream = await self._existing(ticket_id)
        return events_view(stream)

    # shared with the channel use cases -----------------------------------------------------------------------

    async def read(self, ticket_id: str) -> tuple[Ticket, Stream]:
        """The ticket as stored now, with its history."""
        return await self._store.tickets.read(ticket_id)

    async def replay(self, ticket_id: str, request: Request) -> Outcome | None:
        """The first answer to this request, if it was already carried out on this ticket."""
        if request.key is None:
            return None
        answered = (await self._store.tickets.load(ticket_id, fresh=True)).answered.get(request.key)
        return None if answered is None else replay(answered, request)

    async def reference(self) -> str:
        """A new ticket's reference, e.g. 'SB-1234'."""
        return f"{self._prefix}-{await self._store.next_reference_number()}"

    def detect_language(self, text: str) -> str | None:
        return detect(text, languages=self._languages)

    async def open_command(
        self, command: tickets.OpenTicket, request: Request, respond: Callable[[Ticket], Document]
    ) -> Outcome:
        """Open a ticket; its look-ups (reference, the customer's tickets) are written first, see store.py."""
        await asyncio.gather(
            self._store.remember_reference(command.reference, command.ticket_id),
            self._store.add_customer_ticket(command.customer_id, command.ticket_id),
        )
        return await self.decide_on(command.ticket_id, lambda _: command, request, respond)

    async def decide_on(
        self,
        ticket_id: str,
        command: Callable[[Ticket], tickets.Command],
        request: Request,
        respond: Callable[[Ticket], Document],
    ) -> Outcome:
        """Decide `command(ticket)` on the ticket's latest state and store it; the answer is `respond` applied
        to the ticket after the decided events."""

        def decide(ticket: Ticket, now: datetime) -> Decision:
            events = tickets.decide(ticket, command(ticket), now=now)
            return Decision(events, respond(tickets.fold(ticket_id, events, ticket)))

        return await self._decider.run(self._store.tickets, ticket_id, decide, request=request)

    async def follow_merges(self, ticket_id: str) -> Ticket | None:
        """The ticket a message should land on: merged tickets forward to the one that survived."""
        for _ in range(MAX_MERGE_HOPS):
            ticket, _ = await self.read(ticket_id)
            if not ticket.exists:
                return None
            if ticket.merged_into is None:
                return ticket
            ticket_id = ticket.merged_into
        return None

    async def _existing(self, ticket_id: str) -> tuple[Ticket, Stream]:
        ticket, stream = await self.read(ticket_id)
        if not ticket.exists:
            raise NotFound(f"no ticket {ticket_id}")
        return ticket, stream
