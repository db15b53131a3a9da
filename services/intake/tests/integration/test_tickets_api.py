"""Tickets over HTTP against a real intake process, Kafka and Mongo-wire server."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

TEXTS = {
    "tr": "Merhaba, siparişim hâlâ gelmedi. Lütfen kargonun nerede olduğunu söyler misiniz? İğdır'dayım.",
    "az": "Salam, sifarişim hələ də gəlməyib. Xahiş edirəm, bağlamanın harada olduğunu deyin. Şəkidəyəm.",
    "uk": "Добрий день, моє замовлення досі не прибуло. Підкажіть, будь ласка, де зараз посилка? Я в Їжакевичах.",
    "en": "Hello, my order still has not arrived. Could you please tell me where the parcel is right now?",
}


def open_ticket(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    body = {
        "subject": "Order late",
        "description": "Where is my order?",
        "channel": "web_form",
        "customer": {"email": f"{uuid.uuid4().hex[:8]}@example.com", "name": "Test Customer"},
    } | overrides
    response = api.post("/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def history_types(api: httpx.Client, ticket_id: str) -> list[str]:
    return [h["type"] for h in api.get(f"/v1/tickets/{ticket_id}").json()["history"]]


def test_a_ticket_goes_through_its_whole_lifecycle(api: httpx.Client) -> None:
    ticket = open_ticket(api)
    tid = ticket["id"]
    assert ticket["reference"].startswith("SB-")

    reply = api.post(f"/v1/tickets/{tid}/interactions", json={"kind": "agent_reply", "body_text": "On it."})
    assert reply.status_code == 201 and reply.json()["status"] == "open"  # first agent reply opens it
    assert api.post(f"/v1/tickets/{tid}/status", json={"status": "pending"}).json()["status"] == "pending"
    message = api.post(f"/v1/tickets/{tid}/interactions", json={"kind": "customer_message", "body_text": "Any news?"})
    assert message.json()["status"] == "open"  # the customer answered
    assert api.post(f"/v1/tickets/{tid}/status", json={"status": "on_hold"}).status_code == 200
    assert api.post(f"/v1/tickets/{tid}/status", json={"status": "solved"}).json()["status"] == "solved"
    reopened = api.post(f"/v1/tickets/{tid}/status", json={"status": "open", "reason": "not fixed"})
    assert reopened.json()["status"] == "open"
    assert api.post(f"/v1/tickets/{tid}/status", json={"status": "solved"}).status_code == 200
    assert api.post(f"/v1/tickets/{tid}/status", json={"status": "closed"}).json()["status"] == "closed"

    assert history_types(api, tid) == [
        "support.ticket.opened.v1",
        "support.interaction.recorded.v1",
        "support.interaction.recorded.v1",
        "support.ticket.status_changed.v1",
        "support.ticket.status_changed.v1",
        "support.interaction.recorded.v1",
        "support.ticket.status_changed.v1",
        "support.ticket.status_changed.v1",
        "support.ticket.status_changed.v1",
        "support.ticket.reopened.v1",
        "support.ticket.status_changed.v1",
        "support.ticket.status_changed.v1",
        "support.ticket.status_changed.v1",
    ]
    events = api.get(f"/v1/tickets/{tid}/events").json()
    assert [e["sequence"] for e in events] == list(range(1, 14))
    assert all(e["specversion"] == "1.0" and e["subject"] == tid for e in events)


def test_illegal_transitions_and_writes_to_closed_tickets_are_refused_and_store_nothing(api: httpx.Client) -> None:
    tid = open_ticket(api)["id"]
    refused = api.post(f"/v1/tickets/{tid}/status", json={"status": "closed"})
    assert refused.status_code == 409
    assert "new ticket cannot become closed" in refused.json()["detail"]
    api.post(f"/v1/tickets/{tid}/status", json={"status": "solved"})
    api.post(f"/v1/tickets/{tid}/status", json={"status": "closed"})
    before = len(history_types(api, tid))

    for response in (
        api.post(f"/v1/tickets/{tid}/interactions", json={"kind": "agent_reply", "body_text": "late"}),
        api.patch(f"/v1/tickets/{tid}", json={"priority": "urgent"}),
        api.post(f"/v1/tickets/{tid}/status", json={"status": "open"}),
    ):
        assert response.status_code == 409, response.text
        assert "closed" in response.json()["detail"]
    assert len(history_types(api, tid)) == before


def test_changes_to_priority_category_tags_and_custom_fields(api: httpx.Client) -> None:
    tid = open_ticket(api, tags=["Billing"])["id"]
    changed = api.patch(
        f"/v1/tickets/{tid}",
        json={
            "priority": "urgent",
            "category": "refunds",
            "tags": ["VIP", "billing", " refund "],
            "custom_fields": {"order_id": "A-77", "amount": 12.5},
        },
    ).json()
    assert changed["priority"] == "urgent"
    assert changed["category"] == "refunds"
    assert changed["tags"] == ["billing", "refund", "vip"]
    assert changed["custom_fields"] == {"order_id": "A-77", "amount": 12.5}
    removed = api.patch(f"/v1/tickets/{tid}", json={"custom_fields": {"amount": None}}).json()
    assert removed["custom_fields"] == {"order_id": "A-77"}
    unchanged_version = removed["version"]
    assert api.patch(f"/v1/tickets/{tid}", json={"priority": "urgent"}).json()["version"] == unchanged_version


def test_merging_a_duplicate_forwards_it_and_refuses_further_writes(api: httpx.Client) -> None:
    survivor = open_ticket(api)["id"]
    duplicate = open_ticket(api)
    merged = api.post(f"/v1/tickets/{duplicate['id']}/merge", json={"into": survivor})
    assert merged.status_code == 200, merged.text
    assert merged.json()["merged_into"] == survivor

    write = api.post(f"/v1/tickets/{duplicate['id']}/interactions", json={"kind": "agent_reply", "body_text": "x"})
    assert write.status_code == 409
    assert "merged" in write.json()["detail"]
    note = api.get(f"/v1/tickets/{survivor}").json()["history"][-1]["data"]
    assert note["kind"] == "internal_note" and duplicate["reference"] in note["body_text"]
    assert api.post(f"/v1/tickets/{survivor}/merge", json={"into": survivor}).status_code == 422
    assert api.post(f"/v1/tickets/{survivor}/merge", json={"into": str(uuid.uuid4())}).status_code == 404


def test_interactions_of_every_kind(api: httpx.Client) -> None:
    tid = open_ticket(api)["id"]
    kinds = [
        {"kind": "internal_note", "body_text": "customer is a reseller"},
        {"kind": "phone_call", "call_direction": "outbound", "call_duration_seconds": 310, "body_text": "called"},
        {"kind": "chat_transcript", "body_text": "customer: hi\nagent: hello", "channel": "chat"},
        {"kind": "social_post", "body_text": "@acme where is my order", "channel": "social"},
    ]
    for body in kinds:
        assert api.post(f"/v1/tickets/{tid}/interactions", json=body).status_code == 201
    recorded = [h["data"] for h in api.get(f"/v1/tickets/{tid}").json()["history"] if h["data"].get("kind")][1:]
    assert [r["kind"] for r in recorded] == ["internal_note", "phone_call", "chat_transcript", "social_post"]
    assert recorded[0]["public"] is False
    assert recorded[1]["call_direction"] == "outbound" and recorded[1]["call_duration_seconds"] == 310
    missing_direction = api.post(f"/v1/tickets/{tid}/interactions", json={"kind": "phone_call", "body_text": "?"})
    assert missing_direction.status_code == 422
    assert "direction" in missing_direction.json()["detail"]


def test_a_retried_request_answers_as_the_first_did_and_emits_nothing_new(api: httpx.Client) -> None:
    body = {
        "subject": "Duplicate?",
        "description": "Sent twice by a flaky client",
        "customer": {"email": "retry@example.com"},
    }
    key = {"Idempotency-Key": f"open-{uuid.uuid4()}"}
    first = api.post("/v1/tickets", json=body, headers=key)
    second = api.post("/v1/tickets", json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    tid = first.json()["id"]

    note_key = {"Idempotency-Key": f"note-{uuid.uuid4()}"}
    note = {"kind": "internal_note", "body_text": "only once"}
    a = api.post(f"/v1/tickets/{tid}/interactions", json=note, headers=note_key)
    b = api.post(f"/v1/tickets/{tid}/interactions", json=note, headers=note_key)
    assert a.json() == b.json()
    assert history_types(api, tid).count("support.interaction.recorded.v1") == 2  # first message + one note

    reused = api.post(f"/v1/tickets/{tid}/interactions", json=note | {"body_text": "different"}, headers=note_key)
    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["detail"]


def test_bad_input_gets_field_level_messages(api: httpx.Client) -> None:
    response = api.post("/v1/tickets", json={"subject": "", "channel": "pigeon", "customer": {"email": "nope"}})
    assert response.status_code == 422
    fields = {tuple(err["loc"][1:]) for err in response.json()["detail"]}
    assert {("subject",), ("description",), ("channel",), ("customer", "email")} <= fields
    no_customer = api.post("/v1/tickets", json={"subject": "s", "description": "d", "customer": {}})
    assert "give the customer's id, email, phone or handle" in no_customer.text
    assert api.get(f"/v1/tickets/{uuid.uuid4()}").status_code == 404
    unknown = api.post(f"/v1/tickets/{uuid.uuid4()}/status", json={"status": "open"})
    assert unknown.status_code == 404


def test_bodies_over_the_limit_are_refused_with_413(api: httpx.Client) -> None:
    big = "x" * 70_000  # the fixture sets INTAKE_MAX_BODY_BYTES=65536
    response = api.post("/v1/tickets", json={"subject": "s", "description": big, "customer": {"email": "a@b.co"}})
    assert response.status_code == 413
    assert "larger than 65536 bytes" in response.json()["detail"]


def test_tokens_and_scopes(intake: Any) -> None:
    body = {"subject": "s", "description": "d", "customer": {"email": "scope@example.com"}}
    assert httpx.post(f"{intake.url}/v1/tickets", json=body).status_code == 401
    wrong = httpx.post(f"{intake.url}/v1/tickets", json=body, headers={"authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    channel_only = httpx.post(f"{intake.url}/v1/tickets", json=body, headers={"authorization": "Bearer channel-token"})
    assert channel_only.status_code == 403
    assert "agent" in channel_only.json()["detail"]
    agent = httpx.post(f"{intake.url}/v1/tickets", json=body, headers={"authorization": "Bearer agent-token"})
    assert agent.status_code == 201
    account = httpx.post(
        f"{intake.url}/v1/accounts", json={"name": "Acme"}, headers={"authorization": "Bearer agent-token"}
    )
    assert account.status_code == 403  # accounts are admin work


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_every_language_round_trips_byte_exact_with_its_language_on_the_event(api: httpx.Client, language: str) -> None:
    text = TEXTS[language]
    ticket = open_ticket(api, subject=text[:40], description=text)
    history = api.get(f"/v1/tickets/{ticket['id']}").json()["history"]
    opened, message = history[0]["data"], history[1]["data"]
    assert message["body_text"].encode() == text.encode()
    assert opened["subject"] == text[:40]
    assert opened["language"] == message["language"] == language
    declared = open_ticket(api, description=text, language="en-GB")
    assert api.get(f"/v1/tickets/{declared['id']}").json()["language"] == "en-GB"  # declared beats detected
