"""Switchboard's event catalogue: the envelope, the v1 payloads per topic, the topic catalogue and the codec.

Other company systems subscribe to these events; the committed JSON Schemas under `libs/events/schemas/`
are the contract, and `tests/test_schema_compat.py` keeps it from breaking within a version.
"""

from . import customers, feedback, interactions, routing, sla, tickets, topics
from ._model import EventPayload
from .codec import DecodeError, KafkaRecord, decode, encode
from .envelope import Envelope, reaction_id

__all__ = [
    "DecodeError",
    "Envelope",
    "EventPayload",
    "KafkaRecord",
    "customers",
    "decode",
    "encode",
    "feedback",
    "interactions",
    "reaction_id",
    "routing",
    "sla",
    "tickets",
    "topics",
]
