"""What a worklist request asks for (filters, sort, page) and what it gets back, validated once at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Literal

from .cursor import fingerprint
from .schema import PRIORITY_RANK, instant

MAX_LIMIT = 100
UNASSIGNED = "none"  # `assignee=none`: tickets nobody is assigned to
STATUSES = frozenset({"new", "open", "pending", "on_hold", "solved", "closed"})
SLA_STATES = frozenset({"ok", "at_risk", "breached"})
CHANNELS = frozenset({"email", "phone", "chat", "social", "web_form", "api"})


class Sort(StrEnum):
    NEXT_DEADLINE = "next_deadline"
    PRIORITY = "priority"
    OPENED_AT = "opened_at"
    UPDATED_AT = "updated_at"


SORT_COLUMN = {
    Sort.NEXT_DEADLINE: "deadline_key",
    Sort.PRIORITY: "priority_rank",
    Sort.OPENED_AT: "opened_at",
    Sort.UPDATED_AT: "updated_at",
}
#: The order a sort takes when none is asked for: soonest deadline, most urgent, newest.
DEFAULT_ORDER: dict[Sort, Literal["asc", "desc"]] = {
    Sort.NEXT_DEADLINE: "asc",
    Sort.PRIORITY: "desc",
    Sort.OPENED_AT: "desc",
    Sort.UPDATED_AT: "desc",
}


class QueryError(ValueError):
    """A filter, sort or cursor the worklist cannot answer; the API turns it into a 422."""


@dataclass(frozen=True)
class WorklistQuery:
    """One worklist request; lists are any-of, except `tags` (all of). Times are ISO-8601, `*_to` exclusive."""

    status: tuple[str, ...] = ()
    queue: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    assignee: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    customer: tuple[str, ...] = ()
    account: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    sla_state: tuple[str, ...] = ()
    opened_from: str | None = None
    opened_to: str | None = None
    updated_from: str | None = None
    updated_to: str | None = None
    q: str | None = None
    sort: Sort = Sort.NEXT_DEADLINE
    order: Literal["asc", "desc"] | None = None
    limit: int = 25
    cursor: str | None = field(default=None, compare=False)
    count: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        _check_values("status", self.status, STATUSES)
        _check_values("priority", self.priority, frozenset(PRIORITY_RANK))
        _check_values("sla_state", self.sla_state, SLA_STATES)
        _check_values("channel", self.channel, CHANNELS)
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
        if self.q is not None and len(self.q.strip()) < 3:
            raise QueryError("q (subject search) needs at least 3 characters")
        for name in ("opened_from", "opened_to", "updated_from", "updated_to"):
            value = getattr(self, name)
            if value is not None:
                try:
                    object.__setattr__(self, name, instant(value))
                except ValueError:
                    raise QueryError(f"{name} must be an ISO-8601 time, e.g. 2025-01-31T12:00:00Z") from None
        try:
            object.__setattr__(self, "sort", Sort(self.sort))
        except ValueError:
            raise QueryError(f"sort must be one of {', '.join(s.value for s in Sort)}") from None
        if self.order is None:
            object.__setattr__(self, "order", DEFAULT_ORDER[self.sort])
        elif self.order not in ("asc", "desc"):
            raise QueryError("order must be asc or desc")

    def fingerprint(self) -> str:
        return fingerprint([getattr(self, name) for name in _PRINTED])


_PRINTED = tuple(f.name for f in fields(WorklistQuery) if f.name not in ("cursor", "count", "limit"))


def _check_values(name: str, values: tuple[str, ...], allowed: frozenset[str]) -> None:
    if unknown := sorted(set(values) - allowed):
        raise QueryError(f"{name}: unknown value(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


@dataclass(frozen=True)
class Page:
    """A page of list items, each the compact JSON text stored with its row."""

    items: list[str]
    next_cursor: str | None
    count: int | None

    def json_bytes(self) -> bytes:
        """The response body, assembled without parsing or re-serialising the items."""
        cursor = "null" if self.next_cursor is None else f'"{self.next_cursor}"'
        count = "null" if self.count is None else str(self.count)
        return f'{{"items":[{",".join(self.items)}],"next_cursor":{cursor},"count":{count}}}'.encode()
