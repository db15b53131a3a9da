"""The MongoDB projections analysts query: their names, versions and document shapes (docs/analytics.md)."""

from __future__ import annotations

from typing import Any

from .domain.contributions import KEYS

#: Every published collection: the per-subject views and the aggregates.
COLLECTIONS: tuple[str, ...] = ("tickets", "agents", *KEYS, "customer_360", "account_360")

#: Internal to the fold, not part of the published ticket document.
_TICKET_INTERNAL = ("replies_by_day", "handle_by_day")


def collection_name(collection: str, version: int) -> str:
    return f"{collection}_v{version}"


def mongo_document(collection: str, doc_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The document as stored in Mongo: `_id` first, sums flattened next to the bucket keys."""
    if collection == "tickets":
        return {"_id": doc_id, **{k: v for k, v in doc.items() if k != "id" and k not in _TICKET_INTERNAL}}
    if collection == "agents":
        return {"_id": doc_id, **{k: v for k, v in doc.items() if k != "id"}}
    sums = doc.get("sums", {})
    keys = {k: v for k, v in doc.items() if k != "sums"}
    return {"_id": doc_id, **keys, **sums}
