"""What one ticket adds to each aggregate: sums and counts keyed by bucket, so averages and rates are exact.

An aggregate document is the sum of its tickets' contributions. When a ticket's view changes, the engine
subtracts its old contributions and adds the new ones, so the totals are a pure function of the ticket views
whatever order events came in. Buckets are days (UTC, `YYYY-MM-DD`) or ISO weeks (`YYYY-Www`) of the moment
the measured thing happened: a first reply counts on the day it was sent, a solve on the day it was solved.
Automated tickets contribute to no agent, team or SLA figure (they do count in issue trends).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

Contributions = dict[tuple[str, str], dict[str, float]]
"""(collection, bucket id) -> field -> amount."""

#: The bucket keys of each aggregate collection, in the order they make up its id.
KEYS: dict[str, tuple[str, ...]] = {
    "agent_day": ("agent_id", "day"),
    "team_day": ("team_id", "day"),
    "sla_day": ("policy_id", "target", "priority", "team_id", "day"),
    "feedback_day": ("team_id", "agent_id", "language", "day"),
    "qa_week": ("agent_id", "week"),
    "issue_week": ("category", "tag", "language", "week"),
}

#: Aggregates recounted from all of a subject's tickets rather than summed from contributions (domain/health.py),
#: with the fields they carry beside `sums`.
RECOUNTED: dict[str, tuple[str, ...]] = {
    "customer_360": ("customer_id", "last_contact_at", "health"),
    "account_360": ("account_id", "last_contact_at", "health"),
}

NONE = "-"
"""How a missing key (no team, no language) is spelled in a bucket id."""


def day(at: str) -> str:
    return at[:10]


def week(at: str) -> str:
    year, number, _ = datetime.fromisoformat(at[:10]).isocalendar()
    return f"{year}-W{number:02d}"


def bucket_id(collection: str, keys: dict[str, Any]) -> str:
    return "|".join(str(keys.get(k) or NONE) for k in KEYS[collection])


def keys_of(collection: str, bucket: str) -> dict[str, str | None]:
    return {k: (None if v == NONE else v) for k, v in zip(KEYS[collection], bucket.split("|"), strict=True)}


class _Sums:
    def __init__(self) -> None:
        self.out: Contributions = defaultdict(lambda: defaultdict(float))

    def add(self, collection: str, keys: dict[str, Any], **amounts: float | None) -> None:
        bucket = self.out[(collection, bucket_id(collection, keys))]
        for name, amount in amounts.items():
            if amount is not None:
                bucket[name] += amount


def contributions(view: dict[str, Any] | None) -> Contributions:
    """The ticket's share of every aggregate."""
    sums = _Sums()
    if view is None:
        return {}
    _issues(view, sums)
    if not view["automated"]:
        _work(view, sums)
        _sla(view, sums)
        _feedback(view, sums)
        _qa(view, sums)
    return {key: dict(fields) for key, fields in sums.out.items()}


def _issues(view: dict[str, Any], sums: _Sums) -> None:
    for tag in view["tags"] or [None]:
        keys = {"category": view["category"], "tag": tag, "language": view["language"], "week": week(view["opened_at"])}
        sums.add("issue_week", keys, opened=1)


def _work(view: dict[str, Any], sums: _Sums) -> None:
    team = view["team_id"]
    sums.add("team_day", {"team_id": team, "day": day(view["opened_at"])}, opened=1)
    for stint in view["assignee_history"]:
        sums.add("agent_day", {"agent_id": stint["agent_id"], "day": day(stint["from"])}, assigned=1)
    for solve in view["solves"]:
        sums.add("team_day", {"team_id": team, "day": day(solve["at"])}, solved=1)
        if solve["assignee_id"]:
            sums.add("agent_day", {"agent_id": solve["assignee_id"], "day": day(solve["at"])}, solved=1)
    first = view["first_reply_minutes"]
    if first is not None:
        at = day(view["first_reply_at"])
        amounts = {"first_replies": 1.0, "first_reply_min": first["calendar"], "first_reply_bmin": first["business"]}
        sums.add("team_day", {"team_id": team, "day": at}, **amounts)
        if view["first_replied_by"]:
            sums.add("agent_day", {"agent_id": view["first_replied_by"], "day": at}, **amounts)
    resolution = view["resolution_minutes"]
    if resolution is not None and view["solves"]:
        last = view["solves"][-1]
        amounts = {
            "resolutions": 1.0,
            "resolution_min": resolution["calendar"],
            "resolution_bmin": resolution["business"],
        }
        sums.add("team_day", {"team_id": team, "day": day(last["at"])}, one_touch=float(view["one_touch"]), **amounts)
        if last["assignee_id"]:
            sums.add("agent_day", {"agent_id": last["assignee_id"], "day": day(last["at"])}, **amounts)
    for reply_day, agent, count in view.get("replies_by_day", []):
        sums.add("agent_day", {"agent_id": agent, "day": reply_day}, replies=count)
    for call_day, agent, seconds in view.get("handle_by_day", []):
        sums.add("agent_day", {"agent_id": agent, "day": call_day}, handle_s=seconds)


def _sla(view: dict[str, Any], sums: _Sums) -> None:
    for target, clock in view["sla"].items():
        outcome_at = clock.get("met_at") if clock["state"] == "met" else None
        keys = {
            "policy_id": clock.get("policy_id"),
            "target": target,
            "priority": view["priority"],
            "team_id": view["team_id"],
        }
        if outcome_at:
            sums.add("sla_day", keys | {"day": day(outcome_at)}, met=1)
    for breach in view["sla_breaches"]:
        keys = {
            "policy_id": breach["policy_id"],
            "target": breach["target"],
            "priority": view["priority"],
            "team_id": view["team_id"],
        }
        sums.add("sla_day", keys | {"day": day(breach["at"])}, breached=1)


def _feedback(view: dict[str, Any], sums: _Sums) -> None:
    survey = view["survey"]
    if survey is None:
        return
    keys = {
        "team_id": view["team_id"],
        "agent_id": survey["agent_id"],
        "language": view["language"],
        "day": day(survey["answered_at"]),
    }
    score = survey["score"]
    if survey["kind"] == "csat":
        sums.add("feedback_day", keys, csat_answers=1, csat_satisfied=float(score >= 4), csat_sum=score)
        if survey["agent_id"]:
            sums.add(
                "agent_day",
                {"agent_id": survey["agent_id"], "day": keys["day"]},
                csat_answers=1,
                csat_satisfied=float(score >= 4),
            )
    elif survey["kind"] == "nps":
        sums.add("feedback_day", keys, nps_answers=1, nps_promoters=float(score >= 9), nps_detractors=float(score <= 6))
    elif survey["kind"] == "ces":
        sums.add("feedback_day", keys, ces_answers=1, ces_sum=score)


def agent_contributions(agent: dict[str, Any] | None) -> Contributions:
    """An agent's online minutes per day, from closed online intervals (split at midnight UTC)."""
    sums = _Sums()
    if agent is None:
        return {}
    for online_day, minutes in agent.get("online_by_day", {}).items():
        sums.add("agent_day", {"agent_id": agent["id"], "day": online_day}, online_min=minutes)
    return {key: dict(fields) for key, fields in sums.out.items()}


def _qa(view: dict[str, Any], sums: _Sums) -> None:
    """IQS (internal quality score) = sum of review percents / reviews, per agent and week and per criterion."""
    for review in view["qa_reviews"]:
        at = review["submitted_at"]
        criteria = {f"criterion_{name}_sum": float(score) for name, score in review["scores"].items()}
        criteria |= {f"criterion_{name}_n": 1.0 for name in review["scores"]}
        sums.add(
            "qa_week",
            {"agent_id": review["agent_id"], "week": week(at)},
            reviews=1,
            percent_sum=review["total_percent"],
            **criteria,
        )
        sums.add(
            "agent_day",
            {"agent_id": review["agent_id"], "day": day(at)},
            qa_reviews=1,
            qa_percent_sum=review["total_percent"],
        )
