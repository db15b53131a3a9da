"""The worklist's answers against the oracle: every filter, every sort walked page by page, counts, the scope
rule, keyset pages under inserts, and the same rows whichever index the planner picks."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from switchboard.reporting import worklist
from switchboard.reporting.worklist.model import SORT_COLUMN
from switchboard.reporting.worklist.plan import Plan, estimate
from switchboard.reporting.worklist.query import _rows
from switchboard.reporting.worklist.terms import terms_of

from services.reporting.tests.unit.worklist_oracle import (
    AGENTS,
    QUEUES,
    TAGS,
    database,
    item_id,
    matches,
    ordered,
    view,
    walk,
)  # fmt: skip

pytestmark = pytest.mark.unit

RNG = random.Random(11)
VIEWS = [view(RNG, n) for n in range(180)]
CONN = database(VIEWS)
SORTS = [(sort, order) for sort in worklist.Sort for order in ("asc", "desc")]

FILTERS: dict[str, Any] = {
    "status": ("open", "pending"),
    "queue": ("q2",),
    "team": ("blue",),
    "assignee": ("bora",),
    "priority": ("urgent", "high"),
    "tags": ("billing", "vip"),
    "customer": ("c3", "c5"),
    "account": ("a2",),
    "language": ("uk",),
    "channel": ("chat",),
    "sla_state": ("at_risk", "breached"),
    "opened_from": "2025-03-01T12:00:00Z",
    "opened_to": "2025-03-02T06:00:00+00:00",
    "updated_from": "2025-03-01T20:00:00Z",
    "updated_to": "2025-03-02T20:00:00Z",
    "q": "refund",
}


def expected(q: worklist.WorklistQuery, visible: frozenset[str] | None = None, agent: str | None = None) -> list[str]:
    return ordered([v for v in VIEWS if matches(v, q, visible, agent)], q)


@pytest.mark.parametrize(("sort", "order"), SORTS)
@pytest.mark.parametrize("name", [None, *FILTERS])
def test_each_filter_under_each_sort_walks_every_page_in_order(
    name: str | None, sort: worklist.Sort, order: Any
) -> None:
    filters = {} if name is None else {name: FILTERS[name]}
    q = worklist.WorklistQuery(**filters, sort=sort, order=order, limit=7)
    ids, pages = walk(CONN, q, visible_queues=None, agent_id=None)
    assert ids == expected(q)
    assert len(set(ids)) == len(ids)
    assert pages == max(1, -(-len(ids) // 7))


def test_the_filters_match_some_tickets_and_not_all() -> None:
    for name, value in FILTERS.items():
        found = expected(worklist.WorklistQuery(**{name: value}))
        assert 0 < len(found) < len(VIEWS), name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.lists(st.sampled_from(["new", "open", "pending", "on_hold", "solved", "closed"]), max_size=3),
    queue=st.lists(st.sampled_from(QUEUES), max_size=2),
    assignee=st.lists(st.sampled_from([*AGENTS, "none"]), max_size=2),
    tags=st.lists(st.sampled_from(TAGS), max_size=2),
    sla=st.lists(st.sampled_from(["ok", "at_risk", "breached"]), max_size=2),
    q=st.none() | st.sampled_from(["refund", "оплата", "INVOICE", "ice #1"]),
    sort=st.sampled_from(SORTS),
    limit=st.integers(1, 30),
    scope=st.none() | st.tuples(st.frozensets(st.sampled_from(QUEUES), max_size=3), st.sampled_from(AGENTS)),
)
def test_any_combination_pages_through_exactly_the_oracle(
    status: list[str], queue: list[str], assignee: list[str], tags: list[str], sla: list[str],
    q: str | None, sort: tuple[worklist.Sort, Any], limit: int, scope: tuple[frozenset[str], str] | None,
) -> None:  # fmt: skip
    wanted = worklist.WorklistQuery(
        status=tuple(status), queue=tuple(queue), assignee=tuple(assignee), tags=tuple(tags), sla_state=tuple(sla),
        q=q, sort=sort[0], order=sort[1], limit=limit, count=True,
    )  # fmt: skip
    visible, agent = scope if scope else (None, None)
    ids, _ = walk(CONN, wanted, visible_queues=visible, agent_id=agent)
    assert ids == expected(wanted, visible, agent)
    page = worklist.query(CONN, wanted, visible_queues=visible, agent_id=agent)
    assert page.count == len(ids)


@pytest.mark.parametrize(("sort", "order"), SORTS)
def test_every_plan_gives_the_same_rows(sort: worklist.Sort, order: Any) -> None:
    """Results never depend on the index the planner picks: each plan it could pick, forced, agrees."""
    q = worklist.WorklistQuery(status=("open", "new", "solved", "closed", "pending"), tags=("billing",), q="ice", sort=sort, order=order,
                               limit=100)  # fmt: skip
    terms = terms_of(q, visible_queues=frozenset({"q1", "q2", "q3"}), agent_id="cem")
    want = expected(q, frozenset({"q1", "q2", "q3"}), "cem")[:101]  # a page reads limit + 1 rows
    assert len(want) > 5
    plans = [Plan(index) for index in worklist.INDEX_COLUMNS] + [
        Plan(None, t) for t in terms if t.kind in ("tag", "text")
    ]
    cur = CONN.cursor()
    for plan in plans:
        assert [row[1] for row in _rows(cur, q, plan, terms, None)] == want, plan


def test_deadlines_sort_tickets_without_one_last_in_both_directions() -> None:
    for order in ("asc", "desc"):
        ids, _ = walk(CONN, worklist.WorklistQuery(order=order, limit=9), visible_queues=None, agent_id=None)
        by_id = {v["id"]: v for v in VIEWS}
        dated = [by_id[i]["next_deadline"] is not None for i in ids]
        assert dated == sorted(dated, reverse=True)  # all dated first, then the undated


def test_an_agent_sees_their_queues_and_their_own_tickets_only() -> None:
    q = worklist.WorklistQuery(limit=100)
    ids, _ = walk(CONN, q, visible_queues=frozenset({"q1"}), agent_id="bora")
    by_id = {v["id"]: v for v in VIEWS}
    assert ids and all(by_id[i]["queue_id"] == "q1" or by_id[i]["assignee_id"] == "bora" for i in ids)
    assert any(by_id[i]["queue_id"] != "q1" for i in ids)  # bora's tickets elsewhere are there too
    assert ids == expected(q, frozenset({"q1"}), "bora")
    # a queue filter outside their queues leaves their own tickets in it
    other = worklist.WorklistQuery(queue=("q4",), limit=100)
    found, _ = walk(CONN, other, visible_queues=frozenset({"q1"}), agent_id="bora")
    assert found == expected(other, frozenset({"q1"}), "bora")
    assert all(by_id[i]["assignee_id"] == "bora" for i in found)
    nothing = worklist.query(CONN, q, visible_queues=frozenset(), agent_id=None)
    assert nothing.items == [] and nothing.next_cursor is None


def test_pages_stay_put_when_tickets_arrive_between_them() -> None:
    rng = random.Random(5)
    views = [view(rng, n) for n in range(60)]
    conn = database(views)
    q = worklist.WorklistQuery(sort=worklist.Sort.OPENED_AT, order="asc", limit=10)
    first = worklist.query(conn, q, visible_queues=None, agent_id=None)
    arrivals = [view(rng, 100 + n) for n in range(30)]
    for early in arrivals[:5]:
        early["opened_at"] = "2025-03-01T00:00:00Z"  # before the cursor, whatever the draw
    conn.execute("BEGIN")
    worklist.upsert(conn, arrivals)
    conn.execute("COMMIT")
    rest, _ = walk(conn, replace(q, cursor=first.next_cursor), visible_queues=None, agent_id=None)
    everyone = ordered([*views, *arrivals], q)
    at = everyone.index(item_id(first.items[-1]))
    assert [item_id(i) for i in first.items] == ordered(views, q)[:10]
    assert rest == everyone[at + 1 :]  # everything after the cursor, arrivals included: no gap, no repeat
    assert {v["id"] for v in arrivals} & set(everyone[:at])  # some arrived before it, and do not reappear


def test_counts_are_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = str(tmp_path / "w.sqlite3")
    writer = database(VIEWS[:50], path)
    writer.execute("PRAGMA journal_mode=WAL")
    reader = sqlite3.connect(path, isolation_level=None)
    cache = worklist.QueryCache()
    q = worklist.WorklistQuery(status=("open",), count=True)
    want = sum(v["status"] == "open" for v in VIEWS[:50])
    assert worklist.query(reader, q, visible_queues=None, agent_id=None, cache=cache).count == want
    assert worklist.query(reader, q, visible_queues=None, agent_id=None, cache=cache).count == want
    writer.execute("BEGIN")
    worklist.upsert(writer, [{**v, "status": "open"} for v in VIEWS[50:60]])
    writer.execute("COMMIT")
    found = worklist.query(reader, q, visible_queues=None, agent_id=None, cache=cache).count
    assert found == want + 10
    assert worklist.query(reader, replace(q, count=False), visible_queues=None, agent_id=None).count is None


@pytest.mark.parametrize(
    "cursor",
    ["not base64 !", "bm90IGpzb24", "WzEsMl0", "WyJ4IiwidC0xIiwiMDAwMDAwMDAwMDAwIl0"],
)
def test_a_cursor_it_did_not_issue_is_refused(cursor: str) -> None:
    with pytest.raises(worklist.QueryError, match="cursor"):
        worklist.query(CONN, worklist.WorklistQuery(cursor=cursor), visible_queues=None, agent_id=None)


def test_a_cursor_only_resumes_the_query_it_came_from() -> None:
    page = worklist.query(CONN, worklist.WorklistQuery(status=("open",), limit=3), visible_queues=None, agent_id=None)
    for other in (worklist.WorklistQuery(status=("new",)), worklist.WorklistQuery(status=("open",), order="desc")):
        with pytest.raises(worklist.QueryError, match="another query"):
            worklist.query(CONN, replace(other, cursor=page.next_cursor), visible_queues=None, agent_id=None)
    again = worklist.WorklistQuery(status=("open",), limit=5, cursor=page.next_cursor)  # the limit may change
    assert worklist.query(CONN, again, visible_queues=None, agent_id=None).items


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": ("opened",)}, "status: unknown value"),
        ({"priority": ("p1",)}, "priority"),
        ({"sla_state": ("late",)}, "sla_state"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"q": "ab"}, "3 characters"),
        ({"opened_from": "yesterday"}, "ISO-8601"),
        ({"sort": "subject"}, "sort"),
        ({"order": "up"}, "order"),
    ],
)
def test_a_query_it_cannot_answer_is_refused_with_the_reason(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(worklist.QueryError, match=message):
        worklist.WorklistQuery(**fields)


def test_estimates_count_rows_through_the_indexes() -> None:
    q = worklist.WorklistQuery(customer=("c3",), tags=("vip",), q="refund")
    terms = terms_of(q, visible_queues=None, agent_id=None)
    found = estimate(CONN.cursor(), terms)
    assert found.rows == (
        sum(v["customer_id"] == "c3" for v in VIEWS),
        sum("vip" in v["tags"] for v in VIEWS),
        sum("refund" in v["subject"].lower() for v in VIEWS),
    )
    assert SORT_COLUMN[q.sort] == "deadline_key"
