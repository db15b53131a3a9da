"""JSON Schemas of the catalogue, and the compatibility rule that guards the committed ones.

Within a version only optional fields may be added; removing a field, adding a required one or
changing a field's type, format or allowed values needs a new `.v2` event type instead. The topic index may
gain topics and event types (that is how a `.v2` arrives), never lose one, nor move one to another topic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .envelope import Envelope
from .topics import ALL, EVENT_TYPES

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"
_DOC_KEYS = frozenset({"description", "title", "examples", "default"})


def generate() -> dict[str, dict[str, Any]]:
    """File name to schema, for every event type, the envelope and the topic index."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema(mode="validation")
        schema["$id"] = f"urn:switchboard:event:{name}"
        out[f"{name}.json"] = schema
    envelope = Envelope.model_json_schema(mode="validation")
    envelope["$id"] = "urn:switchboard:envelope:cloudevents-1.0"
    out["envelope.json"] = envelope
    out["topics.json"] = {
        "$id": "urn:switchboard:topics",
        "description": "Topic catalogue: each topic with its key and the event types it carries.",
        "topics": [
            {
                "name": t.name,
                "description": t.description,
                "events": [json.loads(json.dumps(m.model_fields["type"].default)) for m in t.events],
            }
            for t in ALL
        ],
    }
    return out


def dumps(schema: dict[str, Any]) -> str:
    """Stable text for a committed schema (sorted keys, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Regenerate the schema files; stale files of removed types are left for the compatibility test to flag."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, schema in generate().items():
        path = directory / filename
        path.write_text(dumps(schema), encoding="utf-8")
        written.append(path)
    return written


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a consumer built against `old` would trip over in `new`; empty when compatible."""
    if "topics" in old and "topics" in new:
        return _topic_changes(old["topics"], new["topics"])
    return _compare(_resolve(old, old), _resolve(new, new), "")


def _topic_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """A subscriber reads a topic for the event types it carries: each must stay on it."""
    carried = {topic["name"]: set(topic["events"]) for topic in new}
    problems = []
    for topic in old:
        if topic["name"] not in carried:
            problems.append(f"{topic['name']}: topic removed")
            continue
        problems += [
            f"{topic['name']}: {t} no longer on it" for t in topic["events"] if t not in carried[topic["name"]]
        ]
    return problems


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    """Inline `$ref`s and drop documentation keys, so only the shape is compared."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = root
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _resolve(target, root)
        return {k: _resolve(v, root) for k, v in node.items() if k not in _DOC_KEYS and k not in {"$defs", "$id"}}
    if isinstance(node, list):
        return [_resolve(v, root) for v in node]
    return node


def _compare(old: Any, new: Any, path: str) -> list[str]:
    where = path or "<root>"
    if isinstance(old, dict) and isinstance(new, dict) and "properties" in old and "properties" in new:
        problems: list[str] = []
        old_props, new_props = old["properties"], new["properties"]
        for name in old_props:
            if name not in new_props:
                problems.append(f"{path}{name}: field removed")
            else:
                problems.extend(_compare(old_props[name], new_props[name], f"{path}{name}."))
        for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
            problems.append(f"{path}{name}: now required" if name in old_props else f"{path}{name}: new required field")
        rest_old = {k: v for k, v in old.items() if k not in {"properties", "required"}}
        rest_new = {k: v for k, v in new.items() if k not in {"properties", "required"}}
        if rest_old != rest_new:
            problems.append(f"{where}: object constraints changed from {rest_old} to {rest_new}")
        return problems
    if old != new:
        return [
            f"{where.rstrip('.')}: type changed from {json.dumps(old, sort_keys=True)} to {json.dumps(new, sort_keys=True)}"
        ]
    return []


def main() -> None:
    """`python -m switchboard.events.schemas [DIR]` writes the schemas (what `make schemas` runs)."""
    import sys

    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR
    for path in write(directory):
        print(path)


if __name__ == "__main__":
    main()
