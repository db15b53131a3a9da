"""Configuration kept as immutable, numbered versions with a pointer to the one in force (a roster, SLA policies).

A change never edits the version in force: it stores version n+1 and then moves the pointer from n to n+1.
Two admins saving at once both try to store n+1 and one of them collides on `_id`, so exactly one change wins
and the other learns it with `ConcurrencyConflict` (to read again and re-apply, or to answer 409). Versions
stay readable, so a replay can use the exact version an input saw. Versions are stored under zero-padded
string ids: FerretDB answers only string/ObjectId `_id` look-ups from its index.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from .conflicts import ConcurrencyConflict

Document = dict[str, Any]


def version_key(version: int) -> str:
    return f"{version:010d}"


class Versions:
    """The versions of one kind of configuration (`versions`) and its pointer (`pointers`, `_id` = `kind`)."""

    def __init__(self, versions: AsyncCollection[Document], pointers: AsyncCollection[Document], *, kind: str) -> None:
        self._versions = versions
        self._pointers = pointers
        self.kind = kind

    async def current(self) -> int:
        """The version in force; 0 when none was ever stored."""
        doc = await self._pointers.find_one({"_id": self.kind})
        return 0 if doc is None else int(doc["version"])

    async def get(self, version: int | None = None) -> Document | None:
        """A version's stored body (the one in force by default), or None."""
        number = await self.current() if version is None else version
        if number == 0:
            return None
        return await self._versions.find_one({"_id": version_key(number)})

    async def save(self, expected: int, body: Document) -> int:
        """Store `body` as version expected+1 and put it in force; `ConcurrencyConflict` if another writer did first."""
        version = expected + 1
        conflict = ConcurrencyConflict(
            f"the {self.kind} changed meanwhile (it is past version {expected}); read it again"
        )
        try:
            await self._versions.insert_one({"_id": version_key(version), **body})
        except DuplicateKeyError:
            raise conflict from None
        if expected == 0:
            try:
                await self._pointers.insert_one({"_id": self.kind, "version": version})
            except DuplicateKeyError:
                raise conflict from None
            return version
        moved = await self._pointers.update_one({"_id": self.kind, "version": expected}, {"$set": {"version": version}})
        if moved.modified_count != 1:
            raise conflict
        return version
