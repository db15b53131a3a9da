"""The engine: a batch's records, views, aggregate totals and offsets commit together, and folding the same
events in any split, order or repetition leaves the same read models."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from switchboard.events import Envelope
from switchboard.events.common import Presence
from switchboard.events.topics import topic_of
from switchboard.reporting.domain.contributions import KEYS, contributions
from switchboard.reporting.engine import Engine

from services.reporting.tests.fixtures import life, positioned, presence

pytestmark = pytest.mark.unit


def calendar_minutes(_: Any, a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def snapshot(engine: Engine) -> dict[str, Any]:
    rows = engine.conn.execute("SELECT collection, id, doc FROM aggregates ORDER BY collection, id").fetchall()
    views = engine.conn.execute("SELECT id, view FROM ticket_state ORDER BY id").fetchall()
    agents = engine.conn.execute("SELECT id, view FROM agents ORDER BY id").fetchall()
    return {
        "aggregates": [(c, i, json.loads(d)) for c, i, d in rows],
        "views": [(i, json.loads(v)) for i, v in views],
        "agents": [(i, json.loads(v)) for i, v in agents],
    }


def events() -> list[Envelope]:
    return [
        *life("t-1"),
        *life("t-2", agent="bora"),
        *life("t-3", tags=("bot",)),
        presence("ayla", Presence.ONLINE, 0),
        presence("ayla", Presence.AWAY, 90),
    ]


def test_a_redelivered_batch_changes_nothing(tmp_path: Path) -> None:
    engine = Engine.open(tmp_path / "e.sqlite3", business=calendar_minutes)
    batch = positioned(events())
    engine.apply(batch)
    first = snapshot(engine)
    assert engine.apply(batch) == 0
    assert snapshot(engine) == first
    assert engine.offsets()[("support.tickets", 0)] == sum(1 for p, _ in batch if p.topic == "support.tickets")


def test_totals_equal_the_sum_of_final_contributions_in_any_split(tmp_path: Path) -> None:
    reference = Engine.open(tmp_path / "ref.sqlite3", business=calendar_minutes)
    reference.apply(positioned(events()))
    expected = snapshot(reference)
    views = [v for _, v in expected["views"]]
    summed: dict[tuple[str, str], dict[str, float]] = {}
    for view in views:
        for key, amounts in contributions(view).items():
            for name, amount in amounts.items():
                summed.setdefault(key, {})[name] = summed.setdefault(key, {}).get(name, 0) + amount
    got = {
        (c, i): d["sums"]
        for c, i, d in expected["aggregates"]
        if c in KEYS and (c != "agent_day" or "online_min" not in d["sums"])
    }
    for key, sums in got.items():
        assert sums == pytest.approx({k: v for k, v in summed.get(key, {}).items() if abs(v) > 1e-9}), key

    rnd = random.Random(7)
    for attempt in range(3):
        by_topic: dict[str, list[Envelope]] = {}
        for event in events():
            by_topic.setdefault(topic_of(event.data).name, []).append(event)
        lanes = list(by_topic.values())
        mixed: list[Envelope] = []
        while any(lanes):
            mixed.append(rnd.choice([lane for lane in lanes if lane]).pop(0))
        engine = Engine.open(tmp_path / f"split{attempt}.sqlite3", business=calendar_minutes)
        batch = positioned(mixed)
        cut = sorted(rnd.sample(range(1, len(batch)), 4))
        for start, stop in zip([0, *cut], [*cut, len(batch)], strict=True):
            engine.apply(batch[start:stop])
            engine.apply(batch[max(0, start - 3) : stop])  # an overlapping redelivery
        assert snapshot(engine) == expected


def test_online_minutes_per_agent_day(tmp_path: Path) -> None:
    engine = Engine.open(tmp_path / "e.sqlite3", business=calendar_minutes)
    engine.apply(positioned(events()))
    row = engine.conn.execute(
        "SELECT doc FROM aggregates WHERE collection='agent_day' AND id='ayla|2026-11-02'"
    ).fetchone()
    assert json.loads(row[0])["sums"]["online_min"] == 90.0


def test_published_changes_are_forgotten_only_if_unchanged_since(tmp_path: Path) -> None:
    engine = Engine.open(tmp_path / "e.sqlite3", business=calendar_minutes)
    engine.apply(positioned(life("t-1")))
    dirty = engine.dirty(10_000)
    assert ("tickets", "t-1") in {(c, i) for c, i, _ in dirty}
    engine.apply(positioned(life("t-9")))
    engine.clean(dirty)
    assert {i for c, i, _ in engine.dirty(10_000) if c == "tickets"} == {"t-9"}


def test_customer_360_counts_every_ticket_and_scores_health(tmp_path: Path) -> None:
    engine = Engine.open(tmp_path / "e.sqlite3", business=calendar_minutes)
    engine.apply(positioned([*life("t-1"), *life("t-2")]))  # both tickets are customer c-9's
    row = engine.conn.execute("SELECT doc FROM aggregates WHERE collection='customer_360' AND id='c-9'").fetchone()
    doc = json.loads(row[0])
    assert doc["sums"]["tickets"] == 2 and doc["sums"]["breaches"] == 2 and doc["sums"]["reopens"] == 2
    assert doc["csat_trend"] == [{"month": "2026-11", "csat_answers": 2.0, "csat_satisfied": 2.0}]
    assert doc["health"] == 100 - 20 - 10  # two breaches, two reopens, every answer satisfied, none open
