"""In-memory databases and a client to hold them, and the typed handles that let them stand in for PyMongo's."""

from __future__ import annotations

import datetime
from typing import Any, NoReturn, cast, overload

from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from .collection import MemoryCollection
from .server import Server
from .values import Document


class MemoryDatabase:
    """Collections by name, made on first use as MongoDB makes them; `db["x"]` and `db.x` alike."""

    def __init__(
        self,
        name: str = "test",
        *,
        client: MemoryClient | None = None,
        tz_aware: bool = True,
        server: Server = "mongodb",
    ) -> None:
        """`tz_aware` as the project's client (`mongo.make_client`) decodes; `server` whose replies to give."""
        self.name = name
        self.client = client
        self.server: Server = server
        self.codec_options: CodecOptions[Document] = CodecOptions(
            tz_aware=tz_aware, tzinfo=datetime.UTC if tz_aware else None
        )
        self.collections: dict[str, MemoryCollection] = {}

    def __getitem__(self, name: str) -> MemoryCollection:
        if name not in self.collections:
            self.collections[name] = MemoryCollection(self, name)
        return self.collections[name]

    def __getattr__(self, name: str) -> MemoryCollection:
        if name.startswith("_") or "collections" not in vars(self):  # or not built yet (a copy being made)
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}; use database[{name!r}]")
        return self[name]

    def get_collection(self, name: str) -> MemoryCollection:
        return self[name]

    @property
    def writes(self) -> int:
        """Write commands run on all its collections so far."""
        return sum(collection.writes for collection in self.collections.values())

    async def command(self, command: str | dict[str, Any]) -> Document:
        """Only `ping`, for readiness checks."""
        name = command if isinstance(command, str) else next(iter(command))
        if name != "ping":
            raise NotImplementedError(f"the in-memory store answers no command but ping, not {name!r}")
        return {"ok": 1.0}

    def as_pymongo(self) -> AsyncDatabase[Document]:
        """This database typed as PyMongo's, for code annotated with it (the one cast a test needs)."""
        return cast("AsyncDatabase[Document]", self)

    def __bool__(self) -> NoReturn:
        raise NotImplementedError(
            f"{type(self).__name__} objects do not implement truth value testing or bool(). Please compare "
            "with None instead: database is not None"
        )

    def __repr__(self) -> str:
        return f"MemoryDatabase({self.name!r})"


class MemoryClient:
    """Databases by name, for code that is handed a client (`client["db"]`, `client.admin.command("ping")`)."""

    def __init__(self, *, tz_aware: bool = True, server: Server = "mongodb") -> None:
        self._tz_aware = tz_aware
        self._server: Server = server
        self.databases: dict[str, MemoryDatabase] = {}

    def __getitem__(self, name: str) -> MemoryDatabase:
        if name not in self.databases:
            self.databases[name] = MemoryDatabase(name, client=self, tz_aware=self._tz_aware, server=self._server)
        return self.databases[name]

    def __getattr__(self, name: str) -> MemoryDatabase:
        if name.startswith("_") or "databases" not in vars(self):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}; use client[{name!r}]")
        return self[name]

    def get_database(self, name: str) -> MemoryDatabase:
        return self[name]

    async def close(self) -> None:
        return None

    def as_pymongo(self) -> AsyncMongoClient[Document]:
        """This client typed as PyMongo's, for code annotated with it."""
        return cast("AsyncMongoClient[Document]", self)


def memory_database(
    name: str = "test", *, tz_aware: bool = True, server: Server = "mongodb"
) -> AsyncDatabase[Document]:
    """A fresh in-memory database, typed as PyMongo's; `memory_of` gives back its hooks."""
    return MemoryDatabase(name, tz_aware=tz_aware, server=server).as_pymongo()


@overload
def memory_of(handle: AsyncCollection[Document]) -> MemoryCollection: ...
@overload
def memory_of(handle: AsyncDatabase[Document]) -> MemoryDatabase: ...
@overload
def memory_of(handle: AsyncMongoClient[Document]) -> MemoryClient: ...
def memory_of(handle: object) -> MemoryCollection | MemoryDatabase | MemoryClient:
    """The in-memory object behind a PyMongo-typed handle (for its test hooks); TypeError for a real one."""
    if isinstance(handle, MemoryCollection | MemoryDatabase | MemoryClient):
        return handle
    raise TypeError(f"{handle!r} is not an in-memory store")
