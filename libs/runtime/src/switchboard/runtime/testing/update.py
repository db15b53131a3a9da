"""What an update document does to one stored document, with MongoDB's refusals and its order of new fields.

An update is computed on a copy and only then stored, so a refused one changes nothing, as on the server.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from bson import Decimal128, Int64, ObjectId

from .query import CommandError, equality_fields
from .values import TYPE_NAMES, Document, compare, equal, is_number, render, type_rank

SUPPORTED = ("$set", "$setOnInsert", "$inc", "$max", "$min", "$unset")
NOT_SUPPORTED = frozenset(
    {"$push", "$addToSet", "$pull", "$pullAll", "$pop", "$rename", "$mul", "$currentDate", "$bit"}
)
IMMUTABLE_ID = "Performing an update on the path '_id' would modify the immutable field '_id'"


def is_replacement(update: Mapping[str, Any]) -> bool:
    return not any(key.startswith("$") for key in update)


def validate(update: Mapping[str, Any]) -> None:
    """Refuse what MongoDB refuses before it looks for a document (so even when nothing matches)."""
    if is_replacement(update):
        return
    for path, operator, argument in _changes(update):
        if operator == "$inc" and not is_number(argument):
            raise CommandError(14, f"Cannot increment with non-numeric argument: {{{path}: {render(argument)}}}")


def updated(document: Document, update: Mapping[str, Any], *, inserting: bool) -> Document:
    """`document` with `update` applied (a new object); CommandError where MongoDB refuses the update."""
    changes = _changes(update)
    result = copy.deepcopy(document)
    for path, operator, argument in sorted(changes, key=lambda change: _path_order(change[0])):
        if operator == "$setOnInsert" and not inserting:
            continue
        _apply(result, path, operator, argument)
    _keep_id(document, result)
    return _id_first(result)


def replaced(document: Document, replacement: Mapping[str, Any]) -> Document:
    """The replacement, keeping the stored document's `_id` (which it may repeat but not change)."""
    result = {"_id": document["_id"], **copy.deepcopy(dict(replacement))}
    _keep_id(document, result)
    return _id_first(result)


def upserted(query: Mapping[str, Any], update: Mapping[str, Any]) -> Document:
    """The document an upsert inserts: the filter's equalities, then the update (or the replacement)."""
    seed: Document = {}
    for path, value in equality_fields(query):
        if is_replacement(update) and path != "_id":
            continue  # a replacement brings its own fields; only the filter's `_id` carries over
        _set(seed, path.split("."), copy.deepcopy(value))
    if is_replacement(update):
        result = {**seed, **copy.deepcopy(dict(update))}
        if "_id" in seed and "_id" in update and not equal(seed["_id"], update["_id"]):
            raise CommandError(66, IMMUTABLE_ID)
    else:
        result = updated(seed, update, inserting=True)  # refuses to change a seeded `_id`
    result.setdefault("_id", ObjectId())
    return _id_first(result)


def _changes(update: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    changes: list[tuple[str, str, Any]] = []
    for operator, fields in update.items():
        if operator in NOT_SUPPORTED:
            raise NotImplementedError(f"the in-memory store does not support {operator}")
        if operator not in SUPPORTED:
            raise CommandError(
                9,
                f"Unknown modifier: {operator}. Expected a valid update modifier or pipeline-style update "
                "specified as an array",
            )
        if not isinstance(fields, Mapping):
            raise CommandError(9, f"Modifiers operate on fields but we found type {type(fields).__name__} instead")
        changes.extend((path, operator, argument) for path, argument in fields.items())
    paths = [path for path, _, _ in changes]
    for i, path in enumerate(paths):
        for other in paths[i + 1 :]:
            if other == path or other.startswith(f"{path}.") or path.startswith(f"{other}."):
                shorter, longer = sorted((path, other), key=len)
                raise CommandError(40, f"Updating the path '{longer}' would create a conflict at '{shorter}'")
    return changes


def _path_order(path: str) -> tuple[tuple[int, int, str], ...]:
    """Since MongoDB 5.0 an update applies its fields in this order (so new fields are added in it)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in path.split("."))


def _apply(document: Document, path: str, operator: str, argument: Any) -> None:
    parts = path.split(".")
    found, current = _get(document, parts)
    if operator in ("$set", "$setOnInsert"):
        _set(document, parts, copy.deepcopy(argument))
    elif operator == "$unset":
        if found:
            _unset(document, parts)
    elif operator == "$inc":
        if not is_number(argument):
            raise CommandError(14, f"Cannot increment with non-numeric argument: {{{path}: {render(argument)}}}")
        if found and not is_number(current):
            raise CommandError(
                14,
                f"Cannot apply $inc to a value of non-numeric type. {{_id: {render(document.get('_id'))}}} has the "
                f"field '{parts[-1]}' of non-numeric type {TYPE_NAMES.get(type_rank(current), 'unknown')}",
            )
        _set(document, parts, _add(current, argument) if found else argument)
    else:  # $max, $min: by BSON order, across types too
        wanted = 1 if operator == "$max" else -1
        if not found or compare(argument, current) == wanted:
            _set(document, parts, copy.deepcopy(argument))


def _add(a: Any, b: Any) -> Any:
    """`$inc`'s sum keeps the wider type: decimal over double over 64-bit over 32-bit integers."""
    if isinstance(a, Decimal128) or isinstance(b, Decimal128):
        return Decimal128(_decimal(a) + _decimal(b))
    if isinstance(a, float) or isinstance(b, float):
        return float(a) + float(b)
    if isinstance(a, Int64) or isinstance(b, Int64):
        return Int64(int(a) + int(b))
    return int(a) + int(b)


def _decimal(value: Any) -> Any:
    return value.to_decimal() if isinstance(value, Decimal128) else Decimal128(str(value)).to_decimal()


def _get(document: Any, parts: list[str]) -> tuple[bool, Any]:
    value = document
    for part in parts:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def _set(document: Document, parts: list[str], value: Any) -> None:
    container: Any = document
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(container, dict):
            if last:
                container[part] = value
            else:
                container = container.setdefault(part, {})
        elif isinstance(container, list) and part.isdigit():
            index = int(part)
            container.extend([None] * (index + 1 - len(container)))
            if last:
                container[index] = value
            else:
                if container[index] is None:
                    container[index] = {}
                container = container[index]
        else:
            holder = parts[depth - 1] if depth else "_id"
            raise CommandError(28, f"Cannot create field '{part}' in element {{{holder}: {render(container)}}}")


def _unset(document: Document, parts: list[str]) -> None:
    _, parent = _get(document, parts[:-1]) if len(parts) > 1 else (True, document)
    if isinstance(parent, dict):
        parent.pop(parts[-1], None)
    elif isinstance(parent, list):
        parent[int(parts[-1])] = None  # an array keeps its length: the element becomes null


def _keep_id(before: Document, after: Document) -> None:
    if "_id" in before and ("_id" not in after or not equal(before["_id"], after["_id"])):
        raise CommandError(66, IMMUTABLE_ID)


def _id_first(document: Document) -> Document:
    if "_id" not in document or next(iter(document)) == "_id":
        return document
    return {"_id": document["_id"], **{key: value for key, value in document.items() if key != "_id"}}
