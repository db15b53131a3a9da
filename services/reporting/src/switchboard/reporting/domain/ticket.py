"""A ticket's view — the `tickets` projection document — derived from the set of its records.

The metric rules a support lead would ask about are stated here, once:
- A *reply* is a public interaction written by an agent (`author_type == "agent"`). Internal notes are not
  public, and automatic messages (`author_type == "system"`) are not written by an agent: neither is a reply.
- *First reply time* runs from opening to the first reply, ever. A reopen does not reset it (Chatwoot #6418).
- *Full resolution time* runs from opening to the last time the ticket became solved or closed, and exists
  only while the ticket is solved or closed; a reopened ticket is not resolved (Zammad #3745).
- *Requester wait* is time in new, open and on-hold; *on-hold time* is time in on-hold (Zendesk's meanings);
  *agent wait* is time in pending (waiting on the customer).
- *One touch*: solved or closed with exactly one reply and never reopened.
- An *automated* ticket (tagged `automated`, `bot` or `auto_reply` when opened or now) stays out of agent metrics.
- Every duration is given in calendar minutes and in business minutes of the ticket's SLA calendar (the one its
  first business-time clock carried), computed by the same calendar arithmetic SLA uses; without a calendar,
  business minutes equal calendar minutes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .records import Record
from .sla import sla_summary

BusinessMinutes = Callable[[dict[str, Any] | None, datetime, datetime], float]
"""(calendar spec or None, start, end) -> business minutes between them."""

OPEN_STATUSES = frozenset({"new", "open", "pending", "on_hold"})
RESOLVED_STATUSES = frozenset({"solved", "closed"})
AUTOMATED_TAGS = frozenset({"automated", "bot", "auto_reply"})
REQUESTER_WAIT_STATUSES = frozenset({"new", "open", "on_hold"})


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def is_reply(interaction: dict[str, Any]) -> bool:
    return bool(interaction.get("public")) and interaction.get("author_type") == "agent"


def _minutes(start: str | None, end: str | None, calendar: dict[str, Any] | None, business: BusinessMinutes) -> Any:
    if start is None or end is None:
        return None
    a, b = parse(start), parse(end)
    if b < a:
        return {"calendar": 0.0, "business": 0.0}
    return {"calendar": round((b - a).total_seconds() / 60, 3), "business": round(business(calendar, a, b), 3)}


def _add(total: dict[str, float], part: dict[str, float] | None) -> None:
    if part:
        total["calendar"] = round(total["calendar"] + part["calendar"], 3)
        total["business"] = round(total["business"] + part["business"], 3)


def derive(ticket_id: str, records: list[Record], *, business: BusinessMinutes) -> dict[str, Any] | None:
    """The view of a ticket, or None until its `opened` record has been seen."""
    opened = next((r[5] for r in records if r[4] == "opened"), None)
    if opened is None:
        return None
    calendar = next((r[5]["calendar"] for r in records if r[4] == "sla_started" and r[5].get("calendar")), None)
    view: dict[str, Any] = {
        "id": ticket_id,
        "reference": opened["reference"],
        "subject": opened["subject"],
        "channel": opened["channel"],
        "status": opened.get("status", "new"),
        "priority": opened.get("priority", "normal"),
        "category": opened.get("category"),
        "tags": sorted(opened.get("tags", [])),
        "language": opened.get("language"),
        "customer_id": opened["requester"]["customer_id"],
        "account_id": opened["requester"].get("account_id"),
        "queue_id": None,
        "team_id": None,
        "assignee_id": None,
        "tier": "L1",
        "department": "support",
        "opened_at": opened["opened_at"],
        "updated_at": records[-1][0],
        "solved_at": None,
        "closed_at": None,
        "merged_into": None,
        "reopens": 0,
        "public_replies": 0,
        "customer_messages": 0,
        "internal_notes": 0,
        "first_reply_at": None,
        "first_replied_by": None,
        "assignee_history": [],
        "queue_history": [],
        "solves": [],
    }
    status_since = opened["opened_at"]
    durations = {s: {"calendar": 0.0, "business": 0.0} for s in ("requester_wait", "on_hold", "agent_wait")}
    last_resolved_at: str | None = None
    replies: Counter[tuple[str, str]] = Counter()
    handled: Counter[tuple[str, str]] = Counter()

    def leave(status: str, at: str) -> None:
        spent = _minutes(status_since, at, calendar, business)
        if status in REQUESTER_WAIT_STATUSES:
            _add(durations["requester_wait"], spent)
        if status == "on_hold":
            _add(durations["on_hold"], spent)
        if status == "pending":
            _add(durations["agent_wait"], spent)

    for at, _, _, _, kind, data in records:
        if kind == "updated":
            for key in ("priority", "category"):
                if data.get(key) is not None:
                    view[key] = data[key]
            if data.get("tags") is not None:
                view["tags"] = sorted(data["tags"])
        elif kind == "status":
            leave(view["status"], data["changed_at"])
            view["status"], status_since = data["to_status"], data["changed_at"]
            if data["to_status"] in RESOLVED_STATUSES and data["from_status"] not in RESOLVED_STATUSES:
                last_resolved_at = data["changed_at"]
                view["solves"].append({"at": data["changed_at"], "assignee_id": view["assignee_id"]})
            if data["to_status"] == "solved":
                view["solved_at"] = data["changed_at"]
            if data["to_status"] == "closed":
                view["closed_at"] = data["changed_at"]
        elif kind == "reopened":
            view["reopens"] += 1
        elif kind == "merged":
            view["merged_into"] = data["into_ticket_id"]
        elif kind == "interaction":
            if is_reply(data):
                view["public_replies"] += 1
                replies[(data["occurred_at"][:10], data.get("author_id") or "-")] += 1
                if view["first_reply_at"] is None:
                    view["first_reply_at"], view["first_replied_by"] = data["occurred_at"], data.get("author_id")
            elif data.get("author_type") == "customer":
                view["customer_messages"] += 1
            elif not data.get("public"):
                view["internal_notes"] += 1
            if data.get("author_type") == "agent" and data.get("call_duration_seconds"):
                handled[(data["occurred_at"][:10], data.get("author_id") or "-")] += data["call_duration_seconds"]
        elif kind == "routed":
            view["queue_id"], view["team_id"] = data["queue_id"], data.get("team_id")
            view["priority"] = data.get("priority", view["priority"])
            view["queue_history"].append({"queue_id": data["queue_id"], "team_id": data.get("team_id"), "at": at})
        elif kind == "assigned":
            view["assignee_id"], view["queue_id"] = data["agent_id"], data["queue_id"]
            view["team_id"] = data.get("team_id") or view["team_id"]
            view["assignee_history"].append({"agent_id": data["agent_id"], "from": at, "to": None})
        elif kind == "unassigned":
            if view["assignee_id"] == data["agent_id"]:
                view["assignee_id"] = None
            for stint in view["assignee_history"]:
                if stint["agent_id"] == data["agent_id"] and stint["to"] is None:
                    stint["to"] = at
        elif kind == "escalated":
            view["tier"] = data["to_tier"]
        elif kind == "handed_off":
            view["department"] = data["to_department"]

    resolved = view["status"] in RESOLVED_STATUSES
    view["automated"] = bool(AUTOMATED_TAGS.intersection([*opened.get("tags", []), *view["tags"]]))
    view["first_reply_minutes"] = _minutes(view["opened_at"], view["first_reply_at"], calendar, business)
    view["resolution_minutes"] = _minutes(view["opened_at"], last_resolved_at, calendar, business) if resolved else None
    view["replies_by_day"] = [[d, a, n] for (d, a), n in sorted(replies.items())]
    view["handle_by_day"] = [[d, a, n] for (d, a), n in sorted(handled.items())]
    view["one_touch"] = resolved and view["public_replies"] == 1 and view["reopens"] == 0
    for name, total in durations.items():
        view[f"{name}_minutes"] = total
    view.update(sla_summary(records))
    view.update(_feedback(records))
    return view


def _feedback(records: list[Record]) -> dict[str, Any]:
    """The latest survey answer (revisions of one survey count once: the latest wins) and the QA score."""
    answers: dict[str, dict[str, Any]] = {}
    reviews: dict[str, dict[str, Any]] = {}
    for _, _, _, _, kind, data in records:
        if kind == "survey_answered":
            answers[data["survey_id"]] = data
        elif kind == "qa_review":
            reviews[data["review_id"]] = {
                k: data[k] for k in ("review_id", "agent_id", "scorecard_id", "scores", "total_percent", "submitted_at")
            }
    latest = max(answers.values(), key=lambda a: a["answered_at"], default=None)
    survey = (
        None
        if latest is None
        else {k: latest.get(k) for k in ("survey_id", "kind", "score", "agent_id", "answered_at", "has_comment")}
    )
    qa = round(sum(r["total_percent"] for r in reviews.values()) / len(reviews), 2) if reviews else None
    return {"survey": survey, "qa_percent": qa, "qa_reviews": sorted(reviews.values(), key=lambda r: r["review_id"])}
