"""The supervisor overview's figures from known rows: buckets at their edges, the at-risk order, exact rates."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from switchboard.reporting.api.supervisor import ASSETS, supervisor_router
from switchboard.reporting.supervisor.overview import csat_percent, net_promoter_score, overview, trend_days
from switchboard.runtime.auth import Scope, TokenAuth

from services.reporting.tests.supervisor_seed import (
    AGENTS,
    AT_RISK_IDS,
    BACKLOG,
    BREACHES_TODAY,
    NOW,
    TODAY,
    TREND_KNOWN,
    put_ticket,
    seed,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    seed(conn)
    yield conn
    conn.close()


def test_backlog_counts_open_tickets_per_queue_priority_and_age_bucket(conn: sqlite3.Connection) -> None:
    assert overview(conn, now=NOW)["backlog"] == BACKLOG


def test_a_ticket_moves_to_the_next_bucket_when_it_reaches_the_bound(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM tickets")
    put_ticket(conn, "t1", opened_at="2026-03-14T11:00:00.001Z")  # 59:59.999 old
    put_ticket(conn, "t2", opened_at="2026-03-11T12:00:00Z")  # exactly 3 days, other spelling
    put_ticket(conn, "t3", opened_at="2026-03-11T12:00:00.001+00:00")
    buckets = {(b["age_bucket"], b["open"]) for b in overview(conn, now=NOW)["backlog"]}
    assert buckets == {("<1h", 1), (">3d", 1), ("1-3d", 1)}


def test_at_risk_lists_open_tickets_most_overdue_first(conn: sqlite3.Connection) -> None:
    result = overview(conn, now=NOW)
    assert [t["id"] for t in result["at_risk"]] == AT_RISK_IDS
    assert result["at_risk_total"] == len(AT_RISK_IDS)
    assert result["at_risk"][0] == {
        "id": "t3",
        "reference": "T-3",
        "subject": '<b>Refund</b> & "now"',
        "queue_id": "billing",
        "assignee_id": "ayla",
        "next_deadline": "2026-03-14T11:50:00.000000Z",
        "sla_state": "breached",
    }


def test_at_risk_limit_cuts_the_list_but_not_the_total(conn: sqlite3.Connection) -> None:
    result = overview(conn, now=NOW, at_risk_limit=2)
    assert [t["id"] for t in result["at_risk"]] == AT_RISK_IDS[:2]
    assert result["at_risk_total"] == len(AT_RISK_IDS)


def test_breaches_today_sum_every_bucket_of_the_utc_day(conn: sqlite3.Connection) -> None:
    assert overview(conn, now=NOW)["breaches_today"] == BREACHES_TODAY
    assert overview(conn, now=NOW + timedelta(days=1))["breaches_today"] == 0
    assert overview(conn, now=NOW - timedelta(days=1))["breaches_today"] == 4


def test_agents_include_assignees_without_a_view_online_first(conn: sqlite3.Connection) -> None:
    assert overview(conn, now=NOW)["agents"] == AGENTS


def test_trend_has_one_point_per_day_with_gaps_as_none(conn: sqlite3.Connection) -> None:
    trend = overview(conn, now=NOW)["trend"]
    assert [p["day"] for p in trend] == trend_days(date(2026, 3, 14), 14)
    assert trend[0]["day"] == "2026-03-01"
    assert {p["day"]: p for p in trend if p["day"] in TREND_KNOWN} == TREND_KNOWN
    assert all(p["csat_percent"] is None and p["nps"] is None for p in trend if p["day"] not in TREND_KNOWN)
    assert len(overview(conn, now=NOW, days=3)["trend"]) == 3


def test_rates_are_exact_ratios_of_the_sums() -> None:
    assert csat_percent(3, 2) == 66.7
    assert csat_percent(0, 0) is None
    assert net_promoter_score(4, 1, 3) == -50.0
    assert net_promoter_score(0, 0, 0) is None


def test_as_of_is_the_clock_given(conn: sqlite3.Connection) -> None:
    assert overview(conn, now=NOW)["as_of"] == f"{TODAY}T12:00:00.000000Z"


def test_the_overview_reads_in_a_transaction_of_its_own_and_leaves_none_open(conn: sqlite3.Connection) -> None:
    overview(conn, now=NOW)
    assert not conn.in_transaction


def _client(conn: sqlite3.Connection) -> TestClient:
    auth = TokenAuth({"lead": frozenset({Scope.ANALYST}), "desk": frozenset({Scope.AGENT})})
    app = FastAPI()
    app.include_router(supervisor_router(conn_provider=lambda: conn, auth=auth, clock=lambda: NOW))
    return TestClient(app)


def test_the_route_needs_an_analyst_token_and_answers_the_overview(conn: sqlite3.Connection) -> None:
    client = _client(conn)
    assert client.get("/v1/supervisor/overview").status_code == 401
    assert client.get("/v1/supervisor/overview", headers={"authorization": "Bearer desk"}).status_code == 403
    response = client.get("/v1/supervisor/overview?days=7", headers={"authorization": "Bearer lead"})
    assert response.status_code == 200
    assert response.json() == overview(conn, now=NOW, days=7)


def test_the_page_and_its_assets_come_from_the_package_and_nothing_else(conn: sqlite3.Connection) -> None:
    client = _client(conn)
    page = client.get("/supervisor")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for name in ASSETS:
        assert f"/supervisor/static/{name}" in page.text
        assert client.get(f"/supervisor/static/{name}").content
    assert client.get("/supervisor/static/..%2Fapi%2Fsupervisor.py").status_code == 404
    assert client.get("/supervisor/static/index.html").status_code == 404
