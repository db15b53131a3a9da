"""A ticket's life: which commands are allowed, what events they produce, and the fold of those events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import reduce
from types import MappingProxyType

from switchboard.events import EventPayload
from switchboard.events.common import Actor, Channel, Priority, TicketStatus
from switchboard.events.interactions import (
    AttachmentRef,
    CallDirection,
    InteractionKind,
    InteractionRecorded,
)
from switchboard.events.tickets import (
    CustomFields,
    Requester,
    TicketMerged,
    TicketOpened,
    TicketReopened,
    TicketStatusChanged,
    TicketUpdated,
)

from .errors import Invalid, NotFound, Rejected

#: The lifecycle a support lead expects: reopening a solved ticket goes through `TicketReopened`.
TRANSITIONS: Mapping[TicketStatus, frozenset[TicketStatus]] = MappingProxyType(
    {
        TicketStatus.NEW: frozenset(
            {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED}
        ),
        TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED}),
        TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.ON_HOLD, TicketStatus.SOLVED}),
        TicketStatus.ON_HOLD: frozenset({TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SOLVED}),
        TicketStatus.SOLVED: frozenset({TicketStatus.CLOSED}),
        TicketStatus.CLOSED: frozenset(),
    }
)
PUBLIC_KINDS = frozenset(
    {
        InteractionKind.CUSTOMER_MESSAGE,
        InteractionKind.AGENT_REPLY,
        InteractionKind.PHONE_CALL,
        InteractionKind.CHAT_TRANSCRIPT,
        InteractionKind.SOCIAL_POST,
    }
)


@dataclass(frozen=True)
class Ticket:
    """A ticket as intake knows it: the fold of its events."""

    ticket_id: str
    version: int = 0
    reference: str = ""
    subject: str = ""
    channel: Channel = Channel.API
    status: TicketStatus = TicketStatus.NEW
    priority: Priority = Priority.NORMAL
    category: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, str | int | float | bool | None] = field(default_factory=dict)
    customer_id: str | None = None
    account_id: str | None = None
    language: str | None = None
    opened_at: datetime | None = None
    last_activity_at: datetime | None = None
    merged_into: str | None = None
    interaction_count: int = 0
    external_ids: frozenset[str] = frozenset()

    @property
    def exists(self) -> bool:
        return self.version > 0

    @property
    def is_open(self) -> bool:
        """Still being worked on: a new message belongs on it rather than on a new ticket."""
        return (
            self.exists and self.merged_into is None and self.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED)
        )


# --- commands -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenTicket:
    """A customer, or an integration on their behalf, asks for help."""

    ticket_id: str
    reference: str
    subject: str
    description: str
    channel: Channel
    customer_id: str
    customer_email: str | None = None
    customer_name: str | None = None
    account_id: str | None = None
    priority: Priority = Priority.NORMAL
    category: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, str | int | float | bool | None] = field(default_factory=dict)
    language: str | None = None
    interaction_id: str = ""
    body_html: str | None = None
    external_id: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    kind: InteractionKind = InteractionKind.CUSTOMER_MESSAGE  # what the first interaction was: a call, a chat...
    call_direction: CallDirection | None = None
    call_duration_seconds: int | None = None


@dataclass(frozen=True)
class RecordInteraction:
    """Something was said or done on the ticket: a message, a reply, a note, a call, a transcript."""

    interaction_id: str
    kind: InteractionKind
    channel: Channel
    author_type: str
    author_id: str | None
    body_text: str = ""
    body_html: str | None = None
    language: str | None = None
    external_id: str | None = None
    call_direction: CallDirection | None = None
    call_duration_seconds: int | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    public: bool | None = None


@dataclass(frozen=True)
class UpdateTicket:
    """Priority, category, tags or custom fields change; None leaves a field as it is."""

    actor: Actor
    actor_id: str | None
    priority: Priority | None = None
    category: str | None = None
    tags: tuple[str, ...] | None = None
    custom_fields: Mapping[str, str | int | float | bool | None] | None = None


@dataclass(frozen=True)
class ChangeStatus:
    """Move the ticket along its lifecycle; `open` on a solved ticket reopens it."""

    to_status: TicketStatus
    actor: Actor
    actor_id: str | None
    reason: str | None = None


@dataclass(frozen=True)
class MergeInto:
    """This ticket is a duplicate of `target_id`."""

    target_id: str
    actor_id: str | None


Command = OpenTicket | RecordInteraction | UpdateTicket | ChangeStatus | MergeInto


# --- decide ---------------------------------------------------------------------------------------------------


def decide(ticket: Ticket, command: Command, *, now: datetime) -> list[EventPayload]:
    """The events a command produces on this ticket, or `Rejected` with the reason."""
    if isinstance(command, OpenTicket):
        return _open(ticket, command, now)
    if not ticket.exists:
        raise NotFound(f"no ticket {ticket.ticket_id}")
    if ticket.merged_into is not None:
        raise Rejected(f"ticket {ticket.reference} was merged into {ticket.merged_into}; write there instead")
    match command:
        case RecordInteraction():
            return _record(ticket, command, now)
        case UpdateTicket():
            return _update(ticket, command, now)
        case ChangeStatus():
            return _change_status(ticket, command, now)
        case MergeInto():
            return _merge(ticket, command, now)
    raise TypeError(f"unknown command {command!r}")  # pragma: no cover


def _open(ticket: Ticket, c: OpenTicket, now: datetime) -> list[EventPayload]:
    if ticket.exists:
        raise Rejected(f"ticket {ticket.ticket_id} already exists")
    if c.kind not in PUBLIC_KINDS or c.kind is InteractionKind.AGENT_REPLY:
        raise Invalid(f"a ticket cannot open with a {c.kind.value}")
    opened = TicketOpened(
        ticket_id=c.ticket_id,
        reference=c.reference,
        subject=c.subject,
        channel=c.channel,
        requester=Requester(
            customer_id=c.customer_id, email=c.customer_email, name=c.customer_name, account_id=c.account_id
        ),
        priority=c.priority,
        category=c.category,
        tags=_clean_tags(c.tags),
        custom_fields=dict(c.custom_fields),
        language=c.language,
        opened_at=now,
    )
    first = InteractionRecorded(
        ticket_id=c.ticket_id,
        interaction_id=c.interaction_id,
        kind=c.kind,
        channel=c.channel,
        public=True,
        author_type="customer",
        author_id=c.customer_id,
        body_text=c.description,
        body_html=c.body_html,
        language=c.language,
        external_id=c.external_id,
        call_direction=c.call_direction,
        call_duration_seconds=c.call_duration_seconds,
        attachments=c.attachments,
        occurred_at=now,
    )
    return [opened, first]


def _record(ticket: Ticket, c: RecordInteraction, now: datetime) -> list[EventPayload]:
    if c.external_id is not None and c.external_id in ticket.external_ids:
        return []  # the channel delivered the same message again
    if ticket.status is TicketStatus.CLOSED:
        raise Rejected(f"ticket {ticket.reference} is closed; open a follow-up ticket instead")
    if c.kind is InteractionKind.INTERNAL_NOTE and c.author_type != "agent":
        raise Invalid("only agents write internal notes")
    if c.kind is InteractionKind.AGENT_REPLY and c.author_type != "agent":
        raise Invalid("an agent reply needs an agent author")
    if c.kind is InteractionKind.PHONE_CALL and c.call_direction is None:
        raise Invalid("a phone call needs its direction")
    public = c.kind in PUBLIC_KINDS if c.public is None else c.public and c.kind is not InteractionKind.INTERNAL_NOTE
    events: list[EventPayload] = [
        InteractionRecorded(
            ticket_id=ticket.ticket_id,
            interaction_id=c.interaction_id,
            kind=c.kind,
            channel=c.channel,
            public=public,
            author_type=c.author_type,
            author_id=c.author_id,
            body_text=c.body_text,
            body_html=c.body_html,
            language=c.language,
            external_id=c.external_id,
            call_direction=c.call_direction,
            call_duration_seconds=c.call_duration_seconds,
            attachments=c.attachments,
            occurred_at=now,
        )
    ]
    from_customer = c.author_type == "customer"
    if from_customer and ticket.status is TicketStatus.SOLVED:
        events.append(
            TicketReopened(
                ticket_id=ticket.ticket_id,
                reopened_by=Actor.CUSTOMER,
                reason="the customer wrote again",
                reopened_at=now,
            )
        )
        events.append(_status(ticket, TicketStatus.OPEN, Actor.CUSTOMER, c.author_id, "customer replied", now))
    elif from_customer and ticket.status in (TicketStatus.PENDING, TicketStatus.ON_HOLD):
        events.append(_status(ticket, TicketStatus.OPEN, Actor.CUSTOMER, c.author_id, "customer replied", now))
    elif c.author_type == "agent" and public and ticket.status is TicketStatus.NEW:
        events.append(_status(ticket, TicketStatus.OPEN, Actor.AGENT, c.author_id, "first agent reply", now))
    return events


def _update(ticket: Ticket, c: UpdateTicket, now: datetime) -> list[EventPayload]:
    if ticket.status is TicketStatus.CLOSED:
        raise Rejected(f"ticket {ticket.reference} is closed and can no longer change")
    priority = c.priority if c.priority is not None and c.priority != ticket.priority else None
    category = c.category if c.category is not None and c.category != ticket.category else None
    tags = _clean_tags(c.tags) if c.tags is not None else None
    tags = tags if tags is not None and tags != ticket.tags else None
    fields: dict[str, str | int | float | bool | None] | None = None
    if c.custom_fields is not None:
        fields = {k: v for k, v in c.custom_fields.items() if not _same(ticket.custom_fields.get(k, _MISSING), v)}
        fields = {k: v for k, v in fields.items() if not (v is None and k not in ticket.custom_fields)} or None
    if priority is None and category is None and tags is None and fields is None:
        return []
    return [
        TicketUpdated(
            ticket_id=ticket.ticket_id,
            priority=priority,
            category=category,
            tags=tags,
            custom_fields=fields,
            changed_by=c.actor,
            changed_by_id=c.actor_id,
            updated_at=now,
        )
    ]


def _change_status(ticket: Ticket, c: ChangeStatus, now: datetime) -> list[EventPayload]:
    if c.to_status is ticket.status:
        return []
    if ticket.status is TicketStatus.SOLVED and c.to_status is TicketStatus.OPEN:
        return [
            TicketReopened(ticket_id=ticket.ticket_id, reopened_by=c.actor, reason=c.reason, reopened_at=now),
            _status(ticket, TicketStatus.OPEN, c.actor, c.actor_id, c.reason, now),
        ]
    if c.to_status not in TRANSITIONS[ticket.status]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[ticket.status])) or "none (closed is final)"
        hint = "; reopen it by setting 'open'" if ticket.status is TicketStatus.SOLVED else ""
        raise Rejected(f"a {ticket.status.value} ticket cannot become {c.to_status.value}; allowed: {allowed}{hint}")
    return [_status(ticket, c.to_status, c.actor, c.actor_id, c.reason, now)]


def _merge(ticket: Ticket, c: MergeInto, now: datetime) -> list[EventPayload]:
    if c.target_id == ticket.ticket_id:
        raise Invalid("a ticket cannot be merged into itself")
    if ticket.status is TicketStatus.CLOSED:
        raise Rejected(f"ticket {ticket.reference} is closed and cannot be merged")
    return [
        TicketMerged(ticket_id=ticket.ticket_id, into_ticket_id=c.target_id, merged_by_id=c.actor_id, merged_at=now)
    ]


def check_merge_target(target: Ticket) -> None:
    """The surviving ticket must exist and accept writes."""
    if not target.exists:
        raise NotFound(f"no ticket {target.ticket_id} to merge into")
    if target.merged_into is not None:
        raise Rejected(f"ticket {target.reference} was itself merged into {target.merged_into}")
    if target.status is TicketStatus.CLOSED:
        raise Rejected(f"ticket {target.reference} is closed and cannot receive a merge")


def _status(
    ticket: Ticket, to: TicketStatus, actor: Actor, actor_id: str | None, reason: str | None, now: datetime
) -> TicketStatusChanged:
    # After a reopen the ticket is solved -> open; the event says where it really came from.
    source = TicketStatus.SOLVED if ticket.status is TicketStatus.SOLVED else ticket.status
    return TicketStatusChanged(
        ticket_id=ticket.ticket_id,
        from_status=source,
        to_status=to,
        changed_by=actor,
        changed_by_id=actor_id,
        reason=reason,
        changed_at=now,
    )


def _clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({t.strip().lower() for t in tags if t.strip()}))


_MISSING = object()


def _same(old: object, new: object) -> bool:
    """Equal and of the same type: in Python 1 == True, but a field that became a yes/no did change."""
    return type(old) is type(new) and old == new


# --- evolve ---------------------------------------------------------------------------------------------------


def evolve(ticket: Ticket, event: EventPayload) -> Ticket:
    """The ticket after one more of its events."""
    ticket = replace(ticket, version=ticket.version + 1)
    match event:
        case TicketOpened():
            return replace(
                ticket,
                reference=event.reference,
                subject=event.subject,
                channel=event.channel,
                status=event.status,
                priority=event.priority,
                category=event.category,
                tags=tuple(event.tags),
                custom_fields=dict(event.custom_fields),
                customer_id=event.requester.customer_id,
                account_id=event.requester.account_id,
                language=event.language,
                opened_at=event.opened_at,
                last_activity_at=event.opened_at,
            )
        case InteractionRecorded():
            external = ticket.external_ids | {event.external_id} if event.external_id else ticket.external_ids
            return replace(
                ticket,
                interaction_count=ticket.interaction_count + 1,
                external_ids=external,
                last_activity_at=event.occurred_at,
            )
        case TicketUpdated():
            fields = dict(ticket.custom_fields)
            for key, value in (event.custom_fields or {}).items():
                if value is None:
                    fields.pop(key, None)
                else:
                    fields[key] = value
            return replace(
                ticket,
                priority=event.priority or ticket.priority,
                category=event.category if event.category is not None else ticket.category,
                tags=tuple(event.tags) if event.tags is not None else ticket.tags,
                custom_fields=fields,
            )
        case TicketStatusChanged():
            return replace(ticket, status=event.to_status)
        case TicketReopened():
            return ticket
        case TicketMerged():
            return replace(ticket, merged_into=event.into_ticket_id)
    return ticket


def fold(ticket_id: str, events: Iterable[EventPayload], start: Ticket | None = None) -> Ticket:
    """A ticket's state from its history (or from `start` plus the events after it)."""
    return reduce(evolve, events, start or Ticket(ticket_id=ticket_id))


__all__ = [
    "ChangeStatus",
    "Command",
    "CustomFields",
    "MergeInto",
    "OpenTicket",
    "RecordInteraction",
    "Ticket",
    "UpdateTicket",
    "check_merge_target",
    "decide",
    "evolve",
    "fold",
]
