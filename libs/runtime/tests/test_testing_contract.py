"""One contract for the in-memory store (switchboard.runtime.testing) and a real Mongo-wire server: the behaviours
the runtime leans on, asserted alike against both, so a unit test over the fake means what it would on the server.

`-m unit` runs the in-memory halves only (answering as MongoDB, and as FerretDB where the runtime copes with
FerretDB's difference); `-m integration` runs the same tests on the session's real server.

The fake answers as MongoDB where FerretDB 1.24 slips in ways the project never relies on (found by running
random filters and updates against both; no filter differed): FerretDB does not seed an upsert from `$and`'s
equalities, drops `$setOnInsert` fields whose value is null or `[]`, accepts `$inc` by a non-number when nothing
matches (and drops the connection when an upsert does it), and goes on with the next 100 documents after an
ordered insert failed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, DeleteOne, InsertOne, ReplaceOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, WriteError
from switchboard.runtime.projection import apply_in_order, guarded_update
from switchboard.runtime.testing import MemoryDatabase, Server

Document = dict[str, Any]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Backend:
    db: AsyncDatabase[Document]
    server: Server  # whose behaviour to expect where MongoDB and FerretDB differ

    @property
    def collection(self) -> AsyncCollection[Document]:
        return self.db["contract"]


@pytest.fixture(
    params=[
        pytest.param("memory", marks=pytest.mark.unit),
        pytest.param("memory-as-ferretdb", marks=pytest.mark.unit),
        pytest.param("server", marks=pytest.mark.integration),
    ]
)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield Backend(MemoryDatabase().as_pymongo(), "mongodb")
        return
    if request.param == "memory-as-ferretdb":
        yield Backend(MemoryDatabase(server="ferretdb").as_pymongo(), "ferretdb")
        return
    servers, namespace = request.getfixturevalue("servers"), request.getfixturevalue("namespace")
    client: AsyncMongoClient[Document] = AsyncMongoClient(servers.mongodb_uri, tz_aware=True)  # as make_client
    try:
        info = await client.admin.command("buildInfo")
        yield Backend(client[f"{namespace}_contract"], "ferretdb" if "ferretdbVersion" in info else "mongodb")
        await client.drop_database(f"{namespace}_contract")
    finally:
        await client.close()


async def ids(collection: AsyncCollection[Document], query: Document | None = None) -> list[Any]:
    return sorted(doc["_id"] for doc in await collection.find(query or {}).to_list())


# inserts ---------------------------------------------------------------------------------------------------


async def test_an_insert_of_a_taken_id_is_a_duplicate_key_error_and_changes_nothing(backend: Backend) -> None:
    commits = backend.collection
    result = await commits.insert_one({"_id": "t1/0000000001", "by": "first"})
    assert result.inserted_id == "t1/0000000001" and result.acknowledged
    with pytest.raises(DuplicateKeyError) as taken:
        await commits.insert_one({"_id": "t1/0000000001", "by": "second"})
    assert taken.value.code == 11000 and taken.value.details is not None
    assert taken.value.details["code"] == 11000 and taken.value.details["index"] == 0
    assert "E11000" in taken.value.details["errmsg"]
    assert await commits.find_one({"_id": "t1/0000000001"}) == {"_id": "t1/0000000001", "by": "first"}


async def test_an_insert_without_an_id_gets_an_object_id_also_in_the_callers_document(backend: Backend) -> None:
    document: Document = {"value": 1}
    result = await backend.collection.insert_one(document)
    assert isinstance(result.inserted_id, ObjectId) and document["_id"] == result.inserted_id
    assert await backend.collection.find_one({"_id": result.inserted_id}) == {"_id": result.inserted_id, "value": 1}


async def test_an_ordered_insert_many_stops_at_the_first_duplicate_and_names_its_index(backend: Backend) -> None:
    """What SlotList relies on (it never sends more than 100: FerretDB orders only within chunks of 100)."""
    slots = backend.collection
    await slots.insert_one({"_id": "k#0000002", "value": "elsewhere"})
    with pytest.raises(BulkWriteError) as stopped:
        await slots.insert_many([{"_id": f"k#{n:07d}", "value": f"v{n}"} for n in range(6)], ordered=True)
    details = stopped.value.details
    assert [(e["index"], e["code"]) for e in details["writeErrors"]] == [(2, 11000)]
    assert details["writeErrors"][0]["op"] == {"_id": "k#0000002", "value": "v2"}
    assert details["nInserted"] == 2 and details["writeConcernErrors"] == []
    assert await ids(slots) == ["k#0000000", "k#0000001", "k#0000002"]
    assert (await slots.find_one({"_id": "k#0000002"}) or {})["value"] == "elsewhere"


async def test_an_unordered_insert_many_stores_the_rest_and_reports_every_duplicate(backend: Backend) -> None:
    await backend.collection.insert_many([{"_id": "a"}, {"_id": "c"}])
    with pytest.raises(BulkWriteError) as partly:
        await backend.collection.insert_many([{"_id": x} for x in "abcd"], ordered=False)
    assert [e["index"] for e in partly.value.details["writeErrors"]] == [0, 2]
    assert partly.value.details["nInserted"] == 2
    assert await ids(backend.collection) == ["a", "b", "c", "d"]


async def test_an_unordered_bulk_reports_each_failed_insert_by_its_index(backend: Backend) -> None:
    """What BulkWriter relies on to hand each writer its own outcome."""
    await backend.collection.insert_many([{"_id": "taken"}, {"_id": "gone"}, {"_id": "kept", "n": 1}])
    with pytest.raises(BulkWriteError) as partly:
        await backend.collection.bulk_write(
            [
                InsertOne({"_id": "new"}),
                InsertOne({"_id": "taken", "by": "me"}),
                UpdateOne({"_id": "upserted"}, {"$set": {"n": 1}}, upsert=True),
                UpdateOne({"_id": "kept"}, {"$set": {"n": 2}}),
                InsertOne({"_id": "new"}),
                DeleteOne({"_id": "gone"}),
            ],
            ordered=False,
        )
    details = partly.value.details
    assert [(e["index"], e["code"]) for e in details["writeErrors"]] == [(1, 11000), (4, 11000)]
    assert details["writeErrors"][0]["op"] == {"_id": "taken", "by": "me"}
    assert (details["nInserted"], details["nUpserted"], details["nMatched"], details["nModified"]) == (1, 1, 1, 1)
    assert details["nRemoved"] == 1 and details["upserted"] == [{"index": 2, "_id": "upserted"}]
    assert await ids(backend.collection) == ["kept", "new", "taken", "upserted"]


async def test_an_unordered_bulk_sends_its_inserts_before_its_updates_whatever_their_order(backend: Backend) -> None:
    result = await backend.collection.bulk_write(
        [UpdateOne({"_id": "k"}, {"$set": {"from": "update"}}, upsert=True), InsertOne({"_id": "k", "from": "insert"})],
        ordered=False,
    )
    assert (result.inserted_count, result.matched_count, result.upserted_count) == (1, 1, 0)
    assert await backend.collection.find_one({"_id": "k"}) == {"_id": "k", "from": "update"}


# guarded upserts -------------------------------------------------------------------------------------------


async def test_a_guarded_upsert_whose_guard_fails_is_a_duplicate_key_error(backend: Backend) -> None:
    """What projection.py relies on: "already applied" shows as a collision on `_id`."""
    view = backend.collection
    first = await view.update_one({"_id": "t1", "pos.t": {"$lt": 1}}, {"$set": {"pos.t": 1, "n": 1}}, upsert=True)
    assert first.upserted_id == "t1" and first.matched_count == 0 and first.modified_count == 0
    later = await view.update_one({"_id": "t1", "pos.t": {"$lt": 2}}, {"$set": {"pos.t": 2}}, upsert=True)
    assert later.upserted_id is None and later.matched_count == 1 and later.modified_count == 1
    for stale in (2, 1):
        with pytest.raises(DuplicateKeyError) as applied:
            await view.update_one({"_id": "t1", "pos.t": {"$lt": stale}}, {"$set": {"pos.t": stale}}, upsert=True)
        assert applied.value.code == 11000
    with pytest.raises(DuplicateKeyError):  # a range never matches a missing field
        await view.update_one({"_id": "t1", "pos.other": {"$lt": 9}}, {"$set": {"pos.other": 9}}, upsert=True)
    assert await view.find_one({"_id": "t1"}) == {"_id": "t1", "n": 1, "pos": {"t": 2}}


async def test_a_failed_guarded_upsert_in_a_bulk_is_reported_by_index_on_mongodb(backend: Backend) -> None:
    """On FerretDB the reply lacks `nModified` and PyMongo raises KeyError; the updates after it are not applied
    even unordered. projection.py and batching.py resend such a bulk one update at a time."""
    view = backend.collection
    await view.insert_one({"_id": "t1", "pos": {"t": 5}})
    for ordered in (True, False):
        bulk = [
            UpdateOne({"_id": f"a{ordered}", "pos.t": {"$lt": 1}}, {"$set": {"pos.t": 1}}, upsert=True),
            UpdateOne({"_id": "t1", "pos.t": {"$lt": 5}}, {"$set": {"pos.t": 5}}, upsert=True),
            UpdateOne({"_id": f"b{ordered}", "pos.t": {"$lt": 1}}, {"$set": {"pos.t": 1}}, upsert=True),
        ]
        if backend.server == "ferretdb":
            with pytest.raises(KeyError, match="nModified"):
                await view.bulk_write(bulk, ordered=ordered)
            assert await ids(view, {"_id": {"$in": [f"a{ordered}", f"b{ordered}"]}}) == [f"a{ordered}"]
            continue
        with pytest.raises(BulkWriteError) as failed:
            await view.bulk_write(bulk, ordered=ordered)
        assert [(e["index"], e["code"]) for e in failed.value.details["writeErrors"]] == [(1, 11000)]
        stored = await ids(view, {"_id": {"$in": [f"a{ordered}", f"b{ordered}"]}})
        assert stored == ([f"a{ordered}"] if ordered else [f"a{ordered}", f"b{ordered}"])


async def test_guarded_projection_updates_apply_once_whatever_the_store_answers(backend: Backend) -> None:
    def seen(sequence: int, topic: str) -> Any:
        update = {"$inc": {f"n_{topic}": 1}, "$max": {"last": T0 + timedelta(seconds=sequence)}}
        return guarded_update("t1", topic=topic, sequence=sequence, update=update, positions=("tickets", "notes"))

    first = [seen(2, "notes"), seen(1, "tickets"), seen(3, "notes")]
    assert await apply_in_order(backend.collection, first) == 3
    again = [seen(1, "tickets"), seen(2, "notes"), seen(3, "notes"), seen(4, "tickets")]
    assert await apply_in_order(backend.collection, again) == 1
    assert await backend.collection.find_one({"_id": "t1"}) == {
        "_id": "t1",
        "last": T0 + timedelta(seconds=4),
        "n_notes": 2,
        "n_tickets": 2,
        "pos": {"notes": 3, "tickets": 4},
    }


# reads -----------------------------------------------------------------------------------------------------


async def test_find_filters_sorts_and_limits_as_the_outbox_sweep_asks(backend: Backend) -> None:
    pending = backend.collection
    await pending.insert_many(
        [{"_id": f"m{n}", "subject": f"t{n % 2}", "stored_at": T0 + timedelta(seconds=(7 * n) % 10)} for n in range(10)]
    )
    settled = {"stored_at": {"$lt": T0 + timedelta(seconds=8)}}
    oldest = await pending.find(settled).sort("stored_at", ASCENDING).limit(3).to_list()
    assert [doc["_id"] for doc in oldest] == ["m0", "m3", "m6"]
    newest = [doc["_id"] async for doc in pending.find({"subject": "t1"}).sort([("stored_at", DESCENDING)]).limit(2)]
    assert newest == ["m7", "m1"]
    assert await pending.count_documents(settled) == 8
    assert len(await pending.find({}).to_list()) == 10  # no limit


async def test_a_missing_field_sorts_as_null_before_numbers_then_strings(backend: Backend) -> None:
    await backend.collection.insert_many(
        [{"_id": 1, "n": "5"}, {"_id": 2, "n": 7.5}, {"_id": 3, "n": None}, {"_id": 4}, {"_id": 5, "n": 5}]
    )
    order = await backend.collection.find({}).sort([("n", ASCENDING), ("_id", ASCENDING)]).to_list()
    assert [doc["_id"] for doc in order] == [3, 4, 5, 2, 1]
    order = await backend.collection.find({}).sort([("n", DESCENDING), ("_id", ASCENDING)]).to_list()
    assert [doc["_id"] for doc in order] == [1, 2, 5, 3, 4]


async def test_query_operators_match_as_on_the_server(backend: Backend) -> None:
    await backend.collection.insert_many(
        [
            {"_id": 1, "n": 5, "owner": "me", "pos": {"t": 1, "i": 2}, "tags": ["vip", "de"]},
            {"_id": 2, "n": "5", "owner": None, "pos": {"t": 3}},
            {"_id": 3, "n": 7.5, "flag": True, "expires_at": T0},
            {"_id": 4, "n": None, "expires_at": T0 + timedelta(minutes=1)},
            {"_id": 5, "flag": 1},
        ]
    )
    cases: list[tuple[Document, list[int]]] = [
        ({"n": 5}, [1]),
        ({"n": 5.0}, [1]),
        ({"n": {"$lt": 6}}, [1]),  # a range matches its own type only
        ({"n": {"$gte": "0"}}, [2]),
        ({"n": {"$gt": 1, "$lte": 7.5}}, [1, 3]),
        ({"n": None}, [4, 5]),  # null or missing
        ({"n": {"$ne": 5}}, [2, 3, 4, 5]),
        ({"n": {"$in": [5, "5"]}}, [1, 2]),
        ({"n": {"$exists": True}}, [1, 2, 3, 4]),
        ({"n": {"$exists": False}}, [5]),
        ({"pos.t": {"$lt": 3}}, [1]),
        ({"pos.i": {"$exists": False}}, [2, 3, 4, 5]),
        ({"pos": {"t": 3}}, [2]),
        ({"tags": "vip"}, [1]),
        ({"flag": True}, [3]),  # a boolean is not the number 1
        ({"_id": {"$in": [2, 4, 9]}}, [2, 4]),
        ({"$or": [{"owner": "me"}, {"expires_at": {"$lt": T0 + timedelta(seconds=30)}}]}, [1, 3]),
        ({"_id": 3, "$or": [{"owner": "me"}, {"expires_at": {"$lt": T0}}]}, []),
        ({"expires_at": {"$lte": T0}}, [3]),
    ]
    for query, expected in cases:
        assert await ids(backend.collection, query) == expected, query
    with pytest.raises(OperationFailure):
        await backend.collection.find({"n": {"$nonsense": 1}}).to_list()


async def test_find_one_and_update_hands_a_lease_to_one_owner_at_a_time(backend: Backend) -> None:
    """The outbox sweep's and the SLA scheduler's lease."""
    leases = backend.collection

    async def take(owner: str, now: datetime) -> Document | None:
        return await leases.find_one_and_update(
            {"_id": "outbox", "$or": [{"owner": owner}, {"expires_at": {"$lt": now}}]},
            {"$set": {"owner": owner, "expires_at": now + timedelta(seconds=10)}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )

    assert await take("a", T0) == {"_id": "outbox", "expires_at": T0 + timedelta(seconds=10), "owner": "a"}
    with pytest.raises(DuplicateKeyError) as held:  # b's upsert collides with a's lease
        await take("b", T0 + timedelta(seconds=5))
    assert held.value.code == 11000
    assert (await take("a", T0 + timedelta(seconds=5)) or {})["expires_at"] == T0 + timedelta(seconds=15)
    assert (await take("b", T0 + timedelta(seconds=20)) or {})["owner"] == "b"
    before = await leases.find_one_and_update({"_id": "outbox"}, {"$set": {"owner": "c"}})
    assert before is not None and before["owner"] == "b"
    assert await leases.find_one_and_update({"_id": "none"}, {"$set": {"owner": "c"}}) is None
    assert await leases.find_one_and_update({"_id": "new"}, {"$set": {"owner": "c"}}, upsert=True) is None
    assert await leases.find_one({"_id": "new"}) == {"_id": "new", "owner": "c"}


# updates ---------------------------------------------------------------------------------------------------


async def test_update_operators_and_an_upsert_seeded_from_its_filter(backend: Backend) -> None:
    counters = backend.collection
    update = {
        "$set": {"pos.t": 1, "b": "x"},
        "$setOnInsert": {"pos.o": 0, "created": T0},
        "$inc": {"count": 1, "by_kind.note": 2},
        "$max": {"last": T0, "next": 4},
    }
    result = await counters.update_one({"_id": "c", "version": 3}, update, upsert=True)
    assert result.upserted_id == "c" and (result.raw_result or {})["updatedExisting"] is False
    doc = await counters.find_one({"_id": "c"})
    assert doc == {
        "_id": "c",
        "version": 3,
        "b": "x",
        "by_kind": {"note": 2},
        "count": 1,
        "created": T0,
        "last": T0,
        "next": 4,
        "pos": {"o": 0, "t": 1},
    }
    assert list(doc) == ["_id", "version", "b", "by_kind", "count", "created", "last", "next", "pos"]
    again = {
        "$setOnInsert": {"created": T0 + timedelta(days=1)},
        "$inc": {"count": 1.5, "by_kind.call": 1},
        "$max": {"last": T0 - timedelta(days=1), "next": 7},
        "$min": {"first": 3},
        "$unset": {"version": ""},
    }
    result = await counters.update_one({"_id": "c"}, again)
    assert (result.matched_count, result.modified_count, result.upserted_id) == (1, 1, None)
    doc = await counters.find_one({"_id": "c"})
    assert doc is not None and "version" not in doc
    assert (doc["count"], doc["by_kind"], doc["created"], doc["last"], doc["next"], doc["first"]) == (
        2.5,
        {"note": 2, "call": 1},
        T0,
        T0,
        7,
        3,
    )


async def test_update_results_count_what_matched_and_what_changed(backend: Backend) -> None:
    config = backend.collection
    await config.insert_many([{"_id": "policies", "version": 1}, {"_id": "other", "version": 1}])
    same = await config.update_one({"_id": "policies"}, {"$set": {"version": 1}})
    assert (same.matched_count, same.modified_count, same.upserted_id, same.acknowledged) == (1, 0, None, True)
    stale = await config.update_one({"_id": "policies", "version": 0}, {"$set": {"version": 2}})
    assert (stale.matched_count, stale.modified_count) == (0, 0)
    many = await config.update_many({"version": 1}, {"$inc": {"version": 1}})
    assert (many.matched_count, many.modified_count) == (2, 2)
    replaced = await config.replace_one({"_id": "cal"}, {"_id": "cal", "spec": {"tz": "UTC"}}, upsert=True)
    assert replaced.upserted_id == "cal"
    replaced = await config.replace_one({"_id": "cal"}, {"spec": {"tz": "Europe/Istanbul"}})
    assert (replaced.matched_count, replaced.modified_count) == (1, 1)
    assert await config.find_one({"_id": "cal"}) == {"_id": "cal", "spec": {"tz": "Europe/Istanbul"}}
    assert (await config.delete_one({"_id": "nothing"})).deleted_count == 0
    assert (await config.delete_many({"_id": {"$in": ["policies", "other", "x"]}})).deleted_count == 2
    assert await ids(config) == ["cal"]


async def test_refused_updates_raise_write_errors_and_change_nothing(backend: Backend) -> None:
    await backend.collection.insert_one({"_id": "t1", "n": 1, "at": T0})
    refused: list[tuple[Document, int]] = [
        ({"$inc": {"n": "not a number"}}, 14),
        ({"$inc": {"at": 1}}, 14),
        ({"$set": {"_id": "t2"}}, 66),
        ({"$set": {"n": 2}, "$inc": {"n": 1}}, 40),
        ({"$set": {"n.deeper": 2}}, 28),
    ]
    for update, code in refused:
        with pytest.raises(WriteError) as error:
            await backend.collection.update_one({"_id": "t1"}, update)
        assert not isinstance(error.value, DuplicateKeyError) and error.value.code == code, update
    with pytest.raises(WriteError) as error:
        await backend.collection.replace_one({"_id": "t1"}, {"_id": "t2", "n": 1})
    assert error.value.code == 66
    assert await backend.collection.find_one({"_id": "t1"}) == {"_id": "t1", "n": 1, "at": T0}


# copies ----------------------------------------------------------------------------------------------------


async def test_documents_are_copies_in_and_out_as_over_the_wire(backend: Backend) -> None:
    original: Document = {"_id": "t1", "records": [{"key": "a", "headers": {"x": "1"}}], "pair": (1, 2)}
    await backend.collection.insert_one(original)
    original["records"][0]["headers"]["x"] = "changed by the caller"
    read = await backend.collection.find_one({"_id": "t1"})
    assert read == {"_id": "t1", "records": [{"key": "a", "headers": {"x": "1"}}], "pair": [1, 2]}
    read["records"].append("changed by a reader")
    listed = await backend.collection.find({}).to_list()
    listed[0]["pair"].append(3)
    assert await backend.collection.find_one({"_id": "t1"}) == {
        "_id": "t1",
        "records": [{"key": "a", "headers": {"x": "1"}}],
        "pair": [1, 2],
    }


async def test_datetimes_come_back_in_utc_at_millisecond_precision(backend: Backend) -> None:
    moment = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    await backend.collection.insert_one({"_id": "t1", "at": moment, "naive": moment.replace(tzinfo=None)})
    doc = await backend.collection.find_one({"_id": "t1"})
    assert doc is not None and doc["at"] == doc["naive"] == moment.replace(microsecond=123000)
    assert doc["at"].utcoffset() == timedelta(0)
    assert await ids(backend.collection, {"at": {"$lt": moment}}) == []  # the filter is truncated alike


async def test_create_index_answers_with_its_name(backend: Backend) -> None:
    assert await backend.collection.create_index([("stored_at", ASCENDING)], name="stored_at") == "stored_at"
    assert await backend.collection.create_index([("queue", ASCENDING), ("opened_at", DESCENDING)]) == (
        "queue_1_opened_at_-1"
    )


async def test_a_bulk_of_replacements_and_deletes_counts_each(backend: Backend) -> None:
    await backend.collection.insert_many([{"_id": n, "v": 0} for n in range(4)])
    result = await backend.collection.bulk_write(
        [ReplaceOne({"_id": 0}, {"v": 1}), ReplaceOne({"_id": 9}, {"v": 9}, upsert=True), DeleteOne({"v": 0})]
    )
    assert (result.matched_count, result.modified_count, result.upserted_count, result.deleted_count) == (1, 1, 1, 1)
    assert result.upserted_ids == ({1: 9} if backend.server == "mongodb" else {0: 9})  # FerretDB counts upserts only
    assert await ids(backend.collection) == [0, 2, 3, 9]
