"""The client half of the in-memory store: the methods of PyMongo's AsyncCollection that the project calls, with
PyMongo's own checks, result objects and exceptions, plus the hooks a unit test needs (failures on demand, a
count of the commands run).

Where PyMongo turns a server reply into a result or an exception, this does it the same way (after
`pymongo.asynchronous.collection` and `pymongo.bulk_shared`), so a reply shaped like FerretDB's trips callers as
PyMongo would.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, cast

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.common import (
    validate_is_document_type,
    validate_is_mapping,
    validate_ok_for_replace,
    validate_ok_for_update,
)
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    InvalidOperation,
    OperationFailure,
)
from pymongo.results import BulkWriteResult, DeleteResult, InsertManyResult, InsertOneResult, UpdateResult
from pymongo.write_concern import validate_boolean

from .bulk import INSERT, UPDATE, Op, Requests, check_write, merge, new_result, raise_if_failed, runs
from .cursor import MemoryCursor
from .query import CommandError, SortSpec, sort_spec
from .server import StoredCollection
from .values import Document, returned, stored

if TYPE_CHECKING:
    from .database import MemoryDatabase

READS = frozenset({"find", "find_one", "count_documents"})
WRITES = frozenset(
    {"insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one", "delete_many"}
    | {"bulk_write", "find_one_and_update"}
)
ErrorSource = BaseException | Callable[[], BaseException]


@dataclass(frozen=True)
class IndexRecord:
    """A `create_index` call: recorded, not built (the store scans; only `_id` is unique)."""

    keys: list[tuple[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)


class MemoryCollection:
    """A collection in memory that answers as MongoDB does; use it where an `AsyncCollection[Document]` goes."""

    def __init__(self, database: MemoryDatabase, name: str) -> None:
        self.database = database
        self.name = name
        self.full_name = f"{database.name}.{name}"
        self.codec_options = database.codec_options
        self.commands: Counter[str] = Counter()
        """Commands run so far, by method name (a `find` cursor counts when it first fetches)."""
        self.indexes: dict[str, IndexRecord] = {}
        self._server = StoredCollection(self.full_name, database.server)
        self._failing: dict[bool, list[Callable[[], BaseException]]] = {True: [], False: []}

    # hooks for tests -------------------------------------------------------------------------------------

    def fail_next_writes(self, count: int = 1, error: ErrorSource | None = None) -> None:
        """The next `count` write commands raise `error` and change nothing: a lost connection by default.

        For a conflict, insert the document that collides instead: the store then answers as MongoDB would.
        """
        self._failing[True].extend([_error_source(error)] * count)

    def fail_next_reads(self, count: int = 1, error: ErrorSource | None = None) -> None:
        """The next `count` reads (`find_one`, a `find` cursor's first fetch, `count_documents`) raise `error`."""
        self._failing[False].extend([_error_source(error)] * count)

    @property
    def writes(self) -> int:
        """Write commands run so far (failed ones included): "a replayed request stored nothing" is no change."""
        return sum(n for command, n in self.commands.items() if command in WRITES)

    def as_pymongo(self) -> AsyncCollection[Document]:
        """This collection typed as PyMongo's, for code annotated with it (the one cast a test needs)."""
        return cast("AsyncCollection[Document]", self)

    # reads -----------------------------------------------------------------------------------------------

    def find(
        self,
        filter: Mapping[str, Any] | None = None,
        projection: object = None,
        *,
        sort: Any = None,
        limit: int = 0,
        skip: int = 0,
    ) -> MemoryCursor:
        _no_projection(projection)
        query = _filter(filter)

        async def fetch(sort: SortSpec, limit: int, skip: int) -> list[Document]:
            return await self._read("find", query, sort, limit, skip)

        cursor = MemoryCursor(fetch, limit=limit, skip=skip)
        return cursor.sort(sort) if sort is not None else cursor

    async def find_one(self, filter: Any = None, projection: object = None, *, sort: Any = None) -> Document | None:
        _no_projection(projection)
        if filter is not None and not isinstance(filter, Mapping):
            filter = {"_id": filter}
        found = await self._read("find_one", _filter(filter), sort_spec(sort) if sort is not None else [], 1, 0)
        return found[0] if found else None

    async def count_documents(self, filter: Mapping[str, Any]) -> int:
        validate_is_mapping("filter", filter)
        query = stored(filter, self.codec_options)
        await self._round_trip("count_documents")
        return self._server.count(query)

    async def _read(self, command: str, query: Document, sort: SortSpec, limit: int, skip: int) -> list[Document]:
        query = stored(query, self.codec_options)
        await self._round_trip(command)
        try:
            found = self._server.find(query, sort)
        except CommandError as error:
            raise OperationFailure(error.errmsg, error.code, error.reply()) from None
        found = found[skip:]
        if limit:
            found = found[: abs(limit)]
        return [returned(doc, self.codec_options) for doc in found]

    # writes ----------------------------------------------------------------------------------------------

    async def insert_one(self, document: Document) -> InsertOneResult:
        validate_is_document_type("document", document)
        if "_id" not in document:
            document["_id"] = ObjectId()  # PyMongo adds it to the caller's document too
        request = stored(document, self.codec_options)
        await self._round_trip("insert_one")
        check_write(self._server.insert([request], ordered=True))
        return InsertOneResult(document["_id"], True)

    async def insert_many(self, documents: Iterable[Document], ordered: bool = True) -> InsertManyResult:
        if not isinstance(documents, Iterable) or isinstance(documents, Mapping) or not documents:
            raise TypeError("documents must be a non-empty list")
        requests = Requests()
        for document in documents:
            requests.add_insert(document)
        await self._bulk("insert_many", requests.ops, ordered=ordered)
        return InsertManyResult([doc["_id"] for _, doc in requests.ops], True)

    async def update_one(
        self, filter: Mapping[str, Any], update: Mapping[str, Any], upsert: bool = False
    ) -> UpdateResult:
        validate_ok_for_update(update)
        return await self._update("update_one", filter, update, upsert=upsert, multi=False)

    async def update_many(
        self, filter: Mapping[str, Any], update: Mapping[str, Any], upsert: bool = False
    ) -> UpdateResult:
        validate_ok_for_update(update)
        return await self._update("update_many", filter, update, upsert=upsert, multi=True)

    async def replace_one(
        self, filter: Mapping[str, Any], replacement: Mapping[str, Any], upsert: bool = False
    ) -> UpdateResult:
        validate_ok_for_replace(replacement)
        return await self._update("replace_one", filter, replacement, upsert=upsert, multi=False)

    async def delete_one(self, filter: Mapping[str, Any]) -> DeleteResult:
        return await self._delete("delete_one", filter, limit=1)

    async def delete_many(self, filter: Mapping[str, Any]) -> DeleteResult:
        return await self._delete("delete_many", filter, limit=0)

    async def bulk_write(self, requests: Sequence[Any], ordered: bool = True) -> BulkWriteResult:
        """InsertOne, UpdateOne, UpdateMany, ReplaceOne, DeleteOne, DeleteMany, sent in PyMongo's runs.

        PyMongo sends consecutive requests of one kind as one command; unordered, it sends all inserts,
        then all updates, then all deletes, whatever their order in the list. So does this.
        """
        if not isinstance(requests, list):
            raise TypeError(f"requests must be a list, not {type(requests).__name__}")
        recorder = Requests()
        for request in requests:
            try:
                request._add_to_bulk(cast(Any, recorder))
            except AttributeError:
                raise TypeError(f"{request!r} is not a valid request") from None
        if not recorder.ops:
            raise InvalidOperation("No operations to execute")
        return BulkWriteResult(await self._bulk("bulk_write", recorder.ops, ordered=ordered), True)

    async def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        projection: object = None,
        sort: Any = None,
        upsert: bool = False,
        return_document: bool = ReturnDocument.BEFORE,
    ) -> Document | None:
        validate_is_mapping("filter", filter)
        validate_ok_for_update(update)
        validate_boolean("upsert", upsert)
        _no_projection(projection)
        query, change = stored(filter, self.codec_options), stored(update, self.codec_options)
        order = sort_spec(sort) if sort is not None else []
        await self._round_trip("find_one_and_update")
        reply = self._server.find_and_modify(query, change, sort=order, upsert=upsert, new=bool(return_document))
        if not reply["ok"]:
            if reply["code"] == 11000:
                raise DuplicateKeyError(reply["errmsg"], 11000, reply)
            raise OperationFailure(reply["errmsg"], reply["code"], reply)
        value = reply["value"]
        return None if value is None else returned(value, self.codec_options)

    async def create_index(self, keys: Any, **options: Any) -> str:
        """Recorded only: the store scans every document anyway, and enforces no index but `_id`'s."""
        if options.get("unique"):
            raise NotImplementedError("the in-memory store enforces no unique index but `_id`'s")
        spec = [(keys, 1)] if isinstance(keys, str) else [(str(key), way) for key, way in keys]
        name = str(options.get("name") or "_".join(f"{key}_{way}" for key, way in spec))
        self.commands["create_index"] += 1
        await asyncio.sleep(0)
        self.indexes[name] = IndexRecord(spec, dict(options))
        return name

    async def _update(
        self, command: str, filter: Mapping[str, Any], update: Mapping[str, Any], *, upsert: bool, multi: bool
    ) -> UpdateResult:
        validate_is_mapping("filter", filter)
        validate_boolean("upsert", upsert)
        statement = {"q": stored(filter, self.codec_options), "u": stored(update, self.codec_options)}
        await self._round_trip(command)
        reply = self._server.update([statement | {"multi": multi, "upsert": upsert}], ordered=True)
        check_write(reply)
        result = dict(reply)  # as PyMongo's `_update` reshapes it
        if result.get("n") and "upserted" not in result:
            result["updatedExisting"] = True
        else:
            result["updatedExisting"] = False
            if "upserted" in result:
                result["upserted"] = result["upserted"][0]["_id"]
        return UpdateResult(result, True)

    async def _delete(self, command: str, filter: Mapping[str, Any], *, limit: int) -> DeleteResult:
        validate_is_mapping("filter", filter)
        statement = {"q": stored(filter, self.codec_options), "limit": limit}
        await self._round_trip(command)
        reply = self._server.delete([statement], ordered=True)
        check_write(reply)
        return DeleteResult(reply, True)

    async def _bulk(self, command: str, ops: list[Op], *, ordered: bool) -> Document:
        """Send `ops` in PyMongo's runs, one command each, and merge the replies as PyMongo does."""
        requests = [self._request(kind, spec) for kind, spec in ops]  # all encoded before anything is sent
        full = new_result()
        await self._round_trip(command)
        for kind, indexes in runs([kind for kind, _ in ops], ordered=ordered):
            run = [requests[i] for i in indexes]
            if kind == INSERT:
                reply = self._server.insert(run, ordered=ordered)
            elif kind == UPDATE:
                reply = self._server.update(run, ordered=ordered)
            else:
                reply = self._server.delete(run, ordered=ordered)
            merge(full, kind, indexes, ops, reply)
            if ordered and "writeErrors" in reply:
                break
        raise_if_failed(full)
        return full

    def _request(self, kind: int, spec: Document) -> Document:
        if kind == INSERT:
            return stored(spec, self.codec_options)
        return {key: stored(value, self.codec_options) if key in ("q", "u") else value for key, value in spec.items()}

    async def _round_trip(self, command: str) -> None:
        """One command reaching the server: other tasks run meanwhile, as they would during a real round trip."""
        await asyncio.sleep(0)
        self.commands[command] += 1
        failing = self._failing[command in WRITES]
        if failing:
            raise failing.pop(0)()

    def __bool__(self) -> NoReturn:
        raise NotImplementedError(
            f"{type(self).__name__} objects do not implement truth value testing or bool(). Please compare "
            "with None instead: collection is not None"
        )

    def __repr__(self) -> str:
        return f"MemoryCollection({self.full_name!r})"


def _filter(filter: Mapping[str, Any] | None) -> Document:
    if filter is None:
        return {}
    validate_is_mapping("filter", filter)
    return dict(filter)


def _no_projection(projection: object) -> None:
    if projection is not None:
        raise NotImplementedError("the in-memory store returns whole documents (no projection)")


def _error_source(error: ErrorSource | None) -> Callable[[], BaseException]:
    if error is None:
        return lambda: AutoReconnect("connection closed (a failure the in-memory store was told to simulate)")
    if isinstance(error, BaseException):
        return lambda: error
    return error
