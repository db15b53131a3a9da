"""How PyMongo turns bulk requests into server commands and the replies back into a result or an exception
(after `pymongo.bulk_shared`), so that a bulk over the in-memory store is split, ordered and reported alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bson import ObjectId
from pymongo.common import validate_is_document_type, validate_ok_for_replace, validate_ok_for_update
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from .values import Document

INSERT, UPDATE, DELETE = 0, 1, 2
Op = tuple[int, Document]  # (kind, the request as PyMongo sends it: a document, or {"q", "u", ...}, {"q", "limit"})


class Requests:
    """Collects bulk requests as PyMongo's bulk does: each request adds itself through these methods."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def add_insert(self, document: Document) -> None:
        validate_is_document_type("document", document)
        if "_id" not in document:
            document["_id"] = ObjectId()  # PyMongo adds it to the caller's document too
        self.ops.append((INSERT, document))

    def add_update(
        self, selector: Mapping[str, Any], update: Mapping[str, Any], multi: bool, upsert: bool | None, **options: Any
    ) -> None:
        _no_options(options)
        validate_ok_for_update(update)
        request: Document = {"q": selector, "u": update, "multi": multi}
        if upsert is not None:
            request["upsert"] = upsert
        self.ops.append((UPDATE, request))

    def add_replace(
        self, selector: Mapping[str, Any], replacement: Mapping[str, Any], upsert: bool | None, **options: Any
    ) -> None:
        _no_options(options)
        validate_ok_for_replace(replacement)
        request: Document = {"q": selector, "u": replacement}
        if upsert is not None:
            request["upsert"] = upsert
        self.ops.append((UPDATE, request))

    def add_delete(self, selector: Mapping[str, Any], limit: int, **options: Any) -> None:
        _no_options(options)
        self.ops.append((DELETE, {"q": selector, "limit": limit}))


def runs(kinds: Sequence[int], *, ordered: bool) -> list[tuple[int, list[int]]]:
    """Which requests go out as one command, in what order (PyMongo's `gen_ordered` / `gen_unordered`)."""
    if not ordered:
        grouped = [(kind, [i for i, k in enumerate(kinds) if k == kind]) for kind in (INSERT, UPDATE, DELETE)]
        return [(kind, indexes) for kind, indexes in grouped if indexes]
    found: list[tuple[int, list[int]]] = []
    for index, kind in enumerate(kinds):
        if found and found[-1][0] == kind:
            found[-1][1].append(index)
        else:
            found.append((kind, [index]))
    return found


def new_result() -> Document:
    return {
        "writeErrors": [],
        "writeConcernErrors": [],
        "nInserted": 0,
        "nUpserted": 0,
        "nMatched": 0,
        "nModified": 0,
        "nRemoved": 0,
        "upserted": [],
    }


def merge(full: Document, kind: int, indexes: list[int], ops: Sequence[Op], reply: Document) -> None:
    """PyMongo's `_merge_command`: one command's reply into the bulk's result, indexes made the caller's."""
    affected = reply.get("n", 0)
    if kind == INSERT:
        full["nInserted"] += affected
    elif kind == DELETE:
        full["nRemoved"] += affected
    else:
        upserts = reply.get("upserted", [])
        for upsert in upserts:
            upsert["index"] = indexes[upsert["index"]]
        full["upserted"].extend(upserts)
        full["nUpserted"] += len(upserts)
        full["nMatched"] += affected - len(upserts)
        full["nModified"] += reply["nModified"]  # a KeyError, as with PyMongo, on FerretDB's reply to a failed update
    for error in reply.get("writeErrors", []):
        index = indexes[error["index"]]
        full["writeErrors"].append(error | {"index": index, "op": ops[index][1]})


def raise_if_failed(full: Document) -> None:
    """PyMongo's `_raise_bulk_write_error`."""
    if full["writeErrors"]:
        full["writeErrors"].sort(key=lambda error: error["index"])
        raise BulkWriteError(full)


def check_write(reply: Document) -> None:
    """PyMongo's `_check_write_command_response`: the last write error, as the exception a single write raises."""
    if errors := reply.get("writeErrors"):
        error = errors[-1]
        if error.get("code") == 11000:
            raise DuplicateKeyError(error.get("errmsg"), 11000, error)
        raise WriteError(error.get("errmsg"), error.get("code"), error)


def _no_options(options: Mapping[str, Any]) -> None:
    if given := sorted(key for key, value in options.items() if value is not None):
        raise NotImplementedError(f"the in-memory store does not support {', '.join(given)} in bulk writes")
