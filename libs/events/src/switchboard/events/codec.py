"""The CloudEvents Kafka protocol binding (binary mode): envelope attributes in `ce_` headers, data as value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from ._model import EventPayload
from .envelope import Envelope
from .topics import EVENT_TYPES

CONTENT_TYPE = "application/json"
_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time")


class DecodeError(ValueError):
    """A message that can never become a valid event: it belongs in the dead-letter topic."""


@dataclass(frozen=True)
class KafkaRecord:
    """What goes on the wire: key, value and headers of one Kafka message."""

    key: bytes
    value: bytes
    headers: dict[str, str]


def encode(envelope: Envelope) -> KafkaRecord:
    """Envelope to Kafka message; the subject is the key so a subject's events share a partition."""
    headers = {
        "ce_specversion": envelope.specversion,
        "ce_id": envelope.id,
        "ce_source": envelope.source,
        "ce_type": envelope.type,
        "ce_subject": envelope.subject,
        "ce_time": envelope.time.isoformat(),
        "ce_correlationid": envelope.correlationid,
        "content-type": CONTENT_TYPE,
    }
    if envelope.sequence is not None:
        headers["ce_sequence"] = str(envelope.sequence)
    if envelope.causationid is not None:
        headers["ce_causationid"] = envelope.causationid
    return KafkaRecord(key=envelope.subject.encode(), value=envelope.data.model_dump_json().encode(), headers=headers)


def decode(value: bytes | None, headers: Mapping[str, bytes | str]) -> Envelope:
    """Kafka message to envelope; raises `DecodeError` saying exactly what is wrong."""
    h = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for k, v in headers.items()}
    missing = [name for name in _REQUIRED if name not in h]
    if missing:
        raise DecodeError(f"not a CloudEvent: missing headers {', '.join(missing)}")
    model = EVENT_TYPES.get(h["ce_type"])
    if model is None:
        raise DecodeError(f"unknown event type {h['ce_type']!r}")
    if value is None:
        raise DecodeError("message has no value")
    try:
        data: EventPayload = model.model_validate_json(value)
        return Envelope(
            specversion=h["ce_specversion"],
            id=h["ce_id"],
            source=h["ce_source"],
            type=h["ce_type"],
            subject=h["ce_subject"],
            time=datetime.fromisoformat(h["ce_time"]),
            sequence=int(h["ce_sequence"]) if "ce_sequence" in h else None,
            correlationid=h.get("ce_correlationid") or h["ce_id"],
            causationid=h.get("ce_causationid"),
            data=data,
        )
    except (ValidationError, ValueError) as exc:
        raise DecodeError(f"invalid {h['ce_type']}: {_short(exc)}") from exc


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:5]
        )
    return str(exc)
