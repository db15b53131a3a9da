"""Customers and accounts over HTTP: identities matched on any channel, events on support.customers."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.harness import Servers, read_topic

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_a_customer_is_found_by_email_phone_or_handle_in_any_format(api: httpx.Client) -> None:
    name = unique("ayse")
    created = api.post(
        "/v1/customers",
        json={
            "name": "Ayşe Yılmaz",
            "emails": [f"{name}@Example.COM"],
            "phones": ["0532 111 22 33"],
            "social_handles": [f"X:@{name}"],
            "language": "tr",
            "time_zone": "Europe/Istanbul",
        },
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["emails"] == [f"{name}@example.com"]
    assert customer["phones"] == ["+905321112233"]  # national format read with INTAKE_DEFAULT_PHONE_REGION=TR
    assert customer["social_handles"] == [f"x:{name}"]

    for query in (
        {"email": f" {name.upper()}@example.com"},
        {"phone": "+90 (532) 111-22-33"},
        {"handle": f"x:{name.upper()}"},
    ):
        found = api.get("/v1/customers", params=query)
        assert found.status_code == 200, (query, found.text)
        assert found.json()["id"] == customer["id"]
    assert api.get("/v1/customers", params={"email": "nobody@example.com"}).status_code == 404

    ticket = api.post("/v1/tickets", json={"subject": "s", "description": "d", "customer": {"phone": "+905321112233"}})
    assert ticket.status_code == 201
    tickets = api.get(f"/v1/customers/{customer['id']}/tickets").json()
    assert [t["id"] for t in tickets] == [ticket.json()["id"]]


def test_an_identity_belongs_to_one_customer_only(api: httpx.Client) -> None:
    email = f"{unique('shared')}@example.com"
    first = api.post("/v1/customers", json={"emails": [email]}).json()
    second = api.post("/v1/customers", json={"emails": [email.upper()]})
    assert second.status_code == 409
    assert first["id"] in second.json()["detail"]
    other = api.post("/v1/customers", json={"emails": [f"{unique('other')}@example.com"]}).json()
    clash = api.patch(f"/v1/customers/{other['id']}", json={"emails": [email]})
    assert clash.status_code == 409


def test_updating_a_customer_moves_their_identities(api: httpx.Client) -> None:
    old, new = f"{unique('old')}@example.com", f"{unique('new')}@example.com"
    customer = api.post("/v1/customers", json={"emails": [old]}).json()
    updated = api.patch(f"/v1/customers/{customer['id']}", json={"emails": [new], "language": "az"})
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    assert api.get("/v1/customers", params={"email": new}).json()["id"] == customer["id"]
    assert api.get("/v1/customers", params={"email": old}).status_code == 404  # released
    assert api.patch(f"/v1/customers/{uuid.uuid4()}", json={"name": "x"}).status_code == 404


def test_bad_customer_input_says_what_is_wrong(api: httpx.Client) -> None:
    assert api.post("/v1/customers", json={"phones": ["12"]}).status_code == 422
    zone = api.post("/v1/customers", json={"emails": ["tz@example.com"], "time_zone": "Mars/Olympus"})
    assert zone.status_code == 422 and "time zone" in zone.json()["detail"]
    handle = api.post("/v1/customers", json={"social_handles": ["just-a-name"]})
    assert handle.status_code == 422 and "network:handle" in handle.json()["detail"]
    assert api.post("/v1/customers", json={"name": "No way to reach"}).status_code == 422


def test_accounts_with_tier_key_account_and_domains_claim_their_customers(api: httpx.Client) -> None:
    domain = f"{unique('acme')}.example"
    account = api.post(
        "/v1/accounts", json={"name": "Acme", "tier": "enterprise", "key_account": True, "domains": [domain.upper()]}
    )
    assert account.status_code == 201, account.text
    acme = account.json()
    assert acme["domains"] == [domain] and acme["key_account"] is True

    ticket = api.post(
        "/v1/tickets", json={"subject": "s", "description": "d", "customer": {"email": f"boss@{domain}"}}
    ).json()
    opened = api.get(f"/v1/tickets/{ticket['id']}").json()
    assert opened["account_id"] == acme["id"]  # the e-mail domain belongs to the account
    downgraded = api.patch(f"/v1/accounts/{acme['id']}", json={"tier": "pro", "key_account": False}).json()
    assert downgraded["tier"] == "pro" and downgraded["version"] == 2
    assert api.get(f"/v1/accounts/{acme['id']}").json()["key_account"] is False
    customer = api.post("/v1/customers", json={"emails": [f"{unique('c')}@x.example"], "account_id": str(uuid.uuid4())})
    assert customer.status_code == 404


def test_customer_and_account_changes_are_events_on_support_customers(
    api: httpx.Client, servers: Servers, module_namespace: str
) -> None:
    customer = api.post("/v1/customers", json={"emails": [f"{unique('ev')}@example.com"], "name": "Олена"}).json()
    api.patch(f"/v1/customers/{customer['id']}", json={"name": "Олена Коваленко"})
    records = asyncio.run(read_topic(servers.kafka_bootstrap, f"{module_namespace}.support.customers", at_least=1))
    mine = [r for r in records if r.key == customer["id"].encode()]
    assert [dict(r.headers)["ce_sequence"] for r in mine] == [b"1", b"2"]
    assert {dict(r.headers)["ce_type"] for r in mine} == {b"support.customer.upserted.v1"}
    assert "Олена Коваленко".encode() in mine[-1].value
