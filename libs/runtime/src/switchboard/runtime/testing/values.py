"""How the in-memory store orders, compares and copies BSON values, so that its answers agree with MongoDB's.

Documents go in and out through a BSON round trip: that is what makes every read and write a deep copy, and it
changes values as the wire does (tuples become lists, datetimes lose their microseconds and come back in UTC, a
value BSON cannot carry fails as it would with the real client).
"""

from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Hashable, Mapping
from typing import Any

import bson
from bson import Binary, Code, Decimal128, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.codec_options import CodecOptions

Document = dict[str, Any]

#: How the store keeps documents: aware datetimes throughout, so any two of them compare.
STORED: CodecOptions[Document] = CodecOptions(tz_aware=True, tzinfo=datetime.UTC)

# MongoDB's comparison order of BSON types (the numbers only need to be increasing).
MIN_KEY, NULL, NUMBER, STRING, OBJECT, ARRAY, BINARY, OBJECT_ID, BOOLEAN, DATE, TIMESTAMP, REGEX, CODE, MAX_KEY = range(
    14
)
TYPE_NAMES = {
    NULL: "null",
    NUMBER: "number",
    STRING: "string",
    OBJECT: "object",
    ARRAY: "array",
    BINARY: "binData",
    OBJECT_ID: "objectId",
    BOOLEAN: "bool",
    DATE: "date",
    TIMESTAMP: "timestamp",
    REGEX: "regex",
}


def stored(document: Mapping[str, Any], codec: CodecOptions[Any]) -> Document:
    """A caller's document as the store keeps it: encoded as the caller's client would, decoded as the store's."""
    return bson.decode(bson.encode(document, codec_options=codec), codec_options=STORED)


def returned(document: Document, codec: CodecOptions[Document]) -> Document:
    """A stored document as the caller's client would decode it: a copy the caller may change at will."""
    return bson.decode(bson.encode(document, codec_options=STORED), codec_options=codec)


def encoded(document: Document) -> bytes:
    """The exact bytes: MongoDB counts an update as a modification only when these change."""
    return bson.encode(document, codec_options=STORED)


def type_rank(value: Any) -> int:
    """Where a value's type sorts among BSON types (a missing field sorts as null)."""
    if value is None:
        return NULL
    if isinstance(value, bool):  # before numbers: bool is an int in Python, not in BSON
        return BOOLEAN
    if isinstance(value, int | float | Decimal128):
        return NUMBER
    if isinstance(value, Code):  # before strings: Code is a str in Python
        return CODE
    if isinstance(value, str):
        return STRING
    if isinstance(value, Mapping):
        return OBJECT
    if isinstance(value, list):
        return ARRAY
    if isinstance(value, bytes):  # Binary too
        return BINARY
    if isinstance(value, ObjectId):
        return OBJECT_ID
    if isinstance(value, datetime.datetime):
        return DATE
    if isinstance(value, Timestamp):
        return TIMESTAMP
    if isinstance(value, Regex | re.Pattern):
        return REGEX
    if isinstance(value, MinKey):
        return MIN_KEY
    if isinstance(value, MaxKey):
        return MAX_KEY
    raise TypeError(f"the in-memory store cannot compare a {type(value).__name__}")


def is_number(value: Any) -> bool:
    return type_rank(value) == NUMBER


def _sign(difference: float) -> int:
    return (difference > 0) - (difference < 0)


def compare(a: Any, b: Any) -> int:
    """-1, 0 or 1, in MongoDB's order: by type first, then by value within the type."""
    rank_a, rank_b = type_rank(a), type_rank(b)
    if rank_a != rank_b:
        return _sign(rank_a - rank_b)
    if rank_a == NUMBER:
        x, y = _number(a), _number(b)
        if x.is_nan() or y.is_nan():  # NaN sorts below every other number and equals itself
            return _sign(int(y.is_nan()) - int(x.is_nan()))
        return _order(x, y)
    if rank_a == OBJECT:
        for (key_a, value_a), (key_b, value_b) in zip(a.items(), b.items(), strict=False):
            order = _sign(type_rank(value_a) - type_rank(value_b)) or _order(key_a, key_b) or compare(value_a, value_b)
            if order:
                return order
        return _sign(len(a) - len(b))
    if rank_a == ARRAY:
        for value_a, value_b in zip(a, b, strict=False):
            if order := compare(value_a, value_b):
                return order
        return _sign(len(a) - len(b))
    if rank_a == BINARY:
        return _order((len(a), _subtype(a), bytes(a)), (len(b), _subtype(b), bytes(b)))
    if rank_a == OBJECT_ID:
        return _order(a.binary, b.binary)
    if rank_a == TIMESTAMP:
        return _order((a.time, a.inc), (b.time, b.inc))
    if rank_a == REGEX:
        return _order((a.pattern, str(a.flags)), (b.pattern, str(b.flags)))
    if rank_a in (NULL, MIN_KEY, MAX_KEY):
        return 0
    return _order(a, b)  # strings (code points order as UTF-8 bytes do), code, booleans, dates


def equal(a: Any, b: Any) -> bool:
    return compare(a, b) == 0


def _order(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def _number(value: int | float | Decimal128) -> decimal.Decimal:
    """Every BSON number as an exact decimal, so an int, a double and a decimal128 compare as MongoDB compares them."""
    return value.to_decimal() if isinstance(value, Decimal128) else decimal.Decimal(value)


def _subtype(value: bytes) -> int:
    return value.subtype if isinstance(value, Binary) else 0


def identity(value: Any) -> Hashable:
    """A hashable stand-in for an `_id`: two `_id`s collide exactly when MongoDB's unique index says they do."""
    rank = type_rank(value)
    if rank == NUMBER:
        number = _number(value)  # 1, 1.0 and Decimal128("1") are one key
        return (rank, "NaN" if number.is_nan() else number)
    if rank == OBJECT:
        return (rank, tuple((key, identity(item)) for key, item in value.items()))
    if rank == ARRAY:
        return (rank, tuple(identity(item) for item in value))
    if rank == BINARY:
        return (rank, _subtype(value), bytes(value))
    if rank == REGEX:
        return (rank, value.pattern, str(value.flags))
    if rank in (NULL, MIN_KEY, MAX_KEY):
        return (rank,)
    return (rank, value)


def render(value: Any) -> str:
    """A value as MongoDB's error messages print it (near enough for a reader; nothing parses it)."""
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{key}: {render(item)}" for key, item in value.items()) + " }" if value else "{}"
    if isinstance(value, list):
        return "[ " + ", ".join(render(item) for item in value) + " ]" if value else "[]"
    if isinstance(value, ObjectId):
        return f"ObjectId('{value}')"
    if isinstance(value, datetime.datetime):
        return f"new Date({int(value.timestamp() * 1000)})"
    return str(value)
