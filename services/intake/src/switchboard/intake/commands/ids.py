"""Ids that a retried request derives again, so the same Idempotency-Key or channel message names the same thing."""

from __future__ import annotations

import uuid

from switchboard.runtime.decider import Request

ID_NAMESPACE = uuid.UUID("0b7a4c55-7f7e-4d2a-8c1e-5b2d9f0c1e11")


def derived_id(*parts: str) -> str:
    """The same parts always give the same id (UUIDv5)."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(parts)))


def new_id(kind: str, request: Request) -> str:
    """The id of what a request creates: derived from its idempotency key, or random when it has none."""
    return derived_id(kind, request.key) if request.key else str(uuid.uuid4())
