"""Worklist test support: random ticket views and the worklist's rules restated in plain Python (the oracle)."""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard.reporting import worklist
from switchboard.reporting.worklist.schema import PRIORITY_RANK, instant

QUEUES = ("q1", "q2", "q3", "q4")
AGENTS = ("ayla", "bora", "cem")
TAGS = ("billing", "vip", "bug", "refund")
WORDS = ("Refund", "invoice", "Login", "crash", "Оплата", "Rechnung")
START = datetime(2025, 3, 1, tzinfo=UTC)


def view(rng: random.Random, n: int) -> dict[str, Any]:
    """A ticket view with few distinct values per field, so that filters match some and sort keys tie."""
    opened = START + timedelta(hours=rng.randrange(48))  # ties on opened_at are common
    deadline = None if rng.random() < 0.35 else opened + timedelta(hours=rng.randrange(6))
    return {
        "id": f"t-{rng.getrandbits(24):06x}-{n}",
        "reference": f"SB-{n}",
        "subject": f"{rng.choice(WORDS)} {rng.choice(WORDS).lower()} #{rng.randrange(50)}",
        "status": rng.choice(("new", "open", "pending", "on_hold", "solved", "closed")),
        "priority": rng.choice(tuple(PRIORITY_RANK)),
        "queue_id": rng.choice((*QUEUES, None)),
        "team_id": rng.choice(("red", "blue")),
        "assignee_id": rng.choice((*AGENTS, None)),
        "customer_id": f"c{rng.randrange(8)}",
        "account_id": rng.choice(("a1", "a2", None)),
        "language": rng.choice(("en", "tr", "uk")),
        "channel": rng.choice(("email", "chat", "phone")),
        "tags": rng.sample(TAGS, rng.randrange(3)),
        "sla_state": rng.choice(("ok", "at_risk", "breached")),
        "next_deadline": None if deadline is None else deadline.isoformat().replace("+00:00", "Z"),
        "opened_at": opened.isoformat(),  # '+00:00', not 'Z': the table stores one form
        "updated_at": (opened + timedelta(minutes=rng.randrange(600))).isoformat(),
    }


def database(views: list[dict[str, Any]], path: str = ":memory:") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row  # as the engine's readers have it
    for statement in worklist.ddl():
        conn.execute(statement)
    conn.execute("BEGIN")
    worklist.upsert(conn, views)
    conn.execute("COMMIT")
    return conn


def matches(v: dict[str, Any], q: worklist.WorklistQuery, visible: frozenset[str] | None, agent: str | None) -> bool:
    fields = {"status": "status", "queue": "queue_id", "team": "team_id", "priority": "priority",
              "customer": "customer_id", "account": "account_id", "language": "language", "channel": "channel",
              "sla_state": "sla_state"}  # fmt: skip
    for name, key in fields.items():
        wanted = getattr(q, name)
        if wanted and v[key] not in wanted:
            return False
    if q.assignee and not any(v["assignee_id"] == (None if a == "none" else a) for a in q.assignee):
        return False
    if not set(q.tags) <= set(v["tags"]):
        return False
    if q.q is not None and q.q.strip().lower() not in v["subject"].lower():
        return False
    for key, low, high in (("opened_at", q.opened_from, q.opened_to), ("updated_at", q.updated_from, q.updated_to)):
        at = instant(v[key])
        if (low is not None and at < low) or (high is not None and at >= high):
            return False
    return visible is None or v["queue_id"] in visible or (agent is not None and v["assignee_id"] == agent)


def ordered(views: list[dict[str, Any]], q: worklist.WorklistQuery) -> list[str]:
    """Ids in the worklist's order: the sort key, then id; no deadline last in either direction."""
    desc = q.order == "desc"

    def key(v: dict[str, Any]) -> Any:
        match q.sort:
            case worklist.Sort.PRIORITY:
                return PRIORITY_RANK[v["priority"]]
            case worklist.Sort.OPENED_AT | worklist.Sort.UPDATED_AT:
                return instant(v[q.sort.value])
        return instant(v["next_deadline"]) if v["next_deadline"] else ""

    dated = [v for v in views if q.sort is not worklist.Sort.NEXT_DEADLINE or v["next_deadline"]]
    undated = [v for v in views if v not in dated]
    result = sorted(dated, key=lambda v: (key(v), v["id"]), reverse=desc)
    return [v["id"] for v in result] + [v["id"] for v in sorted(undated, key=lambda v: v["id"], reverse=desc)]


def walk(conn: sqlite3.Connection, q: worklist.WorklistQuery, **scope: Any) -> tuple[list[str], int]:
    """Every page of a query from its cursor on, following next_cursor: the ids in order and the page count."""
    ids: list[str] = []
    pages = 0
    cursor = q.cursor
    while True:
        page = worklist.query(conn, replace(q, cursor=cursor), **scope)
        pages += 1
        ids += [item_id(item) for item in page.items]
        assert len(page.items) <= q.limit
        if page.next_cursor is None:
            return ids, pages
        assert len(page.items) == q.limit
        cursor = page.next_cursor


def item_id(item: str) -> str:
    return str(json.loads(item)["id"])
