"""SLA's use cases with no servers: the service's own wiring (`Sla.over`) on the runtime's in-memory database.

What comes out is read as a subscriber of `support.sla` would see it: the events stored in the ticket's history
(what the relay publishes) and the commits handed to this process's relay.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect
from switchboard.events import Envelope, EventPayload
from switchboard.events.common import Actor, Channel, Priority
from switchboard.events.interactions import InteractionKind, InteractionRecorded
from switchboard.events.sla import SlaBreached, SlaClockStarted, SlaMet, SlaWarning
from switchboard.events.tickets import TicketUpdated
from switchboard.runtime.decider import Loaded
from switchboard.runtime.testing import RecordingRelay, memory_database, memory_of
from switchboard.sla.app import Sla
from switchboard.sla.clocks import ClockLedger
from switchboard.sla.domain.clock import TicketClocks
from switchboard.sla.store import SlaStore, bucket

from tests.factories import ticket_opened

pytestmark = pytest.mark.unit

Document = dict[str, Any]
T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
TICKET = "T-1"
MINUTE = timedelta(minutes=1)
STANDARD = {"id": "standard", "calendar": "default", "targets": {"first_response": 120, "resolution": 4320}}
URGENT = {"id": "urgent", "calendar": "default", "when": {"priority": ["urgent"]}, "targets": {"first_response": 60}}


class Clock:
    """The wall clock, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def instance(
    db: AsyncDatabase[Document], clock: Clock, *, policies: list[Document] | None = None
) -> tuple[Sla, RecordingRelay]:
    """One SLA process over `db`, started as the service starts (fresh caches: a restart is a new instance)."""
    relay = RecordingRelay()
    sla = Sla.over(SlaStore(db, namespace="t"), relay=relay, clock=clock)
    await sla.store.setup()
    await sla.config.setup()
    if policies is not None:
        await sla.commands.handle_put_policies(policies)
    return sla, relay


async def published(db: AsyncDatabase[Document], ticket: str = TICKET) -> list[EventPayload]:
    """The ticket's SLA events as stored for the relay, read afresh (no process's cache)."""
    stream = await SlaStore(db, namespace="t").events.read(ticket)
    ids = [e.id for e in stream.events]
    assert len(set(ids)) == len(ids), "an event was stored twice"
    return stream.payloads


def delivered(payload: EventPayload, at: datetime) -> Envelope:
    """An event as the consumer receives it, stamped when it was published."""
    return Envelope.new(payload, source="/switchboard/intake", subject=TICKET, time=at)


def opened(at: datetime = T0, priority: Priority = Priority.NORMAL) -> Envelope:
    return delivered(ticket_opened(TICKET, at, priority=priority), at)


def reprioritised(priority: Priority, at: datetime) -> Envelope:
    return delivered(TicketUpdated(ticket_id=TICKET, priority=priority, changed_by=Actor.AGENT, updated_at=at), at)


def message(author: str, at: datetime, number: int) -> Envelope:
    kind = InteractionKind.AGENT_REPLY if author == "agent" else InteractionKind.CUSTOMER_MESSAGE
    interaction = InteractionRecorded(
        ticket_id=TICKET,
        interaction_id=f"i-{number}",
        kind=kind,
        channel=Channel.EMAIL,
        public=True,
        author_type="agent" if author == "agent" else "customer",
        occurred_at=at,
    )
    return delivered(interaction, at)


def starts(events: list[EventPayload]) -> list[tuple[str, str, int, datetime]]:
    return [
        (str(e.target), e.policy_id, e.target_minutes, e.deadline) for e in events if isinstance(e, SlaClockStarted)
    ]


async def view(sla: Sla) -> dict[str, Document]:
    return {t["target"]: t for t in (await sla.commands.ticket(TICKET))["targets"]}


# --- the priority-change re-announcement ---------------------------------------------------------------------------


async def test_a_priority_change_announces_each_running_clock_with_its_new_target_and_deadline() -> None:
    db, clock = memory_database(), Clock(T0 + 10 * MINUTE)
    sla, relay = await instance(db, clock, policies=[URGENT, STANDARD])
    await sla.subscribers.on_events([opened()])  # normal priority: first response in 120 minutes
    raised = reprioritised(Priority.URGENT, T0 + 5 * MINUTE)
    await sla.subscribers.on_events([raised])
    await sla.subscribers.on_events([raised])  # a redelivery is the same input: nothing new

    assert starts(await published(db)) == [
        ("first_response", "standard", 120, T0 + 120 * MINUTE),
        ("resolution", "standard", 4320, T0 + 4320 * MINUTE),
        ("first_response", "urgent", 60, T0 + 60 * MINUTE),  # the new deadline, counted from the same start
    ]
    assert starts(relay.events) == starts(await published(db))
    assert (await view(sla))["first_response"]["deadline"] == (T0 + 60 * MINUTE).isoformat()
    assert TICKET in await sla.store.due_in(bucket(T0 + 45 * MINUTE))  # the timer is armed for the new warning


# --- replay: a restarted instance ----------------------------------------------------------------------------------


async def test_a_restarted_instance_continues_the_clocks_and_emits_nothing_twice() -> None:
    db, clock = memory_database(), Clock(T0 + 46 * MINUTE)
    policy = {"id": "standard", "calendar": "default", "targets": {"first_response": 60, "resolution": 480}}
    first, _ = await instance(db, clock, policies=[policy])
    batch = [opened(), message("customer", T0 + 2 * MINUTE, 1)]
    await first.subscribers.on_events(batch)
    await first.clocks.tick(TICKET, T0 + 46 * MINUTE)  # the 75% warning
    before = await published(db)

    clock.now = T0 + 61 * MINUTE
    second, relay = await instance(db, clock)  # the process restarted: no offsets committed since the batch
    await second.subscribers.on_events(batch)
    await second.clocks.tick(TICKET, T0 + 46 * MINUTE)  # and its timer fired again
    assert relay.commits == [] and await published(db) == before
    await second.clocks.tick(TICKET, T0 + 61 * MINUTE)

    kinds = [(type(e).__name__, str(getattr(e, "target", ""))) for e in await published(db)]
    assert kinds == [
        ("SlaClockStarted", "first_response"),
        ("SlaClockStarted", "resolution"),
        ("SlaWarning", "first_response"),
        ("SlaWarning", "first_response"),
        ("SlaBreached", "first_response"),
    ]
    assert [type(e) for e in relay.events] == [SlaWarning, SlaBreached]  # only what the restart decided
    breach = (await published(db))[-1]
    assert isinstance(breach, SlaBreached) and breach.breached_at == T0 + 60 * MINUTE  # the true time
    shown = await view(second)
    assert shown["first_response"]["state"] == "breached" and shown["resolution"]["state"] == "running"


# --- a conflict: another process saved the clocks between load and append ----------------------------------------


class RacedLedger(ClockLedger):
    """The clocks ledger of a process that another process overtakes once, right after its first load."""

    def __init__(self, ledger: ClockLedger, overtake: Callable[[], Awaitable[None]]) -> None:
        super().__init__(ledger.store, relay=ledger.relay, clock=ledger.clock)
        self._overtake: Callable[[], Awaitable[None]] | None = overtake
        self.loads = 0

    async def load(self, subject: str, *, fresh: bool) -> Loaded[TicketClocks | None]:
        loaded = await super().load(subject, fresh=fresh)
        self.loads += 1
        if self._overtake is not None:
            overtake, self._overtake = self._overtake, None
            await overtake()
        return loaded


async def test_a_conflict_is_decided_again_on_the_clocks_another_process_saved() -> None:
    db, clock = memory_database(), Clock(T0 + 30 * MINUTE)
    standard = {"id": "standard", "calendar": "default", "targets": {"first_response": 60, "next_response": 240}}
    urgent = {
        "id": "urgent",
        "calendar": "default",
        "when": {"priority": ["urgent"]},
        "targets": {"next_response": 120},
    }
    ours, _ = await instance(db, clock, policies=[urgent, standard])
    theirs, _ = await instance(db, clock)
    await ours.subscribers.on_events([opened(), message("agent", T0 + 10 * MINUTE, 1)])  # first response met

    async def customer_writes() -> None:  # decided and saved by the other process meanwhile
        await theirs.subscribers.on_events([message("customer", T0 + 15 * MINUTE, 2)])  # a reply is owed

    raced = RacedLedger(ours.clocks.ledger, customer_writes)
    ours.clocks.ledger = raced
    await ours.subscribers.on_events([reprioritised(Priority.URGENT, T0 + 20 * MINUTE)])

    assert raced.loads == 2  # the save collided, so the clocks were loaded again and the input decided again
    events = await published(db)
    assert starts(events) == [
        ("first_response", "standard", 60, T0 + 60 * MINUTE),
        ("next_response", "standard", 240, T0 + 255 * MINUTE),  # the other process's
        ("next_response", "urgent", 120, T0 + 135 * MINUTE),  # ours, decided on their clocks
    ]
    assert [type(e) for e in events].count(SlaMet) == 1
    shown = await view(ours)
    assert shown["next_response"]["target_minutes"] == 120
    assert shown["next_response"]["deadline"] == (T0 + 135 * MINUTE).isoformat()
    assert TICKET in await ours.store.due_in(bucket(T0 + 105 * MINUTE))  # the new clock's first warning is armed


# --- idempotent retry: the same input twice ------------------------------------------------------------------------


async def test_the_same_input_delivered_twice_changes_the_clocks_once_and_emits_each_event_once() -> None:
    db, clock = memory_database(), Clock(T0 + 10 * MINUTE)
    sla, relay = await instance(db, clock, policies=[URGENT, STANDARD])
    inputs = [opened(), reprioritised(Priority.URGENT, T0 + 5 * MINUTE)]
    await sla.subscribers.on_events([*inputs, *inputs])  # a batch with each event twice
    stored = await published(db)
    clocks = await sla.store.clocks(TICKET)

    writes = memory_of(db).writes
    await sla.subscribers.on_events(inputs)  # once more, in a later batch
    assert memory_of(db).writes == writes  # nothing written
    restarted, _ = await instance(db, clock)
    writes = memory_of(db).writes
    await restarted.subscribers.on_events(inputs)  # and after a restart
    assert memory_of(db).writes == writes

    assert await published(db) == stored and len(stored) == 3  # two starts and the re-announcement
    assert relay.events == stored
    assert await sla.store.clocks(TICKET) == clocks and clocks is not None and clocks["version"] == 2


# --- the order of a decision's writes ------------------------------------------------------------------------------


def commands_run(db: AsyncDatabase[Document]) -> Counter[str]:
    return Counter(
        {f"{name}.{command}": n for name, c in memory_of(db).collections.items() for command, n in c.commands.items()}
    )


async def test_a_breach_is_one_read_and_four_writes_and_published_once_though_saving_the_clocks_failed() -> None:
    db, clock = memory_database(), Clock(T0 + 61 * MINUTE)
    policy = {"id": "standard", "calendar": "default", "targets": {"first_response": 60, "resolution": 480}}
    sla, relay = await instance(db, clock, policies=[policy])
    await sla.subscribers.on_events([opened()])
    await sla.clocks.tick(TICKET, T0 + 59 * MINUTE)  # both warnings
    before, handed = commands_run(db), len(relay.events)

    memory_of(db)["clocks"].fail_next_writes(1)  # the connection drops as the clocks are saved
    with pytest.raises(AutoReconnect):
        await sla.clocks.tick(TICKET, T0 + 61 * MINUTE)
    # The breach's store round trips (the latency of a breach was tuned on them): the clocks read, the event's
    # marker and commit, the resolution's timer, the clocks saved.
    assert commands_run(db) - before == Counter(
        {
            "clocks.find_one": 1,
            "outbox_pending.bulk_write": 1,
            "commits.bulk_write": 1,
            "timers.insert_many": 1,
            "clocks.update_one": 1,
        }
    )
    # Events first: the breach is stored and on its way out; the timer next: the resolution's warning is armed.
    assert [type(e) for e in relay.events[handed:]] == [SlaBreached]
    assert TICKET in await sla.store.due_in(bucket(T0 + 360 * MINUTE))
    assert (await sla.store.clocks(TICKET) or {})["version"] == 2  # the clocks as before the tick

    await sla.clocks.tick(TICKET, T0 + 61 * MINUTE)  # the timer fires again (or the consumer retries)
    assert len(relay.events) == handed + 1  # nothing new to publish
    assert [type(e) for e in await published(db)].count(SlaBreached) == 1
    assert (await view(sla))["first_response"]["state"] == "breached"
    assert (await sla.store.clocks(TICKET) or {})["version"] == 3


# --- the policy set ------------------------------------------------------------------------------------------------


async def test_policy_versions_move_only_for_changed_policies_and_one_of_two_concurrent_admins_wins() -> None:
    db, clock = memory_database(), Clock(T0)
    sla, _ = await instance(db, clock)
    first = await sla.commands.handle_put_policies([URGENT, STANDARD])
    assert [(p["id"], p["version"]) for p in first["policies"]] == [("urgent", 1), ("standard", 2)]  # 1: default
    faster = {**URGENT, "targets": {"first_response": 30}}
    again = await sla.commands.handle_put_policies([faster, STANDARD])
    assert [(p["id"], p["version"]) for p in again["policies"]] == [("urgent", 2), ("standard", 2)]

    other, _ = await instance(db, clock)  # another admin, on another replica, at the same moment
    outcomes = await asyncio.gather(
        sla.commands.handle_put_policies([STANDARD]),
        other.commands.handle_put_policies([URGENT, STANDARD]),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["ConcurrencyConflict", "dict"]
    [won] = [o for o in outcomes if isinstance(o, dict)]
    assert await sla.commands.policies() == won and won["version"] == again["version"] + 1
