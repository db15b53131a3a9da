"""How a ticket's clocks move: every input, timer tick and re-apply goes through the runtime's `Decider` with the
clocks ledger, which loads the ticket's clocks document and stores a decision.

A ticket's SLA state is not the fold of its own events (it folds other services' events), so it lives in one
document per ticket (`clocks`: the state as JSON text and a version) beside the events it emitted, which go
through the event store and the relay like every service's events. Storing a decision takes three writes, in
this order, each for a reason:

1. the emitted events, once: their ids say what they are about (`event_identity`), so whichever process decides
   the same thing - a redelivered input, another replica's timer - finds them stored. They go first because a
   crash before the clocks are saved then only means the input comes again (its offset was not committed), is
   decided again and finds its events stored; the other order would leave clocks saying a warning went out that
   never did. The commit goes to the relay the moment it is stored, before the two writes that follow, so that
   a breach reaches Kafka while the clocks are still being written (the breach latency was tuned for that);
2. the ticket's timer, at the clocks' next due moment: before the clocks, because clocks saved without their
   timer would never warn nor breach, while a timer left over from a lost race only fires a tick that finds
   nothing due. A moment already past (a late input, downtime) is armed `LATE_TIMER_GRACE` from now instead,
   so inputs still queued for the ticket (a reply that meets the target) are decided before the tick, which
   stamps the true times anyway;
3. the clocks, guarded by the version loaded: `ConcurrencyConflict` when another process saved meanwhile, and
   the Decider loads the clocks again and decides the input again on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from switchboard.events import EventPayload, reaction_id
from switchboard.events.sla import SlaClockStarted
from switchboard.events.tickets import TicketOpened
from switchboard.runtime.decider import Decider, Decision, Loaded, Relay, Request

from .configuration import Configuration
from .domain.clock import LateInput, Tick, TicketClocks, decide, next_due, reapply
from .domain.policy import AccountFacts
from .store import SlaStore

Clock = Callable[[], datetime]
STATE = TypeAdapter(TicketClocks)
LATE_TIMER_GRACE = timedelta(seconds=5)
_MOMENTS = ("started_at", "paused_at", "resumed_at", "warned_at", "breached_at", "met_at")


def wall_clock() -> datetime:
    return datetime.now(UTC)


class UnknownTicket(LookupError):
    """SLA holds no clocks for this ticket."""


class ClockLedger:
    """The Decider's ledger for tickets' clocks: the `clocks` document, the event store and the timers."""

    name = "sla_clocks"

    def __init__(self, store: SlaStore, *, relay: Relay, clock: Clock = wall_clock) -> None:
        self.store = store
        self.relay = relay
        self.clock = clock

    async def load(self, subject: str, *, fresh: bool) -> Loaded[TicketClocks | None]:
        """The ticket's clocks (None before its first input) and their version; always read from the store."""
        doc = await self.store.clocks(subject)
        if doc is None:
            return Loaded(subject, None, position=0)
        return Loaded(subject, STATE.validate_json(doc["state"]), position=int(doc["version"]))

    async def append(
        self, loaded: Loaded[TicketClocks | None], decision: Decision, *, now: datetime, request: Request
    ) -> None:
        """Store the events, arm the timer, save the clocks - in that order, see the module. Returns None: the
        events' commit was handed to the relay as soon as it was stored."""
        after = decision.state
        assert isinstance(after, TicketClocks), "a decision on a ticket's clocks carries the clocks"
        if decision.events:
            assert decision.event_ids is not None, "SLA events carry ids derived from what they are about"
            commit = await self.store.events.append_once(loaded.subject, decision.events, decision.event_ids, now=now)
            if commit is not None:
                self.relay.submit(commit)
        due = next_due(after)
        if due is not None:
            await self.store.schedule(loaded.subject, max(due, self.clock() + LATE_TIMER_GRACE))
        await self.store.save_clocks(
            loaded.subject, version=int(loaded.position), state=STATE.dump_json(after).decode(), due=due
        )
        return None


def moved(before: TicketClocks, after: TicketClocks, emitted: Sequence[EventPayload]) -> Decision:
    """The Decider's decision for one move of a ticket's clocks: nothing to store when nothing changed."""
    if after == before and not emitted:
        return Decision(events=[])
    ids = [event_identity(after.ticket_id, event) for event in emitted]
    return Decision(events=list(emitted), state=after, event_ids=ids)


def event_identity(ticket_id: str, event: EventPayload) -> str:
    """What makes an SLA event itself: ticket, type, target, fraction and the moment it is about - and, for a
    clock's start, what it announces (target, deadline, policy version).

    So any process deciding the same thing emits the same event, stored once, while a clock re-announced with a
    new target after a priority change or a re-apply (same start, new deadline) is a new event.
    """
    data: dict[str, Any] = event.model_dump(mode="json")
    moment = next((data[k] for k in _MOMENTS if k in data), "")
    about = f"{data['type']}/{data.get('target')}/{data.get('fraction', '')}/{moment}"
    if isinstance(event, SlaClockStarted):
        about += (
            f"/{event.policy_id}@{event.policy_version}/{event.target_minutes}"
            f"/{'business' if event.business_time else 'calendar'}/{data['deadline']}"
        )
    return reaction_id(ticket_id, about)


class Clocks:
    """The use cases that move a ticket's clocks: an input from another service, its timer, an admin's re-apply."""

    def __init__(self, *, store: SlaStore, config: Configuration, decider: Decider, ledger: ClockLedger) -> None:
        self.store = store
        self.config = config
        self.decider = decider
        self.ledger = ledger

    async def decide_input(self, event: TicketOpened | LateInput, *, event_id: str | None, at: datetime) -> None:
        """Decide a ticket's event at `at` (the envelope's time); `event_id` makes a redelivery a no-op."""
        ticket_id = str(event.ticket_id)
        policies, calendars = await self.config.current()
        account = await self._account(event.requester.account_id) if isinstance(event, TicketOpened) else None

        def step(state: TicketClocks | None, now: datetime) -> Decision:
            before = state or TicketClocks(ticket_id)
            after, emitted = decide(
                before, event, now=now, policies=policies, calendars=calendars, account=account, event_id=event_id
            )
            return moved(before, after, emitted)

        await self.decider.run(self.ledger, ticket_id, step, now=at)

    async def tick(self, ticket_id: str, at: datetime) -> None:
        """The ticket's timer fired at `at`: emit what fell due by then."""
        policies, calendars = await self.config.current()

        def step(state: TicketClocks | None, now: datetime) -> Decision:
            before = state or TicketClocks(ticket_id)
            after, emitted = decide(before, Tick(at=at), now=now, policies=policies, calendars=calendars)
            return moved(before, after, emitted)

        await self.decider.run(self.ledger, ticket_id, step, now=at)

    async def reapply(self, ticket_id: str) -> None:
        """Put the ticket under the policies in force now; `UnknownTicket` when SLA holds no clocks for it."""
        policies, calendars = await self.config.current()

        def step(state: TicketClocks | None, now: datetime) -> Decision:
            if state is None:
                raise UnknownTicket(f"no SLA clocks for ticket {ticket_id}")
            after, emitted = reapply(state, now=now, policies=policies, calendars=calendars)
            return moved(state, after, emitted)

        await self.decider.run(self.ledger, ticket_id, step)

    async def read(self, ticket_id: str) -> TicketClocks:
        """The ticket's clocks as stored; `UnknownTicket` when there are none."""
        loaded = await self.ledger.load(ticket_id, fresh=True)
        if loaded.state is None:
            raise UnknownTicket(f"no SLA clocks for ticket {ticket_id}")
        return loaded.state

    async def _account(self, account_id: str | None) -> AccountFacts | None:
        facts = await self.store.account(account_id)
        return AccountFacts(tier=facts.get("tier"), key_account=bool(facts.get("key_account"))) if facts else None
