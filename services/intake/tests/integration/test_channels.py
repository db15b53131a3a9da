"""Channel webhooks: every message lands on the right ticket, once; robots never open tickets."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


def mid() -> str:
    return f"<{uuid.uuid4().hex}@mail.example>"


def email(gateway: httpx.Client, **fields: Any) -> httpx.Response:
    body = {
        "message_id": mid(),
        "from": {"email": "mehmet@example.com", "name": "Mehmet"},
        "subject": "Kargo",
        "text": "Kargom nerede?",
    } | fields
    return gateway.post("/v1/channels/email", json=body)


def test_an_email_thread_stays_on_one_ticket(gateway: httpx.Client, api: httpx.Client) -> None:
    first_id = mid()
    opened = email(gateway, message_id=first_id, subject="Fatura hatalı")
    assert opened.status_code == 201 and opened.json()["action"] == "opened"
    ticket = opened.json()

    reply = email(gateway, subject="Re: Fatura hatalı", in_reply_to=first_id, text="Ek bilgi")
    assert reply.json() | {"interaction_id": None} == ticket | {"action": "appended", "interaction_id": None}
    second_id = mid()
    deeper = email(gateway, message_id=second_id, references=f"<unknown@x> {first_id}", text="Daha fazla")
    assert deeper.json()["ticket_id"] == ticket["ticket_id"]

    by_reference = email(gateway, subject=f"Re: [#{ticket['reference']}] forwarded", text="Referans ile")
    assert by_reference.json()["ticket_id"] == ticket["ticket_id"]
    stored = api.get(f"/v1/tickets/{ticket['ticket_id']}").json()
    assert stored["interaction_count"] == 4
    assert stored["channel"] == "email"


def test_a_mail_delivered_twice_is_stored_once(gateway: httpx.Client, api: httpx.Client) -> None:
    message_id = mid()
    first = email(gateway, message_id=message_id)
    again = email(gateway, message_id=message_id)
    assert again.status_code == 200
    assert again.json() == first.json() | {"action": "duplicate"}
    reply_id = mid()
    email(gateway, message_id=reply_id, in_reply_to=message_id)
    assert email(gateway, message_id=reply_id, in_reply_to=message_id).json()["action"] == "duplicate"
    assert api.get(f"/v1/tickets/{first.json()['ticket_id']}").json()["interaction_count"] == 2


@pytest.mark.parametrize(
    ("headers", "subject", "sender"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: Kargo", "mehmet@example.com"),
        ({"X-Autoreply": "yes"}, "Kargo", "mehmet@example.com"),
        ({"Precedence": "bulk"}, "Newsletter", "news@example.com"),
        ({}, "Out of Office: back Monday", "ali@example.com"),
        ({}, "Otomatik yanıt: izindeyim", "ali@example.com"),
        ({}, "Delivery Status Notification (Failure)", "mailer-daemon@example.com"),
    ],
)
def test_auto_replies_never_open_or_touch_a_ticket(
    gateway: httpx.Client, headers: dict[str, str], subject: str, sender: str
) -> None:
    original = email(gateway).json()
    response = email(gateway, headers=headers, subject=subject, **{"from": {"email": sender}}, in_reply_to=None)
    assert response.status_code == 202
    assert response.json()["action"] == "ignored"
    thread_reply = email(
        gateway, headers=headers, subject=subject, **{"from": {"email": sender}}, in_reply_to=original["ticket_id"]
    )
    assert thread_reply.status_code == 202


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(gateway: httpx.Client, api: httpx.Client) -> None:
    first_id = mid()
    ticket = email(gateway, message_id=first_id).json()
    for status in ("solved", "closed"):
        assert api.post(f"/v1/tickets/{ticket['ticket_id']}/status", json={"status": status}).status_code == 200
    follow_up = email(gateway, in_reply_to=first_id, text="Yine aynı sorun")
    assert follow_up.json()["action"] == "opened"
    assert follow_up.json()["ticket_id"] != ticket["ticket_id"]
    assert api.get(f"/v1/tickets/{follow_up.json()['ticket_id']}").json()["tags"] == ["follow-up"]


def test_a_reply_to_a_solved_ticket_reopens_it(gateway: httpx.Client, api: httpx.Client) -> None:
    first_id = mid()
    ticket = email(gateway, message_id=first_id).json()
    api.post(f"/v1/tickets/{ticket['ticket_id']}/status", json={"status": "solved"})
    email(gateway, in_reply_to=first_id, text="Hâlâ çözülmedi")
    assert api.get(f"/v1/tickets/{ticket['ticket_id']}").json()["status"] == "open"


def test_calls_from_the_same_number_join_the_open_phone_ticket(gateway: httpx.Client, api: httpx.Client) -> None:
    number = f"+90 532 {uuid.uuid4().int % 900 + 100} 45 67"
    call = {"customer": {"phone": number}, "direction": "inbound", "duration_seconds": 95, "summary": "İade istedi"}
    first = gateway.post("/v1/channels/phone", json=call | {"call_id": uuid.uuid4().hex})
    assert first.status_code == 201 and first.json()["action"] == "opened"
    national = "0" + number.removeprefix("+90 ")  # same number, national format
    second = gateway.post(
        "/v1/channels/phone",
        json=call | {"call_id": uuid.uuid4().hex, "direction": "outbound", "customer": {"phone": national}},
    )
    assert second.json()["action"] == "appended"
    assert second.json()["ticket_id"] == first.json()["ticket_id"]
    history = api.get(f"/v1/tickets/{first.json()['ticket_id']}").json()["history"]
    calls = [h["data"] for h in history if h["data"].get("kind") == "phone_call"]
    assert [(c["call_direction"], c["call_duration_seconds"]) for c in calls] == [("inbound", 95), ("outbound", 95)]

    api.post(f"/v1/tickets/{first.json()['ticket_id']}/status", json={"status": "solved"})
    third = gateway.post("/v1/channels/phone", json=call | {"call_id": uuid.uuid4().hex})
    assert third.json()["action"] == "opened"  # the solved ticket is not continued by a new call


def test_chat_transcripts_and_social_messages(gateway: httpx.Client, api: httpx.Client) -> None:
    email_address = f"{uuid.uuid4().hex[:8]}@example.com"
    chat = gateway.post(
        "/v1/channels/chat",
        json={
            "chat_id": uuid.uuid4().hex,
            "customer": {"email": email_address, "name": "Олег"},
            "transcript": [
                {"author": "customer", "text": "Привіт, не можу увійти"},
                {"author": "agent", "text": "Hello"},
            ],
        },
    )
    assert chat.status_code == 201
    ticket = api.get(f"/v1/tickets/{chat.json()['ticket_id']}").json()
    assert ticket["channel"] == "chat"
    assert ticket["subject"] == "Привіт, не можу увійти"
    assert "customer: Привіт, не можу увійти" in ticket["history"][1]["data"]["body_text"]

    handle = uuid.uuid4().hex[:10]
    post = {"network": "x", "handle": f"@{handle}", "text": "@acme siparişim nerede?"}
    first = gateway.post("/v1/channels/social", json=post | {"message_id": uuid.uuid4().hex})
    second = gateway.post("/v1/channels/social", json=post | {"message_id": uuid.uuid4().hex, "handle": handle.upper()})
    assert first.json()["action"] == "opened"
    assert second.json()["action"] == "appended" and second.json()["ticket_id"] == first.json()["ticket_id"]
    customer = api.get("/v1/customers", params={"handle": f"x:{handle}"}).json()
    assert customer["social_handles"] == [f"x:{handle}"]


def test_webhooks_need_the_channel_scope(intake: Any) -> None:
    body = {"message_id": mid(), "from": {"email": "a@example.com"}, "text": "hi"}
    assert httpx.post(f"{intake.url}/v1/channels/email", json=body).status_code == 401
    agent = httpx.post(f"{intake.url}/v1/channels/email", json=body, headers={"authorization": "Bearer agent-token"})
    assert agent.status_code == 403
    bad = httpx.post(
        f"{intake.url}/v1/channels/email",
        json={"from": {"email": "x"}},
        headers={"authorization": "Bearer channel-token"},
    )
    assert bad.status_code == 422
    assert {tuple(e["loc"][1:]) for e in bad.json()["detail"]} >= {("message_id",), ("from", "email")}
