"""SLA's reactions: every ticket event and every timer moves that ticket's clocks, once.

A decision is the pure `decide`; around it: read the ticket's clocks, store the events it emitted (ids
derived from what they are about, so any process deciding the same thing emits the same event), then
write the new clocks under optimistic concurrency and set the timer for the next moment that matters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import TypeAdapter
from switchboard.events import Envelope, EventPayload, reaction_id
from switchboard.events.customers import AccountUpserted
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.routing import TicketRouted
from switchboard.events.tickets import TicketMerged, TicketOpened, TicketReopened, TicketStatusChanged, TicketUpdated
from switchboard.runtime.locks import KeyedLocks
from switchboard.runtime.outbox import OutboxRelay

from .domain.calendar import BusinessCalendar
from .domain.clock import SlaInput, Tick, TicketClocks, decide, next_due, reapply
from .domain.config import calendar_from_dict, policy_from_dict
from .domain.policy import AccountFacts, Policy
from .store import SlaStore, StaleClocks

log = structlog.get_logger(__name__)
STATE = TypeAdapter(TicketClocks)
LATE_TIMER_GRACE = timedelta(seconds=5)
INPUTS = (
    TicketOpened,
    TicketUpdated,
    TicketStatusChanged,
    TicketReopened,
    TicketMerged,
    TicketRouted,
    InteractionRecorded,
)


class Configuration:
    """Policies and calendars in force, re-read when changed (at most every two seconds)."""

    def __init__(self, store: SlaStore) -> None:
        self._store = store
        self.version = -1
        self.policies: list[Policy] = []
        self.calendars: dict[str, BusinessCalendar] = {}
        self._checked = 0.0

    async def current(self) -> tuple[list[Policy], dict[str, BusinessCalendar]]:
        if time.monotonic() - self._checked > 2.0:
            await self.reload()
        return self.policies, self.calendars

    async def reload(self) -> None:
        self._checked = time.monotonic()
        version, policies = await self._store.policy_set()
        specs = await self._store.calendar_specs()
        self.calendars = {cid: calendar_from_dict(spec) for cid, spec in specs.items()}
        if version != self.version:
            self.policies = [policy_from_dict(p) for p in policies]
            self.version = version


class Sla:
    """The use cases behind SLA's consumer and scheduler."""

    def __init__(self, *, store: SlaStore, relay: OutboxRelay, config: Configuration) -> None:
        self.store = store
        self.relay = relay
        self.config = config
        self._locks = KeyedLocks()

    async def on_events(self, batch: Sequence[Envelope]) -> None:
        by_subject: dict[str, list[Envelope]] = {}
        for envelope in batch:
            by_subject.setdefault(envelope.subject, []).append(envelope)

        async def in_order(envelopes: list[Envelope]) -> None:
            for envelope in envelopes:
                await self.on_event(envelope)

        await asyncio.gather(*(in_order(group) for group in by_subject.values()))

    async def on_event(self, envelope: Envelope) -> None:
        data = envelope.data
        if isinstance(data, AccountUpserted):
            await self.store.remember_account(data.account_id, tier=data.tier, key_account=data.key_account)
        elif isinstance(data, INPUTS):
            await self.handle(str(data.ticket_id), data, event_id=envelope.id, now=envelope.time)

    async def reapply(self, ticket_id: str, now: datetime) -> bool:
        """An admin puts the ticket under the policies in force now; False when SLA does not know the ticket."""
        return await self.handle(ticket_id, None, event_id=None, now=now)

    async def tick(self, ticket_id: str, at: datetime) -> None:
        await self.handle(ticket_id, Tick(at=at), event_id=None, now=at)

    async def handle(self, ticket_id: str, event: SlaInput | None, *, event_id: str | None, now: datetime) -> bool:
        async with self._locks.hold(ticket_id):
            for _ in range(8):
                try:
                    return await self._handle(ticket_id, event, event_id=event_id, now=now)
                except StaleClocks:
                    continue
            raise RuntimeError(f"ticket {ticket_id}: clocks keep changing under us")

    async def _handle(self, ticket_id: str, event: SlaInput | None, *, event_id: str | None, now: datetime) -> bool:
        doc = await self.store.clocks(ticket_id)
        if event is None and doc is None:
            return False
        version = int(doc["version"]) if doc else 0
        state = STATE.validate_json(doc["state"]) if doc else TicketClocks(ticket_id)
        policies, calendars = await self.config.current()
        account = None
        if isinstance(event, TicketOpened):
            facts = await self.store.account(event.requester.account_id)
            account = (
                AccountFacts(tier=facts.get("tier"), key_account=bool(facts.get("key_account"))) if facts else None
            )
        if event is None:
            after, emitted = reapply(state, now=now, policies=policies, calendars=calendars)
        else:
            after, emitted = decide(
                state, event, now=now, policies=policies, calendars=calendars, account=account, event_id=event_id
            )
        if after == state and not emitted:
            return True
        if emitted:
            await self._record(ticket_id, emitted, now)
        due = next_due(after)
        if due is not None:
            # The timer first: if saving the clocks then fails, the retry schedules it again; a timer left
            # over from a lost race only fires a tick that finds nothing due. Already past (late input,
            # downtime): fire a little later rather than at once, so inputs still queued for this ticket (a
            # reply that would meet the target) are decided before the tick, which stamps true times anyway.
            await self.store.schedule(ticket_id, max(due, datetime.now(UTC) + LATE_TIMER_GRACE))
        await self.store.save_clocks(ticket_id, version=version, state=STATE.dump_json(after).decode(), due=due)
        return True

    async def _record(self, ticket_id: str, emitted: list[EventPayload], now: datetime) -> None:
        """Store emitted events once: their ids say what they are, so a second decision finds them stored."""
        ids = [event_identity(ticket_id, e) for e in emitted]
        commit = await self.store.events.append_once(ticket_id, emitted, ids, now=now)
        if commit is not None:
            self.relay.submit(commit)


def event_identity(ticket_id: str, event: EventPayload) -> str:
    """What makes an SLA event itself: ticket, type, target, fraction and the moment it is about."""
    data: dict[str, Any] = event.model_dump(mode="json")
    moment = next(
        (data[k] for k in ("started_at", "paused_at", "resumed_at", "warned_at", "breached_at", "met_at") if k in data),
        "",
    )
    return reaction_id(ticket_id, f"{data['type']}/{data.get('target')}/{data.get('fraction', '')}/{moment}")


def utcnow() -> datetime:
    return datetime.now(UTC)
