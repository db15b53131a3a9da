"""Opaque page cursors: the keyset position (last sort value and id) of a page, tied to the query it came from.

A cursor only says where to resume, never what a caller may see (scope is applied on every page), so it
needs no secret: it is validated, not signed. It carries a fingerprint of the filters and the sort, so a cursor
replayed against a different query is refused instead of silently skipping or repeating rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any


class CursorError(ValueError):
    """A cursor this API did not issue for this query."""


def fingerprint(parts: Any) -> str:
    text = json.dumps(parts, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def encode_cursor(key: str | int, ticket_id: str, query_print: str) -> str:
    raw = json.dumps([key, ticket_id, query_print], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, query_print: str, numeric: bool) -> tuple[str | int, str]:
    """(sort value, ticket id) of a cursor issued for the query whose fingerprint is `query_print`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, ticket_id, issued_for = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise CursorError("cursor is not one this API issued (pass next_cursor back unchanged)") from None
    if issued_for != query_print:
        raise CursorError("cursor belongs to another query: keep the filters and sort of the page it came from")
    key_ok = isinstance(key, int) and not isinstance(key, bool) if numeric else isinstance(key, str)
    if not key_ok or not isinstance(ticket_id, str):
        raise CursorError("cursor is not one this API issued (pass next_cursor back unchanged)")
    return key, ticket_id
