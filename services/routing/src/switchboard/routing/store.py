"""Routing's Mongo: versioned roster and rule sets, account facts, per-ticket facts, and its event store.

Rosters and rule sets are kept as immutable versions (`rosters/<n>`, `rule_sets/<n>`) plus a pointer to
the one in force (`runtime.versions`), so a replay of the assignment board can use exactly the roster each
input saw. Because versions never change, the few most recent are kept in memory (a 2,000-agent roster is a
large document, read for every presence change); only the pointer is read each time. The rule set in force is
kept parsed, and its pointer re-read at most every 2 s (another replica may have replaced it).

Per-ticket facts and account facts are written through group commit: tickets are routed side by side.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from switchboard.runtime.batching import BulkWriter
from switchboard.runtime.eventstore import EventStore
from switchboard.runtime.versions import Versions

from .domain.roster import Roster
from .domain.rules import RuleSet, parse_rules
from .models import roster_from_document

Document = dict[str, Any]
SOURCE = "/switchboard/routing"
KEPT_VERSIONS = 4
RULES_RECHECK_S = 2.0


class RoutingStore:
    def __init__(self, db: AsyncDatabase[Document], *, namespace: str) -> None:
        self.events = EventStore(db["commits"], db["outbox_pending"], source=SOURCE, namespace=namespace)
        self.rosters = Versions(db["rosters"], db["config"], kind="roster")
        self.rule_sets = Versions(db["rule_sets"], db["config"], kind="rules")
        self._accounts = db["accounts"]
        self._tickets = db["tickets"]
        self._ticket_writes = BulkWriter(self._tickets)
        self._account_writes = BulkWriter(self._accounts)
        self._rosters_kept: OrderedDict[int, tuple[Document, Roster | None]] = OrderedDict()
        self._rules: tuple[int, RuleSet] | None = None
        self._rules_checked = 0.0

    async def setup(self) -> None:
        await self.events.setup()

    # the roster -----------------------------------------------------------------------------------------

    async def roster_document(self, version: int | None = None) -> Document | None:
        """The roster as stored (the one in force by default). Shared with other callers: never edit it."""
        number = version if version is not None else await self.rosters.current()
        kept = self._rosters_kept.get(number)
        if kept is not None:
            self._rosters_kept.move_to_end(number)
            return kept[0]
        doc = await self.rosters.get(number)
        if doc is None:
            return None
        self._keep(number, dict(doc["roster"]), None)
        return self._rosters_kept[number][0]

    async def roster(self, version: int | None = None) -> Roster | None:
        """The roster checked and built (parsing 2,000 agents takes tens of milliseconds, so it is kept too)."""
        number = version if version is not None else await self.rosters.current()
        doc = await self.roster_document(number)
        if doc is None:
            return None
        built = self._rosters_kept[number][1]
        if built is None:
            built = roster_from_document(doc)
            self._keep(number, doc, built)
        return built

    async def save_roster(self, expected: int, doc: Mapping[str, Any], roster: Roster) -> int:
        """Store the next version after `expected` (`ConcurrencyConflict` if another was stored meanwhile)."""
        version = await self.rosters.save(expected, {"roster": dict(doc)})
        self._keep(version, dict(doc), roster)
        return version

    def _keep(self, version: int, doc: Document, roster: Roster | None) -> None:
        self._rosters_kept[version] = (doc, roster)
        self._rosters_kept.move_to_end(version)
        while len(self._rosters_kept) > KEPT_VERSIONS:
            self._rosters_kept.popitem(last=False)

    # the rule set -----------------------------------------------------------------------------------------

    async def rules_text(self, version: int | None = None) -> tuple[int, str | None]:
        """A rule set's version and text as stored (the one in force by default)."""
        number = version if version is not None else await self.rule_sets.current()
        doc = await self.rule_sets.get(number)
        return number, None if doc is None else str(doc["text"])

    async def rules(self) -> RuleSet:
        """The rule set in force, parsed once per version.

        Parsed without checking it against the roster: it was checked when it was saved, and a roster changed
        since (a queue removed) must not stop routing; the board sends tickets for a missing queue to the
        default queue.
        """
        if self._rules is None or time.monotonic() - self._rules_checked > RULES_RECHECK_S:
            self._rules_checked = time.monotonic()
            version = await self.rule_sets.current()
            if self._rules is None or self._rules[0] != version:
                _, text = await self.rules_text(version)
                if text is not None:
                    self._rules = (version, parse_rules(text, known_queues=None, known_skills=None))
        if self._rules is None:
            raise LookupError("no rule set is stored yet: routing stores the rules file when it starts")
        return self._rules[1]

    async def save_rules(self, expected: int, text: str, rules: RuleSet) -> int:
        """Store the next rule set after `expected` and use it at once (`ConcurrencyConflict` if one came first)."""
        version = await self.rule_sets.save(expected, {"text": text})
        self._rules, self._rules_checked = (version, rules), time.monotonic()
        return version

    # facts routing needs -------------------------------------------------------------------------------

    async def remember_account(self, account_id: str, *, tier: str | None, key_account: bool, name: str) -> None:
        await self._account_writes.write(
            UpdateOne(
                {"_id": account_id}, {"$set": {"tier": tier, "key_account": key_account, "name": name}}, upsert=True
            )
        )

    async def account(self, account_id: str | None) -> Document | None:
        return None if account_id is None else await self._accounts.find_one({"_id": account_id})

    async def remember_ticket(self, ticket_id: str, fields: Document) -> None:
        await self._ticket_writes.write(UpdateOne({"_id": ticket_id}, {"$set": fields}, upsert=True))

    async def ticket(self, ticket_id: str) -> Document | None:
        return await self._tickets.find_one({"_id": ticket_id})
