"""The runtime's own Mongo code - event store, slot lists, group commit - over the in-memory store, with no servers:
what a service's unit test gets when it hands its store a `MemoryDatabase`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pymongo import UpdateOne
from pymongo.errors import AutoReconnect, DuplicateKeyError, WriteError
from switchboard.events.common import Actor, TicketStatus
from switchboard.events.tickets import TicketStatusChanged
from switchboard.runtime.batching import BulkWriter
from switchboard.runtime.conflicts import ConcurrencyConflict
from switchboard.runtime.eventstore import EventStore
from switchboard.runtime.slotlist import SlotList
from switchboard.runtime.testing import MemoryDatabase, Server, memory_database, memory_of

from tests.factories import ticket_opened

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def moved(ticket_id: str, to: TicketStatus) -> TicketStatusChanged:
    return TicketStatusChanged(
        ticket_id=ticket_id, from_status=TicketStatus.NEW, to_status=to, changed_by=Actor.AGENT, changed_at=NOW
    )


def event_store(db: MemoryDatabase) -> EventStore:
    return EventStore(db["commits"].as_pymongo(), db["pending"].as_pymongo(), source="/test", namespace="unit")


async def test_an_append_is_read_back_by_another_process_and_a_stale_writer_conflicts() -> None:
    db = MemoryDatabase()
    here, there = event_store(db), event_store(db)  # two replicas on one database
    await here.setup()
    assert "stored_at" in db["pending"].indexes
    stream, commit = await here.append(await here.read("t-1"), [ticket_opened("t-1", NOW)], now=NOW)
    assert stream.version == 1 and commit["_id"] == "t-1/0000000001"
    stale = await there.read("t-1")
    await here.append(stream, [moved("t-1", TicketStatus.OPEN)], now=NOW)
    with pytest.raises(ConcurrencyConflict):
        await there.append(stale, [moved("t-1", TicketStatus.PENDING)], now=NOW)
    history = await there.read("t-1")
    assert [type(p).__name__ for p in history.payloads] == ["TicketOpened", "TicketStatusChanged"]
    assert history.payloads[1] == moved("t-1", TicketStatus.OPEN)
    pending = await db["pending"].find({}).sort("stored_at").to_list()
    assert [m["_id"] for m in pending] == ["t-1/0000000001", "t-1/0000000002"]  # the loser's marker names a taken id


async def test_append_once_stores_a_reaction_once_and_a_replay_writes_nothing() -> None:
    db = MemoryDatabase()
    store = event_store(db)
    first = await store.append_once("t-1", [ticket_opened("t-1", NOW)], ["e-1"], now=NOW, new_subject=True)
    assert first is not None and first["records"][0]["event_id"] == "e-1"
    writes = db.writes
    assert await store.append_once("t-1", [ticket_opened("t-1", NOW)], ["e-1"], now=NOW, new_subject=True) is None
    assert await event_store(db).append_once("t-1", [ticket_opened("t-1", NOW)], ["e-1"], now=NOW) is None
    assert db.writes == writes  # both found it in the history: nothing was sent to be stored
    # another process that takes the cause for a new subject collides, reads, and stores nothing either
    assert (
        await event_store(db).append_once("t-1", [ticket_opened("t-1", NOW)], ["e-1"], now=NOW, new_subject=True)
        is None
    )
    partly = await store.append_once(
        "t-1", [ticket_opened("t-1", NOW), moved("t-1", TicketStatus.OPEN)], ["e-1", "e-2"], now=NOW, new_subject=True
    )
    assert partly is not None and [r["event_id"] for r in partly["records"]] == ["e-2"]
    assert [e.id for e in (await event_store(db).read("t-1")).events] == ["e-1", "e-2"]
    assert await db["commits"].count_documents({}) == 2


async def test_a_lost_connection_fails_the_append_and_the_next_one_goes_through() -> None:
    db = memory_database()  # typed as PyMongo's, as a service's store takes it
    store = EventStore(db["commits"], db["pending"], source="/test", namespace="unit")
    memory_of(db["commits"]).fail_next_writes(1)
    with pytest.raises(AutoReconnect):
        await store.append(await store.read("t-1"), [ticket_opened("t-1", NOW)], now=NOW)
    assert await db["commits"].find_one({}) is None
    stream, _ = await store.append(await store.read("t-1"), [ticket_opened("t-1", NOW)], now=NOW)
    assert stream.version == 1
    assert memory_of(db["commits"]).commands["bulk_write"] == 2


async def test_slot_lists_of_two_processes_lose_no_value_and_leave_no_gap() -> None:
    db = MemoryDatabase()
    here, elsewhere = SlotList(db["timers"].as_pymongo()), SlotList(db["timers"].as_pymongo())
    await elsewhere.append("bucket", "early")  # a slot `here` does not know is taken
    await asyncio.gather(*(here.append("bucket", f"h{i}") for i in range(250)))
    assert db["timers"].commands["insert_many"] <= 1 + 6  # bulks of 100 and a probe past the taken slot
    await asyncio.gather(
        *(here.append("bucket", f"u{i}") for i in range(100)), *(elsewhere.append("bucket", f"e{i}") for i in range(20))
    )
    values = await SlotList(db["timers"].as_pymongo()).values("bucket")
    expected = ["early", *(f"h{i}" for i in range(250)), *(f"u{i}" for i in range(100)), *(f"e{i}" for i in range(20))]
    assert sorted(values) == sorted(expected)
    await here.clear("bucket", len(values))
    assert await here.values("bucket") == []


async def test_group_commit_gives_each_writer_its_own_outcome() -> None:
    db = MemoryDatabase()
    await db["docs"].insert_one({"_id": "taken"})
    writer = BulkWriter(db["docs"].as_pymongo())
    outcomes = await asyncio.gather(
        *(writer.insert({"_id": f"t{i}"}) for i in range(5)), writer.insert({"_id": "taken"}), return_exceptions=True
    )
    assert outcomes[:5] == [None] * 5 and isinstance(outcomes[5], DuplicateKeyError)
    assert db["docs"].commands["bulk_write"] == 1


@pytest.mark.parametrize("server", ["mongodb", "ferretdb"])
async def test_group_commit_of_updates_survives_either_servers_reply_to_a_failed_one(server: Server) -> None:
    """FerretDB's reply to a bulk with a failed update says nothing of the others: the writer resends them one by
    one, and its callers cannot tell."""
    db = MemoryDatabase(server=server)
    await db["docs"].insert_one({"_id": "t2", "n": 1})
    writer = BulkWriter(db["docs"].as_pymongo())
    outcomes = await asyncio.gather(
        writer.write(UpdateOne({"_id": "t1"}, {"$set": {"seen": True}}, upsert=True)),
        writer.write(UpdateOne({"_id": "t2"}, {"$inc": {"n": "not a number"}})),
        writer.write(UpdateOne({"_id": "t3"}, {"$set": {"seen": True}}, upsert=True)),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], WriteError) and not isinstance(outcomes[1], DuplicateKeyError)
    assert await db["docs"].count_documents({"seen": True}) == 2
    assert db["docs"].commands["bulk_write"] == (1 if server == "mongodb" else 1 + 3)


async def test_reads_can_fail_too_and_returned_documents_are_the_callers_own() -> None:
    db = MemoryDatabase()
    await db["config"].insert_one({"_id": "policies", "version": 1, "at": NOW})
    db["config"].fail_next_reads(1, AutoReconnect("down"))
    with pytest.raises(AutoReconnect):
        await db["config"].find_one({"_id": "policies"})
    doc = await db["config"].find_one({"_id": "policies"})
    assert doc == {"_id": "policies", "version": 1, "at": NOW}
    doc["version"] = 99
    assert (await db["config"].find_one({"_id": "policies"}) or {})["version"] == 1
    assert db["config"].writes == 1 and db["config"].commands["find_one"] == 3
    assert (await db.command("ping"))["ok"] == 1.0
    with pytest.raises(NotImplementedError):
        bool(db["config"])
    with pytest.raises(NotImplementedError):
        await db["config"].find({"name": {"$regex": "^a"}}).to_list()
