"""What `find` returns over the in-memory store: options chain until the first fetch, which runs the query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.errors import InvalidOperation

from .query import SortSpec, sort_spec
from .values import Document

Fetch = Callable[[SortSpec, int, int], Awaitable[list[Document]]]  # (sort, limit, skip) -> copies


class MemoryCursor:
    """`sort`, `skip`, `limit`, `to_list` and `async for`, as on PyMongo's AsyncCursor."""

    def __init__(self, fetch: Fetch, *, limit: int = 0, skip: int = 0) -> None:
        self._fetch_all = fetch
        self._sort: SortSpec = []
        self._limit = limit
        self._skip = skip
        self._results: list[Document] | None = None

    def sort(self, key_or_list: Any, direction: Any = None) -> MemoryCursor:
        self._unstarted()
        self._sort = sort_spec(key_or_list, direction)
        return self

    def limit(self, limit: int) -> MemoryCursor:
        if not isinstance(limit, int):
            raise TypeError("limit must be an integer")
        self._unstarted()
        self._limit = limit
        return self

    def skip(self, skip: int) -> MemoryCursor:
        if not isinstance(skip, int) or skip < 0:
            raise ValueError("skip must be a non-negative integer")
        self._unstarted()
        self._skip = skip
        return self

    async def to_list(self, length: int | None = None) -> list[Document]:
        results = await self._fetch()
        taken = results[: len(results) if length is None else length]
        del results[: len(taken)]
        return taken

    def __aiter__(self) -> MemoryCursor:
        return self

    async def __anext__(self) -> Document:
        results = await self._fetch()
        if not results:
            raise StopAsyncIteration
        return results.pop(0)

    async def close(self) -> None:
        self._results = []

    async def _fetch(self) -> list[Document]:
        if self._results is None:
            self._results = await self._fetch_all(self._sort, self._limit, self._skip)
        return self._results

    def _unstarted(self) -> None:
        if self._results is not None:
            raise InvalidOperation("cannot set options after executing query")
