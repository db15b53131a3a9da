"""What a supervisor sees at a glance, read from the replica's SQLite in one snapshot with plain SQL.

Everything is computed at read time from the tickets' worklist columns, the agents' views and the daily
aggregates (sums and counts), so the figures are exact and as fresh as the last folded batch. The clock is
passed in: ages and "today" (a UTC day) are relative to it, which is what makes them testable.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

OPEN_STATUSES = ("new", "open", "pending", "on_hold")
#: Upper bounds (exclusive) of the age buckets; a ticket at least 72 h old, or of unknown age, is ">3d".
AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("<1h", timedelta(hours=1)),
    ("1-4h", timedelta(hours=4)),
    ("4-24h", timedelta(hours=24)),
    ("1-3d", timedelta(days=3)),
)
OLDEST_BUCKET = ">3d"
BUCKET_LABELS = (*(label for label, _ in AGE_BUCKETS), OLDEST_BUCKET)
PRIORITY_ORDER = ("urgent", "high", "normal", "low")

_BACKLOG = """
SELECT queue_id, priority,
       CASE WHEN age_ms < :b0 THEN '<1h' WHEN age_ms < :b1 THEN '1-4h' WHEN age_ms < :b2 THEN '4-24h'
            WHEN age_ms < :b3 THEN '1-3d' ELSE '>3d' END AS age_bucket,
       COUNT(*) AS open
FROM (SELECT queue_id, priority, ROUND((julianday(:now) - julianday(opened_at)) * 86400000) AS age_ms
      FROM tickets WHERE status IN (SELECT value FROM json_each(:open)))
GROUP BY queue_id, priority, age_bucket
"""
# Most overdue first: a breached clock still running has a deadline in the past; no deadline sorts last.
_AT_RISK = """
SELECT id, json_extract(page_json, '$.reference') AS reference, subject, queue_id, assignee_id, next_deadline,
       sla_state FROM tickets
WHERE status IN (SELECT value FROM json_each(:open)) AND sla_state IN ('at_risk', 'breached')
ORDER BY next_deadline IS NULL, julianday(next_deadline), id LIMIT :limit
"""
_AT_RISK_TOTAL = """
SELECT COUNT(*) FROM tickets
WHERE status IN (SELECT value FROM json_each(:open)) AND sla_state IN ('at_risk', 'breached')
"""
_BREACHES_TODAY = """
SELECT COALESCE(SUM(json_extract(doc, '$.sums.breached')), 0) FROM aggregates
WHERE collection = 'sla_day' AND json_extract(doc, '$.day') = :today
"""
# Every agent with a view, and every assignee of an open ticket even if no view of theirs was folded yet.
_AGENTS = """
WITH load AS (SELECT assignee_id, COUNT(*) AS n FROM tickets
              WHERE status IN (SELECT value FROM json_each(:open)) AND assignee_id IS NOT NULL
              GROUP BY assignee_id),
     ids AS (SELECT id FROM agents UNION SELECT assignee_id FROM load)
SELECT ids.id, json_extract(agents.view, '$.presence'), COALESCE(load.n, 0)
FROM ids LEFT JOIN agents ON agents.id = ids.id LEFT JOIN load ON load.assignee_id = ids.id
ORDER BY CASE json_extract(agents.view, '$.presence') WHEN 'online' THEN 0 WHEN 'away' THEN 1 ELSE 2 END, ids.id
"""
_FEEDBACK_DAYS = """
SELECT json_extract(doc, '$.day') AS day,
       SUM(json_extract(doc, '$.sums.csat_answers')), SUM(json_extract(doc, '$.sums.csat_satisfied')),
       SUM(json_extract(doc, '$.sums.nps_answers')), SUM(json_extract(doc, '$.sums.nps_promoters')),
       SUM(json_extract(doc, '$.sums.nps_detractors'))
FROM aggregates WHERE collection = 'feedback_day' AND json_extract(doc, '$.day') BETWEEN :first AND :last
GROUP BY day
"""


def iso(moment: datetime) -> str:
    """The views' timestamp format (UTC, microseconds, 'Z'), which SQLite's date functions read."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def csat_percent(answers: int, satisfied: int) -> float | None:
    """Share of satisfied answers, in percent to one decimal; None with no answers (not 0: nobody said so)."""
    return round(100 * satisfied / answers, 1) if answers else None


def net_promoter_score(answers: int, promoters: int, detractors: int) -> float | None:
    """Promoters minus detractors, in percent of all NPS answers (-100..100), to one decimal."""
    return round(100 * (promoters - detractors) / answers, 1) if answers else None


def trend_days(today: date, days: int) -> list[str]:
    """The last `days` UTC days ending today, oldest first, so a chart has one point per day, gaps included."""
    return [(today - timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1)]


def _rank(value: str | None, order: tuple[str, ...]) -> int:
    return order.index(value) if value in order else len(order)


@contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction, so the figures agree with each other even while a batch is being folded."""
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        yield
    finally:
        if own:
            conn.execute("COMMIT")


def overview(conn: sqlite3.Connection, *, now: datetime, at_risk_limit: int = 50, days: int = 14) -> dict[str, Any]:
    """The supervisor page's figures as JSON-able data (shape: `GET /v1/supervisor/overview`)."""
    today = now.astimezone(UTC).date()
    open_ = json.dumps(OPEN_STATUSES)
    bounds = {f"b{i}": limit.total_seconds() * 1000 for i, (_, limit) in enumerate(AGE_BUCKETS)}
    window = trend_days(today, days)
    with _snapshot(conn):
        backlog_rows = conn.execute(_BACKLOG, {"now": iso(now), "open": open_, **bounds}).fetchall()
        at_risk_rows = conn.execute(_AT_RISK, {"open": open_, "limit": at_risk_limit}).fetchall()
        at_risk_total = conn.execute(_AT_RISK_TOTAL, {"open": open_}).fetchone()[0]
        breaches = conn.execute(_BREACHES_TODAY, {"today": today.isoformat()}).fetchone()[0]
        agent_rows = conn.execute(_AGENTS, {"open": open_}).fetchall()
        feedback_rows = conn.execute(_FEEDBACK_DAYS, {"first": window[0], "last": window[-1]}).fetchall()
    backlog = sorted(
        ({"queue_id": r[0], "priority": r[1], "age_bucket": r[2], "open": r[3]} for r in backlog_rows),
        key=lambda b: (
            b["queue_id"] is None,
            b["queue_id"] or "",
            _rank(b["priority"], PRIORITY_ORDER),
            BUCKET_LABELS.index(b["age_bucket"]),
        ),
    )
    keys = ("id", "reference", "subject", "queue_id", "assignee_id", "next_deadline", "sla_state")
    feedback = {r[0]: [int(v or 0) for v in r[1:]] for r in feedback_rows}
    trend = []
    for day in window:
        csat_answers, satisfied, nps_answers, promoters, detractors = feedback.get(day, [0, 0, 0, 0, 0])
        trend.append(
            {
                "day": day,
                "csat_percent": csat_percent(csat_answers, satisfied),
                "nps": net_promoter_score(nps_answers, promoters, detractors),
            }
        )
    return {
        "backlog": backlog,
        "at_risk": [dict(zip(keys, tuple(row), strict=True)) for row in at_risk_rows],
        "at_risk_total": at_risk_total,
        "breaches_today": int(breaches),
        "agents": [{"agent_id": r[0], "presence": r[1], "open_assigned": r[2]} for r in agent_rows],
        "trend": trend,
        "as_of": iso(now),
    }
