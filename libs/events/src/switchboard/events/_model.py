"""The base every event payload derives from: frozen, strict about unknown fields, JSON-friendly."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EventPayload(BaseModel):
    """Base of every v1 payload.

    Payloads are frozen so a handler cannot change an event it was given. Unknown fields are ignored,
    not rejected: within a version producers may add optional fields, and a consumer built against the
    older schema must keep working when they do.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")
