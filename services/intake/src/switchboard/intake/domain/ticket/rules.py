"""A ticket's rules: which commands are allowed in which state, and what events they produce."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType

from switchboard.events import EventPayload
from switchboard.events.common import Actor, TicketStatus
from switchboard.events.interactions import InteractionKind, InteractionRecorded
from switchboard.events.tickets import (
    Requester,
    TicketMerged,
    TicketOpened,
    TicketReopened,
    TicketStatusChanged,
    TicketUpdated,
)

from ..errors import Invalid, NotFound, Rejected
from .commands import ChangeStatus, Command, MergeInto, OpenTicket, RecordInteraction, UpdateTicket
from .state import Ticket

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
