"""The supervisor page in headless Chromium: it shows exactly the API's figures, follows changes on its own,
opens a ticket's details, asks for a token when it has none, and loads nothing from anywhere else.

The app is the supervisor router over a seeded SQLite file, served by uvicorn on a free port; no Kafka or Mongo
is involved, so this runs wherever Debian's chromium is installed (`make browser`). The screenshot is kept at
.local/test-artifacts/supervisor.png.
"""

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI, HTTPException
from switchboard.reporting.api.supervisor import supervisor_router
from switchboard.runtime.auth import Principal, Scope, TokenAuth

from services.reporting.tests.e2e.chromium import BINARY, Chromium, Page
from services.reporting.tests.supervisor_seed import (
    AGENTS,
    AT_RISK_IDS,
    BREACHES_TODAY,
    NOW,
    TODAY,
    later,
    put_aggregate,
    put_ticket,
    seed,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        BINARY is None, reason="Debian's chromium is not installed: run `make browser` (apt-get install chromium)"
    ),
]

ROOT = Path(__file__).resolve().parents[4]
ARTIFACT = ROOT / ".local" / "test-artifacts" / "supervisor.png"
TOKEN = secrets.token_urlsafe(16)
DASH = "–"
BUCKETS = ("<1h", "1-4h", "4-24h", "1-3d", ">3d")


@dataclass(frozen=True)
class Site:
    url: str
    db: Path


def _app(db: Path) -> FastAPI:
    reader = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
    reader.row_factory = sqlite3.Row
    auth = TokenAuth({TOKEN: frozenset({Scope.ANALYST})})
    app = FastAPI()
    app.include_router(supervisor_router(conn_provider=lambda: reader, auth=auth, clock=lambda: NOW))

    @app.get("/v1/tickets/{ticket_id}")  # stands in for the worklist's route, which reads the same view
    async def ticket(ticket_id: str, _: Annotated[Principal, Depends(auth.require(Scope.ANALYST))]) -> Any:
        row = reader.execute("SELECT page_json FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise HTTPException(404, f"no ticket {ticket_id}")
        return json.loads(row[0])

    return app


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db = tmp_path_factory.mktemp("supervisor") / "reporting.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        seed(conn)
    server = uvicorn.Server(uvicorn.Config(_app(db), host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Site(f"http://127.0.0.1:{port}", db)
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    profile = tmp_path_factory.mktemp("chromium")
    with Chromium.launch(profile / "profile", profile / "chromium.log") as browser:
        yield browser.page()


SHOWN = """(() => {
  const cells = (sel) => [...document.querySelectorAll(sel)].map((tr) => [...tr.cells].map((c) => c.innerText.trim()));
  const text = (id) => document.getElementById(id).innerText.trim();
  return {
    breaches_today: text("breaches-today"), at_risk_total: text("at-risk-total"),
    open_total: text("open-total"), agents_online: text("agents-online"),
    backlog: cells("#backlog tbody tr"), backlog_total: cells("#backlog tfoot tr"),
    at_risk: cells("#at-risk tbody tr"),
    links: [...document.querySelectorAll("#at-risk tbody a")].map((a) => a.getAttribute("href")),
    deadlines: [...document.querySelectorAll("#at-risk tbody tr")].map((tr) => tr.querySelector("time")?.getAttribute("datetime") ?? null),
    agents: cells("#agents tbody tr"), trend: cells("#trend tbody tr"),
    charts: document.querySelectorAll("#backlog-chart canvas, #trend-chart canvas").length,
  };
})()"""


def _deadline(deadline: str | None, as_of: str) -> str:
    if deadline is None:
        return DASH
    minutes = round((datetime.fromisoformat(deadline) - datetime.fromisoformat(as_of)).total_seconds() / 60)
    span = f"{abs(minutes)} min" if abs(minutes) < 120 else f"{round(abs(minutes) / 60)} h"
    return f"{deadline[:10]} {deadline[11:16]} UTC ({f'in {span}' if minutes >= 0 else f'{span} ago'})"


def _counts(counts: list[int]) -> list[str]:
    return [str(n) for n in [*counts, sum(counts)]]


def _fixed(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def _ticket_row(t: dict[str, Any], as_of: str) -> list[str]:
    return [
        t["reference"] or t["id"],
        t["subject"] or DASH,
        t["queue_id"] or "(no queue)",
        t["assignee_id"] or "unassigned",
        "breached" if t["sla_state"] == "breached" else "at risk",
        _deadline(t["next_deadline"], as_of),
    ]


def _expected(api: dict[str, Any]) -> dict[str, Any]:
    """What the page must show for this API answer, cell by cell."""
    rows: dict[tuple[str | None, str | None], list[int]] = {}
    for item in api["backlog"]:
        counts = rows.setdefault((item["queue_id"], item["priority"]), [0] * len(BUCKETS))
        counts[BUCKETS.index(item["age_bucket"])] += item["open"]
    totals = [sum(counts[i] for counts in rows.values()) for i in range(len(BUCKETS))]
    return {
        "breaches_today": str(api["breaches_today"]),
        "at_risk_total": str(api["at_risk_total"]),
        "open_total": str(sum(totals)),
        "agents_online": str(sum(a["presence"] == "online" for a in api["agents"])),
        "backlog": [[q or "(no queue)", p or DASH, *_counts(c)] for (q, p), c in rows.items()],
        "backlog_total": [["All queues", *_counts(totals)]],
        "at_risk": [_ticket_row(t, api["as_of"]) for t in api["at_risk"]],
        "links": [f"/v1/tickets/{t['id']}" for t in api["at_risk"]],
        "deadlines": [t["next_deadline"] for t in api["at_risk"]],
        "agents": [[a["agent_id"], a["presence"] or "unknown", str(a["open_assigned"])] for a in api["agents"]],
        "trend": [[d["day"], _fixed(d["csat_percent"]), _fixed(d["nps"])] for d in api["trend"]],
        "charts": 2,
    }


def _overview(site: Site) -> dict[str, Any]:
    response = httpx.get(f"{site.url}/v1/supervisor/overview", headers={"authorization": f"Bearer {TOKEN}"})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_without_a_valid_token_the_page_says_so_and_fetches_nothing(site: Site, page: Page) -> None:
    page.navigate(f"{site.url}/supervisor")
    page.wait_for("document.body.dataset.state === 'no-token'")
    assert "#token=" in page.evaluate("document.getElementById('problem').innerText")
    page.navigate(f"{site.url}/supervisor#token=not-the-token")  # the fragment changes: no reload
    page.wait_for("document.body.dataset.state === 'rejected'")
    assert "refused this token" in page.evaluate("document.getElementById('problem').innerText")
    assert page.evaluate("document.getElementById('breaches-today').innerText") == DASH


def _open(site: Site, page: Page) -> None:
    page.navigate("about:blank")
    page.wait_for("location.href === 'about:blank'")
    page.browser.events.clear()
    page.navigate(f"{site.url}/supervisor#token={TOKEN}&refresh=1")
    page.wait_for("document.body.dataset.state === 'ready'")


def test_the_page_shows_the_apis_figures_and_follows_them(site: Site, page: Page) -> None:
    _open(site, page)

    api = _overview(site)
    assert api["breaches_today"] == BREACHES_TODAY and api["agents"] == AGENTS  # the seed, not an empty answer
    assert [t["id"] for t in api["at_risk"]] == AT_RISK_IDS
    assert page.evaluate(SHOWN) == _expected(api)
    page.screenshot(ARTIFACT)

    with sqlite3.connect(site.db) as conn:  # a new breach and a new ticket at risk, while the page is open
        put_aggregate(conn, "sla_day", f"{TODAY}/c", day=TODAY, team_id="team-c", breached=2, met=0)
        put_ticket(conn, "t11", queue_id="tech", sla_state="at_risk", next_deadline=later(minutes=1))
    page.wait_for(f"document.getElementById('breaches-today').innerText === '{BREACHES_TODAY + 2}'")
    page.wait_for("document.getElementById('at-risk-total').innerText === '5'")
    time.sleep(1.2)  # let a further poll land, then compare everything again
    assert page.evaluate(SHOWN) == _expected(_overview(site))

    requested = [e["request"]["url"] for e in page.events("Network.requestWillBeSent")]
    assert requested and all(url.startswith(f"{site.url}/") for url in requested), requested
    errors = [e["entry"] for e in page.events("Log.entryAdded") if e["entry"]["level"] == "error"]
    assert not errors and not page.events("Runtime.exceptionThrown"), errors


def test_a_ticket_at_risk_opens_its_details_with_its_text_kept_as_text(site: Site, page: Page) -> None:
    _open(site, page)
    page.evaluate("document.querySelector('#at-risk a[href=\"/v1/tickets/t3\"]').click()")
    title = page.wait_for("document.getElementById('ticket').open && document.getElementById('ticket-json').textContent"
                          " && document.getElementById('ticket-title').innerText")  # fmt: skip
    assert title == 'T-3: <b>Refund</b> & "now"'
    assert page.evaluate("document.querySelector('#ticket b, #at-risk tbody b')") is None
    shown = json.loads(page.evaluate("document.getElementById('ticket-json').textContent"))
    assert shown["id"] == "t3" and shown["sla_state"] == "breached"
    page.evaluate("document.getElementById('ticket-close').click()")
    assert page.evaluate("document.getElementById('ticket').open") is False
