"""The server half of the in-memory store: one collection's documents and the commands run on them, answered as
MongoDB answers them - or, when asked, as FerretDB 1.x does where the project's code copes with its difference.

Each command is applied at once, between two awaits of its caller, so it is atomic as a single-document write
is on MongoDB; a multi-document command is not undone when a later document fails, as on the server.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

from bson import ObjectId, Regex

from .query import CommandError, SortSpec, is_operator_document, matches, sorted_documents
from .update import is_replacement, replaced, updated, upserted, validate
from .values import Document, encoded, identity, render

Server = Literal["mongodb", "ferretdb"]
"""Whose replies to give. "ferretdb" (1.24, measured) differs where the runtime copes with it (`batching.py`,
`projection.py`): an update command in which one update fails stops there, even unordered, and its reply has no
`nModified`, so PyMongo's `bulk_write` raises KeyError instead of BulkWriteError. It also numbers a bulk's
upserts among themselves (`upserted_ids` {0: ...} for the bulk's second request) and its duplicate-key errors
carry no `keyPattern`/`keyValue`. Not copied: its ordered insert of more than 100 documents going on past a
failed chunk of 100 (SlotList never sends more), and its slips in cases the project never writes (see the
contract test's module)."""


class StoredCollection:
    """One collection's documents by `_id`, in the order they were inserted."""

    def __init__(self, namespace: str, server: Server) -> None:
        self.namespace = namespace
        self.server = server
        self._documents: dict[Hashable, Document] = {}

    def find(self, query: Mapping[str, Any], sort: SortSpec) -> list[Document]:
        """The matching documents themselves (the caller copies them out)."""
        return sorted_documents(self._matching(query), sort)

    def insert(self, documents: Sequence[Document], *, ordered: bool) -> Document:
        inserted, errors = 0, []
        for index, document in enumerate(documents):
            try:
                self._insert(document)
            except CommandError as error:
                errors.append(error.write_error(index))
                if ordered:
                    break
            else:
                inserted += 1
        return self._reply({"n": inserted, "ok": 1.0}, errors)

    def update(self, statements: Sequence[Document], *, ordered: bool) -> Document:
        matched = modified = 0
        upserts: list[Document] = []
        errors: list[Document] = []
        for index, statement in enumerate(statements):
            try:
                found, changed, new_id = self._update(statement)
            except CommandError as error:
                errors.append(error.write_error(index))
                if ordered or self.server == "ferretdb":
                    break
                continue
            matched += found
            modified += changed
            if new_id is not None:  # FerretDB numbers upserts among themselves, not among the updates
                upserts.append({"index": len(upserts) if self.server == "ferretdb" else index, "_id": new_id})
        reply: Document = {"n": matched + len(upserts)}
        if upserts:
            reply["upserted"] = upserts
        reply |= {"nModified": modified, "ok": 1.0}
        if errors and self.server == "ferretdb":
            del reply["nModified"]
        return self._reply(reply, errors)

    def delete(self, statements: Sequence[Document], *, ordered: bool) -> Document:
        removed, errors = 0, []
        for index, statement in enumerate(statements):
            try:
                keys = [identity(doc["_id"]) for doc in self._matching(statement["q"])]
            except CommandError as error:
                errors.append(error.write_error(index))
                if ordered:
                    break
                continue
            for key in keys[:1] if statement["limit"] == 1 else keys:
                del self._documents[key]
                removed += 1
        return self._reply({"n": removed, "ok": 1.0}, errors)

    def find_and_modify(
        self, query: Mapping[str, Any], update: Mapping[str, Any], *, sort: SortSpec, upsert: bool, new: bool
    ) -> Document:
        try:
            validate(update)
            found = self.find(query, sort)
            if found:
                before = found[0]
                after = self._change(before, update)
                return {
                    "lastErrorObject": {"n": 1, "updatedExisting": True},
                    "value": after if new else before,
                    "ok": 1.0,
                }
            if not upsert:
                return {"lastErrorObject": {"n": 0, "updatedExisting": False}, "value": None, "ok": 1.0}
            document = upserted(query, update)
            self._insert(document)
            return {
                "lastErrorObject": {"n": 1, "updatedExisting": False, "upserted": document["_id"]},
                "value": document if new else None,
                "ok": 1.0,
            }
        except CommandError as error:
            return error.reply()

    def count(self, query: Mapping[str, Any]) -> int:
        return len(self._matching(query))

    def _matching(self, query: Mapping[str, Any]) -> list[Document]:
        """The documents `query` selects, in insertion order; found by `_id` directly when it names one."""
        wanted = query.get("_id")
        if "_id" in query and not is_operator_document(wanted) and not isinstance(wanted, Regex | re.Pattern):
            found = self._documents.get(identity(wanted))
            return [found] if found is not None and matches(found, query) else []
        return [doc for doc in self._documents.values() if matches(doc, query)]

    def _insert(self, document: Document) -> None:
        if "_id" not in document:
            document = {"_id": ObjectId(), **document}
        if isinstance(document["_id"], list):
            raise CommandError(53, "The '_id' value cannot be of type array")
        key = identity(document["_id"])
        if key in self._documents:
            raise self._duplicate(document["_id"])
        self._documents[key] = document if next(iter(document)) == "_id" else {"_id": document["_id"]} | document

    def _update(self, statement: Document) -> tuple[int, int, Any]:
        """(matched, modified, upserted `_id` or None) for one update or replacement."""
        query, update = statement["q"], statement["u"]
        if isinstance(update, list):
            raise NotImplementedError("the in-memory store does not run pipeline updates")
        validate(update)
        found = self._matching(query)
        if not statement.get("multi"):
            found = found[:1]
        if found:
            return len(found), sum(self._change(doc, update) is not doc for doc in found), None
        if not statement.get("upsert"):
            return 0, 0, None
        document = upserted(query, update)
        self._insert(document)
        return 0, 0, document["_id"]

    def _change(self, before: Document, update: Mapping[str, Any]) -> Document:
        """Store the updated document; returns it, or `before` itself when nothing changed."""
        after = replaced(before, update) if is_replacement(update) else updated(before, update, inserting=False)
        if encoded(after) == encoded(before):
            return before
        self._documents[identity(before["_id"])] = after
        return after

    def _duplicate(self, value: Any) -> CommandError:
        if self.server == "ferretdb":
            return CommandError(11000, f"E11000 duplicate key error collection: {self.namespace}")
        return CommandError(
            11000,
            f"E11000 duplicate key error collection: {self.namespace} index: _id_ dup key: {{ _id: {render(value)} }}",
            keyPattern={"_id": 1},
            keyValue={"_id": value},
        )

    @staticmethod
    def _reply(reply: Document, errors: list[Document]) -> Document:
        return reply | {"writeErrors": errors} if errors else reply
