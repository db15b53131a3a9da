"""The compact record reporting keeps of each event: what the metrics need, never a message body or a contact.

A subject's read model is a pure function of the *set* of its records. Records are kept sorted by
(time, topic rank, sequence, id) and de-duplicated by event id, so any interleaving of the topics and any
redelivery fold to the same state: that is what makes a projection rebuildable and two replicas agree.
"""

from __future__ import annotations

from bisect import insort
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any

from switchboard.events import Envelope
from switchboard.events.customers import AccountUpserted, CustomerUpserted
from switchboard.events.feedback import FollowUpRequested, QaReviewSubmitted, SurveyAnswered, SurveyRequested
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.routing import (
    AgentPresenceChanged,
    AgentRosterChanged,
    TicketAssigned,
    TicketEscalated,
    TicketHandedOff,
    TicketRouted,
    TicketUnassigned,
)
from switchboard.events.sla import SlaBreached, SlaClockPaused, SlaClockResumed, SlaClockStarted, SlaMet, SlaWarning
from switchboard.events.tickets import TicketMerged, TicketOpened, TicketReopened, TicketStatusChanged, TicketUpdated
from switchboard.events.topics import ALL, topic_of

Record = list[Any]
"""[time ISO, topic rank, sequence, event id, kind, data]: a list so that it sorts and stores as JSON."""

TOPIC_RANK = {topic.name: rank for rank, topic in enumerate(ALL)}

#: Fields of a payload that may identify a person or carry what they wrote: never kept by reporting.
_NEVER_KEPT = frozenset({"body_text", "body_html", "comment", "email", "emails", "phones", "social_handles", "name"})


def stamp(value: datetime) -> str:
    """One fixed-width UTC spelling for every time reporting stores, so that strings sort as times do."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def _compact(data: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = _plain(data.model_dump(mode="python", exclude_none=True))
    dumped.pop("type", None)
    for key in _NEVER_KEPT.intersection(dumped):
        dumped.pop(key)
    return dumped


def record_of(envelope: Envelope) -> Record | None:
    """The record an event contributes, or None for events no read model folds."""
    data = envelope.data
    kind = _KINDS.get(type(data))
    if kind is None:
        return None
    fields = _compact(data)
    if isinstance(data, InteractionRecorded):
        fields = {k: fields[k] for k in _INTERACTION_FIELDS if k in fields}
        fields["attachments"] = len(data.attachments)
        fields["has_comment"] = False
    if isinstance(data, SurveyAnswered):
        fields["has_comment"] = bool(data.comment)
    topic = topic_of(data).name
    return [stamp(envelope.time), TOPIC_RANK[topic], envelope.sequence or 0, envelope.id, kind, fields]


def add(records: list[Record], record: Record) -> bool:
    """Insert a record in order unless its event is already there; True when the state changed."""
    event_id = record[3]
    if any(existing[3] == event_id for existing in records):
        return False
    insort(records, record, key=lambda r: (r[0], r[1], r[2], r[3]))
    return True


_INTERACTION_FIELDS = (
    "interaction_id",
    "kind",
    "channel",
    "public",
    "author_type",
    "author_id",
    "language",
    "call_direction",
    "call_duration_seconds",
    "occurred_at",
)

_KINDS: dict[type[Any], str] = {
    TicketOpened: "opened",
    TicketUpdated: "updated",
    TicketStatusChanged: "status",
    TicketReopened: "reopened",
    TicketMerged: "merged",
    InteractionRecorded: "interaction",
    TicketRouted: "routed",
    TicketAssigned: "assigned",
    TicketUnassigned: "unassigned",
    TicketEscalated: "escalated",
    TicketHandedOff: "handed_off",
    AgentPresenceChanged: "presence",
    AgentRosterChanged: "roster",
    SlaClockStarted: "sla_started",
    SlaClockPaused: "sla_paused",
    SlaClockResumed: "sla_resumed",
    SlaWarning: "sla_warning",
    SlaBreached: "sla_breached",
    SlaMet: "sla_met",
    SurveyRequested: "survey_requested",
    SurveyAnswered: "survey_answered",
    QaReviewSubmitted: "qa_review",
    FollowUpRequested: "follow_up",
    CustomerUpserted: "customer",
    AccountUpserted: "account",
}
