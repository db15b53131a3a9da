"""SLA's use cases behind HTTP: business calendars, the ordered policy set, and a ticket's clocks (read, re-apply).

Each raises what the HTTP answer is made of: `CalendarError` / `PolicyError` (a configuration that cannot be
used), `ConcurrencyConflict` (another admin changed the policy set meanwhile), `UnknownTicket`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from switchboard.events.calendar import CalendarError, calendar_from_dict
from switchboard.runtime.jsonable import jsonable

from .clocks import Clocks, wall_clock
from .configuration import Configuration
from .domain.clock import view
from .domain.config import revise_policy_set
from .store import SlaStore

Document = dict[str, Any]


class Commands:
    """The use cases of SLA's HTTP API, over one store and the service's configuration and clocks."""

    def __init__(
        self, *, store: SlaStore, config: Configuration, clocks: Clocks, clock: Callable[[], datetime] = wall_clock
    ) -> None:
        self.store = store
        self.config = config
        self.clocks = clocks
        self.clock = clock

    async def handle_put_calendar(self, calendar_id: str, spec: Document) -> Document:
        """Create or replace a calendar; `CalendarError` when it cannot be used. In force here at once."""
        try:
            calendar_from_dict(spec)
        except ValueError as exc:  # CalendarError, or a value that cannot be read at all
            raise CalendarError(f"calendar {calendar_id}: {exc}") from None
        await self.store.put_calendar(calendar_id, spec)
        await self.config.reload()
        return {"id": calendar_id, **spec}

    async def calendars(self) -> dict[str, Document]:
        return await self.store.calendar_specs()

    async def handle_put_policies(self, policies: list[Document]) -> Document:
        """Replace the ordered policy set (a changed policy gets its next version); `PolicyError` when one cannot
        be used, `ConcurrencyConflict` when the set changed since it was read. In force here at once."""
        version, current = await self.store.policy_set()
        calendars = await self.store.calendar_specs()
        revised = revise_policy_set(current, policies, set(calendars))
        new_version = await self.store.save_policy_set(version, revised)
        await self.config.reload()
        return {"version": new_version, "policies": revised}

    async def policies(self) -> Document:
        version, policies = await self.store.policy_set()
        return {"version": version, "policies": policies}

    async def ticket(self, ticket_id: str) -> Document:
        """Each target of the ticket as of now: deadline, time used and left, state; `UnknownTicket`."""
        state = await self.clocks.read(ticket_id)
        _policies, calendars = await self.config.current()
        shown: Document = jsonable(view(state, self.clock(), calendars=calendars))
        return shown

    async def handle_reapply(self, ticket_id: str) -> Document:
        """Put a running ticket under the policies in force now, and show it; `UnknownTicket`."""
        await self.clocks.reapply(ticket_id)
        return await self.ticket(ticket_id)
