"""The summary a lead reads first, computed from the aggregates' sums and counts over a period (exact)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

DEFINITIONS: dict[str, str] = {
    "first_reply_minutes": "Mean minutes from opening to the first public agent reply, over first replies sent in "
    "the period (calendar and business minutes of the ticket's SLA calendar). Notes, automatic messages and "
    "reopens never count or reset it.",
    "resolution_minutes": "Mean minutes from opening to the last solve, over tickets solved in the period that are "
    "still solved or closed (a reopened ticket is not resolved).",
    "sla_compliance_percent": "Targets met / (met + breached) × 100, over outcomes in the period, every policy and "
    "target together; `sla` gives each target separately.",
    "csat_percent": "Satisfied answers (4 or 5 of 5) / CSAT answers × 100; a revised answer counts once, as revised.",
    "nps": "(promoters (9-10) − detractors (0-6)) / NPS answers × 100, from −100 to 100.",
    "backlog_open": "Tickets open now (new, open, pending, on hold), whatever the period.",
    "opened": "Tickets opened in the period (automated tickets excluded).",
    "solved": "Solves in the period; a ticket solved, reopened and solved again counts twice.",
}


def _sums(conn: sqlite3.Connection, collection: str, start: str, end: str, team: str | None) -> list[dict[str, Any]]:
    sql = "SELECT doc FROM aggregates WHERE collection=? AND json_extract(doc,'$.day') BETWEEN ? AND ?"
    args: list[Any] = [collection, start, end]
    if team is not None:
        sql += " AND json_extract(doc,'$.team_id') = ?"
        args.append(team)
    return [json.loads(row[0]) for row in conn.execute(sql, args)]


def _total(docs: list[dict[str, Any]], name: str) -> float:
    return float(sum(d["sums"].get(name, 0.0) for d in docs))


def _ratio(a: float, b: float, scale: float = 1.0) -> float | None:
    return round(scale * a / b, 2) if b else None


def summary(conn: sqlite3.Connection, *, start: str, end: str, team: str | None) -> dict[str, Any]:
    teams = _sums(conn, "team_day", start, end, team)
    sla = _sums(conn, "sla_day", start, end, team)
    feedback = _sums(conn, "feedback_day", start, end, team)
    met, breached = _total(sla, "met"), _total(sla, "breached")
    per_target: dict[str, dict[str, float]] = {}
    for doc in sla:
        entry = per_target.setdefault(doc["target"], {"met": 0.0, "breached": 0.0})
        entry["met"] += doc["sums"].get("met", 0.0)
        entry["breached"] += doc["sums"].get("breached", 0.0)
    backlog_sql = (
        "SELECT count(*) FROM ticket_state WHERE json_extract(view,'$.status') IN ('new','open','pending','on_hold')"
    )
    backlog_args: list[Any] = []
    if team is not None:
        backlog_sql += " AND json_extract(view,'$.team_id') = ?"
        backlog_args.append(team)
    first_n, res_n = _total(teams, "first_replies"), _total(teams, "resolutions")
    return {
        "from": start,
        "to": end,
        "team": team,
        "opened": _total(teams, "opened"),
        "solved": _total(teams, "solved"),
        "first_reply_minutes": {
            "calendar": _ratio(_total(teams, "first_reply_min"), first_n),
            "business": _ratio(_total(teams, "first_reply_bmin"), first_n),
            "count": first_n,
        },
        "resolution_minutes": {
            "calendar": _ratio(_total(teams, "resolution_min"), res_n),
            "business": _ratio(_total(teams, "resolution_bmin"), res_n),
            "count": res_n,
        },
        "sla_compliance_percent": _ratio(met, met + breached, 100),
        "sla": {
            t: {**v, "percent": _ratio(v["met"], v["met"] + v["breached"], 100)} for t, v in sorted(per_target.items())
        },
        "csat_percent": _ratio(_total(feedback, "csat_satisfied"), _total(feedback, "csat_answers"), 100),
        "csat_answers": _total(feedback, "csat_answers"),
        "nps": _ratio(
            _total(feedback, "nps_promoters") - _total(feedback, "nps_detractors"), _total(feedback, "nps_answers"), 100
        ),
        "nps_answers": _total(feedback, "nps_answers"),
        "backlog_open": conn.execute(backlog_sql, backlog_args).fetchone()[0],
        "definitions": "GET /v1/metrics/definitions",
    }
