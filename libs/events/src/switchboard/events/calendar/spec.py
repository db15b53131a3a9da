"""A business calendar as data: what SLA stores for `PUT /v1/sla/calendars/{id}` and what events carry.

An SLA clock's deadline is only meaningful with the calendar it was counted on, and a calendar may be edited
after the clock started; so `SlaClockStarted` carries the calendar itself, not just its id, and a consumer
(reporting's business minutes) rebuilds exactly that calendar with `calendar_of`, then counts with the same
arithmetic SLA uses. The text format of each field is described in `parse.py`.

Only the shape is checked here: a spec that does not describe a usable calendar is refused by `calendar_of`
(`CalendarError`), not when an event is decoded, so that a consumer never dead-letters an event over a
calendar rule it does not know yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CalendarSpec(BaseModel):
    """One calendar by id, in the stored format (weekday keys, shift and holiday strings), frozen."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1, description="Calendar id, as SLA's calendar API names it.")
    time_zone: str = Field(min_length=1, max_length=64, description="IANA time zone of the hours, e.g. 'Europe/Kyiv'.")
    weekly: Mapping[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description=(
            "Working hours per weekday key ('mon', a range 'mon-fri', or 'daily'), as shifts '09:00-18:00',"
            " '22:00-06:00+1' (ends the next day) or '18:00-24:00' (until midnight), in local time."
        ),
    )
    holidays: tuple[str, ...] = Field(
        default=(),
        description=(
            "Closed local dates: '2025-12-25', a range '2025-12-25..2026-01-01', or every year 'yearly 01-01' /"
            " 'yearly 12-24..12-26'. A holiday removes exactly its own local date."
        ),
    )
    overrides: Mapping[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Shifts replacing one local date's weekly hours, by ISO date; an empty list closes that day.",
    )

    def as_document(self) -> dict[str, Any]:
        """The calendar as SLA stores it (without the id, which is the document's key)."""
        return {
            "time_zone": self.time_zone,
            "weekly": {day: list(shifts) for day, shifts in self.weekly.items()},
            "holidays": list(self.holidays),
            "overrides": {day: list(shifts) for day, shifts in self.overrides.items()},
        }

    @classmethod
    def of(cls, calendar_id: str, document: Mapping[str, Any]) -> CalendarSpec:
        """The spec of a stored calendar document that parsed (YAML may have given dates where JSON has text)."""

        def shifts(by_day: Any) -> dict[str, tuple[str, ...]]:
            return {str(day): tuple(str(shift) for shift in listed) for day, listed in dict(by_day or {}).items()}

        return cls(
            id=calendar_id,
            time_zone=str(document.get("time_zone", "")),
            weekly=shifts(document.get("weekly")),
            holidays=tuple(str(holiday) for holiday in document.get("holidays") or ()),
            overrides=shifts(document.get("overrides")),
        )
