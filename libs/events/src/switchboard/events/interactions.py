"""Events on `support.interactions`: every message, reply, note, call and transcript on a ticket."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from ._model import EventPayload
from .common import Channel, LanguageTag, TicketId


class InteractionKind(StrEnum):
    """What sort of interaction this is; decides whether it is public and which SLA clock it touches."""

    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLY = "agent_reply"
    INTERNAL_NOTE = "internal_note"
    PHONE_CALL = "phone_call"
    CHAT_TRANSCRIPT = "chat_transcript"
    SOCIAL_POST = "social_post"


class CallDirection(StrEnum):
    """Whether the customer called us or we called them."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class AttachmentRef(EventPayload):
    """Metadata of an attachment; the bytes live in the gateway's storage, never on the bus."""

    filename: str = Field(max_length=255, description="File name as sent.")
    content_type: str = Field(max_length=255, description="MIME type, e.g. 'application/pdf'.")
    size_bytes: int = Field(ge=0, description="Size in bytes.")
    url: str | None = Field(default=None, description="Where the gateway stored it, if it did.")


class InteractionRecorded(EventPayload):
    """Something was said on a ticket. Bodies are kept byte-exact in the language they were written in."""

    type: Literal["support.interaction.recorded.v1"] = Field(
        default="support.interaction.recorded.v1", description="Event type discriminator."
    )
    ticket_id: TicketId = Field(description="Ticket the interaction belongs to.")
    interaction_id: str = Field(min_length=1, max_length=64, description="Id of this interaction.")
    kind: InteractionKind = Field(description="Kind of interaction.")
    channel: Channel = Field(description="Channel it came through.")
    public: bool = Field(description="True when the customer can see it (internal notes are not public).")
    author_type: Literal["customer", "agent", "system"] = Field(description="Who wrote or made it.")
    author_id: str | None = Field(default=None, description="Customer or agent id of the author.")
    body_text: str = Field(default="", description="Plain-text body, byte-exact as received.")
    body_html: str | None = Field(default=None, description="HTML body, if the channel had one.")
    language: LanguageTag | None = Field(default=None, description="Declared or detected language of the body.")
    external_id: str | None = Field(
        default=None, max_length=998, description="The channel's own message id (e.g. e-mail Message-ID)."
    )
    call_direction: CallDirection | None = Field(default=None, description="For phone calls: the direction.")
    call_duration_seconds: int | None = Field(default=None, ge=0, description="For phone calls: the duration.")
    attachments: tuple[AttachmentRef, ...] = Field(default=(), description="Attachment metadata.")
    occurred_at: datetime = Field(description="When the interaction happened (UTC).")
