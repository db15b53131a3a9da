"""Channel messages in: each one lands on the ticket it belongs to, or opens one, exactly once.

E-mail threads by `In-Reply-To`/`References` and by the ticket reference in the subject; calls, chats and
social messages join the customer's open ticket on the same channel if it was active recently. Robots
(out-of-office, bounces) never open a ticket. Every message is keyed by the channel's own id, so a
gateway that delivers it twice gets the first answer back and nothing happens twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from switchboard.events.common import Channel, TicketStatus
from switchboard.events.interactions import AttachmentRef, CallDirection, InteractionKind

from .domain import channels
from .domain import ticket as tickets
from .domain.customer import Customer
from .handlers import Intake, Outcome, Request, derived_id
from .identify import CustomerHints, Identify

Document = dict[str, Any]
MAX_MERGE_HOPS = 5


@dataclass(frozen=True)
class Message:
    """One inbound channel message, reduced to what intake needs."""

    channel: Channel
    key: str  # "<channel>:<the channel's own message id>"
    subject: str
    body_text: str
    kind: InteractionKind = InteractionKind.CUSTOMER_MESSAGE
    body_html: str | None = None
    external_id: str | None = None
    language: str | None = None
    call_direction: CallDirection | None = None
    call_duration_seconds: int | None = None
    attachments: tuple[AttachmentRef, ...] = ()


class Inbound:
    """Routes channel messages to tickets."""

    def __init__(self, intake: Intake, identify: Identify, *, reference_prefix: str, window: timedelta) -> None:
        self._intake = intake
        self._identify = identify
        self._prefix = reference_prefix
        self._window = window

    async def email(
        self,
        message: Message,
        sender: CustomerHints,
        *,
        headers: dict[str, str],
        sender_address: str,
        in_reply_to: str | None,
        references: str | None,
    ) -> Document:
        if channels.is_auto_reply(headers, message.subject, sender_address):
            return {"action": "ignored", "reason": "auto-reply: robots never open or update tickets"}
        if (replayed := await self._replay(message.key)) is not None:
            return replayed
        target = None
        for mid in channels.message_ids(in_reply_to, references):
            target = await self._intake.store.ticket_by_delivery(f"email:{mid}")
            if target is not None:
                break
        if target is None and (reference := channels.reference_in_subject(message.subject, self._prefix)):
            target = await self._intake.store.ticket_by_reference(reference)
        return await self._deliver(message, sender, target)

    async def conversation(self, message: Message, sender: CustomerHints) -> Document:
        if (replayed := await self._replay(message.key)) is not None:
            return replayed
        request = Request(key=message.key)
        customer = await self._identify.customer(sender, request)
        target = await self._intake.store.channel_ticket(customer.customer_id, message.channel.value)
        if target is not None:
            ticket, _ = await self._intake.ticket(target)
            recent = channels.belongs_to_recent(ticket.last_activity_at, self._intake.clock(), self._window)
            target = target if ticket.is_open and recent else None
        result = await self._deliver(message, sender, target, customer=customer)
        await self._intake.store.remember_channel_ticket(
            customer.customer_id, message.channel.value, result["ticket_id"]
        )
        return result

    async def _replay(self, key: str) -> Document | None:
        """The first answer, if this very message was delivered before."""
        ticket_id = await self._intake.store.ticket_by_delivery(key)
        if ticket_id is None:
            return None
        _, stream = await self._intake.ticket(ticket_id)
        answered = stream.answered.get(key)
        if answered is None:
            return None  # noted, but its commit never landed: deliver it now
        return dict(answered["response"]) | {"action": "duplicate"}

    async def _deliver(
        self, message: Message, sender: CustomerHints, target: str | None, customer: Customer | None = None
    ) -> Document:
        request = Request(key=message.key)
        ticket = await self._follow_merges(target) if target else None
        customer = customer or await self._identify.customer(sender, request)
        language = message.language or self._identify.language(f"{message.subject}\n{message.body_text}")
        if ticket is not None and ticket.status is not TicketStatus.CLOSED:
            await self._intake.store.remember_delivery(message.key, ticket.ticket_id)
            command = tickets.RecordInteraction(
                interaction_id=derived_id("interaction", message.key),
                kind=message.kind,
                channel=message.channel,
                author_type="customer",
                author_id=customer.customer_id,
                body_text=message.body_text,
                body_html=message.body_html,
                language=language,
                external_id=message.external_id,
                call_direction=message.call_direction,
                call_duration_seconds=message.call_duration_seconds,
                attachments=message.attachments,
            )
            outcome = await self._intake.execute(
                ticket.ticket_id,
                lambda t, now: tickets.decide(t, command, now=now),
                lambda t: {
                    "ticket_id": t.ticket_id,
                    "reference": t.reference,
                    "interaction_id": command.interaction_id,
                    "action": "appended",
                },
                request,
            )
            return _answer(outcome)
        ticket_id = derived_id("ticket", message.key)
        await self._intake.store.remember_delivery(message.key, ticket_id)
        opened = tickets.OpenTicket(
            ticket_id=ticket_id,
            reference=f"{self._prefix}-{await self._intake.store.next_reference_number()}",
            subject=message.subject or f"{message.channel.value} message",
            description=message.body_text,
            channel=message.channel,
            customer_id=customer.customer_id,
            customer_email=customer.emails[0] if customer.emails else None,
            customer_name=customer.name,
            account_id=customer.account_id,
            language=language,
            interaction_id=derived_id("interaction", message.key),
            body_html=message.body_html,
            external_id=message.external_id,
            attachments=message.attachments,
            tags=("follow-up",) if ticket is not None else (),
            kind=message.kind,
            call_direction=message.call_direction,
            call_duration_seconds=message.call_duration_seconds,
        )
        outcome = await self._intake.open_ticket(
            opened,
            request,
            lambda t: {
                "ticket_id": t.ticket_id,
                "reference": t.reference,
                "interaction_id": opened.interaction_id,
                "action": "opened",
            },
        )
        return _answer(outcome)

    async def _follow_merges(self, ticket_id: str) -> tickets.Ticket | None:
        """The ticket a message should land on: merged tickets forward to the one that survived."""
        for _ in range(MAX_MERGE_HOPS):
            ticket, _ = await self._intake.ticket(ticket_id)
            if not ticket.exists:
                return None
            if ticket.merged_into is None:
                return ticket
            ticket_id = ticket.merged_into
        return None


def _answer(outcome: Outcome) -> Document:
    return outcome.response | {"action": "duplicate"} if outcome.replayed else outcome.response
