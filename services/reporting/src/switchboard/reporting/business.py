"""Business minutes for reporting's durations, by the same calendar arithmetic SLA uses.

The calendar is the one a ticket's business-time SLA clock carried in its `clock started` event
(`SlaClockStarted.calendar`); a ticket without one counts calendar minutes. A calendar that cannot be built
(a rule this version does not know) also falls back to calendar minutes rather than stopping the fold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchboard.events.calendar import CalendarError, CalendarSpec, business_minutes_between, calendar_of


def business_minutes(spec: dict[str, Any] | None, start: datetime, end: datetime) -> float:
    calendar_minutes = (end - start).total_seconds() / 60
    if spec is None:
        return calendar_minutes
    try:
        calendar = calendar_of(CalendarSpec.model_validate(spec))
    except (CalendarError, ValueError):
        return calendar_minutes
    return business_minutes_between(calendar, start, end)
