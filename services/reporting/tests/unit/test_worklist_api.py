"""`GET /v1/tickets` over HTTP: who sees what, strict parameters, 422s that say why, the page's shape and docs;
and the table itself: a view's row, and the tag and subject indexes kept in step by its triggers."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from switchboard.reporting import worklist
from switchboard.reporting.api.worklist import worklist_router
from switchboard.runtime.auth import Scope, TokenAuth

from services.reporting.tests.unit.worklist_oracle import database, matches, ordered, view

pytestmark = pytest.mark.unit

RNG = random.Random(23)
VIEWS = [view(RNG, n) for n in range(120)]
QUEUES_OF = {"bora": frozenset({"q1", "q2"})}
TOKENS = {
    "analyst": frozenset({Scope.ANALYST}),
    "admin": frozenset({Scope.ADMIN}),
    "bora": frozenset({Scope.AGENT}),
    "desk": frozenset({Scope.AGENT}),
    "webhook": frozenset({Scope.CHANNEL}),
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    conn = database(VIEWS)
    app = FastAPI()
    auth = TokenAuth(TOKENS, {"bora": "bora"})
    app.include_router(
        worklist_router(engine_provider=lambda: conn, auth=auth, agent_queues=lambda a: QUEUES_OF.get(a, frozenset()))
    )
    return TestClient(app)


def get(client: TestClient, token: str, params: Any = None) -> Any:
    return client.get("/v1/tickets", params=params, headers={"Authorization": f"Bearer {token}"})


def walk(client: TestClient, token: str, params: list[tuple[str, str]]) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        answer = get(client, token, [*params, *([("cursor", cursor)] if cursor else [])])
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def test_an_agent_sees_their_queues_and_tickets_and_an_analyst_everything(client: TestClient) -> None:
    params = [("status", "open,new"), ("limit", "4")]
    q = worklist.WorklistQuery(status=("open", "new"))
    mine = [v for v in VIEWS if matches(v, q, QUEUES_OF["bora"], "bora")]
    assert walk(client, "bora", params) == ordered(mine, q)
    everyone = [v for v in VIEWS if matches(v, q, None, None)]
    assert len(everyone) > len(mine) > 0
    assert walk(client, "analyst", params) == walk(client, "admin", params) == ordered(everyone, q)


def test_who_may_not_list_tickets(client: TestClient) -> None:
    assert client.get("/v1/tickets").status_code == 401
    assert get(client, "webhook").status_code == 403
    unbound = get(client, "desk")
    assert unbound.status_code == 403
    assert "names no agent" in unbound.json()["detail"]


def test_repeated_and_comma_separated_values_are_the_same_filter(client: TestClient) -> None:
    one = get(client, "analyst", [("status", "open"), ("status", "pending"), ("tags", "billing")]).json()
    other = get(client, "analyst", [("status", "open,pending"), ("tags", "billing")]).json()
    assert one == other and one["items"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("cursor", "garbage!")], "cursor is not one this API issued"),
        ([("stauts", "open")], "unknown parameter 'stauts'"),
        ([("status", "opened")], "status: unknown value(s) opened"),
        ([("limit", "0")], "limit"),
        ([("limit", "ten")], "limit"),
        ([("sort", "subject")], "sort must be one of"),
        ([("q", "ab")], "3 characters"),
        ([("opened_from", "last week")], "ISO-8601"),
        ([("count", "maybe")], "count must be true or false"),
        ([("sort", "priority"), ("sort", "opened_at")], "sort may be given once"),
    ],
)
def test_what_it_cannot_answer_is_a_422_that_says_why(
    client: TestClient, params: list[tuple[str, str]], message: str
) -> None:
    answer = get(client, "analyst", params)
    assert answer.status_code == 422
    assert message in answer.json()["detail"]


def test_a_cursor_from_another_query_is_a_422(client: TestClient) -> None:
    first = get(client, "analyst", [("status", "open"), ("limit", "2")]).json()
    answer = get(client, "analyst", [("status", "closed"), ("cursor", first["next_cursor"])])
    assert answer.status_code == 422
    assert "another query" in answer.json()["detail"]


def test_a_page_has_the_items_the_next_cursor_and_the_count(client: TestClient) -> None:
    body = get(client, "analyst", [("sort", "priority"), ("limit", "3"), ("count", "true")]).json()
    assert set(body) == {"items", "next_cursor", "count"}
    assert body["count"] == len(VIEWS)
    first = body["items"][0]
    assert set(first) == set(worklist.schema.ITEM_KEYS)
    assert first["priority"] == "urgent"  # priority sorts most urgent first unless asked otherwise
    assert get(client, "analyst", [("limit", "3")]).json()["count"] is None


def test_the_docs_list_every_parameter_and_the_page(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/tickets"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"status", "queue", "assignee", "tags", "q", "sort", "order", "limit", "cursor", "count"} <= names
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("WorklistPage")
    assert "422" in operation["responses"]


def test_a_row_holds_the_view_in_one_time_form_and_its_list_item() -> None:
    row = worklist.row_of(
        {**VIEWS[0], "opened_at": "2025-03-01T10:00:00+03:00", "next_deadline": None, "priority": "urgent"}
    )
    assert row["opened_at"] == "2025-03-01T07:00:00.000000Z"
    assert row["deadline_key"] == "~" and row["next_deadline"] is None
    assert row["priority_rank"] == 3
    assert json.loads(row["page_json"])["opened_at"] == "2025-03-01T10:00:00+03:00"  # the view's own string
    assert set(worklist.COLUMNS) | {"id"} == set(row)


def test_changed_tags_and_subjects_move_their_indexes_with_them() -> None:
    conn = database(VIEWS[:3])
    ticket = {**VIEWS[0], "tags": ["vip", "billing"], "subject": "Printer on fire"}
    for round_ in range(2):  # the second upsert changes nothing, and must leave the indexes as they are
        conn.execute("BEGIN")
        worklist.upsert(conn, [ticket])
        conn.execute("COMMIT")
        n = conn.execute("SELECT n FROM tickets WHERE id = ?", (ticket["id"],)).fetchone()[0]
        tags = {r[0] for r in conn.execute("SELECT tag FROM ticket_tags WHERE n = ?", (n,))}
        assert tags == {"vip", "billing"}, round_
        found = conn.execute("SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH '\"on fire\"'").fetchall()
        assert [r[0] for r in found] == [n]
    assert not conn.execute(
        "SELECT 1 FROM tickets_fts WHERE tickets_fts MATCH ?", (f'"{VIEWS[0]["subject"]}"',)
    ).fetchall()
    conn.execute("BEGIN")
    worklist.delete(conn, [ticket["id"]])
    conn.execute("COMMIT")
    assert not conn.execute("SELECT 1 FROM ticket_tags WHERE n = ?", (n,)).fetchall()
    assert not conn.execute("SELECT 1 FROM tickets_fts WHERE tickets_fts MATCH '\"on fire\"'").fetchall()
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 2
