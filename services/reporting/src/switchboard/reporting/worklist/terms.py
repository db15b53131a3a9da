"""A worklist query as WHERE terms the planner can weigh: each filter, and the caller's scope, with the index
that counts its rows."""

from __future__ import annotations

from typing import Any

from .model import UNASSIGNED, WorklistQuery
from .plan import Probe, Term
from .schema import PRIORITY_RANK

# filter field -> (column, the index a probe counts its rows through)
_ANY_OF = {
    "status": ("status", "wl_status"),
    "queue": ("queue_id", "wl_queue"),
    "team": ("team_id", "wl_team"),
    "customer": ("customer_id", "wl_customer"),
    "account": ("account_id", "wl_account"),
    "sla_state": ("sla_state", "wl_sla"),
    "language": ("language", None),
    "channel": ("channel", None),
}


def _eq(column: str, values: tuple[Any, ...], index: str | None) -> Term:
    sql = f"{column} = ?" if len(values) == 1 else f"{column} IN ({','.join('?' * len(values))})"
    probe = None if index is None else (f"SELECT 1 AS x FROM tickets INDEXED BY {index} WHERE {sql}", values)
    return Term(sql, values, "eq", column, frozenset({column}), len(values), probe)


def terms_of(q: WorklistQuery, *, visible_queues: frozenset[str] | None, agent_id: str | None) -> list[Term]:
    """The WHERE terms of a query's filters and of the caller's scope."""
    terms: list[Term] = []
    for name, (column, index) in _ANY_OF.items():
        if values := tuple(dict.fromkeys(getattr(q, name))):
            terms.append(_eq(column, values, index))
    if q.priority:
        terms.append(_eq("priority_rank", tuple(sorted({PRIORITY_RANK[p] for p in q.priority})), "wl_priority"))
    named = tuple(dict.fromkeys(a for a in q.assignee if a != UNASSIGNED))
    if named and UNASSIGNED not in q.assignee:
        terms.append(_eq("assignee_id", named, "wl_assignee"))
    elif UNASSIGNED in q.assignee:
        if named:  # anyone of these, or nobody: checked row by row
            sql = f"(assignee_id IS NULL OR assignee_id IN ({','.join('?' * len(named))}))"
            terms.append(Term(sql, named, "other", "assignee_id", frozenset({"assignee_id"})))
        else:
            probe: Probe = ("SELECT 1 AS x FROM tickets INDEXED BY wl_assignee WHERE assignee_id IS NULL", ())
            terms.append(Term("assignee_id IS NULL", (), "eq", "assignee_id", frozenset({"assignee_id"}), 1, probe))
    for tag in dict.fromkeys(q.tags):
        listed: Probe = ("SELECT n AS x FROM ticket_tags WHERE tag = ?", (tag,))
        exists = "EXISTS (SELECT 1 FROM ticket_tags WHERE tag = ? AND ticket_tags.n = tickets.n)"
        drive = "n IN (SELECT n FROM ticket_tags WHERE tag = ?)"
        terms.append(Term(exists, (tag,), "tag", probe=listed, by_row=True, drive_sql=drive))
    if q.q is not None:
        match = '"' + q.q.strip().replace('"', '""') + '"'
        found: Probe = ("SELECT rowid AS x FROM tickets_fts WHERE tickets_fts MATCH ?", (match,))
        search = "n IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)"
        terms.append(Term(search, (match,), "text", probe=found, by_row=True))
    for column, low, high in (("opened_at", q.opened_from, q.opened_to), ("updated_at", q.updated_from, q.updated_to)):
        bounds = [(f"{column} >= ?", low), (f"{column} < ?", high)]
        parts = [(sql, value) for sql, value in bounds if value is not None]
        if parts:
            sql = " AND ".join(p[0] for p in parts)
            params = tuple(p[1] for p in parts)
            index = "wl_opened" if column == "opened_at" else "wl_updated"
            ranged: Probe = (f"SELECT 1 AS x FROM tickets INDEXED BY {index} WHERE {sql}", params)
            terms.append(Term(sql, params, "range", column, frozenset({column}), 1, ranged))
    if (scope := _scope(q, visible_queues, agent_id)) is not None:
        terms.append(scope)
    return terms


def _scope(q: WorklistQuery, visible_queues: frozenset[str] | None, agent_id: str | None) -> Term | None:
    """An agent sees the tickets of the queues they work and the tickets assigned to them. Said as narrowly as
    the filters allow (the planner multiplies selectivities as if independent, and a queue filter and the
    scope are not): none when the filters already imply it, the agent's own tickets when the asked queues
    are none of theirs."""
    if visible_queues is None:
        return None
    if agent_id is not None and q.assignee and set(q.assignee) == {agent_id}:
        return None
    visible = visible_queues
    if q.queue:
        if set(q.queue) <= visible:
            return None
        visible = visible & set(q.queue)
    if not visible and agent_id is not None:
        return _eq("assignee_id", (agent_id,), "wl_assignee")
    queues = tuple(sorted(visible))
    parts: list[str] = []
    probes: list[str] = []
    params: list[str] = []
    if queues:
        parts.append(f"queue_id IN ({','.join('?' * len(queues))})")
        probes.append(f"SELECT 1 AS x FROM tickets INDEXED BY wl_queue WHERE {parts[-1]}")
        params.extend(queues)
    if agent_id is not None:
        parts.append("assignee_id = ?")
        probes.append("SELECT 1 AS x FROM tickets INDEXED BY wl_assignee WHERE assignee_id = ?")
        params.append(agent_id)
    if not parts:
        return Term("0", (), "other", guess=0.0, probe=("SELECT 1 AS x WHERE 0", ()))
    probe = (" UNION ALL ".join(probes), tuple(params))
    return Term(
        f"({' OR '.join(parts)})", tuple(params), "other", columns=frozenset({"queue_id", "assignee_id"}), probe=probe
    )
