"""What intake's use cases take: one frozen input for each command with more than a few fields, and the shapes
of its nested parts (customer hints, attachments, chat lines), which any object with those attributes fits.

The API's body models produce these with `as_input()`; a test or another caller builds them directly. Customers
and accounts take the domain's `CustomerChanges` / `AccountChanges`, which say the same thing already.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from switchboard.events.common import Channel, Priority
from switchboard.events.interactions import CallDirection, InteractionKind

FieldValue = str | int | float | bool | None


class CustomerHints(Protocol):
    """What a ticket or message says about its customer: an id, or any of e-mail, phone, handle."""

    @property
    def id(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def handle(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...


class AttachmentLike(Protocol):
    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def url(self) -> str | None: ...


class ChatLineLike(Protocol):
    @property
    def author(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def at(self) -> datetime | None: ...


@dataclass(frozen=True)
class NewTicket:
    """A ticket to open for the customer the hints name; the description becomes its first customer message."""

    subject: str
    description: str
    channel: Channel
    priority: Priority
    customer: CustomerHints
    category: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, FieldValue] = field(default_factory=dict)
    language: str | None = None  # detected from subject and description when absent


@dataclass(frozen=True)
class NewInteraction:
    """Something said or done on a ticket; channel and author default to the ticket's or the caller's."""

    kind: InteractionKind
    body_text: str
    body_html: str | None = None
    channel: Channel | None = None
    author_type: str | None = None
    author_id: str | None = None
    language: str | None = None
    public: bool | None = None
    call_direction: CallDirection | None = None
    call_duration_seconds: int | None = None
    attachments: tuple[AttachmentLike, ...] = ()


@dataclass(frozen=True)
class TicketChanges:
    """Fields to change; None leaves one as it is, a custom field set to None is removed."""

    priority: Priority | None = None
    category: str | None = None
    tags: tuple[str, ...] | None = None
    custom_fields: Mapping[str, FieldValue] | None = None


@dataclass(frozen=True)
class InboundEmail:
    """An e-mail as the mail gateway parsed it."""

    message_id: str
    sender_email: str
    sender_name: str | None
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    in_reply_to: str | None = None
    references: str | None = None
    attachments: tuple[AttachmentLike, ...] = ()
    language: str | None = None


@dataclass(frozen=True)
class PhoneCall:
    """A finished call from the telephony system."""

    call_id: str
    customer: CustomerHints
    direction: CallDirection
    duration_seconds: int
    summary: str = ""
    recording_url: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class ChatTranscript:
    """A finished chat session."""

    chat_id: str
    customer: CustomerHints
    transcript: tuple[ChatLineLike, ...]
    subject: str = ""
    language: str | None = None


@dataclass(frozen=True)
class SocialMessage:
    """A message or mention on a social network."""

    message_id: str
    network: str
    handle: str
    text: str
    name: str | None = None
    url: str | None = None
    language: str | None = None
