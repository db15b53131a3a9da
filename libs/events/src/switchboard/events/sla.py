"""Events on `support.sla`: each ticket's SLA clocks, from start to met or breached, keyed by ticket id."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ._model import EventPayload
from .calendar.spec import CalendarSpec
from .common import SlaTarget, TicketId


class _ClockEvent(EventPayload):
    ticket_id: TicketId = Field(description="Ticket the clock belongs to.")
    target: SlaTarget = Field(description="Which promise the clock measures.")
    policy_id: str = Field(description="SLA policy that set the target.")
    policy_version: int = Field(ge=1, description="Version of that policy governing this ticket.")


class SlaClockStarted(_ClockEvent):
    """A clock started (or was re-armed, for next response) with its deadline."""

    type: Literal["support.sla.clock_started.v1"] = Field(
        default="support.sla.clock_started.v1", description="Event type discriminator."
    )
    target_minutes: int = Field(ge=0, description="Target in minutes (business or calendar, see business_time).")
    business_time: bool = Field(description="True when the target counts business hours only.")
    started_at: datetime = Field(description="When the clock started (UTC).")
    deadline: datetime = Field(description="When the target will be breached if nothing happens (UTC).")
    calendar: CalendarSpec | None = Field(
        default=None,
        description=(
            "The business calendar the clock counts on, as it stood when the deadline was set, so that others count"
            " business time on the same hours (`switchboard.events.calendar.calendar_of`). None when the target"
            " counts calendar time."
        ),
    )


class SlaClockPaused(_ClockEvent):
    """A clock stopped counting, e.g. while waiting on the customer."""

    type: Literal["support.sla.clock_paused.v1"] = Field(
        default="support.sla.clock_paused.v1", description="Event type discriminator."
    )
    reason: str = Field(description="Why it paused, e.g. 'status:pending'.")
    paused_at: datetime = Field(description="When it paused (UTC).")


class SlaClockResumed(_ClockEvent):
    """A paused clock counts again, with the time that was left."""

    type: Literal["support.sla.clock_resumed.v1"] = Field(
        default="support.sla.clock_resumed.v1", description="Event type discriminator."
    )
    resumed_at: datetime = Field(description="When it resumed (UTC).")
    deadline: datetime = Field(description="The new deadline (UTC).")
    calendar: CalendarSpec | None = Field(
        default=None,
        description=(
            "The business calendar the new deadline was counted on (it may have been edited since the clock"
            " started). None when the target counts calendar time."
        ),
    )


class SlaWarning(_ClockEvent):
    """A clock passed a warning fraction of its target (e.g. 75%)."""

    type: Literal["support.sla.warning.v1"] = Field(
        default="support.sla.warning.v1", description="Event type discriminator."
    )
    fraction: float = Field(gt=0, lt=1, description="Fraction of the target used, e.g. 0.75.")
    deadline: datetime = Field(description="The deadline being approached (UTC).")
    warned_at: datetime = Field(description="When the fraction was reached (UTC), not when it was noticed.")


class SlaBreached(_ClockEvent):
    """A target was missed."""

    type: Literal["support.sla.breached.v1"] = Field(
        default="support.sla.breached.v1", description="Event type discriminator."
    )
    deadline: datetime = Field(description="The deadline that passed (UTC).")
    breached_at: datetime = Field(description="The true breach time: the deadline, even if noticed later.")


class SlaMet(_ClockEvent):
    """A target was met in time."""

    type: Literal["support.sla.met.v1"] = Field(default="support.sla.met.v1", description="Event type discriminator.")
    met_at: datetime = Field(description="When the target was met (UTC).")
    used_minutes: float = Field(ge=0, description="Minutes of the target used (business or calendar).")
