"""The catalogue's promises: every event round-trips the Kafka binding, every field is documented."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from switchboard.events import DecodeError, Envelope, decode, encode, reaction_id
from switchboard.events.common import Channel
from switchboard.events.routing import AgentRosterChanged
from switchboard.events.schemas import generate
from switchboard.events.tickets import Requester, TicketOpened
from switchboard.events.topics import ALL, EVENT_TYPES, ROUTING, TICKETS, topic_of

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def opened(**overrides: Any) -> TicketOpened:
    fields: dict[str, Any] = {
        "ticket_id": "t-1",
        "reference": "SB-1",
        "subject": "Ödeme yapılamıyor — ödəniş alınmır — оплата не проходить",
        "channel": Channel.EMAIL,
        "requester": Requester(customer_id="c-1", email="ayse@example.com"),
        "opened_at": NOW,
    }
    return TicketOpened(**(fields | overrides))


def test_an_event_round_trips_through_the_kafka_binding_unchanged() -> None:
    envelope = Envelope.new(opened(), source="/switchboard/intake", subject="t-1", sequence=1, time=NOW)
    record = encode(envelope)

    assert record.key == b"t-1"
    assert record.headers["ce_type"] == "support.ticket.opened.v1"
    assert record.headers["ce_sequence"] == "1"
    back = decode(record.value, {k: v.encode() for k, v in record.headers.items()})
    assert back == envelope
    assert back.data.subject == opened().subject  # type: ignore[attr-defined]


def test_a_reaction_inherits_the_correlation_and_names_its_cause() -> None:
    cause = Envelope.new(opened(), source="/switchboard/intake", subject="t-1")
    rid = reaction_id(cause.id, "route")
    reaction = Envelope.new(opened(), source="/switchboard/routing", subject="t-1", cause=cause, event_id=rid)

    assert reaction.correlationid == cause.correlationid
    assert reaction.causationid == cause.id
    assert reaction_id(cause.id, "route") == rid != reaction_id(cause.id, "escalate")


@pytest.mark.parametrize(
    ("value", "headers", "message"),
    [
        (b"{}", {"ce_type": "support.ticket.opened.v1"}, "missing headers"),
        (
            b"{}",
            {h: "x" for h in ("ce_specversion", "ce_id", "ce_source", "ce_subject", "ce_time")}
            | {"ce_type": "support.nope.v1"},
            "unknown event type",
        ),
        (
            b"not json",
            {h: "x" for h in ("ce_specversion", "ce_id", "ce_source", "ce_subject")}
            | {"ce_type": "support.ticket.opened.v1", "ce_time": NOW.isoformat()},
            "invalid support.ticket.opened.v1",
        ),
    ],
)
def test_undecodable_messages_say_what_is_wrong(value: bytes, headers: dict[str, str], message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode(value, headers)


def test_a_payload_missing_a_field_names_the_field() -> None:
    record = encode(Envelope.new(opened(), source="/x", subject="t-1"))
    with pytest.raises(DecodeError, match="reference"):
        decode(record.value.replace(b'"reference":"SB-1",', b""), record.headers)


def test_newer_optional_fields_from_a_producer_are_tolerated() -> None:
    record = encode(Envelope.new(opened(), source="/x", subject="t-1"))
    value = record.value[:-1] + b',"added_later":"fine"}'
    assert decode(value, record.headers).data == opened()


def test_every_event_type_is_on_exactly_one_topic_with_a_key() -> None:
    assert len(EVENT_TYPES) == sum(len(t.events) for t in ALL) == 25
    assert topic_of(opened()) is TICKETS
    assert TICKETS.key(opened()) == "t-1"
    entry = AgentRosterChanged(agent_id="ayla", teams=("support",), roster_version=2, changed_at=NOW)
    assert topic_of(entry) is ROUTING and ROUTING.key(entry) == "ayla"  # keyed by agent, like presence
    assert TICKETS.qualified("test42") == "test42.support.tickets"


def test_every_field_of_every_schema_has_a_description() -> None:
    undocumented = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                if "description" not in prop:
                    undocumented.append(f"{where}.{name}")
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for filename, schema in generate().items():
        walk(schema, filename)
    assert undocumented == []
