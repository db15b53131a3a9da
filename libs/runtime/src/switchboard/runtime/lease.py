"""One replica at a time: a lease in Mongo, and the background loop that runs a pass only while holding it.

The outbox sweep and SLA's timer each want exactly one runner among the replicas. A lease document
(`{_id: name, owner, expires_at}`) is taken when it is free or lapsed and renewed by its owner on every
pass; a replica that dies stops renewing, and another takes over once `ttl_s` has gone by.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


class Lease:
    """The lease called `name` in `leases`, as this process sees it."""

    def __init__(self, leases: AsyncCollection[Document], name: str, *, ttl_s: float) -> None:
        self._leases = leases
        self._name = name
        self._ttl = timedelta(seconds=ttl_s)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    async def hold(self) -> bool:
        """Take or renew the lease; False while another process holds it (one round trip)."""
        now = datetime.now(UTC)
        try:
            doc = await self._leases.find_one_and_update(
                {"_id": self._name, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + self._ttl}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # another replica holds it: the upsert collided with its document
            return False
        return doc is not None and doc.get("owner") == self.owner

    async def release(self) -> None:
        """Let the lease lapse now, if this process holds it, so another replica need not wait out the TTL."""
        await self._leases.update_one(
            {"_id": self._name, "owner": self.owner}, {"$set": {"expires_at": datetime.now(UTC)}}
        )

    async def run_every(
        self,
        period_s: float,
        step: Callable[[], Awaitable[object]],
        *,
        failed: str,
        logger: Any,
        wait_first: bool = False,
    ) -> None:
        """Until cancelled: every `period_s`, run `step` if this process holds the lease (`wait_first`: the first
        pass after one period, not at once). A failed pass - Mongo unreachable, `step` raising - is logged as a
        warning (`failed`) on `logger` and the next pass comes on time: the work is still there to be done."""
        if wait_first:
            await asyncio.sleep(period_s)
        while True:
            try:
                if await self.hold():
                    await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning(failed, exc_info=True)
            await asyncio.sleep(period_s)
