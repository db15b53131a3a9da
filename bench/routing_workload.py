"""What the routing bench sets up and sends: the roster's shape and its setup through the admin API, and TicketOpened
as intake publishes them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from switchboard.events import KafkaRecord, encode
from switchboard.events.common import Channel

from bench.figures import Json, log
from bench.tickets import ticket_opened
from bench.waiting import eventually


@dataclass(frozen=True)
class Shape:
    queues: int
    agents_per_team: int
    capacity: int

    def queue(self, n: int) -> str:
        return f"q{n:02d}"

    def team(self, n: int) -> str:
        return f"t{n:02d}"

    def agent(self, team: int, k: int) -> str:
        return f"a{team:02d}-{k:03d}"

    @staticmethod
    def team_of_agent(agent_id: str) -> str:
        return "t" + agent_id[1:].split("-", 1)[0]

    def agents(self) -> list[tuple[str, int]]:
        return [(self.agent(t, k), t) for t in range(self.queues) for k in range(self.agents_per_team)]

    def team_body(self, n: int) -> Json:
        return {"name": f"Team {n}"}

    def queue_body(self, n: int) -> Json:
        return {"team_id": self.team(n)}

    def agent_body(self, agent_id: str, team: int) -> Json:
        return {
            "name": f"Agent {agent_id}",
            "languages": ["en"],
            "teams": [self.team(team)],
            "capacity": {"web_form": self.capacity},
        }

    def roster_document(self) -> Json:
        """The roster the admin API would store after the whole setup (models.DEFAULT_ROSTER plus ours)."""
        return {
            "version": 1,
            "skills": [],
            "agents": {agent_id: self.agent_body(agent_id, team) for agent_id, team in self.agents()},
            "teams": {"support": {"name": "Support"}} | {self.team(n): self.team_body(n) for n in range(self.queues)},
            "queues": {"general": {"team_id": "support"}}
            | {self.queue(n): self.queue_body(n) for n in range(self.queues)},
        }

    def rules(self) -> str:
        lines = ["version: 1", "default: {queue: general}", "rules:"]
        for n in range(self.queues):
            q = self.queue(n)
            lines += [f"  - id: to-{q}", f"    when: {{subject_words: [{q}]}}", f"    then: {{queue: {q}}}"]
        return "\n".join(lines) + "\n"


SUBJECTS = (
    "Cannot log in after password reset",
    "Invoice shows the wrong VAT number",
    "Order arrived damaged",
    "Refund not received yet",
    "App crashes when uploading a photo",
)


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    queue: str
    record: KafkaRecord


def opened_ticket(shape: Shape, n: int) -> Ticket:
    """TicketOpened #n, as intake would publish it (CloudEvents binary mode, key = ticket id, sequence 1), naming
    queue n in its subject."""
    queue = shape.queue(n % shape.queues)
    envelope = ticket_opened(n, subject=f"{SUBJECTS[n % len(SUBJECTS)]} [{queue}]", channel=Channel.WEB_FORM)
    return Ticket(envelope.subject, queue, encode(envelope))


class SetupBlocked(Exception):
    """The roster could not be set up within the budget; `evidence` says how far it got and why."""

    def __init__(self, message: str, evidence: Json) -> None:
        super().__init__(message)
        self.evidence = evidence


async def setup_roster(
    url: str, shape: Shape, presence_changes: Callable[[], int], *, token: str, budget_s: float
) -> Json:
    """Queues, teams, agents and rules through the admin API, then every agent online (`presence_changes`: how
    many presence changes are on the routing topic so far); timed. Raises SetupBlocked when it has not finished
    within `budget_s` (the figures would then never come)."""
    timings: Json = {"budget_s": budget_s}
    began = time.monotonic()
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)

    def check_budget(stage: str) -> None:
        if time.monotonic() - began > budget_s:
            raise SetupBlocked(f"setup exceeded its {budget_s:g} s budget during {stage}", timings)

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as admin:

        async def put(path: str, **kwargs: Any) -> float:
            """Seconds the (last) PUT took."""
            for attempt in range(20):  # roster edits are optimistic: a concurrent edit answers 409, try again
                started = time.monotonic()
                try:
                    response = await admin.put(path, **kwargs)
                except httpx.TransportError:  # a keep-alive connection the server closed as it was reused
                    if attempt == 19:
                        raise
                    continue
                if response.status_code != 409:
                    break
            if response.status_code != 200:
                raise RuntimeError(f"PUT {path}: {response.status_code} {response.text[:500]}")
            return time.monotonic() - started

        agents = shape.agents()
        log(f"setup: {shape.queues} teams and queues, {len(agents):,} agents in one roster PUT ...")
        t0 = time.monotonic()
        roster = {  # keeps the stock `general` queue, which the rules in force until the PUT below name
            "teams": {"support": {"name": "Support"}}
            | {shape.team(n): shape.team_body(n) for n in range(shape.queues)},
            "queues": {"general": {"team_id": "support"}}
            | {shape.queue(n): shape.queue_body(n) for n in range(shape.queues)},
            "agents": {agent_id: shape.agent_body(agent_id, team) for agent_id, team in agents},
        }
        await put("/v1/roster", json=roster)
        timings["roster_put_s"] = round(time.monotonic() - t0, 2)
        timings["agents_put"] = len(agents)
        check_budget("the roster PUT")

        t0 = time.monotonic()
        await put("/v1/routing/rules", content=shape.rules(), headers={"content-type": "application/yaml"})
        timings["rules_put_s"] = round(time.monotonic() - t0, 3)
        last = shape.queue(shape.queues - 1)
        explained = await admin.post("/v1/routing/explain", json={"channel": "web_form", "subject": f"Help [{last}]"})
        decision = explained.json().get("decision", {})
        if explained.status_code != 200 or decision.get("queue") != last:
            raise RuntimeError(f"the rule set does not route [{last}] to {last}: {explained.text[:500]}")

        log(f"setup: {len(agents):,} agents online through the presence API (32 at a time) ...")
        t0 = time.monotonic()
        gate = asyncio.Semaphore(32)

        async def online(agent_id: str) -> None:
            async with gate:
                check_budget("the presence PUTs")
                await put(f"/v1/agents/{agent_id}/presence", json={"presence": "online"})

        await asyncio.gather(*(online(agent_id) for agent_id, _ in agents))
        timings["presence_puts_s"] = round(time.monotonic() - t0, 2)
    # The board applies inputs in order: once every presence change is out, every roster edit was applied too.
    left = max(1.0, budget_s - (time.monotonic() - began))
    await eventually(lambda: presence_changes() >= len(agents), limit_s=left)
    timings["presence_applied_s"] = round(time.monotonic() - t0, 2)
    timings["presence_changes_seen"] = presence_changes()
    if presence_changes() < len(agents):
        raise SetupBlocked(f"only {presence_changes()} of {len(agents)} agents came online in time", timings)
    timings["total_s"] = round(time.monotonic() - began, 2)
    return timings


async def roster_lookup_evidence(client: AsyncMongoClient[Json], database: str) -> Json:
    """How routing's store finds a roster version (integer _id) next to a string _id look-up on the same server:
    the query plan FerretDB reports and the time one look-up takes now."""
    db = client[database]
    found: Json = {}
    with contextlib.suppress(Exception):
        pointer = await db["config"].find_one({"_id": "roster"})
        version = int(pointer["version"]) if pointer else 1
        found["roster_versions_stored"] = await db["rosters"].count_documents({})
        found["roster_version_in_force"] = version
        for label, collection, key in (
            ("rosters by int _id", "rosters", version),
            ("config by str _id", "config", "roster"),
        ):
            explained = await db.command("explain", {"find": collection, "filter": {"_id": key}})
            started = time.monotonic()
            doc = await db[collection].find_one({"_id": key})
            found[label] = {
                "plan": explained.get("queryPlanner", {}).get("Plan"),
                "find_one_ms": round((time.monotonic() - started) * 1000, 1),
                "document_bytes": len(json.dumps(doc, default=str)) if doc else None,
            }
    return found
