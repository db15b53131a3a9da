"""SLA through real processes: clocks start, warn, breach once with the true time, survive a restart, and are
re-announced with their new deadlines when a priority change moves them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from switchboard.events import Envelope, EventPayload
from switchboard.events.common import Actor, Priority
from switchboard.events.tickets import TicketUpdated

from tests.e2e.support import publish, ticket_events, until
from tests.factories import ticket_opened
from tests.harness import Servers, StartService, read_topic

pytestmark = pytest.mark.e2e


async def publish_opened(servers: Servers, namespace: str, ticket_id: str, opened_at: datetime) -> None:
    await publish_on_tickets(servers, namespace, ticket_id, ticket_opened(ticket_id, opened_at), opened_at, sequence=1)


async def publish_on_tickets(
    servers: Servers,
    namespace: str,
    ticket_id: str,
    payload: EventPayload,
    at: datetime,
    *,
    sequence: int | None = None,
) -> None:
    """One ticket event on `support.tickets`, as intake publishes it."""
    envelope = Envelope.new(payload, source="/test/intake", subject=ticket_id, sequence=sequence, time=at)
    await publish(servers.kafka_bootstrap, [(f"{namespace}.support.tickets", envelope)])


async def test_a_breach_that_fell_due_while_down_is_emitted_once_with_its_true_time(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    sla = start_service("sla")
    ticket = str(uuid.uuid4())
    opened_at = (datetime.now(UTC) - timedelta(minutes=70)).replace(microsecond=0)
    await publish_opened(servers, namespace, ticket, opened_at)  # default policy: first response in 60 min
    topic = f"{namespace}.support.sla"

    async def breached() -> list[dict[str, Any]] | None:
        events = ticket_events(await read_topic(servers.kafka_bootstrap, topic, at_least=1, wait_s=1), ticket)
        return events if any(e["type"] == "support.sla.breached.v1" for e in events) else None

    events = await until(breached)
    assert events, "the first-response breach should be emitted"
    sla.kill()  # and restart: nothing may be emitted twice
    start_service("sla")
    await asyncio.sleep(4)
    events = ticket_events(await read_topic(servers.kafka_bootstrap, topic, at_least=len(events), wait_s=3), ticket)
    kinds = [(e["type"].split(".")[2], e["target"], e.get("fraction")) for e in events]
    assert kinds == [
        ("clock_started", "first_response", None),
        ("clock_started", "resolution", None),
        ("warning", "first_response", 0.75),
        ("warning", "first_response", 0.9),
        ("breached", "first_response", None),
    ], kinds
    assert len({e["id"] for e in events}) == len(events)
    breach = events[-1]
    assert datetime.fromisoformat(breach["breached_at"]) == opened_at + timedelta(minutes=60)  # the true time
    assert datetime.fromisoformat(events[2]["warned_at"]) == opened_at + timedelta(minutes=45)

    services_url = start_service("sla").url  # a second replica answers reads too
    async with httpx.AsyncClient(base_url=services_url, headers=auth_headers, timeout=10) as client:
        view = (await client.get(f"/v1/sla/tickets/{ticket}")).json()
        targets = {t["target"]: t for t in view["targets"]}
        assert targets["first_response"]["state"] == "breached"
        assert targets["first_response"]["left_minutes"] < 0
        assert targets["resolution"]["state"] == "running"
        assert datetime.fromisoformat(targets["resolution"]["deadline"]) == opened_at + timedelta(minutes=4320)
        assert (await client.get(f"/v1/sla/tickets/{uuid.uuid4()}")).status_code == 404


async def test_a_first_reply_meets_the_first_response_target(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    intake, sla = start_service("intake"), start_service("sla")
    async with httpx.AsyncClient(base_url=intake.url, headers=auth_headers, timeout=30) as client:
        ticket = (
            await client.post(
                "/v1/tickets",
                json={"subject": "Help", "description": "Please", "customer": {"email": "sla@example.com"}},
            )
        ).json()["id"]
        await asyncio.sleep(1)
        await client.post(f"/v1/tickets/{ticket}/interactions", json={"kind": "agent_reply", "body_text": "Hi!"})
    topic = f"{namespace}.support.sla"

    async def met() -> list[dict[str, Any]] | None:
        events = ticket_events(await read_topic(servers.kafka_bootstrap, topic, at_least=1, wait_s=1), ticket)
        return events if any(e["type"] == "support.sla.met.v1" for e in events) else None

    events = await until(met)
    assert events, "first response should be met"
    met_event = next(e for e in events if e["type"] == "support.sla.met.v1")
    assert met_event["target"] == "first_response" and 0 < met_event["used_minutes"] < 1
    async with httpx.AsyncClient(base_url=sla.url, headers=auth_headers, timeout=10) as client:
        view = {t["target"]: t for t in (await client.get(f"/v1/sla/tickets/{ticket}")).json()["targets"]}
        assert view["first_response"]["state"] == "met"


def test_calendars_and_policies_are_validated_and_admin_only(
    start_service: StartService, auth_headers: dict[str, str]
) -> None:
    sla = start_service("sla", env={"SWITCHBOARD_API_TOKENS": "agent-token=agent"})
    admin = httpx.Client(base_url=sla.url, headers=auth_headers, timeout=10)
    kyiv = {"time_zone": "Europe/Kyiv", "weekly": {"mon-fri": ["09:00-18:00"]}, "holidays": ["yearly 01-01"]}
    assert admin.put("/v1/sla/calendars/kyiv", json=kyiv).status_code == 200
    overlapping = kyiv | {"weekly": {"mon": ["09:00-13:00", "12:00-18:00"]}}
    bad = admin.put("/v1/sla/calendars/bad", json=overlapping)
    assert bad.status_code == 422 and "overlap" in bad.text
    zone = admin.put("/v1/sla/calendars/bad", json=kyiv | {"time_zone": "Mars/Olympus"})
    assert zone.status_code == 422 and "Mars/Olympus" in zone.text
    inverted = admin.put("/v1/sla/calendars/bad", json=kyiv | {"weekly": {"mon": ["18:00-09:00"]}})
    assert inverted.status_code == 422
    policy = {
        "id": "vip",
        "name": "VIP",
        "calendar": "kyiv",
        "when": {"priority": ["urgent"]},
        "targets": {"first_response": 30, "resolution": 480},
    }
    negative = admin.put("/v1/sla/policies", json=[policy | {"targets": {"first_response": -5}}])
    assert negative.status_code == 422
    unknown_calendar = admin.put("/v1/sla/policies", json=[policy | {"calendar": "nowhere"}])
    assert unknown_calendar.status_code == 422 and "nowhere" in unknown_calendar.text
    stored = admin.put("/v1/sla/policies", json=[policy])
    assert stored.status_code == 200 and stored.json()["policies"][0]["version"] == 1
    again = admin.put("/v1/sla/policies", json=[policy | {"targets": {"first_response": 20, "resolution": 480}}])
    assert again.json()["policies"][0]["version"] == 2
    agent = httpx.put(f"{sla.url}/v1/sla/policies", json=[policy], headers={"authorization": "Bearer agent-token"})
    assert agent.status_code == 403
    admin.close()


async def test_an_admin_re_applies_a_stricter_policy_to_a_running_ticket(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    sla = start_service("sla")
    ticket = str(uuid.uuid4())
    opened_at = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0)
    await publish_opened(servers, namespace, ticket, opened_at)
    async with httpx.AsyncClient(base_url=sla.url, headers=auth_headers, timeout=10) as client:

        async def known() -> dict[str, Any] | None:
            response = await client.get(f"/v1/sla/tickets/{ticket}")
            return response.json() if response.status_code == 200 else None

        before = await until(known)
        assert before and before["policy_version"] == 1
        stricter = {
            "id": "standard",
            "name": "Standard",
            "calendar": "default",
            "targets": {"first_response": 5, "next_response": 240, "resolution": 4320},
        }
        assert (await client.put("/v1/sla/policies", json=[stricter])).status_code == 200
        assert (await client.get(f"/v1/sla/tickets/{ticket}")).json()["policy_version"] == 1  # not by itself
        after = await client.post(f"/v1/sla/tickets/{ticket}/reapply")
        assert after.status_code == 200, after.text
        view = after.json()
        assert view["policy_version"] == 2
        first = next(t for t in view["targets"] if t["target"] == "first_response")
        assert datetime.fromisoformat(first["deadline"]) == opened_at + timedelta(minutes=5)
        assert first["state"] == "breached"
        assert (await client.post(f"/v1/sla/tickets/{uuid.uuid4()}/reapply")).status_code == 404


async def test_a_priority_change_announces_each_running_clocks_new_target_and_deadline(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    sla = start_service("sla")
    urgent = {"first_response": 60, "resolution": 480}
    policies = [
        {"id": "urgent", "calendar": "default", "when": {"priority": ["urgent"]}, "targets": urgent},
        {"id": "standard", "calendar": "default", "targets": {"first_response": 120, "resolution": 4320}},
    ]
    async with httpx.AsyncClient(base_url=sla.url, headers=auth_headers, timeout=10) as client:
        assert (await client.put("/v1/sla/policies", json=policies)).status_code == 200
    ticket = str(uuid.uuid4())
    opened_at = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0)
    await publish_opened(servers, namespace, ticket, opened_at)  # normal priority: first response in 120 min
    topic = f"{namespace}.support.sla"

    async def started(count: int) -> list[dict[str, Any]] | None:
        events = ticket_events(await read_topic(servers.kafka_bootstrap, topic, at_least=1, wait_s=1), ticket)
        starts = [e for e in events if e["type"] == "support.sla.clock_started.v1"]
        return starts if len(starts) >= count else None

    first = await until(lambda: started(2))
    assert first and {(e["target"], e["target_minutes"]) for e in first} == {
        ("first_response", 120),
        ("resolution", 4320),
    }
    raised = TicketUpdated(
        ticket_id=ticket, priority=Priority.URGENT, changed_by=Actor.AGENT, updated_at=opened_at + timedelta(minutes=5)
    )
    await publish_on_tickets(servers, namespace, ticket, raised, opened_at + timedelta(minutes=5))

    starts = await until(lambda: started(4))
    assert starts, "the priority change should re-announce both running clocks"
    announced = {
        (e["target"], e["policy_id"], e["target_minutes"], datetime.fromisoformat(e["deadline"])) for e in starts[2:]
    }
    assert announced == {
        ("first_response", "urgent", 60, opened_at + timedelta(minutes=60)),
        ("resolution", "urgent", 480, opened_at + timedelta(minutes=480)),
    }, starts
    assert len({e["id"] for e in starts}) == 4
    async with httpx.AsyncClient(base_url=sla.url, headers=auth_headers, timeout=10) as client:
        view = {t["target"]: t for t in (await client.get(f"/v1/sla/tickets/{ticket}")).json()["targets"]}
    assert datetime.fromisoformat(view["first_response"]["deadline"]) == opened_at + timedelta(minutes=60)
