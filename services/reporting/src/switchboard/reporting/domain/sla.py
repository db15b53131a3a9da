"""A ticket's SLA state per target, as the worklist shows it, from its clock records.

The latest record of each target decides: started/resumed -> running, paused -> paused, warning -> at_risk,
breached -> breached, met -> met. A next-response clock re-armed after a breach runs again; the breach stays
in `breaches`. The ticket is `breached` when any target is breached now, `at_risk` when any is warned,
`ok` otherwise; `next_deadline` is the earliest deadline of a running or warned clock.
"""

from __future__ import annotations

from typing import Any

from .records import Record

_STATE = {
    "sla_started": "running",
    "sla_resumed": "running",
    "sla_paused": "paused",
    "sla_warning": "at_risk",
    "sla_breached": "breached",
    "sla_met": "met",
}


def sla_summary(records: list[Record]) -> dict[str, Any]:
    targets: dict[str, dict[str, Any]] = {}
    breaches: list[dict[str, Any]] = []
    for _at, _, _, _, kind, data in records:
        state = _STATE.get(kind)
        if state is None:
            continue
        target = targets.setdefault(data["target"], {"state": state, "deadline": None, "breached_at": None})
        target["state"] = state
        target["policy_id"] = data["policy_id"]
        if "deadline" in data:
            target["deadline"] = data["deadline"]
        if kind == "sla_started":
            target["business_time"] = data.get("business_time")
            target["target_minutes"] = data.get("target_minutes")
        if kind == "sla_breached":
            target["breached_at"] = data["breached_at"]
            breaches.append({"target": data["target"], "policy_id": data["policy_id"], "at": data["breached_at"]})
        if kind == "sla_met":
            target["met_at"] = data["met_at"]
            target["used_minutes"] = data.get("used_minutes")
    states = {t["state"] for t in targets.values()}
    live = [t["deadline"] for t in targets.values() if t["state"] in ("running", "at_risk") and t["deadline"]]
    return {
        "sla": targets,
        "sla_breaches": breaches,
        "sla_state": "breached" if "breached" in states else "at_risk" if "at_risk" in states else "ok",
        "next_deadline": min(live) if live else None,
    }
