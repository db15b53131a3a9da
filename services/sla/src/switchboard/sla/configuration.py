"""The calendars and policies in force, as every SLA decision reads them: stored defaults, then a short-lived cache.

Every input reads the configuration, so it is kept in memory and re-read at most every two seconds (sooner on
this replica after an admin changed it here); another replica's change is seen within those two seconds.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from switchboard.events.calendar import BusinessCalendar, calendar_from_dict
from switchboard.runtime.conflicts import ConcurrencyConflict

from .domain.config import policy_from_dict
from .domain.policy import Policy
from .store import SlaStore

#: Until an admin stores its own, every ticket gets this: around the clock, 1 h / 4 h / 3 days.
DEFAULT_CALENDAR: dict[str, Any] = {"time_zone": "UTC", "weekly": {"mon-sun": ["00:00-24:00"]}}
DEFAULT_POLICIES: list[dict[str, Any]] = [
    {
        "id": "standard",
        "name": "Standard",
        "calendar": "default",
        "targets": {"first_response": 60, "next_response": 240, "resolution": 4320},
    }
]


class Configuration:
    """Policies (in selection order) and calendars (by id) in force, re-read when older than `max_age_s`."""

    def __init__(self, store: SlaStore, *, max_age_s: float = 2.0) -> None:
        self._store = store
        self._max_age_s = max_age_s
        self.version = -1
        self.policies: list[Policy] = []
        self.calendars: dict[str, BusinessCalendar] = {}
        self._checked = float("-inf")

    async def setup(self) -> None:
        """At start: store the default calendar and policies where none are stored yet, then read what is."""
        if "default" not in await self._store.calendar_specs():
            await self._store.put_calendar("default", DEFAULT_CALENDAR)
        version, _ = await self._store.policy_set()
        if version == 0:
            with contextlib.suppress(ConcurrencyConflict):  # another replica stored them first: just as good
                await self._store.save_policy_set(0, [{**p, "version": 1} for p in DEFAULT_POLICIES])
        await self.reload()

    async def current(self) -> tuple[list[Policy], dict[str, BusinessCalendar]]:
        if time.monotonic() - self._checked > self._max_age_s:
            await self.reload()
        return self.policies, self.calendars

    async def reload(self) -> None:
        self._checked = time.monotonic()
        version, policies = await self._store.policy_set()
        specs = await self._store.calendar_specs()
        self.calendars = {cid: calendar_from_dict(spec, calendar_id=cid) for cid, spec in specs.items()}
        if version != self.version:
            self.policies = [policy_from_dict(p) for p in policies]
            self.version = version
