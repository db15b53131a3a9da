"""Event fixtures for reporting's folds: one ticket's life across every topic, as the services emit it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard.events import Envelope
from switchboard.events._model import EventPayload
from switchboard.events.common import Actor, Channel, Presence, Priority, SlaTarget, SurveyKind, TicketStatus, Tier
from switchboard.events.feedback import QaReviewSubmitted, SurveyAnswered
from switchboard.events.interactions import InteractionKind, InteractionRecorded
from switchboard.events.routing import AgentPresenceChanged, TicketAssigned, TicketRouted
from switchboard.events.sla import SlaBreached, SlaClockStarted, SlaMet, SlaWarning
from switchboard.events.tickets import TicketReopened, TicketStatusChanged, TicketUpdated
from switchboard.events.topics import topic_of
from switchboard.reporting.engine import Position

from tests.factories import ticket_opened

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def wrap(data: EventPayload, subject: str, when: datetime, sequence: int | None = None) -> Envelope:
    return Envelope.new(data, source="/test", subject=subject, sequence=sequence, time=when, event_id=str(uuid.uuid4()))


def status(ticket: str, frm: TicketStatus, to: TicketStatus, minutes: float, seq: int) -> Envelope:
    return wrap(
        TicketStatusChanged(
            ticket_id=ticket, from_status=frm, to_status=to, changed_by=Actor.AGENT, changed_at=at(minutes)
        ),
        ticket,
        at(minutes),
        seq,
    )


def message(
    ticket: str,
    minutes: float,
    *,
    author: str = "agent",
    public: bool = True,
    who: str = "ayla",
    kind: InteractionKind = InteractionKind.AGENT_REPLY,
) -> Envelope:
    return wrap(
        InteractionRecorded(
            ticket_id=ticket,
            interaction_id=str(uuid.uuid4()),
            kind=kind,
            channel=Channel.EMAIL,
            public=public,
            author_type=author,
            author_id=who,
            body_text="secret body",
            occurred_at=at(minutes),
        ),
        ticket,
        at(minutes),
    )


def life(ticket: str = "t-1", *, agent: str = "ayla", tags: tuple[str, ...] = ()) -> list[Envelope]:
    """Opened, routed, assigned, a note, a customer message, a reply, pending, solved, reopened, solved again,
    SLA first response met and resolution breached, a CSAT answer revised once and a QA review."""
    opened = ticket_opened(ticket, at(0), language="tr", customer_id="c-9")
    if tags:
        opened = opened.model_copy(update={"tags": tags})
    clock = {"ticket_id": ticket, "policy_id": "standard", "policy_version": 1}
    return [
        wrap(opened, ticket, at(0), 1),
        wrap(
            TicketRouted(ticket_id=ticket, queue_id="billing", priority=Priority.HIGH, routed_at=at(1)), ticket, at(1)
        ),
        wrap(
            TicketAssigned(
                ticket_id=ticket,
                agent_id=agent,
                queue_id="billing",
                channel=Channel.EMAIL,
                strategy="least_loaded",
                assigned_at=at(2),
            ),
            ticket,
            at(2),
        ),
        wrap(
            SlaClockStarted(
                **clock,
                target=SlaTarget.FIRST_RESPONSE,
                target_minutes=60,
                business_time=False,
                started_at=at(0),
                deadline=at(60),
            ),
            ticket,
            at(0),
        ),
        wrap(
            SlaClockStarted(
                **clock,
                target=SlaTarget.RESOLUTION,
                target_minutes=240,
                business_time=False,
                started_at=at(0),
                deadline=at(240),
            ),
            ticket,
            at(0),
        ),
        message(ticket, 5, public=False, kind=InteractionKind.INTERNAL_NOTE),
        message(ticket, 6, author="system", who="autoresponder"),
        status(ticket, TicketStatus.NEW, TicketStatus.OPEN, 3, 2),
        message(ticket, 20, who=agent),
        wrap(SlaMet(**clock, target=SlaTarget.FIRST_RESPONSE, met_at=at(20), used_minutes=20), ticket, at(20)),
        status(ticket, TicketStatus.OPEN, TicketStatus.PENDING, 21, 3),
        message(ticket, 30, author="customer", who="c-9", kind=InteractionKind.CUSTOMER_MESSAGE),
        status(ticket, TicketStatus.PENDING, TicketStatus.SOLVED, 40, 4),
        wrap(TicketReopened(ticket_id=ticket, reopened_by=Actor.CUSTOMER, reopened_at=at(50)), ticket, at(50), 5),
        status(ticket, TicketStatus.SOLVED, TicketStatus.OPEN, 50, 6),
        wrap(
            SlaWarning(**clock, target=SlaTarget.RESOLUTION, fraction=0.75, deadline=at(240), warned_at=at(180)),
            ticket,
            at(180),
        ),
        wrap(SlaBreached(**clock, target=SlaTarget.RESOLUTION, deadline=at(240), breached_at=at(240)), ticket, at(240)),
        wrap(
            TicketUpdated(ticket_id=ticket, tags=("refund",), changed_by=Actor.AGENT, updated_at=at(245)),
            ticket,
            at(245),
            7,
        ),
        message(ticket, 250, who=agent),
        status(ticket, TicketStatus.OPEN, TicketStatus.SOLVED, 260, 8),
        wrap(
            SurveyAnswered(
                ticket_id=ticket,
                survey_id="s-1",
                kind=SurveyKind.CSAT,
                score=2,
                agent_id=agent,
                comment="slow",
                answered_at=at(300),
            ),
            ticket,
            at(300),
        ),
        wrap(
            SurveyAnswered(
                ticket_id=ticket, survey_id="s-1", kind=SurveyKind.CSAT, score=4, agent_id=agent, answered_at=at(310)
            ),
            ticket,
            at(310),
        ),
        wrap(
            QaReviewSubmitted(
                ticket_id=ticket,
                review_id="r-1",
                agent_id=agent,
                reviewer_id="q",
                scorecard_id="sc",
                scores={"tone": 4, "accuracy": 3},
                total_percent=70.0,
                submitted_at=at(400),
            ),
            ticket,
            at(400),
        ),
    ]


def positioned(events: Sequence[Envelope]) -> list[tuple[Position, Envelope | None]]:
    """Events as the feed hands them to the engine: each at the next offset of partition 0 of its topic."""
    offsets: dict[str, int] = {}
    out: list[tuple[Position, Envelope | None]] = []
    for event in events:
        topic = topic_of(event.data).name
        out.append((Position(topic, 0, offsets.get(topic, 0)), event))
        offsets[topic] = offsets.get(topic, 0) + 1
    return out


def calendar_minutes(_: Any, a: datetime, b: datetime) -> float:
    """Business minutes on a 24/7 calendar, for folds whose fixtures carry no calendar."""
    return (b - a).total_seconds() / 60


def presence(agent: str, to: Presence, minutes: float) -> Envelope:
    return wrap(AgentPresenceChanged(agent_id=agent, presence=to, changed_at=at(minutes)), agent, at(minutes))


__all__ = ["Tier", "at", "life", "presence", "wrap"]
