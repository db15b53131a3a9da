"""The walking skeleton through real processes: tickets opened on intake appear in reporting, once each."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from tests.e2e.support import until
from tests.harness import Servers, StartService

pytestmark = pytest.mark.e2e

TICKETS = 100


async def test_a_hundred_tickets_opened_on_intake_each_appear_once_in_reporting(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    intake = start_service("intake")
    reporting = start_service("reporting")

    async with httpx.AsyncClient(base_url=intake.url, headers=auth_headers, timeout=30) as client:

        async def open_one(i: int) -> str:
            response = await client.post(
                "/v1/tickets",
                json={
                    "subject": f"Sipariş #{i} gelmedi",
                    "description": f"Заказ {i} не прибув. Sifariş {i} çatmadı.",
                    "channel": "web_form",
                    "customer": {"email": f"customer{i}@example.com", "name": f"Müşteri {i}"},
                },
            )
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        semaphore = asyncio.Semaphore(16)

        async def bounded(i: int) -> str:
            async with semaphore:
                return await open_one(i)

        ids = await asyncio.gather(*(bounded(i) for i in range(TICKETS)))
    assert len(set(ids)) == TICKETS

    seen: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=reporting.url, headers=auth_headers, timeout=10) as client:
        while len(seen) < TICKETS and time.monotonic() < deadline:
            for ticket_id in [i for i in ids if i not in seen]:
                response = await client.get(f"/v1/tickets/{ticket_id}")
                if response.status_code == 200 and response.json().get("customer_messages"):
                    seen[ticket_id] = response.json()
            await asyncio.sleep(0.2)
    assert len(seen) == TICKETS, f"only {len(seen)} of {TICKETS} reached reporting"

    for i, ticket_id in enumerate(ids):
        ticket = seen[ticket_id]
        assert ticket["subject"] == f"Sipariş #{i} gelmedi"
        assert ticket["channel"] == "web_form"
        assert ticket["status"] == "new"
        assert ticket["customer_messages"] == 1  # the first message, applied once
        assert "requester_email" not in ticket  # reporting keeps no contacts

    client_: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri)
    try:
        published = client_[f"{namespace}_reporting"]["tickets_v1"]
        assert await until(lambda: _count(published, TICKETS)), "the publisher did not copy every ticket to Mongo"
    finally:
        await client_.close()


async def _count(collection: Any, expected: int) -> bool:
    return bool(await collection.count_documents({}) == expected)
