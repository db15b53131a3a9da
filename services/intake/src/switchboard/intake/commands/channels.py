"""Channel messages in: each one lands on the ticket it belongs to, or opens one, exactly once.

E-mail threads by `In-Reply-To`/`References` and by the ticket reference in the subject; calls, chats and
social messages join the customer's open ticket on the same channel if it was active recently. Robots
(out-of-office, bounces) never open a ticket. Every message is keyed by the channel's own id, so a
gateway that delivers it twice gets the first answer back and nothing happens twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from switchboard.events.common import Channel, TicketStatus
from switchboard.events.interactions import AttachmentRef, CallDirection, InteractionKind
from switchboard.runtime.decider import Outcome, Request

from ..domain import channels
from ..domain import ticket as tickets
from ..domain.customer import Customer
from ..store import IntakeStore
from ..views import delivered_view
from .customers import Customers, Hints
from .ids import derived_id
from .inputs import ChatTranscript, CustomerHints, InboundEmail, PhoneCall, SocialMessage
from .tickets import Tickets, attachment_refs

Document = dict[str, Any]


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


class Channels:
    """The use cases behind the channel webhooks: each message to its ticket."""

    def __init__(
        self,
        store: IntakeStore,
        tickets: Tickets,
        customers: Customers,
        *,
        reference_prefix: str,
        window: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._tickets = tickets
        self._customers = customers
        self._prefix = reference_prefix
        self._window = window
        self._clock = clock

    async def email(self, mail: InboundEmail) -> Document:
        """An e-mail threads by its headers, then by the reference in its subject; robots are ignored."""
        if channels.is_auto_reply(mail.headers, mail.subject, mail.sender_email):
            return {"action": "ignored", "reason": "auto-reply: robots never open or update tickets"}
        mid = channels.normalise_message_id(mail.message_id)
        message = Message(
            channel=Channel.EMAIL,
            key=f"email:{mid}",
            subject=mail.subject,
            body_text=mail.text,
            body_html=mail.html,
            external_id=mid,
            language=mail.language,
            attachments=attachment_refs(mail.attachments),
        )
        if (replayed := await self._replay(message.key)) is not None:
            return replayed
        target = None
        for thread_id in channels.message_ids(mail.in_reply_to, mail.references):
            target = await self._store.ticket_by_delivery(f"email:{thread_id}")
            if target is not None:
                break
        if target is None and (reference := channels.reference_in_subject(mail.subject, self._prefix)):
            target = await self._store.ticket_by_reference(reference)
        return await self._deliver(message, Hints(email=mail.sender_email, name=mail.sender_name), target)

    async def phone(self, call: PhoneCall) -> Document:
        customer = call.customer
        who = customer.phone or customer.email or customer.id or "unknown caller"
        message = Message(
            channel=Channel.PHONE,
            key=f"phone:{call.call_id}",
            subject=f"Phone call with {who}",
            body_text=call.summary + (f"\n\nRecording: {call.recording_url}" if call.recording_url else ""),
            kind=InteractionKind.PHONE_CALL,
            external_id=call.call_id,
            language=call.language,
            call_direction=call.direction,
            call_duration_seconds=call.duration_seconds,
        )
        return await self._conversation(message, customer)

    async def chat(self, chat: ChatTranscript) -> Document:
        lines = chat.transcript
        first_customer_line = next((line.text for line in lines if line.author == "customer"), "Chat")
        message = Message(
            channel=Channel.CHAT,
            key=f"chat:{chat.chat_id}",
            subject=chat.subject or first_customer_line[:120],
            body_text="\n".join(
                f"[{line.at.isoformat() if line.at else ''}] {line.author}: {line.text}" for line in lines
            ),
            kind=InteractionKind.CHAT_TRANSCRIPT,
            external_id=chat.chat_id,
            language=chat.language,
        )
        return await self._conversation(message, chat.customer)

    async def social(self, post: SocialMessage) -> Document:
        message = Message(
            channel=Channel.SOCIAL,
            key=f"social:{post.network}:{post.message_id}",
            subject=post.text[:120],
            body_text=post.text + (f"\n\n{post.url}" if post.url else ""),
            kind=InteractionKind.SOCIAL_POST,
            external_id=f"{post.network}:{post.message_id}",
            language=post.language,
        )
        return await self._conversation(message, Hints(handle=f"{post.network}:{post.handle}", name=post.name))

    async def _conversation(self, message: Message, sender: CustomerHints) -> Document:
        """Calls, chats and social messages continue the customer's recent open ticket on the same channel."""
        if (replayed := await self._replay(message.key)) is not None:
            return replayed
        customer = await self._customers.resolve(sender, Request(key=message.key))
        target = await self._store.channel_ticket(customer.customer_id, message.channel.value)
        if target is not None:
            ticket, _ = await self._tickets.read(target)
            recent = channels.belongs_to_recent(ticket.last_activity_at, self._clock(), self._window)
            target = target if ticket.is_open and recent else None
        result = await self._deliver(message, sender, target, customer=customer)
        await self._store.remember_channel_ticket(customer.customer_id, message.channel.value, result["ticket_id"])
        return result

    async def _replay(self, key: str) -> Document | None:
        """The first answer, if this very message was delivered before."""
        ticket_id = await self._store.ticket_by_delivery(key)
        if ticket_id is None:
            return None
        _, stream = await self._tickets.read(ticket_id)
        answered = stream.answered.get(key)
        if answered is None:
            return None  # noted, but its commit never landed: deliver it now
        return dict(answered["response"]) | {"action": "duplicate"}

    async def _deliver(
        self, message: Message, sender: CustomerHints, target: str | None, customer: Customer | None = None
    ) -> Document:
        request = Request(key=message.key)
        ticket = await self._tickets.follow_merges(target) if target else None
        customer = customer or await self._customers.resolve(sender, request)
        language = message.language or self._tickets.detect_language(f"{message.subject}\n{message.body_text}")
        interaction_id = derived_id("interaction", message.key)
        if ticket is not None and ticket.status is not TicketStatus.CLOSED:
            await self._store.remember_delivery(message.key, ticket.ticket_id)
            command = tickets.RecordInteraction(
                interaction_id=interaction_id,
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
            appended = await self._tickets.decide_on(
                ticket.ticket_id, lambda _: command, request, lambda t: delivered_view(t, interaction_id, "appended")
            )
            return _answer(appended)
        ticket_id = derived_id("ticket", message.key)
        await self._store.remember_delivery(message.key, ticket_id)
        opened = tickets.OpenTicket(
            ticket_id=ticket_id,
            reference=await self._tickets.reference(),
            subject=message.subject or f"{message.channel.value} message",
            description=message.body_text,
            channel=message.channel,
            customer_id=customer.customer_id,
            customer_email=customer.emails[0] if customer.emails else None,
            customer_name=customer.name,
            account_id=customer.account_id,
            language=language,
            interaction_id=interaction_id,
            body_html=message.body_html,
            external_id=message.external_id,
            attachments=message.attachments,
            tags=("follow-up",) if ticket is not None else (),
            kind=message.kind,
            call_direction=message.call_direction,
            call_duration_seconds=message.call_duration_seconds,
        )
        outcome = await self._tickets.open_command(
            opened, request, lambda t: delivered_view(t, interaction_id, "opened")
        )
        return _answer(outcome)


def _answer(outcome: Outcome) -> Document:
    return outcome.response | {"action": "duplicate"} if outcome.replayed else outcome.response
