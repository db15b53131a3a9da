"""The decide-and-append path on its own, over the in-memory store: a replayed request stores nothing, a reused
key is refused, a lost race is decided again on the new history, and a subject that never stops changing is
reported after a bounded number of attempts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError
from switchboard.events import EventPayload
from switchboard.events.common import Actor, TicketStatus
from switchboard.events.tickets import TicketStatusChanged
from switchboard.runtime.conflicts import ConcurrencyConflict, Retry
from switchboard.runtime.decider import Decider, Decision, History, Request, RequestReused
from switchboard.runtime.eventstore import EventStore
from switchboard.runtime.testing import MemoryDatabase, RecordingRelay

from tests.factories import ticket_opened

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
Document = dict[str, Any]


def statuses(ticket_id: str, events: Sequence[EventPayload]) -> list[str]:
    """A tiny fold: the statuses a ticket went through."""
    return [e.to_status.value if isinstance(e, TicketStatusChanged) else "new" for e in events]


def move(ticket_id: str, frm: str, to: TicketStatus) -> TicketStatusChanged:
    return TicketStatusChanged(
        ticket_id=ticket_id,
        from_status=TicketStatus(frm),
        to_status=to,
        changed_by=Actor.AGENT,
        changed_at=NOW,
    )


QUICK = Retry(attempts=4, base_s=0.001)


def setup(db: MemoryDatabase, retry: Retry = QUICK) -> tuple[History[list[str]], Decider, RecordingRelay]:
    events = EventStore(db["commits"].as_pymongo(), db["pending"].as_pymongo(), source="/t", namespace="u")
    relay = RecordingRelay()
    return History(events, statuses, name="ticket"), Decider(relay=relay, clock=lambda: NOW, retry=retry), relay


def open_it(state: list[str], now: datetime) -> Decision:
    return Decision([] if state else [ticket_opened("t-1", NOW)], {"opened": True})


def to_pending(state: list[str], now: datetime) -> Decision:
    return Decision([move("t-1", state[-1], TicketStatus.PENDING)], {"after": [*state, "pending"]})


async def test_a_repeated_request_is_answered_from_the_history_by_a_fresh_process_and_stores_nothing() -> None:
    db = MemoryDatabase()
    history, decider, relay = setup(db)
    request = Request(key="k-1", hash="h-1")
    first = await decider.run(history, "t-1", open_it, request=request)
    assert first.response == {"opened": True} and not first.replayed
    assert [c["_id"] for c in relay.commits] == ["t-1/0000000001"]

    restarted_history, restarted, restarted_relay = setup(db)  # empty caches, same store
    writes = db.writes
    again = await restarted.run(restarted_history, "t-1", open_it, request=request)
    assert again.replayed and again.response == {"opened": True}
    assert db.writes == writes and restarted_relay.commits == []
    with pytest.raises(RequestReused):
        await restarted.run(restarted_history, "t-1", open_it, request=Request(key="k-1", hash="other"))


async def test_a_decision_with_no_events_answers_and_stores_nothing() -> None:
    db = MemoryDatabase()
    history, decider, relay = setup(db)
    await decider.run(history, "t-1", open_it)
    writes = db.writes
    outcome = await decider.run(history, "t-1", open_it)  # already open: the rules decide nothing
    assert outcome.response == {"opened": True} and db.writes == writes and len(relay.commits) == 1


async def test_a_lost_race_is_decided_again_on_the_history_that_won() -> None:
    db = MemoryDatabase()
    here, decider, _ = setup(db)
    there, other, _ = setup(db)  # another replica
    await decider.run(here, "t-1", open_it)
    await here.read("t-1")  # this replica now holds version 1 in memory
    decided_on: list[list[str]] = []

    def solve_after_the_other(state: list[str], now: datetime) -> Decision:
        decided_on.append(list(state))
        return Decision([move("t-1", state[-1], TicketStatus.SOLVED)], {"after": [*state, "solved"]})

    await other.run(there, "t-1", to_pending)  # the other replica writes version 2 meanwhile
    outcome = await decider.run(here, "t-1", solve_after_the_other)
    assert decided_on == [["new"], ["new", "pending"]]  # the stale copy collided; the retry read the store
    assert outcome.response == {"after": ["new", "pending", "solved"]}
    assert (await here.read("t-1"))[0] == ["new", "pending", "solved"]


async def test_a_subject_that_keeps_changing_is_reported_after_the_attempts_run_out() -> None:
    db = MemoryDatabase()
    history, decider, _ = setup(db, Retry(attempts=3, base_s=0.001))
    await decider.run(history, "t-1", open_it)
    db["commits"].fail_next_writes(3, DuplicateKeyError("E11000 duplicate key", 11000))
    tries: list[int] = []

    def count(state: list[str], now: datetime) -> Decision:
        tries.append(len(state))
        return to_pending(state, now)

    with pytest.raises(ConcurrencyConflict, match="ticket t-1 is being changed by others"):
        await decider.run(history, "t-1", count)
    assert len(tries) == 3


async def test_writes_to_one_subject_queue_up_inside_a_process() -> None:
    db = MemoryDatabase()
    history, decider, relay = setup(db, Retry(attempts=1))  # any collision would fail: there must be none
    await decider.run(history, "t-1", open_it)

    def step(to: TicketStatus) -> Any:
        def decide(state: list[str], now: datetime) -> Decision:
            return Decision([move("t-1", state[-1], to)], {})

        return decide

    moves = [TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.OPEN, TicketStatus.SOLVED]
    await asyncio.gather(*(decider.run(history, "t-1", step(to)) for to in moves))
    assert (await history.read("t-1"))[0] == ["new", "open", "pending", "open", "solved"]
    assert len(relay.commits) == 5
