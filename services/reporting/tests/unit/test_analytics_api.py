"""The analysts' routes over a folded engine: scopes, filters, cursor pages, CSV and the summary's figures."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from switchboard.events.topics import topic_of
from switchboard.reporting.api.analytics import analytics_router
from switchboard.reporting.api.ticket import ticket_router
from switchboard.reporting.engine import Engine, Position
from switchboard.runtime.auth import Scope, TokenAuth

from services.reporting.tests.fixtures import life

pytestmark = pytest.mark.unit

TOKENS = {"analyst-token": frozenset({Scope.ANALYST}), "desk-token": frozenset({Scope.AGENT})}


def calendar_minutes(_: Any, a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    engine = Engine.open(tmp_path / "e.sqlite3", business=calendar_minutes)
    events = [*life("t-1"), *life("t-2", agent="bora"), *life("t-3", tags=("bot",))]
    engine.apply([(Position(topic_of(e.data).name, 0, n), e) for n, e in enumerate(events)])
    reader = engine.reader()
    auth = TokenAuth(TOKENS, {"desk-token": "ayla"})
    app = FastAPI()
    app.include_router(analytics_router(conn_provider=lambda: reader, auth=auth))
    app.include_router(ticket_router(conn_provider=lambda: reader, auth=auth, agent_queues=lambda _: frozenset()))
    return TestClient(app)


def analyst() -> dict[str, str]:
    return {"Authorization": "Bearer analyst-token"}


def test_routes_need_the_analyst_scope(client: TestClient) -> None:
    assert client.get("/v1/analytics/agent_day").status_code == 401
    desk = {"Authorization": "Bearer desk-token"}
    assert client.get("/v1/analytics/agent_day", headers=desk).status_code == 403
    assert client.get("/v1/metrics/summary?from=2026-11-01&to=2026-11-30", headers=desk).status_code == 403


def test_an_agent_sees_only_tickets_assigned_to_them_or_in_their_queues(client: TestClient) -> None:
    desk = {"Authorization": "Bearer desk-token"}
    assert client.get("/v1/tickets/t-1", headers=desk).status_code == 200  # assigned to ayla
    assert client.get("/v1/tickets/t-2", headers=desk).status_code == 404  # bora's, in a queue ayla does not work
    assert client.get("/v1/tickets/t-2", headers=analyst()).json()["assignee_id"] == "bora"


def test_filters_and_cursor_pages(client: TestClient) -> None:
    first = client.get("/v1/analytics/agent_day?limit=1", headers=analyst()).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get(f"/v1/analytics/agent_day?limit=1&cursor={first['next_cursor']}", headers=analyst()).json()
    assert {first["items"][0]["agent_id"], second["items"][0]["agent_id"]} == {"ayla", "bora"}
    only = client.get("/v1/analytics/agent_day?agent_id=bora", headers=analyst()).json()["items"]
    assert [d["agent_id"] for d in only] == ["bora"] and only[0]["sums"]["solved"] == 2
    wrong = client.get("/v1/analytics/agent_day?tag=x", headers=analyst())
    assert wrong.status_code == 422 and "agent_day has no tag" in wrong.text


def test_csv_export_has_every_row_and_sum(client: TestClient) -> None:
    response = client.get("/v1/analytics/agent_day?format=csv", headers=analyst())
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["agent_id"] for r in rows} == {"ayla", "bora"}
    assert all(float(r["replies"]) == 2 for r in rows)


def test_summary_figures_are_exact_ratios_of_the_sums(client: TestClient) -> None:
    body = client.get("/v1/metrics/summary?from=2026-11-02&to=2026-11-02", headers=analyst()).json()
    assert body["opened"] == 2  # the automated ticket is left out
    assert body["first_reply_minutes"] == {"calendar": 20.0, "business": 20.0, "count": 2}
    assert body["resolution_minutes"]["calendar"] == 260.0
    assert body["sla_compliance_percent"] == 50.0  # per ticket one target met, one breached
    assert body["csat_percent"] == 100.0 and body["csat_answers"] == 2
    assert body["backlog_open"] == 0
    bad = client.get("/v1/metrics/summary?from=2026-11-03&to=2026-11-02", headers=analyst())
    assert bad.status_code == 422


def test_customer_360_by_id_and_as_csv(client: TestClient) -> None:
    body = client.get("/v1/analytics/customer_360?customer_id=c-9", headers=analyst()).json()
    (doc,) = body["items"]
    assert doc["sums"]["tickets"] == 3 and 0 <= doc["health"] <= 100
    rows = list(
        csv.DictReader(io.StringIO(client.get("/v1/analytics/customer_360?format=csv", headers=analyst()).text))
    )
    assert rows[0]["customer_id"] == "c-9" and rows[0]["health"] == str(doc["health"]) and rows[0]["tickets"] == "3.0"
