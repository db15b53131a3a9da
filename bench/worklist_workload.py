"""The worklist benchmark's data and queries: 100,000 ticket views with a support desk's distributions, the
roster that scopes agents, and the mix of worklist requests agents and leads send all day."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
TEAMS = [f"team-{t}" for t in range(5)]
QUEUES = [f"queue-{q:02d}" for q in range(20)]  # queue i belongs to team i // 4
AGENTS = [f"agent-{a:03d}" for a in range(200)]  # agent a is in team a % 5
OPEN = ("new", "open", "pending", "on_hold")
STATUS_WEIGHTS = {"closed": 52, "solved": 16, "open": 15, "pending": 8, "new": 6, "on_hold": 3}
PRIORITY_WEIGHTS = {"low": 20, "normal": 55, "high": 20, "urgent": 5}
LANGUAGE_WEIGHTS = {"en": 55, "tr": 20, "de": 15, "uk": 10}
CHANNEL_WEIGHTS = {"email": 45, "chat": 25, "web_form": 15, "phone": 10, "social": 3, "api": 2}
TAGS = [
    "billing", "refund", "login", "bug", "vip", "invoice", "shipping", "password", "mobile", "api", "outage",
    "feature_request", "cancellation", "upgrade", "security", "gdpr", "integration", "onboarding", "sso", "export",
]  # fmt: skip
SUBJECTS = {
    "en": ["Refund for order #{n}", "Cannot log in to the {p} app", "Invoice {n} is missing", "{p} crashes on start",
           "Change of billing address", "Password reset link expired", "Shipping delay for order #{n}"],
    "tr": ["Siparişim #{n} gelmedi", "{p} uygulamasına giriş yapamıyorum", "Fatura {n} eksik", "İade talebi #{n}"],
    "de": ["Rechnung {n} fehlt", "Anmeldung bei {p} nicht möglich", "Rückerstattung für Bestellung #{n}"],
    "uk": ["Не працює оплата замовлення #{n}", "Не можу увійти в {p}", "Рахунок {n} відсутній"],
}  # fmt: skip
PRODUCTS = ["Atlas", "Beacon", "Cobalt", "Delta", "Ember"]
SEARCHES = ["refund", "invoice", "log in", "crashes", "Rechnung", "оплата", "Atlas", "order #12", "fatura", "password"]


def agent_queues(agent: str) -> frozenset[str]:
    """The queues an agent works: two or three of its team's four."""
    a = int(agent.rsplit("-", 1)[1])
    team = a % 5
    first = (a // 5) % 4
    return frozenset(QUEUES[team * 4 + (first + k) % 4] for k in range(2 + a % 2))


WORKERS = {q: [a for a in AGENTS if q in agent_queues(a)] for q in QUEUES}


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def ticket_view(rng: random.Random, n: int) -> dict[str, Any]:
    """A ticket view as the fold derives it (the keys the worklist reads), opened in the last 120 days."""
    queue = rng.choices(QUEUES, weights=[30 / (i + 1) + 2 for i in range(len(QUEUES))])[0]
    team = TEAMS[QUEUES.index(queue) // 4]
    status = _pick(rng, STATUS_WEIGHTS)
    opened = NOW - timedelta(minutes=rng.betavariate(0.6, 2.0) * 120 * 24 * 60)
    updated = opened + (NOW - opened) * rng.random() ** 2
    assignee = None if status == "new" or rng.random() < 0.08 else rng.choice(WORKERS[queue])
    sla_state, deadline = "ok", None
    if status in ("new", "open", "on_hold"):
        deadline = NOW + timedelta(minutes=rng.uniform(-240, 48 * 60))
        sla_state = "breached" if deadline < NOW else "at_risk" if deadline < NOW + timedelta(hours=1) else "ok"
    elif rng.random() < 0.07:
        sla_state = "breached"
    language = _pick(rng, LANGUAGE_WEIGHTS)
    subject = rng.choice(SUBJECTS[language]).format(n=rng.randrange(100, 99999), p=rng.choice(PRODUCTS))
    tags = sorted(
        {rng.choices(TAGS, weights=[20 / (i + 1) for i in range(len(TAGS))])[0] for _ in range(rng.randrange(4))}
    )
    customer = f"customer-{int(rng.paretovariate(1.2) * 1000) % 30000:05d}"
    return {
        "id": f"t-{n:06d}-{rng.getrandbits(32):08x}",
        "reference": f"SB-{100000 + n}",
        "subject": subject,
        "channel": _pick(rng, CHANNEL_WEIGHTS),
        "status": status,
        "priority": _pick(rng, PRIORITY_WEIGHTS),
        "tags": tags,
        "language": language,
        "customer_id": customer,
        "account_id": f"account-{int(customer.rsplit('-', 1)[1]) % 3000:04d}",
        "queue_id": queue,
        "team_id": team,
        "assignee_id": assignee,
        "opened_at": _iso(opened),
        "updated_at": _iso(updated),
        "sla_state": sla_state,
        "next_deadline": None if deadline is None else _iso(deadline),
    }


@dataclass(frozen=True)
class Request:
    """One worklist request: who sends it (an agent's token, or None for a lead) and its query string."""

    kind: str
    agent: str | None
    params: tuple[tuple[str, str], ...]
    pages: int = 1  # follow next_cursor this many pages in all (1: the first page only)

    def path(self, cursor: str | None = None) -> str:
        params = [*self.params, *([("cursor", cursor)] if cursor else [])]
        return f"/v1/tickets?{urlencode(params)}"


MIX = {"my_open": 25, "queue_by_deadline_count": 25, "team_breached": 15, "subject_search": 10,
       "queue_pages_2_3": 15, "tag_by_priority": 10}  # fmt: skip


def request(rng: random.Random, agents: list[str]) -> Request:
    """A request drawn from the mix; agents are those the server has tokens for."""
    kind = _pick(rng, MIX)
    agent = rng.choice(agents)
    queue = rng.choice(sorted(agent_queues(agent)))
    opened = tuple(("status", s) for s in OPEN)
    if kind == "my_open":
        return Request(kind, agent, (("assignee", agent), *opened, ("sort", "next_deadline")))
    if kind == "queue_by_deadline_count":  # a queue's first page, with the count its header shows
        return Request(kind, agent, (("queue", queue), *opened, ("sort", "next_deadline"), ("count", "true")))
    if kind == "team_breached":
        team = TEAMS[int(agent.rsplit("-", 1)[1]) % 5]
        return Request(kind, None, (("team", team), ("sla_state", "breached"), ("sort", "next_deadline")))
    if kind == "subject_search":
        return Request(kind, None, (("q", rng.choice(SEARCHES)), ("sort", "updated_at")))
    if kind == "queue_pages_2_3":
        return Request(kind, None, (("queue", queue), ("status", "open"), ("sort", "updated_at")), pages=3)
    tag = rng.choice(TAGS[:8])
    return Request(kind, None, (("tags", tag), *opened, ("sort", "priority")))
