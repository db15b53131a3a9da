"""Each HTTP body hands its use case the same values, field by field: what `as_input()` builds from a body with
every field set (a name the input has and the body lacks would fail here, not in production)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel
from switchboard.intake.api.channels import CallIn, ChatIn, EmailIn, SocialIn
from switchboard.intake.api.models import AccountIn, CustomerIn, InteractionIn, OpenTicketIn, TicketChangesIn

pytestmark = pytest.mark.unit

CUSTOMER = {"email": "ayse@example.com", "phone": "+905321234567", "name": "Ayşe"}
ATTACHMENT = {"filename": "a.pdf", "content_type": "application/pdf", "size_bytes": 10, "url": "https://x/a"}
BODIES: list[BaseModel] = [
    OpenTicketIn.model_validate(
        {
            "subject": "Late",
            "description": "Where?",
            "channel": "email",
            "priority": "high",
            "category": "orders",
            "tags": ["late"],
            "custom_fields": {"order": 7},
            "language": "tr",
            "customer": CUSTOMER,
        }
    ),
    InteractionIn.model_validate(
        {
            "kind": "phone_call",
            "body_text": "Called",
            "body_html": "<p>Called</p>",
            "channel": "phone",
            "author_type": "agent",
            "author_id": "a-1",
            "language": "en",
            "public": False,
            "call_direction": "inbound",
            "call_duration_seconds": 60,
            "attachments": [ATTACHMENT],
        }
    ),
    TicketChangesIn.model_validate({"priority": "low", "category": "c", "tags": ["t"], "custom_fields": {"k": None}}),
    CustomerIn.model_validate(
        {
            "name": "Ayşe",
            "emails": ["ayse@example.com"],
            "phones": ["+905321234567"],
            "social_handles": ["x:ayse"],
            "language": "tr",
            "time_zone": "Europe/Istanbul",
            "account_id": "acc-1",
        }
    ),
    AccountIn.model_validate({"name": "Acme", "tier": "pro", "key_account": True, "domains": ["acme.example"]}),
    CallIn.model_validate(
        {
            "call_id": "c-1",
            "customer": CUSTOMER,
            "direction": "outbound",
            "duration_seconds": 5,
            "summary": "Hi",
            "recording_url": "https://x/r",
            "language": "en",
        }
    ),
    ChatIn.model_validate(
        {"chat_id": "ch-1", "customer": CUSTOMER, "subject": "S", "transcript": [{"author": "bot", "text": "Hi"}]}
    ),
    SocialIn.model_validate(
        {"message_id": "m", "network": "x", "handle": "ayse", "name": "A", "text": "T", "url": "https://x/p"}
    ),
]


def frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@pytest.mark.parametrize("body", BODIES, ids=lambda body: type(body).__name__)
def test_a_body_hands_its_use_case_every_field_under_the_same_name(body: Any) -> None:
    given = body.as_input()
    for field in dataclasses.fields(given):
        assert getattr(given, field.name) == frozen(getattr(body, field.name)), field.name
    assert {f.name for f in dataclasses.fields(given)} <= set(type(body).model_fields)


def test_an_email_names_its_sender_from_the_from_header() -> None:
    body = EmailIn.model_validate(
        {
            "message_id": "<m-1@example.com>",
            "from": {"email": "mehmet@example.com", "name": "Mehmet"},
            "subject": "Kargo",
            "text": "Nerede?",
            "html": "<p>Nerede?</p>",
            "headers": {"Auto-Submitted": "no"},
            "in_reply_to": "<m-0@example.com>",
            "references": "<m-0@example.com>",
            "attachments": [ATTACHMENT],
            "language": "tr",
        }
    )
    mail = body.as_input()
    assert (mail.sender_email, mail.sender_name) == ("mehmet@example.com", "Mehmet")
    assert (mail.message_id, mail.subject, mail.text, mail.html, mail.language) == (
        "<m-1@example.com>",
        "Kargo",
        "Nerede?",
        "<p>Nerede?</p>",
        "tr",
    )
    assert (mail.in_reply_to, mail.references, dict(mail.headers)) == (
        "<m-0@example.com>",
        "<m-0@example.com>",
        {"Auto-Submitted": "no"},
    )
    assert mail.attachments == tuple(body.attachments)
