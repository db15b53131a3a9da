"""Guards the committed JSON Schemas: they match the code, and no change breaks them within a version."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from switchboard.events.schemas import SCHEMA_DIR, breaking_changes, dumps, generate

pytestmark = pytest.mark.unit

GENERATED = generate()
COMMITTED = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.json"))}


@pytest.mark.parametrize("filename", sorted(COMMITTED))
def test_no_committed_schema_is_broken_by_the_code(filename: str) -> None:
    assert filename in GENERATED, f"{filename}: event type removed; keep it (deprecate) or add a .v2 beside it"
    assert breaking_changes(COMMITTED[filename], GENERATED[filename]) == []


def test_committed_schemas_are_up_to_date_run_make_schemas() -> None:
    stale = [name for name, schema in GENERATED.items() if dumps(schema) != dumps(COMMITTED.get(name, {}))]
    assert stale == [], f"run `make schemas` and commit: {stale}"


OPENED = GENERATED["support.ticket.opened.v1.json"]


def changed(mutate: Any) -> dict[str, Any]:
    schema = copy.deepcopy(OPENED)
    mutate(schema)
    return schema


def test_adding_an_optional_field_is_compatible() -> None:
    new = changed(lambda s: s["properties"].update(mood={"type": "string", "description": "d"}))
    assert breaking_changes(OPENED, new) == []


def test_documentation_changes_are_compatible() -> None:
    new = changed(lambda s: s["properties"]["subject"].update(description="reworded"))
    assert breaking_changes(OPENED, new) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda s: s["properties"].pop("subject"), "subject: field removed"),
        (
            lambda s: (s["properties"].update(mood={"type": "string"}), s["required"].append("mood")),
            "mood: new required field",
        ),
        (lambda s: s["required"].append("category"), "category: now required"),
        (lambda s: s["properties"]["subject"].update(type="integer"), "subject: type changed"),
        (lambda s: s["$defs"]["Channel"]["enum"].remove("phone"), "channel: type changed"),
        (lambda s: s["$defs"]["Requester"]["properties"].pop("email"), "requester.email: field removed"),
    ],
)
def test_breaking_changes_are_caught(mutate: Any, expected: str) -> None:
    problems = breaking_changes(OPENED, changed(mutate))
    assert any(expected in p for p in problems), problems


TOPICS = GENERATED["topics.json"]


def test_the_topic_index_may_gain_event_types_and_topics() -> None:
    grown = copy.deepcopy(TOPICS)
    grown["topics"][0]["events"].append("support.ticket.archived.v1")
    grown["topics"].append({"name": "support.billing", "description": "d", "events": ["support.invoice.sent.v1"]})
    assert breaking_changes(TOPICS, grown) == []


def test_the_topic_index_may_not_lose_or_move_an_event_type() -> None:
    moved = copy.deepcopy(TOPICS)
    opened = moved["topics"][0]["events"].pop(0)
    moved["topics"][1]["events"].append(opened)
    gone = copy.deepcopy(TOPICS)
    gone["topics"].pop()
    assert breaking_changes(TOPICS, moved) == [f"support.tickets: {opened} no longer on it"]
    assert breaking_changes(TOPICS, gone) == ["support.feedback: topic removed"]
