"""The worklist query: filters, sort and keyset pagination over the `tickets` table, and its scope rule.

Pages are keyset pages: each resumes after the (sort value, id) of the last row shown, so a ticket inserted or
moved meanwhile never shifts a page (no duplicates, no gaps among rows that did not change), and page 40 costs
what page 1 costs. Ties are broken by id. Tickets without a running SLA clock sort after all others by
deadline, in both directions: descending walks the dated rows first, then the undated ones. A page, its
estimates and its count are read in one transaction: one snapshot, whatever the feed commits meanwhile.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .cache import QueryCache
from .cursor import CursorError, decode_cursor, encode_cursor
from .model import SORT_COLUMN, Page, QueryError, Sort, WorklistQuery
from .plan import Plan, Term, choose, estimate
from .schema import NO_DEADLINE
from .terms import terms_of


def query(
    conn: sqlite3.Connection,
    q: WorklistQuery,
    *,
    visible_queues: frozenset[str] | None,
    agent_id: str | None,
    cache: QueryCache | None = None,
) -> Page:
    """One page of the worklist as the caller may see it: all queues when `visible_queues` is None, else those
    queues' tickets and the tickets assigned to `agent_id`."""
    print_ = q.fingerprint()
    after = None if q.cursor is None else _decode(q.cursor, print_, numeric=q.sort is Sort.PRIORITY)
    cur = conn.cursor()
    cur.row_factory = None
    own = not conn.in_transaction
    if own:
        cur.execute("BEGIN")
    try:
        terms = terms_of(q, visible_queues=visible_queues, agent_id=agent_id)
        estimates = estimate(cur, terms, cache)
        column = SORT_COLUMN[q.sort]
        plan = choose(terms, estimates, sort_column=column, limit=q.limit)
        rows = _rows(cur, q, plan, terms, after)
        count = None
        if q.count:
            key = (print_, None if visible_queues is None else tuple(sorted(visible_queues)), agent_id)
            version = int(cur.execute("PRAGMA data_version").fetchone()[0])
            count = cache.count(key, version) if cache is not None else None
            if count is None:
                counting = choose(terms, estimates, sort_column=column, limit=q.limit, counting=True)
                where, params = counting.where(terms)
                sql = f"SELECT count(*) FROM {counting.source()} WHERE {' AND '.join(where) or '1'}"
                count = int(cur.execute(sql, params).fetchone()[0])
                if cache is not None:
                    cache.keep_count(key, version, count)
    finally:
        if own:
            cur.execute("COMMIT")
    last = rows[q.limit - 1] if len(rows) > q.limit else None
    next_cursor = None if last is None else encode_cursor(last[0], last[1], print_)
    return Page(items=[row[2] for row in rows[: q.limit]], next_cursor=next_cursor, count=count)


def _rows(cur: sqlite3.Cursor, q: WorklistQuery, plan: Plan, terms: list[Term], after: Any) -> list[Any]:
    """Up to limit + 1 rows (the extra one says whether a next page exists), segment by segment."""
    column = SORT_COLUMN[q.sort]
    where, params = plan.where(terms)
    direction, compare = ("ASC", ">") if q.order == "asc" else ("DESC", "<")
    rows: list[Any] = []
    for bound, resume in _segments(q, after):
        terms_sql, values = [*where], [*params]
        if bound is not None:
            terms_sql.append(f"{column} {bound} ?")
            values.append(NO_DEADLINE)
        if resume is not None:
            terms_sql.append(f"({column}, id) {compare} (?, ?)")
            values.extend(resume)
        # the keys first (from the index alone when it covers the filters), then 26 rows' page_json
        sql = (
            f"SELECT t.{column}, t.id, t.page_json FROM (SELECT n FROM {plan.source()}"
            f" WHERE {' AND '.join(terms_sql) or '1'} ORDER BY {column} {direction}, id {direction} LIMIT ?) AS k"
            f" JOIN tickets AS t ON t.n = k.n ORDER BY t.{column} {direction}, t.id {direction}"
        )
        rows += cur.execute(sql, [*values, q.limit + 1 - len(rows)]).fetchall()
        if len(rows) > q.limit:
            break
    return rows


def _segments(q: WorklistQuery, after: tuple[Any, str] | None) -> list[tuple[str | None, tuple[Any, str] | None]]:
    """The ranges a page is read from, in order: one, except deadlines descending (dated rows, then undated)."""
    if q.sort is not Sort.NEXT_DEADLINE or q.order == "asc":
        return [(None, after)]
    if after is not None and after[0] == NO_DEADLINE:
        return [("=", after)]
    return [("<", after), ("=", None)]


def _decode(cursor: str, print_: str, *, numeric: bool) -> tuple[Any, str]:
    try:
        return decode_cursor(cursor, query_print=print_, numeric=numeric)
    except CursorError as exc:
        raise QueryError(str(exc)) from None
