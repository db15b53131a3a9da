"""The CloudEvents 1.0 envelope every Switchboard event travels in, plus the ids that make reactions idempotent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from ._model import EventPayload

#: Namespace for deterministic reaction ids; fixed forever, since changing it would re-key every reaction.
REACTION_NAMESPACE = uuid.UUID("6f1c8a52-3f0e-4d55-9a57-3d0c8b0e6a10")


def reaction_id(cause_id: str, reaction: str) -> str:
    """Id of the event emitted in reaction to `cause_id`: a retried reaction is the very same event."""
    return str(uuid.uuid5(REACTION_NAMESPACE, f"{cause_id}/{reaction}"))


class Envelope(BaseModel):
    """A CloudEvents 1.0 event with Switchboard's extension attributes.

    `sequence` is the per-subject version where the writer keeps one (intake's ticket events do), so a
    projection can apply each subject's events once and in order. `correlationid` ties everything that
    followed from one outside request together; `causationid` names the event this one reacts to.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = Field(default="1.0", description="CloudEvents specification version.")
    id: str = Field(min_length=1, max_length=64, description="Unique event id (a UUID string).")
    source: str = Field(min_length=1, description="Service that emitted the event, e.g. '/switchboard/intake'.")
    type: str = Field(min_length=1, description="Versioned event type, e.g. 'support.ticket.opened.v1'.")
    subject: str = Field(min_length=1, description="What the event is about: ticket id, agent id, customer id.")
    time: datetime = Field(description="When the event happened (UTC, RFC 3339).")
    datacontenttype: Literal["application/json"] = Field(
        default="application/json", description="Media type of `data`."
    )
    sequence: int | None = Field(default=None, ge=1, description="Per-subject version, where the writer has one.")
    correlationid: str = Field(min_length=1, description="Id shared by everything one outside request caused.")
    causationid: str | None = Field(default=None, description="Id of the event this one reacts to, if any.")
    data: SerializeAsAny[EventPayload] = Field(description="The event payload.")

    @classmethod
    def new(
        cls,
        data: EventPayload,
        *,
        source: str,
        subject: str,
        sequence: int | None = None,
        cause: Envelope | None = None,
        correlationid: str | None = None,
        causationid: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        """Wrap a payload; a reaction to `cause` inherits its correlation id and records it as its cause.

        Without the cause at hand (a decision taken later from an internal input), its ids can be given instead.
        """
        new_id = event_id or str(uuid.uuid4())
        return cls(
            id=new_id,
            source=source,
            type=_type_of(data),
            subject=subject,
            time=time or datetime.now(UTC),
            sequence=sequence,
            correlationid=correlationid or (cause.correlationid if cause else new_id),
            causationid=cause.id if cause else causationid,
            data=data,
        )


def _type_of(data: EventPayload) -> str:
    value: Any = getattr(data, "type", None)
    if not isinstance(value, str):
        raise TypeError(f"{type(data).__name__} has no literal 'type' field; it is not a catalogue event")
    return value
