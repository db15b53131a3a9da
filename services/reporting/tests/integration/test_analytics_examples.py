"""The example queries of docs/analytics.md, run as written on FerretDB against projections published from
event fixtures: an analyst's copy-paste must work, and give the figures the metric rules promise."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient
from switchboard.events import Envelope
from switchboard.events.common import Presence
from switchboard.events.feedback import QaReviewSubmitted, SurveyAnswered
from switchboard.events.interactions import InteractionRecorded
from switchboard.events.routing import TicketAssigned, TicketRouted
from switchboard.events.sla import SlaMet
from switchboard.reporting.engine import Engine
from switchboard.reporting.publisher import publish_dirty

from services.reporting.tests.fixtures import at, life, positioned, presence, wrap
from tests.harness import ROOT, Servers

pytestmark = pytest.mark.integration

DOC = ROOT / "docs" / "analytics.md"
TODAY = date(2026, 11, 4)  # two days after the fixtures' Monday, 2026-11-02 (ISO week 2026-W45)
VERSION = 2  # published under a version other than the default, so an example ignoring `active` finds nothing
MONGOSH = shutil.which("mongosh") or str(ROOT / ".local" / "mongosh" / "node_modules" / ".bin" / "mongosh")

_BLOCK = re.compile(r"^```(python|js)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_MARK = re.compile(r"^(?:#|//) (setup|example: ([a-z0-9_]+))\s*$")


def doc_blocks(language: str) -> tuple[list[str], dict[str, str]]:
    """(setup blocks, examples by name) of one language; blocks without a marker line are not run."""
    setup: list[str] = []
    examples: dict[str, str] = {}
    for lang, code in _BLOCK.findall(DOC.read_text()):
        mark = _MARK.match(code.splitlines()[0]) if lang == language and code.strip() else None
        if mark is None:
            continue
        if mark.group(2) is None:
            setup.append(code)
        else:
            assert mark.group(2) not in examples, f"two {language} examples named {mark.group(2)}"
            examples[mark.group(2)] = code
    return setup, examples


PY_SETUP, PY_EXAMPLES = doc_blocks("python")
JS_SETUP, JS_EXAMPLES = doc_blocks("js")

Rows = list[dict[str, Any]]


def calendar_minutes(_: Any, start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def one(rows: Rows, **keys: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r.get(k) == v for k, v in keys.items())]
    assert len(found) == 1, (keys, rows)
    return found[0]


# What the fixtures give, worked out by hand from `life()` (docs/analytics.md, "The metric rules"):
# billing: t-1 (ayla, first reply after 20 min, CSAT 4, QA 70 %), t-2 (bora, first reply after 10 min, CSAT
# revised to 3), t-3 (ayla, tagged `bot` when opened: automated, in no team, agent, SLA, feedback or QA figure);
# care: t-4 (ayla, first reply after 20 min, CSAT 4, QA 90 %). Each ticket meets its first-response target and
# breaches its resolution target.
def check_first_reply(rows: Rows) -> None:
    assert one(rows, team_id="billing", week="2026-W45")["mean_min"] == pytest.approx((20 + 10) / 2)
    assert one(rows, team_id="care", week="2026-W45")["mean_min"] == pytest.approx(20)


def check_sla(rows: Rows) -> None:
    assert one(rows, policy_id="standard", target="first_response")["compliance_pct"] == pytest.approx(100)
    assert one(rows, policy_id="standard", target="resolution")["compliance_pct"] == pytest.approx(0)


def check_csat(rows: Rows) -> None:
    billing = one(rows, team_id="billing", day="2026-11-02")
    assert (billing["csat_answers"], billing["csat_pct"]) == (2, pytest.approx(50))  # 4 of 5 and 3 of 5
    assert one(rows, team_id="care", day="2026-11-02")["csat_pct"] == pytest.approx(100)


def check_iqs(rows: Rows) -> None:
    assert one(rows, agent_id="ayla", week="2026-W45")["iqs"] == pytest.approx((70 + 90) / 2)  # not t-3's 70


def check_tags(rows: Rows) -> None:
    assert one(rows, week="2026-W45", language="tr", tag="refund")["opened"] == 4  # automated t-3 counts here


def check_customer(rows: Rows) -> None:
    assert sorted(r["_id"] for r in rows) == ["t-1", "t-2", "t-3", "t-4"]


CHECKS: dict[str, Callable[[Rows], None]] = {
    "first_reply_by_team_week": check_first_reply,
    "sla_compliance_7_days": check_sla,
    "csat_nps_by_team_day": check_csat,
    "iqs_by_agent_week": check_iqs,
    "top_tags_by_week_language": check_tags,
    "customer_tickets": check_customer,
}


def on_team(events: list[Envelope], team: str) -> list[Envelope]:
    def routed(e: Envelope) -> Envelope:
        if isinstance(e.data, TicketRouted | TicketAssigned):
            return e.model_copy(update={"data": e.data.model_copy(update={"team_id": team})})
        return e

    return [routed(e) for e in events]


def first_reply_after(events: list[Envelope], minutes: float) -> list[Envelope]:
    """The same life with its first reply (and the first-response target met) at `minutes` instead of 20."""
    out = []
    for e in events:
        d = e.data
        if isinstance(d, InteractionRecorded) and d.author_type == "agent" and d.occurred_at == at(20):
            e = wrap(d.model_copy(update={"occurred_at": at(minutes)}), e.subject, at(minutes))
        elif isinstance(d, SlaMet):
            e = wrap(d.model_copy(update={"met_at": at(minutes), "used_minutes": minutes}), e.subject, at(minutes))
        out.append(e)
    return out


def revised(events: list[Envelope], *, csat: int | None = None, qa: float | None = None) -> list[Envelope]:
    """The same life with its last CSAT revision scored `csat`, or its QA review at `qa` percent."""
    out = []
    for e in events:
        d = e.data
        if csat is not None and isinstance(d, SurveyAnswered) and d.answered_at == at(310):
            e = e.model_copy(update={"data": d.model_copy(update={"score": csat})})
        if qa is not None and isinstance(d, QaReviewSubmitted):
            e = e.model_copy(update={"data": d.model_copy(update={"total_percent": qa})})
        out.append(e)
    return out


def fixture_events() -> list[Envelope]:
    return [
        *on_team(life("t-1", agent="ayla"), "billing"),
        *on_team(revised(first_reply_after(life("t-2", agent="bora"), 10), csat=3), "billing"),
        *on_team(life("t-3", agent="ayla", tags=("bot",)), "billing"),
        *on_team(revised(life("t-4", agent="ayla"), qa=90.0), "care"),
        presence("ayla", Presence.ONLINE, 0),
        presence("ayla", Presence.AWAY, 90),
    ]


@pytest.fixture
async def database(servers: Servers, namespace: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own holding the fixtures' projections, published as the live publisher does."""
    engine = Engine.open(tmp_path / "engine.sqlite3", business=calendar_minutes)
    engine.apply(positioned(fixture_events()))
    name = f"{namespace}_reporting"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri)
    try:
        db = client[name]
        await db["projections"].insert_one({"_id": "active", "version": VERSION})
        while await publish_dirty(engine, db, version=VERSION):
            pass
        yield name
        await client.drop_database(name)
    finally:
        await client.close()
        engine.conn.close()


def test_the_doc_has_every_example_in_both_languages() -> None:
    assert len(PY_SETUP) == 1 and len(JS_SETUP) == 1
    assert set(PY_EXAMPLES) == set(CHECKS) == set(JS_EXAMPLES)


def run_python(uri: str, database: str, name: str) -> Rows:
    client: MongoClient[dict[str, Any]] = MongoClient(uri)
    try:
        scope: dict[str, Any] = {"db": client[database]}
        exec(compile(PY_SETUP[0], f"{DOC}:setup", "exec"), scope)  # noqa: S102 - the doc's own code
        scope["TODAY"] = TODAY
        exec(compile(PY_EXAMPLES[name], f"{DOC}:{name}", "exec"), scope)  # noqa: S102
        records: Rows = scope[name].to_dict("records")
        return records
    finally:
        client.close()


@pytest.mark.parametrize("name", sorted(PY_EXAMPLES))
async def test_a_python_example_gives_the_figures_worked_out_by_hand(
    name: str, servers: Servers, database: str
) -> None:
    rows = await asyncio.to_thread(run_python, servers.mongodb_uri, database, name)
    assert rows, f"{name} returned no rows"
    CHECKS[name](rows)


def run_mongosh(uri: str, database: str, name: str, home: Path) -> Rows:
    script = "\n".join(
        [
            f"db = db.getSiblingDB({json.dumps(database)});",
            JS_SETUP[0],
            f'TODAY = new Date("{TODAY.isoformat()}T00:00:00Z");',
            JS_EXAMPLES[name],
        ]
    )
    env = {**os.environ, "HOME": str(home), "DO_NOT_TRACK": "1"}
    done = subprocess.run(
        [MONGOSH, uri, "--quiet", "--norc", "--json=relaxed", "--eval", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr or done.stdout
    rows: Rows = json.loads(done.stdout)
    return rows


@pytest.mark.skipif(
    not Path(MONGOSH).exists(),
    reason="mongosh is not installed (npm install --prefix .local/mongosh mongosh); the mongosh examples are the"
    " same queries as the Python ones, which ran",
)
@pytest.mark.parametrize("name", sorted(JS_EXAMPLES))
async def test_a_mongosh_example_gives_the_same_figures(
    name: str, servers: Servers, database: str, tmp_path: Path
) -> None:
    rows = await asyncio.to_thread(run_mongosh, servers.mongodb_uri, database, name, tmp_path)
    assert rows, f"{name} returned no rows"
    CHECKS[name](rows)
