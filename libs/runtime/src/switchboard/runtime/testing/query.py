"""Which stored documents a filter selects and in what order a sort returns them, by MongoDB's rules.

Those rules are the ones callers lean on without noticing: a range only matches values of its own type (so a
guard `{"pos.t": {"$lt": 3}}` never matches a document without `pos.t`), an equality on an array field matches
any element, `None` matches a missing field, a missing field sorts as null. Operators the project does not use
raise NotImplementedError rather than answer something MongoDB would not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from bson import MinKey, Regex

from .values import Document, compare, equal, type_rank


class CommandError(Exception):
    """What the server answers with an error code (the driver side turns it into PyMongo's exception)."""

    CODE_NAMES = {
        2: "BadValue",
        9: "FailedToParse",
        14: "TypeMismatch",
        28: "PathNotViable",
        40: "ConflictingUpdateOperators",
        53: "InvalidIdField",
        66: "ImmutableField",
        11000: "DuplicateKey",
    }

    def __init__(self, code: int, errmsg: str, **extra: Any) -> None:
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg
        self.extra = extra

    def write_error(self, index: int) -> Document:
        return {"index": index, "code": self.code, "errmsg": self.errmsg, **self.extra}

    def reply(self) -> Document:
        return {
            "ok": 0.0,
            "errmsg": self.errmsg,
            "code": self.code,
            "codeName": self.CODE_NAMES.get(self.code, "UnknownError"),
            **self.extra,
        }


NOT_SUPPORTED = frozenset(
    {"$regex", "$options", "$elemMatch", "$size", "$all", "$type", "$mod", "$not", "$expr", "$where", "$text"}
    | {"$jsonSchema", "$geoWithin", "$geoIntersects", "$near", "$nearSphere", "$bitsAllSet", "$bitsAnySet"}
    | {"$bitsAllClear", "$bitsAnyClear", "$sampleRate"}
)
RANGES: dict[str, Callable[[int], bool]] = {
    "$lt": lambda order: order < 0,
    "$lte": lambda order: order <= 0,
    "$gt": lambda order: order > 0,
    "$gte": lambda order: order >= 0,
}


def matches(document: Document, query: Mapping[str, Any]) -> bool:
    for key, condition in query.items():
        if key.startswith("$"):
            if not _logical(document, key, condition):
                return False
        elif not _field_matches(resolve(document, key), condition):
            return False
    return True


def _logical(document: Document, operator: str, clauses: Any) -> bool:
    if operator == "$comment":
        return True
    if operator in NOT_SUPPORTED:
        raise NotImplementedError(f"the in-memory store does not support {operator}")
    if operator not in ("$and", "$or", "$nor"):
        raise CommandError(2, f"unknown top level operator: {operator}")
    if not isinstance(clauses, list) or not clauses or not all(isinstance(c, Mapping) for c in clauses):
        raise CommandError(2, f"{operator} must be a nonempty array")
    found = (matches(document, clause) for clause in clauses)
    if operator == "$and":
        return all(found)
    if operator == "$or":
        return any(found)
    return not any(found)


def is_operator_document(condition: Any) -> bool:
    return isinstance(condition, Mapping) and bool(condition) and next(iter(condition)).startswith("$")


def _field_matches(values: list[Any], condition: Any) -> bool:
    if not is_operator_document(condition):
        return _equals_any(values, condition)
    return all(_operator_matches(values, operator, argument) for operator, argument in condition.items())


def _operator_matches(values: list[Any], operator: str, argument: Any) -> bool:
    if operator == "$eq":
        return _equals_any(values, argument)
    if operator == "$ne":
        return not _equals_any(values, argument)
    if operator in ("$in", "$nin"):
        if not isinstance(argument, list):
            raise CommandError(2, f"{operator} needs an array")
        found = any(_equals_any(values, item) for item in argument)
        return found if operator == "$in" else not found
    if operator == "$exists":
        return bool(values) == bool(argument)
    if operator in RANGES:
        if argument is None and operator in ("$lte", "$gte"):
            return _equals_any(values, None)
        rank = type_rank(argument)
        return any(
            RANGES[operator](compare(value, argument)) for value in _candidates(values) if type_rank(value) == rank
        )
    if operator in NOT_SUPPORTED:
        raise NotImplementedError(f"the in-memory store does not support {operator}")
    raise CommandError(2, f"unknown operator: {operator}")


def _equals_any(values: list[Any], target: Any) -> bool:
    if isinstance(target, Regex | re.Pattern):
        raise NotImplementedError("the in-memory store does not match regular expressions")
    if target is None and not values:
        return True  # `None` matches a missing field
    return any(equal(value, target) for value in _candidates(values))


def _candidates(values: list[Any]) -> Iterator[Any]:
    """A field's value and, for an array, each element: MongoDB matches an array field by either."""
    for value in values:
        yield value
        if isinstance(value, list):
            yield from value


def resolve(document: Any, path: str) -> list[Any]:
    """The values a dotted path reaches, descending into arrays of documents; empty when it reaches nothing."""
    return _resolve(document, path.split("."))


def _resolve(value: Any, parts: Sequence[str]) -> list[Any]:
    if not parts:
        return [value]
    head, rest = parts[0], parts[1:]
    if isinstance(value, Mapping):
        return _resolve(value[head], rest) if head in value else []
    if isinstance(value, list):
        found: list[Any] = []
        if head.isdigit() and int(head) < len(value):
            found.extend(_resolve(value[int(head)], rest))
        for item in value:
            if isinstance(item, Mapping):
                found.extend(_resolve(item, parts))
        return found
    return []


def equality_fields(query: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The fields an upsert copies from its filter into the document it inserts: the equalities, `$and`'s too."""
    fields: list[tuple[str, Any]] = []
    for key, condition in query.items():
        if key == "$and" and isinstance(condition, list):
            for clause in condition:
                fields.extend(equality_fields(clause))
        elif key.startswith("$"):
            continue
        elif not is_operator_document(condition):
            fields.append((key, condition))
        elif "$eq" in condition:
            fields.append((key, condition["$eq"]))
    return fields


SortSpec = list[tuple[str, int]]


def sort_spec(key_or_list: Any, direction: Any = None) -> SortSpec:
    """`sort("f")`, `sort("f", -1)`, `sort([("f", 1), ("g", -1)])` or a mapping, as PyMongo accepts them."""
    if direction is not None:
        pairs = [(key_or_list, direction)]
    elif isinstance(key_or_list, str):
        pairs = [(key_or_list, 1)]
    elif isinstance(key_or_list, Mapping):
        pairs = list(key_or_list.items())
    else:
        pairs = [(item, 1) if isinstance(item, str) else tuple(item) for item in key_or_list]
    spec: SortSpec = []
    for key, way in pairs:
        if not isinstance(key, str):
            raise TypeError(f"sort keys must be strings, not {key!r}")
        if way not in (1, -1):
            raise NotImplementedError(f"the in-memory store sorts by 1 or -1 only, not {way!r}")
        spec.append((key, int(way)))
    return spec


def sorted_documents(documents: list[Document], spec: SortSpec) -> list[Document]:
    if not spec:
        return documents

    def order(a: Document, b: Document) -> int:
        for path, way in spec:
            if found := compare(_sort_value(a, path, way), _sort_value(b, path, way)):
                return found * way
        return 0

    return sorted(documents, key=functools.cmp_to_key(order))


def _sort_value(document: Document, path: str, way: int) -> Any:
    """What a document sorts by: an array by its least element ascending, its greatest descending."""
    values = resolve(document, path)
    flat = [item for value in values for item in (value if isinstance(value, list) else [value])]
    if not values:
        return None
    if not flat:
        return MinKey()  # only empty arrays: below null
    pick = min if way > 0 else max
    return pick(flat, key=functools.cmp_to_key(compare))
