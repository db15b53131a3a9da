"""Routing through real processes: rules pick the queue, the assigner picks the agent under capacity."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.e2e.support import publish, ticket_events, until
from tests.factories import ticket_opened
from tests.harness import Servers, StartService, read_topic

pytestmark = pytest.mark.e2e

RULES = """\
version: 2
default: {queue: general}
rules:
  - id: turkish-billing
    when:
      subject_words: {any: ["fatura*", "iade*"]}
    then: {queue: billing, priority: high, skills: {billing: 2}}
"""


async def test_rules_route_and_the_assigner_respects_capacity(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    intake = start_service("intake")
    routing = start_service("routing", env={"SWITCHBOARD_API_TOKENS": "desk-ayla=agent:ayla,desk-any=agent"})
    admin = httpx.Client(base_url=routing.url, headers=auth_headers, timeout=30)
    assert admin.put("/v1/skills", json=["billing"]).status_code == 200
    assert admin.put("/v1/teams/finance", json={"name": "Finance"}).status_code == 200
    assert admin.put("/v1/queues/billing", json={"team_id": "finance"}).status_code == 200
    for agent in ("ayla", "bora"):
        body = {
            "name": agent,
            "skills": {"billing": 3},
            "languages": ["tr", "en"],
            "teams": ["finance"],
            "capacity": {"email": 1},
        }
        assert admin.put(f"/v1/agents/{agent}", json=body).status_code == 200

    bad = admin.put(
        "/v1/routing/rules",
        content=RULES.replace("billing, priority", "biling, priority"),
        headers={"content-type": "application/yaml"},
    )
    assert bad.status_code == 422
    assert any("line 7" in p and "unknown queue 'biling'" in p for p in bad.json()["detail"]["problems"])
    good = admin.put("/v1/routing/rules", content=RULES, headers={"content-type": "application/yaml"})
    assert good.status_code == 200, good.text
    explained = admin.post("/v1/routing/explain", json={"channel": "email", "subject": "FATURA hatası"}).json()
    assert explained["decision"]["queue"] == "billing"
    assert explained["decision"]["rule_id"] == "turkish-billing"

    own = httpx.put(
        f"{routing.url}/v1/agents/bora/presence",
        json={"presence": "online"},
        headers={"authorization": "Bearer desk-ayla"},
    )
    assert own.status_code == 403 and "own presence" in own.json()["detail"]
    unbound = httpx.put(
        f"{routing.url}/v1/agents/ayla/presence",
        json={"presence": "online"},
        headers={"authorization": "Bearer desk-any"},
    )
    assert unbound.status_code == 403
    desk = httpx.put(
        f"{routing.url}/v1/agents/ayla/presence",
        json={"presence": "online"},
        headers={"authorization": "Bearer desk-ayla"},
    )
    assert desk.status_code == 200  # ayla's desk sets ayla's presence
    async with httpx.AsyncClient(base_url=intake.url, headers=auth_headers, timeout=30) as client:
        ids = []
        for i in range(2):
            response = await client.post(
                "/v1/tickets",
                json={
                    "subject": f"Fatura itirazı {i}",
                    "description": "Faturam yanlış",
                    "channel": "email",
                    "customer": {"email": f"musteri{i}@example.com"},
                },
            )
            ids.append(response.json()["id"])

    topic = f"{namespace}.support.routing"

    async def both_routed_one_assigned() -> list[Any] | None:
        records = await read_topic(servers.kafka_bootstrap, topic, at_least=3, wait_s=2)
        events = [e for t in ids for e in ticket_events(records, t)]
        assigned = [e for e in events if e["type"] == "support.ticket.assigned.v1"]
        return records if len(assigned) == 1 and sum(e["type"].endswith("routed.v1") for e in events) == 2 else None

    records = await until(both_routed_one_assigned)
    assert records, "expected two routed tickets and one assignment (capacity 1)"
    histories = {t: ticket_events(records, t) for t in ids}
    for history in histories.values():
        assert history[0]["type"] == "support.ticket.routed.v1" and history[0]["queue_id"] == "billing"
        assert history[0]["priority"] == "high" and history[0]["required_skills"] == ["billing:2"]
    # Both arrive together: whichever the assigner saw first goes to ayla, the other waits (capacity 1).
    holder = next(t for t, h in histories.items() if len(h) == 2)
    waiting = next(t for t in ids if t != holder)
    assert histories[holder][1]["type"] == "support.ticket.assigned.v1" and histories[holder][1]["agent_id"] == "ayla"
    assert [e["type"] for e in histories[waiting]] == ["support.ticket.routed.v1"]  # ayla is full, bora offline

    assert admin.put("/v1/agents/bora/presence", json={"presence": "online"}).status_code == 200

    async def second_assigned() -> list[Any] | None:
        records = await read_topic(servers.kafka_bootstrap, topic, at_least=4, wait_s=2)
        events = ticket_events(records, waiting)
        return events if any(e["type"].endswith("assigned.v1") for e in events) else None

    events = await until(second_assigned)
    assert events and events[-1]["agent_id"] == "bora"
    presence = [
        r
        for r in await read_topic(servers.kafka_bootstrap, topic, at_least=1, wait_s=2)
        if dict(r.headers)["ce_type"] == b"support.agent.presence_changed.v1"
    ]
    assert [r.key for r in presence] == [b"ayla", b"bora"]

    unknown = admin.put("/v1/agents/nobody/presence", json={"presence": "online"})
    assert unknown.status_code == 404
    bad_skill = admin.put("/v1/agents/cem", json={"name": "Cem", "skills": {"astrology": 1}, "teams": ["finance"]})
    assert bad_skill.status_code == 422 and "unknown skill 'astrology'" in bad_skill.text
    agent_only = httpx.put(
        f"{routing.url}/v1/routing/rules",
        content=RULES,
        headers={"authorization": "Bearer nope", "content-type": "application/yaml"},
    )
    assert agent_only.status_code == 401
    admin.close()


async def test_two_routing_processes_never_assign_a_ticket_twice_and_a_takeover_replays_quietly(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    intake = start_service("intake")
    first, second = start_service("routing"), start_service("routing")  # one consumer group
    async with httpx.AsyncClient(base_url=first.url, headers=auth_headers, timeout=30) as admin:
        await admin.put("/v1/teams/support", json={"name": "Support"})
        for agent in ("a1", "a2", "a3", "a4"):
            body = {"name": agent, "languages": ["en"], "teams": ["support"], "capacity": {"web_form": 3}}
            assert (await admin.put(f"/v1/agents/{agent}", json=body)).status_code == 200
        for agent in ("a1", "a2", "a3"):
            await admin.put(f"/v1/agents/{agent}/presence", json={"presence": "online"})
    async with httpx.AsyncClient(base_url=intake.url, headers=auth_headers, timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/tickets",
                    json={
                        "subject": f"Cannot log in {i}",
                        "description": "Password reset does not arrive",
                        "channel": "web_form",
                        "customer": {"email": f"two{i}@example.com"},
                    },
                )
                for i in range(30)
            )
        )
    ids = [r.json()["id"] for r in responses]
    topic = f"{namespace}.support.routing"

    def assignments(records: list[Any]) -> dict[str, set[tuple[str, str]]]:
        import json

        found: dict[str, set[tuple[str, str]]] = {}
        for r in records:
            if dict(r.headers)["ce_type"] == b"support.ticket.assigned.v1":
                found.setdefault(r.key.decode(), set()).add(
                    (dict(r.headers)["ce_id"].decode(), json.loads(r.value)["agent_id"])
                )
        return found

    async def nine_assigned() -> list[Any] | None:
        records = await read_topic(servers.kafka_bootstrap, topic, at_least=39, wait_s=2)
        routed = {r.key for r in records if dict(r.headers)["ce_type"] == b"support.ticket.routed.v1"}
        return records if len(routed) == 30 and len(assignments(records)) == 9 else None

    records = await until(nine_assigned, 60)
    assert records, "30 tickets routed and 9 assigned (3 agents x capacity 3) expected"
    held = assignments(records)
    assert all(len(decisions) == 1 for decisions in held.values()), held  # never two different assignments
    per_agent: dict[str, int] = {}
    for decisions in held.values():
        for _, agent in decisions:
            per_agent[agent] = per_agent.get(agent, 0) + 1
    assert per_agent == {"a1": 3, "a2": 3, "a3": 3}
    routed_ids = [
        dict(r.headers)["ce_id"] for r in records if dict(r.headers)["ce_type"] == b"support.ticket.routed.v1"
    ]
    assert len(set(routed_ids)) == 30 and set(held) <= set(ids)
    # every routing decision names the `ticket opened` that caused it, and shares its correlation
    opened = {
        r.key: dict(r.headers)
        for r in await read_topic(servers.kafka_bootstrap, f"{namespace}.support.tickets", at_least=30, wait_s=2)
        if dict(r.headers)["ce_type"] == b"support.ticket.opened.v1"
    }
    for r in records:
        headers = dict(r.headers)
        if headers["ce_type"] == b"support.ticket.routed.v1":
            assert headers["ce_causationid"] == opened[r.key]["ce_id"]
            assert headers["ce_correlationid"] == opened[r.key]["ce_correlationid"]

    # The board's owner dies; the other process takes the partition, replays every input, decides nothing new.
    async def owns_the_board(service: Any) -> bool:
        async with httpx.AsyncClient(base_url=service.url, headers=auth_headers, timeout=10) as peek:
            return (await peek.get("/v1/roster")).json()["live"] is not None

    owner, survivor = (first, second) if await owns_the_board(first) else (second, first)
    assert await owns_the_board(owner) and not await owns_the_board(survivor)
    owner.kill()

    async def took_over() -> bool | None:
        return await owns_the_board(survivor) or None

    assert await until(took_over, 60), "the survivor should take the board over"
    # anything the replay wrongly marked unpublished would be swept out after the dead owner's outbox lease (10 s)
    # ran out, the sweep's 3 s grace and its 2 s interval
    await asyncio.sleep(17)
    quiet = await read_topic(servers.kafka_bootstrap, topic, at_least=len(records), wait_s=5)
    assert assignments(quiet) == held
    assert len(quiet) == len(records), "the replay re-published decisions that were already out"
    async with httpx.AsyncClient(base_url=survivor.url, headers=auth_headers, timeout=30) as admin:
        await admin.put("/v1/agents/a4/presence", json={"presence": "online"})

    async def twelve_assigned() -> list[Any] | None:
        records = await read_topic(servers.kafka_bootstrap, topic, at_least=len(quiet) + 3, wait_s=2)
        return records if len(assignments(records)) == 12 else None

    after = await until(twelve_assigned, 60)
    assert after, "the surviving process should assign a4's three tickets"
    final = assignments(after)
    assert all(len(decisions) == 1 for decisions in final.values())
    assert sorted(agent for decisions in final.values() for _, agent in decisions).count("a4") == 3


async def test_sla_breaches_follow_ups_and_agents_escalate_tickets(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from switchboard.events import Envelope
    from switchboard.events.common import SlaTarget
    from switchboard.events.feedback import FollowUpRequested
    from switchboard.events.sla import SlaBreached

    intake, routing = start_service("intake"), start_service("routing")
    async with httpx.AsyncClient(base_url=intake.url, headers=auth_headers, timeout=30) as client:
        ticket = (
            await client.post(
                "/v1/tickets",
                json={
                    "subject": "Server down",
                    "description": "Everything is down",
                    "customer": {"email": "esc@example.com"},
                },
            )
        ).json()["id"]
    topic = f"{namespace}.support.routing"

    async def routed() -> bool:
        records = await read_topic(servers.kafka_bootstrap, topic, at_least=1, wait_s=1)
        return any(r.key == ticket.encode() for r in records)

    assert await until(routed)
    now = datetime.now(UTC)
    breach = SlaBreached(
        ticket_id=ticket,
        target=SlaTarget.FIRST_RESPONSE,
        policy_id="standard",
        policy_version=1,
        deadline=now - timedelta(minutes=1),
        breached_at=now - timedelta(minutes=1),
    )
    follow_up = FollowUpRequested(ticket_id=ticket, reason="CSAT 1: angry customer", requested_at=now)
    causes = [
        (f"{namespace}.support.{name}", Envelope.new(payload, source=f"/test/{name}", subject=ticket))
        for payload, name in ((breach, "sla"), (follow_up, "feedback"))
    ]
    await publish(servers.kafka_bootstrap, [cause for cause in causes for _ in range(2)])  # twice: escalates once

    async def moves_seen(count: int) -> list[dict[str, Any]] | None:
        records = await read_topic(servers.kafka_bootstrap, topic, at_least=count + 1, wait_s=2)
        moves = [
            e
            for e in ticket_events(records, ticket)
            if e["type"] in ("support.ticket.escalated.v1", "support.ticket.handed_off.v1")
        ]
        return moves if len(moves) >= count else None

    assert await until(lambda: moves_seen(2), 60), "expected the breach and the follow-up to escalate"
    async with httpx.AsyncClient(base_url=routing.url, headers=auth_headers, timeout=30) as admin:
        manual = await admin.post(
            f"/v1/tickets/{ticket}/escalate",
            json={"reason": "needs a code fix", "target": "engineering", "agent_id": "ayla"},
        )
        assert manual.status_code == 200, manual.text
        assert (await admin.post(f"/v1/tickets/{uuid4()}/escalate", json={"reason": "x"})).status_code == 404

    moves = await until(lambda: moves_seen(3), 60)
    assert moves, "expected two escalations and a hand-off"
    assert [(m["type"].split(".")[2], m["trigger"]) for m in moves] == [
        ("escalated", "sla_breach"),
        ("escalated", "follow_up"),
        ("handed_off", "agent"),
    ]
    assert (moves[0]["from_tier"], moves[0]["to_tier"]) == ("L1", "L2")
    assert (moves[1]["from_tier"], moves[1]["to_tier"]) == ("L2", "L3")
    assert moves[2]["to_department"] == "engineering" and moves[2]["triggered_by_id"] == "ayla"
    assert "SLA first_response target missed" in moves[0]["reason"]


async def test_the_rule_set_in_force_can_be_read_back(
    start_service: StartService, auth_headers: dict[str, str]
) -> None:
    routing = start_service("routing")
    async with httpx.AsyncClient(base_url=routing.url, headers=auth_headers, timeout=30) as admin:
        first = await admin.get("/v1/routing/rules")
        assert first.status_code == 200, first.text
        assert first.json()["version"] == 1 and "default: {queue: general}" in first.json()["text"]
        rules = "version: 5\ndefault: {queue: general, priority: high}\n"
        stored = await admin.put("/v1/routing/rules", content=rules, headers={"content-type": "application/yaml"})
        assert stored.status_code == 200, stored.text
        assert (await admin.get("/v1/routing/rules")).json() == {"version": 2, "text": rules}
        assert (await admin.get("/v1/queues/general")).json() == {"id": "general", "team_id": "support"}


async def publish_opened(servers: Servers, namespace: str, subjects: list[str], *, language: str) -> list[str]:
    """`ticket opened` events for new e-mail tickets, on the tickets topic; returns their ids in order."""
    from datetime import UTC, datetime

    from switchboard.events import Envelope

    ids = [str(uuid4()) for _ in subjects]
    opened = [
        ticket_opened(
            ticket_id,
            datetime.now(UTC),
            subject=subject,
            reference=f"SB-{ticket_id[:6]}",
            customer_id=str(uuid4()),
            language=language,
        )
        for ticket_id, subject in zip(ids, subjects, strict=True)
    ]
    topic = f"{namespace}.support.tickets"
    await publish(
        servers.kafka_bootstrap, [(topic, Envelope.new(o, source="/test/intake", subject=o.ticket_id)) for o in opened]
    )
    return ids


def placed(live: dict[str, Any], ticket_id: str) -> list[str]:
    """Where the board's owner says a ticket is: 'agent:<id>' or 'queue:<id>', once each time it appears."""
    held = [f"agent:{agent}" for agent, seat in live["seats"].items() if ticket_id in seat["tickets"]]
    return held + [f"queue:{queue}" for queue, line in live["waiting"].items() if ticket_id in line]


async def test_removing_a_queue_with_tickets_moves_them_to_the_default_queue_and_later_changes_apply(
    start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    routing = start_service("routing")
    topic = f"{namespace}.support.routing"
    finance = {"name": "Finance"}
    ayla = {
        "name": "Ayla",
        "skills": {"billing": 3},
        "languages": ["tr", "en"],
        "teams": ["finance"],
        "capacity": {"email": 1},
    }
    async with httpx.AsyncClient(base_url=routing.url, headers=auth_headers, timeout=30) as admin:
        assert (await admin.put("/v1/skills", json=["billing"])).status_code == 200
        assert (await admin.put("/v1/teams/finance", json=finance)).status_code == 200
        assert (await admin.put("/v1/queues/billing", json={"team_id": "finance"})).status_code == 200
        assert (await admin.put("/v1/agents/ayla", json=ayla)).status_code == 200
        assert (await admin.put("/v1/agents/ayla/presence", json={"presence": "online"})).status_code == 200
        rules = await admin.put("/v1/routing/rules", content=RULES, headers={"content-type": "application/yaml"})
        assert rules.status_code == 200, rules.text

        async def open_tickets(count: int, first: int) -> list[str]:
            """Published as intake publishes them, so that this test depends on routing alone."""
            return await publish_opened(
                servers, namespace, [f"Fatura itirazı {n}" for n in range(first, first + count)], language="tr"
            )

        async def events_of(ids: list[str], at_least: int) -> dict[str, list[dict[str, Any]]]:
            records = await read_topic(servers.kafka_bootstrap, topic, at_least=at_least, wait_s=2)
            return {t: ticket_events(records, t) for t in ids}

        ids = await open_tickets(3, 0)

        async def one_held_two_waiting_in_billing() -> bool:
            live = (await admin.get("/v1/roster")).json()["live"]
            return live is not None and sorted(p for t in ids for p in placed(live, t)) == [
                "agent:ayla",
                "queue:billing",
                "queue:billing",
            ]

        assert await until(one_held_two_waiting_in_billing), (await admin.get("/v1/roster")).json()["live"]

        # A roster without the default queue is refused whole, and says why.
        without_general = {
            "skills": ["billing"],
            "agents": {"ayla": ayla},
            "teams": {"support": {"name": "Support"}, "finance": finance},
            "queues": {"billing": {"team_id": "finance"}},
        }
        refused = await admin.put("/v1/roster", json=without_general)
        assert refused.status_code == 422, refused.text
        assert any("'general'" in problem for problem in refused.json()["detail"]["problems"])

        # The billing queue goes, while its tickets wait in it and ayla holds one of them.
        without_billing = {**without_general, "queues": {"general": {"team_id": "support"}}}
        changed = await admin.put("/v1/roster", json=without_billing)
        assert changed.status_code == 200, changed.text
        assert any("turkish-billing" in warning for warning in changed.json()["warnings"])
        roster = (await admin.get("/v1/roster")).json()
        assert sorted(roster["roster"]["queues"]) == ["general"]

        async def all_three_wait_in_general() -> bool:
            live = (await admin.get("/v1/roster")).json()["live"]
            in_force = live["roster_version"] == changed.json()["roster_version"]  # the board took that version
            return in_force and all(placed(live, t) == ["queue:general"] for t in ids)

        assert await until(all_three_wait_in_general), (await admin.get("/v1/roster")).json()["live"]

        def to_general(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [e for e in history if e["type"].endswith("routed.v1") and e["queue_id"] == "general"]

        async def each_move_announced() -> dict[str, list[dict[str, Any]]] | None:
            found = await events_of(ids, at_least=9)
            return found if all(to_general(history) for history in found.values()) else None

        moved = await until(each_move_announced)
        assert moved, "each moved ticket is announced as routed to the default queue"
        for ticket_id in ids:
            (move,) = to_general(moved[ticket_id])
            assert "'billing'" in move["reason"] and "roster" in move["reason"], move

        # Later changes build on that version and apply: Sam joins support and takes the three tickets (which
        # still need the billing skill their rule asked for).
        sam = {
            "name": "Sam",
            "skills": {"billing": 2},
            "languages": ["tr"],
            "teams": ["support"],
            "capacity": {"email": 5},
        }
        assert (await admin.put("/v1/agents/sam", json=sam)).status_code == 200
        assert (await admin.put("/v1/agents/sam/presence", json={"presence": "online"})).status_code == 200

        async def sam_holds_them() -> bool:
            roster = (await admin.get("/v1/roster")).json()
            in_force = roster["live"]["roster_version"] == roster["version"]
            return in_force and all(placed(roster["live"], t) == ["agent:sam"] for t in ids)

        assert await until(sam_holds_them), (await admin.get("/v1/roster")).json()["live"]

        # The rule still names billing: its next ticket is routed there, moved to general (saying why), assigned.
        (late,) = await open_tickets(1, 3)

        async def late_ticket_assigned() -> list[dict[str, Any]] | None:
            history = (await events_of([late], at_least=1))[late]
            return history if any(e["type"].endswith("assigned.v1") for e in history) else None

        history = await until(late_ticket_assigned)
        assert history, "the ticket a rule sent to a removed queue must not be lost"
        assert [(e["type"].split(".")[2], e.get("queue_id")) for e in history] == [
            ("routed", "billing"),
            ("routed", "general"),
            ("assigned", "general"),
        ]
        assert "'billing'" in history[1]["reason"] and history[2]["agent_id"] == "sam"
        live = (await admin.get("/v1/roster")).json()["live"]
        assert all(len(placed(live, t)) == 1 for t in [*ids, late])
