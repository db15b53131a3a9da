"""Intake's outbox under failure and with replicas: nothing lost, nothing doubled, each ticket in order."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx
import pytest

from tests.harness import Servers, StartService, read_topic

pytestmark = pytest.mark.e2e


def sequences_by_ticket(records: list[Any]) -> dict[str, list[int]]:
    """Each ticket's sequences in topic order, as a consumer sees them after dropping re-sent events.

    Delivery is at least once: a commit can be sent again (a crash between publishing and clearing its
    marker, or a writer that lost a race re-creating the marker), always with the same event ids, which every
    consumer de-duplicates. A re-sent copy is therefore skipped here; anything else out of order fails.
    """
    found: dict[str, list[int]] = defaultdict(list)
    seen: set[bytes] = set()
    for record in records:
        headers = dict(record.headers)
        if headers["ce_id"] in seen:
            continue
        seen.add(headers["ce_id"])
        found[record.key.decode()].append(int(headers["ce_sequence"]))
    return found


async def open_tickets(url: str, headers: dict[str, str], count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/tickets",
                    json={
                        "subject": f"Kayıp paket {i}",
                        "description": f"Paket {i} nerede?",
                        "customer": {"email": f"outbox{i}@example.com"},
                    },
                )
                for i in range(count)
            )
        )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    return [r.json()["id"] for r in responses]


async def test_events_stored_before_a_crash_are_published_once_after_restart(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    # The relay is stopped (store-only), then the process is killed outright: stored, never published.
    crashed = start_service("intake", env={"INTAKE_PUBLISH": "false"})
    ids = await open_tickets(crashed.url, auth_headers, 30)
    crashed.kill()
    tickets_topic = f"{namespace}.support.tickets"
    assert await read_topic(servers.kafka_bootstrap, tickets_topic, at_least=1, wait_s=3) == []

    start_service("intake")  # its sweep finds the unpublished commits
    opened = await read_topic(servers.kafka_bootstrap, tickets_topic, at_least=30)
    messages = await read_topic(servers.kafka_bootstrap, f"{namespace}.support.interactions", at_least=30)
    assert sorted(r.key.decode() for r in opened) == sorted(ids)  # every ticket, once
    assert sorted(r.key.decode() for r in messages) == sorted(ids)  # every first message, once
    assert len({dict(r.headers)["ce_id"] for r in opened + messages}) == 60


async def test_a_kill_under_load_loses_nothing(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    intake = start_service("intake")
    opening = asyncio.create_task(open_tickets(intake.url, auth_headers, 60))
    ids = await opening
    intake.kill()  # some commits may be between Kafka and their "published" mark
    start_service("intake")
    records = await read_topic(
        servers.kafka_bootstrap, f"{namespace}.support.tickets", at_least=60, keys={i.encode() for i in ids}
    )
    by_id: dict[bytes, set[bytes]] = defaultdict(set)
    for record in records:
        by_id[record.key].add(dict(record.headers)["ce_id"])
    assert sorted(k.decode() for k in by_id) == sorted(ids)  # nothing lost
    assert all(len(event_ids) == 1 for event_ids in by_id.values())  # a re-sent event is the same event


async def test_two_intake_processes_keep_each_tickets_order_on_kafka(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    first, second = start_service("intake"), start_service("intake")
    ids = await open_tickets(first.url, auth_headers, 8)
    clients = [httpx.AsyncClient(base_url=s.url, headers=auth_headers, timeout=60) for s in (first, second)]
    try:

        async def note(ticket_id: str, n: int) -> tuple[int, str]:
            client = clients[n % 2]  # alternate replicas for the same ticket
            kind = "customer_message" if n % 3 else "internal_note"
            response = await client.post(
                f"/v1/tickets/{ticket_id}/interactions", json={"kind": kind, "body_text": f"mesaj {n}"}
            )
            return response.status_code, response.text

        statuses = await asyncio.gather(*(note(t, n) for t in ids for n in range(15)))
    finally:
        for client in clients:
            await client.aclose()
    assert [s for s in statuses if s[0] != 201] == []

    expected = {t: 16 for t in ids}  # opened + 15 interactions each (status changes come on top)
    tickets = await read_topic(servers.kafka_bootstrap, f"{namespace}.support.tickets", at_least=8)
    interactions = await read_topic(
        servers.kafka_bootstrap, f"{namespace}.support.interactions", at_least=sum(expected.values())
    )
    on_tickets, on_interactions = sequences_by_ticket(tickets), sequences_by_ticket(interactions)
    async with httpx.AsyncClient(base_url=first.url, headers=auth_headers) as client:
        versions = {t: (await client.get(f"/v1/tickets/{t}")).json()["version"] for t in ids}
    for ticket_id in ids:
        for seen in (on_tickets[ticket_id], on_interactions[ticket_id]):
            assert seen == sorted(seen), f"{ticket_id}: out of order on Kafka: {seen}"
        everything = sorted(on_tickets[ticket_id] + on_interactions[ticket_id])
        assert everything == list(range(1, versions[ticket_id] + 1)), f"{ticket_id}: gaps or doubles {everything}"
