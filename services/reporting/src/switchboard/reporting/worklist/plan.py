"""Which index answers a worklist page: a small cost model over row counts measured at query time.

SQLite's own planner has only average row counts per index (no histograms in this build), so it cannot tell
`status=closed` (half the tickets) from `status=on_hold` (3%), nor a week of `opened_at` from a minute; left to
itself it sorted 23,000 rows for a page it could have read in order. Here each indexed filter's rows are first
counted through its index, up to `PROBE_CAP` (a covered range, < 0.5 ms; kept a while by the cache), and
the page is read either

- in order, walking an index whose leading columns the filters fix and whose next column is the sort key,
  checking the other filters row by row: about `limit / selectivity of the rest` rows; or
- from the rows of its most selective filter (an index range, a tag, the subject search), sorted: their count.

The choice is forced with `INDEXED BY` / `NOT INDEXED`; results never depend on it, only the time does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .cache import QueryCache
from .schema import INDEX_COLUMNS

PROBE_CAP = 5000
# Measured on this machine at 100,000 rows: per row read from the table, per covered index entry, per row sorted,
# and per row checked against a tag (its primary key) or the search (its row set, materialised once).
READ_US, COVERED_US, SORT_US = 1.4, 0.15, 0.5
PROBE_US = {"tag": 0.1, "text": 0.1}
GUESS = 0.3  # selectivity of a filter nobody measured (language, channel): per value asked for


Probe = tuple[str, tuple[Any, ...]]  # SQL listing a term's rows (as column `x`) through an index, its parameters


@dataclass(frozen=True)
class Term:
    """One WHERE term. `column` and `kind` say how an index can use it: 'eq' (= or IN on `column`, `values`
    combinations), 'range' (on `column`), 'tag' / 'text' (a set of rows by id), 'other' (checked per row)."""

    sql: str
    params: tuple[Any, ...]
    kind: str
    column: str | None = None
    columns: frozenset[str] = frozenset()  # table columns the term reads
    values: int = 1
    probe: Probe | None = None
    by_row: bool = False  # the probe lists row ids in ascending order: a capped count extrapolates
    guess: float = GUESS
    drive_sql: str | None = None  # for 'tag': the set form (`n IN (...)`) used when the term drives


@dataclass(frozen=True)
class Plan:
    """How to read the rows: through an index (`INDEXED BY`) or from one term's row set (`NOT INDEXED`)."""

    index: str | None
    driver: Term | None = None
    ordered: bool = False
    cost_us: float = 0.0

    def source(self) -> str:
        return f"tickets INDEXED BY {self.index}" if self.index else "tickets NOT INDEXED"

    def where(self, terms: Sequence[Term]) -> tuple[list[str], list[Any]]:
        sql: list[str] = []
        params: list[Any] = []
        for term in terms:
            sql.append(term.drive_sql if term is self.driver and term.drive_sql else term.sql)
            params.extend(term.params)
        return sql, params


def _count(cur: sqlite3.Cursor, term: Term, total: int, cache: QueryCache | None) -> float:
    """The term's rows, counted up to the cap; past it, extrapolated from how far into the table the capped
    count reached (ids ascending), else the term's guess."""
    assert term.probe is not None
    if cache is not None and (known := cache.estimate(term.probe)) is not None:
        return known
    rows = _probe(cur, term, total)
    if cache is not None:
        cache.keep_estimate(term.probe, rows)
    return rows


def _probe(cur: sqlite3.Cursor, term: Term, total: int) -> float:
    assert term.probe is not None
    sql, params = term.probe
    found, last = cur.execute(f"SELECT count(*), max(x) FROM ({sql} LIMIT {PROBE_CAP})", params).fetchone()
    if found < PROBE_CAP:
        return float(found)
    if term.by_row and last:
        return max(float(PROBE_CAP), PROBE_CAP * total / float(last))
    return max(float(PROBE_CAP), min(1.0, term.guess) * total)


@dataclass(frozen=True)
class Estimates:
    """Rows in the table (an upper bound: the highest row id) and rows per term (measured up to the cap)."""

    total: int
    rows: tuple[float, ...]


def estimate(cur: sqlite3.Cursor, terms: Sequence[Term], cache: QueryCache | None = None) -> Estimates:
    total = max(1, int(cur.execute("SELECT coalesce(max(n), 0) FROM tickets").fetchone()[0]))
    rows = [
        min(1.0, term.guess * term.values) * total if term.probe is None else _count(cur, term, total, cache)
        for term in terms
    ]
    return Estimates(total, tuple(rows))


def choose(
    terms: Sequence[Term], estimates: Estimates, *, sort_column: str, limit: int, counting: bool = False
) -> Plan:
    """The cheapest plan for a page sorted by `sort_column` (or, `counting`, for counting every row)."""
    total, rows = estimates.total, dict(enumerate(estimates.rows))
    selectivity = {i: min(1.0, r / total) for i, r in rows.items()}
    plans: list[Plan] = []
    for name, columns in INDEX_COLUMNS.items():
        fixed: list[int] = []
        combos = 1
        for column in columns:
            eq = next((i for i, t in enumerate(terms) if t.kind == "eq" and t.column == column), None)
            if eq is None:
                break
            fixed.append(eq)
            combos *= terms[eq].values
        next_column = columns[len(fixed)] if len(fixed) < len(columns) else None
        ranged = [i for i, t in enumerate(terms) if t.kind == "range" and t.column == next_column]
        used = fixed + ranged
        if not used and next_column != sort_column and not counting:
            continue  # neither narrows nor orders: a full scan, which the plain sort index beats
        span = float(total)
        for i in used:
            span *= selectivity[i]
        rest = 1.0
        for i in range(len(terms)):
            if i not in used:
                rest *= max(selectivity[i], 1.0 / total)
        covered = all(t.columns <= set(columns) for t in terms)
        per_row = (COVERED_US if covered else READ_US) + sum(PROBE_US.get(t.kind, 0.0) for t in terms)
        if counting:
            plans.append(Plan(name, None, False, span * per_row))
        elif next_column == sort_column:
            walked = min(span, combos * (limit + 1) + (limit + 1) / rest)
            plans.append(Plan(name, None, True, walked * per_row))
        else:
            plans.append(Plan(name, None, False, span * (per_row + rest * SORT_US)))
    for i, term in enumerate(terms):
        if term.kind in ("tag", "text"):
            others = rest_of(selectivity, i)
            probes = sum(PROBE_US.get(t.kind, 0.0) for j, t in enumerate(terms) if j != i)
            cost = rows[i] * (READ_US + probes + (0.0 if counting else others * SORT_US))
            plans.append(Plan(None, term, False, cost))
    if not plans:
        return Plan(None, None, False, total * READ_US)
    return min(plans, key=lambda p: p.cost_us)


def rest_of(selectivity: dict[int, float], used: int) -> float:
    rest = 1.0
    for i, s in selectivity.items():
        if i != used:
            rest *= s
    return rest
