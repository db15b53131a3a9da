"""The SLA service's own code as the SLA bench runs it (the bench's only imports of it): its consumer handler
deciding clocks against in-memory collections, to seed the store, and the checks that what the service stored
is what that path stores."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import bson
from bson.codec_options import CodecOptions
from switchboard.events import Envelope

# The SLA service's own code: the SLA bench imports it here and nowhere else, so a rename there is a change here.
from switchboard.runtime.commits import commit_id
from switchboard.runtime.testing import MemoryDatabase
from switchboard.sla.app import Sla
from switchboard.sla.configuration import DEFAULT_POLICIES
from switchboard.sla.store import TIMER_STEP, SlaStore, bucket, bucket_start

from bench.figures import Json
from bench.seeding import BulkWriter

BSON_OPTIONS: CodecOptions[Json] = CodecOptions(tz_aware=True)


def policies_with(policy: Json) -> list[Any]:
    """`policy` first, then the service's default policies, unchanged."""
    return [policy, *DEFAULT_POLICIES]


def bucket_end(moment: datetime) -> datetime:
    """When the timer bucket `moment` falls in is over: the earliest the service fires it."""
    return bucket_start(moment) + TIMER_STEP


async def buckets_left(service_db: Any, moments: Iterable[datetime]) -> int:
    """How many of the timer buckets these moments fall in still hold a timer (a first slot)."""
    left = 0
    for name in sorted({bucket(moment) for moment in moments}):
        left += await service_db["timers"].find_one({"_id": f"{name}#{0:07d}"}) is not None
    return left


class HeldRelay:
    """Stands in for the outbox relay: the seeding path publishes nothing."""

    def submit(self, commit: Json) -> None:
        return None


class Seeder:
    """The service's consumer entry (`Sla.subscribers.on_events`), wired as the service wires it (`Sla.over`),
    with this process's memory as its Mongo."""

    def __init__(self, namespace: str) -> None:
        self.db = MemoryDatabase()
        self.store = SlaStore(self.db.as_pymongo(), namespace=namespace)
        self.sla = Sla.over(self.store, relay=HeldRelay())

    async def load_configuration(self, service_db: Any) -> None:
        """The service's calendars and policy set, as it stored them."""
        for name in ("calendars", "config", "policy_sets"):
            docs = await service_db[name].find().to_list()
            if docs:
                await self.db[name].insert_many(docs)
        await self.sla.config.reload()

    async def decide(self, envelopes: list[Envelope]) -> None:
        for start in range(0, len(envelopes), 500):  # the consumer's max_records
            await self.sla.subscribers.on_events(envelopes[start : start + 500])

    async def take(self, *, timers: bool) -> dict[str, list[Json]]:
        """The documents written since the last take (timers only when asked: a bucket collects many tickets)."""
        names = ["clocks", "commits"] + (["timers"] if timers else [])
        taken = {name: await self.db[name].find({}).to_list() for name in names}
        for name in [*names, "outbox_pending"]:
            await self.db[name].delete_many({})
        return taken


async def seed(
    seeder: Seeder, writer: BulkWriter, envelopes: list[Envelope], *, chunk: int = 4000
) -> tuple[float, float]:
    """Decide every envelope with the service's handler and store what it wrote; (decide s, wall s)."""
    started = time.monotonic()
    deciding = 0.0
    for start in range(0, len(envelopes), chunk):
        t = time.monotonic()
        await seeder.decide(envelopes[start : start + chunk])
        deciding += time.monotonic() - t
        await writer.submit(await seeder.take(timers=False))
    await writer.submit(await seeder.take(timers=True))
    await writer.drain()
    return deciding, time.monotonic() - started


def comparable(doc: Json | None, drop: tuple[str, ...] = ()) -> Json | None:
    """A document as Mongo hands it back (BSON round trip: ms precision, aware datetimes), minus `drop`."""
    if doc is None:
        return None
    decoded = bson.decode(bson.encode({k: v for k, v in doc.items() if k not in drop}), codec_options=BSON_OPTIONS)
    return dict(decoded)


async def fidelity_check(seeder: Seeder, service_db: Any, envelopes: list[Envelope]) -> Json:
    """Replay the seeding path for tickets the service itself decided, and compare the documents: clocks and
    commits must be identical (but `stored_at`); the ticket must be listed in the same timer bucket."""
    differences: list[str] = []
    same_documents = 0
    for envelope in envelopes:
        ticket = envelope.subject
        await seeder.decide([envelope])
        ours = await seeder.take(timers=True)
        theirs_clock = await service_db["clocks"].find_one({"_id": ticket})
        same = comparable(ours["clocks"][0]) == comparable(theirs_clock)
        if not same:
            differences.append(f"{ticket}: clocks differ: seeded {ours['clocks'][0]} vs service {theirs_clock}")
        for commit in ours["commits"]:  # by _id: FerretDB would scan the commits for any other filter
            stored = await service_db["commits"].find_one({"_id": commit["_id"]})
            if comparable(commit, ("stored_at",)) != comparable(stored, ("stored_at",)):
                same = False
                differences.append(f"{ticket}: commit differs: seeded {commit} vs service {stored}")
        after = commit_id(ticket, 1 + sum(len(c["records"]) for c in ours["commits"]))
        if await service_db["commits"].find_one({"_id": after}) is not None:
            same = False
            differences.append(f"{ticket}: the service stored more commits than the seeding path ({after})")
        same_documents += same
    return {
        "checked": len(envelopes),
        "clocks_and_commits_identical": same_documents,
        "differences": differences[:3],
        "timers": "compared by the timer check over every published ticket (timers_check_published)",
    }


async def timer_check(service_db: Any, tickets: list[str]) -> Json:
    """Is each ticket listed in the timer bucket of its clocks' `due_at`? A clock whose ticket is not listed
    there is never fired: its warnings and breach never come."""
    buckets: dict[str, set[str]] = {}
    missing: list[str] = []
    no_clocks: list[str] = []
    nothing_due = 0
    semaphore = asyncio.Semaphore(16)

    async def one(ticket: str) -> None:
        nonlocal nothing_due
        async with semaphore:
            doc = await service_db["clocks"].find_one({"_id": ticket})
            if doc is None:
                no_clocks.append(ticket)
                return
            if doc.get("due_at") is None:
                nothing_due += 1
                return
            name = bucket(doc["due_at"])
            if name not in buckets:  # timers are slot documents `<bucket>#<n>` (runtime/slotlist.py)
                listed: set[str] = set()
                while (slot := await service_db["timers"].find_one({"_id": f"{name}#{len(listed):07d}"})) is not None:
                    listed.add(str(slot["value"]))
                buckets.setdefault(name, listed)
            if ticket not in buckets[name]:
                missing.append(ticket)

    await asyncio.gather(*(one(t) for t in tickets))
    return {
        "tickets": len(tickets),
        "without_timer": len(missing),
        "without_timer_examples": missing[:3],
        "without_clocks": len(no_clocks),
        "nothing_due": nothing_due,
        "buckets": len(buckets),
    }
