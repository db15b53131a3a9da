"""Known rows for the supervisor overview's tests, in the tables it reads, with the figures they must give.

The tables have only the columns the overview's SQL names, so a renamed column fails these tests loudly.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard.reporting.supervisor.overview import iso

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
TODAY = "2026-03-14"

SCHEMA = (
    "CREATE TABLE tickets(id TEXT PRIMARY KEY, subject TEXT, status TEXT, queue_id TEXT,"
    " team_id TEXT, assignee_id TEXT, priority TEXT, sla_state TEXT, next_deadline TEXT, opened_at TEXT,"
    " updated_at TEXT, page_json TEXT)",
    "CREATE TABLE agents(id TEXT PRIMARY KEY, view TEXT)",
    "CREATE TABLE aggregates(collection TEXT, id TEXT, doc TEXT, PRIMARY KEY(collection, id))",
)


def ago(**delta: float) -> str:
    return iso(NOW - timedelta(**delta))


def later(**delta: float) -> str:
    return iso(NOW + timedelta(**delta))


def put_ticket(conn: sqlite3.Connection, id: str, **fields: Any) -> None:
    """A ticket row and its view (the same fields, as the fold would give them)."""
    row: dict[str, Any] = {
        "id": id,
        "reference": f"T-{id[1:]}",
        "subject": f"Subject of {id}",
        "status": "open",
        "queue_id": "billing",
        "team_id": "team-a",
        "assignee_id": None,
        "priority": "normal",
        "sla_state": "ok",
        "next_deadline": None,
        "opened_at": ago(minutes=10),
        "updated_at": ago(minutes=1),
    } | fields
    row["page_json"] = json.dumps(row)  # the list item, reference included, as the worklist keeps it
    del row["reference"]
    conn.execute(
        f"INSERT OR REPLACE INTO tickets({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",  # noqa: S608
        tuple(row.values()),
    )


def put_aggregate(conn: sqlite3.Connection, collection: str, id: str, **doc: Any) -> None:
    """An aggregate as the engine keeps it: the bucket keys, and the counts under `sums`."""
    keys = {k: v for k, v in doc.items() if k in ("day", "team_id", "agent_id", "language", "policy_id", "target")}
    sums = {k: v for k, v in doc.items() if k not in keys}
    conn.execute(
        "INSERT OR REPLACE INTO aggregates VALUES (?, ?, ?)", (collection, id, json.dumps({**keys, "sums": sums}))
    )


def seed(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)
    put_ticket(conn, "t1", priority="high", opened_at=ago(minutes=30))
    put_ticket(conn, "t2", priority="high", opened_at=ago(hours=2), sla_state="at_risk",
               next_deadline=later(minutes=20), assignee_id="ayla")  # fmt: skip
    put_ticket(conn, "t3", opened_at=ago(hours=4), sla_state="breached", next_deadline=ago(minutes=10),
               assignee_id="ayla", subject='<b>Refund</b> & "now"')  # fmt: skip
    put_ticket(conn, "t4", status="new", opened_at=ago(hours=1))  # exactly 1 h: '1-4h'
    put_ticket(conn, "t5", status="pending", queue_id="tech", priority="urgent", opened_at=ago(days=2),
               sla_state="at_risk", next_deadline=later(minutes=5), assignee_id="ben")  # fmt: skip
    put_ticket(conn, "t6", status="on_hold", queue_id="tech", priority="low", opened_at=ago(days=5),
               assignee_id="dana")  # fmt: skip
    put_ticket(conn, "t7", status="solved", queue_id="tech", priority="low", opened_at=ago(days=5),
               sla_state="breached", assignee_id="ben")  # fmt: skip
    put_ticket(conn, "t8", status="closed", opened_at=ago(hours=3), sla_state="at_risk", assignee_id="ayla")
    put_ticket(conn, "t9", status="new", queue_id=None, opened_at=ago(minutes=59, seconds=59))
    put_ticket(conn, "t10", queue_id="tech", opened_at=ago(hours=23), sla_state="at_risk")  # no deadline
    for agent, presence in (("ayla", "online"), ("ben", "away"), ("cem", "offline"), ("eda", "online")):
        conn.execute("INSERT INTO agents VALUES (?, ?)", (agent, json.dumps({"id": agent, "presence": presence})))
    put_aggregate(conn, "sla_day", f"{TODAY}/a", day=TODAY, team_id="team-a", breached=2, met=5)
    put_aggregate(conn, "sla_day", f"{TODAY}/b", day=TODAY, team_id="team-b", breached=1, met=3)
    put_aggregate(conn, "sla_day", "2026-03-13/a", day="2026-03-13", team_id="team-a", breached=4, met=1)
    feedback = {
        "2026-03-12/a": ("2026-03-12", 10, 8, 10, 6, 2),
        "2026-03-12/b": ("2026-03-12", 5, 3, 10, 3, 4),
        "2026-03-13/a": ("2026-03-13", 4, 4, 0, 0, 0),
        "2026-02-01/a": ("2026-02-01", 9, 9, 9, 9, 0),  # outside a 14-day window
    }
    for id, (day, csat, satisfied, nps, promoters, detractors) in feedback.items():
        put_aggregate(conn, "feedback_day", id, day=day, team_id=id[-1], csat_answers=csat,
                      csat_satisfied=satisfied, nps_answers=nps, nps_promoters=promoters,
                      nps_detractors=detractors)  # fmt: skip
    conn.commit()


#: What the rows above must give (worked out by hand, not by the code under test).
BACKLOG = [
    {"queue_id": "billing", "priority": "high", "age_bucket": "<1h", "open": 1},  # t1
    {"queue_id": "billing", "priority": "high", "age_bucket": "1-4h", "open": 1},  # t2
    {"queue_id": "billing", "priority": "normal", "age_bucket": "1-4h", "open": 1},  # t4
    {"queue_id": "billing", "priority": "normal", "age_bucket": "4-24h", "open": 1},  # t3
    {"queue_id": "tech", "priority": "urgent", "age_bucket": "1-3d", "open": 1},  # t5
    {"queue_id": "tech", "priority": "normal", "age_bucket": "4-24h", "open": 1},  # t10
    {"queue_id": "tech", "priority": "low", "age_bucket": ">3d", "open": 1},  # t6
    {"queue_id": None, "priority": "normal", "age_bucket": "<1h", "open": 1},  # t9
]
AT_RISK_IDS = ["t3", "t5", "t2", "t10"]
AGENTS = [
    {"agent_id": "ayla", "presence": "online", "open_assigned": 2},
    {"agent_id": "eda", "presence": "online", "open_assigned": 0},
    {"agent_id": "ben", "presence": "away", "open_assigned": 1},
    {"agent_id": "cem", "presence": "offline", "open_assigned": 0},
    {"agent_id": "dana", "presence": None, "open_assigned": 1},
]
BREACHES_TODAY = 3
TREND_KNOWN = {
    "2026-03-12": {"day": "2026-03-12", "csat_percent": 73.3, "nps": 15.0},  # 11/15; (9 - 6) / 20
    "2026-03-13": {"day": "2026-03-13", "csat_percent": 100.0, "nps": None},
    "2026-03-14": {"day": "2026-03-14", "csat_percent": None, "nps": None},
}
