"""An agent's view — presence, the teams and queues they work, online minutes per day — from their records.

Online minutes count closed intervals only (online until the next presence change), split at midnight UTC,
so the figure is a pure function of the events; the interval still open is added at read time by whoever
knows the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .records import Record
from .ticket import parse


def _split_by_day(start: datetime, end: datetime) -> dict[str, float]:
    out: dict[str, float] = {}
    while start < end:
        midnight = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        stop = min(midnight, end)
        key = start.strftime("%Y-%m-%d")
        out[key] = round(out.get(key, 0.0) + (stop - start).total_seconds() / 60, 3)
        start = stop
    return out


def derive_agent(agent_id: str, records: list[Record]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": agent_id,
        "presence": "offline",
        "presence_since": None,
        "teams": [],
        "queues": [],
        "tier": None,
        "on_roster": False,
        "online_by_day": {},
    }
    online_since: datetime | None = None
    for _, _, _, _, kind, data in records:
        if kind == "presence":
            at = parse(data["changed_at"])
            if online_since is not None:
                for key, minutes in _split_by_day(online_since, at).items():
                    view["online_by_day"][key] = round(view["online_by_day"].get(key, 0.0) + minutes, 3)
            online_since = at if data["presence"] == "online" else None
            view["presence"], view["presence_since"] = data["presence"], data["changed_at"]
        elif kind == "roster":
            view["teams"], view["queues"] = sorted(data.get("teams", [])), sorted(data.get("queues", []))
            view["tier"] = data.get("tier")
            view["on_roster"] = not data.get("removed", False)
    return view
