"""Customer and account 360: what their tickets add up to, and a health score whose formula is stated here.

Recomputed from the ticket views of the customer (or account) whenever one of them changes, so it is exact and
as rebuildable as the views. `last_contact_at` is the latest activity on any of their tickets; the CSAT trend is
per UTC month (answers and satisfied answers, so the rate is exact at read time).

    health = 100 - 10 x breaches in total (at most 40) - 5 x reopens (at most 20)
                 - 30 x (1 - CSAT rate) when there is at least one CSAT answer
                 - 2 x open tickets (at most 10)
    clamped to 0..100 and rounded to a whole number.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

OPEN = frozenset({"new", "open", "pending", "on_hold"})


def health_score(*, breaches: int, reopens: int, csat_answers: int, csat_satisfied: int, open_tickets: int) -> int:
    score = 100.0 - min(40, 10 * breaches) - min(20, 5 * reopens) - min(10, 2 * open_tickets)
    if csat_answers:
        score -= 30 * (1 - csat_satisfied / csat_answers)
    return round(max(0.0, min(100.0, score)))


def summary_of(key: str, subject: str, views: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The 360 document of one customer (`key` = 'customer_id') or account ('account_id'); None without tickets."""
    views = list(views)
    if not views:
        return None
    trend: dict[str, dict[str, float]] = {}
    sums = {"tickets": 0.0, "open": 0.0, "breaches": 0.0, "reopens": 0.0, "csat_answers": 0.0, "csat_satisfied": 0.0}
    for view in views:
        sums["tickets"] += 1
        sums["open"] += view["status"] in OPEN
        sums["breaches"] += len(view["sla_breaches"])
        sums["reopens"] += view["reopens"]
        survey = view["survey"]
        if survey and survey["kind"] == "csat":
            satisfied = float(survey["score"] >= 4)
            sums["csat_answers"] += 1
            sums["csat_satisfied"] += satisfied
            month = trend.setdefault(survey["answered_at"][:7], {"csat_answers": 0.0, "csat_satisfied": 0.0})
            month["csat_answers"] += 1
            month["csat_satisfied"] += satisfied
    return {
        key: subject,
        "last_contact_at": max(view["updated_at"] for view in views),
        "csat_trend": [{"month": m, **v} for m, v in sorted(trend.items())],
        "health": health_score(
            breaches=int(sums["breaches"]),
            reopens=int(sums["reopens"]),
            csat_answers=int(sums["csat_answers"]),
            csat_satisfied=int(sums["csat_satisfied"]),
            open_tickets=int(sums["open"]),
        ),
        "sums": sums,
    }
