"""SLA scenarios through the real service: the table in services/sla/tests/scenarios/scenarios.yaml, on Kafka.

The pure runner (services/sla/tests/scenarios/test_scenarios.py) decides every scenario in memory; here a subset
runs through one real SLA process per scenario: its calendars and policies go in through the HTTP API, each
input is published on the topic intake or routing would use (CloudEvents binding, envelope `time` = the step's
`now`), ticks are never published (the service's own leased scheduler fires them at wall-clock time), and what
comes out on `support.sla` must be exactly the scenario's `emits`, in order per target, with their true times.

The whole timeline lies in the past, so every deadline has fallen due by the time the service sees the first
input. The scenarios are already dated in the past (2025 and early 2026), so they are shifted by zero: moving them
would move their instants against their calendars (weekdays, dated holidays, DST transitions) and change the
expected deadlines. Nothing here waits for a date or skips before one: the premise below is checked at fixed
moments after each timeline, and the run through the service needs only a machine clock past 2025, which it
asserts (a clock that is not is a broken machine, and a skip would hide it).

Because everything is late, the service's timer is due the moment a clock starts, and its tick, at wall-clock time,
catches every running clock up to now. So the subset is the scenarios whose outcome does not depend on when those
late ticks land, provided the inputs are decided in their order: scenarios that leave no clock running, so that the
late ticks emit just what the scenario's own ticks emit. The inputs must be decided in their order and before any
late tick (a tick landing between the opening and a reply would breach a clock the reply meets): the test plays a
stalled scheduler replica that holds the scheduler's lease (the `scheduler` document of the service's `leases`
collection) while it publishes the inputs one by one, each once the service has handled the one before (its
`switchboard_events_handled_total` metric); then the lease lapses, the service's own scheduler takes over from its
watermark and fires every timer that fell due. `test_the_subset_is_decided_the_same_when_ticks_come_late` checks
that premise on the pure domain, with the late tick minutes, a day and years after the timeline. (Three of the
subset - the three-week target, the Kyiv night desk and the downtime catch-up - have a single input and would not
need the stalled replica.)

Policies get their versions from the API (1 for a new id, the next one for a changed id such as `standard`, which
replaces the default policy), so a policy's version is compared as the version the API assigned to it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from switchboard.events import Envelope, EventPayload, decode
from switchboard.events.calendar import BusinessCalendar, calendar_from_dict
from switchboard.events.tickets import TicketOpened
from switchboard.events.topics import INTERACTIONS, ROUTING, SLA, TICKETS, Topic
from switchboard.sla.domain.clock import LateInput, Tick, TicketClocks, decide
from switchboard.sla.domain.config import policy_from_dict
from switchboard.sla.domain.policy import AccountFacts, Policy

from services.sla.tests.scenarios import test_scenarios as pure
from tests.e2e.support import send
from tests.harness import Servers, StartService, read_topic

pytestmark = pytest.mark.e2e

#: The scenarios run through the service: none leaves a clock running, so the late ticks add nothing to them.
#: Tickets only: long targets, DST at night, downtime, solving. Tickets and interactions: pauses, reopening,
#: redelivery, merging, a retroactive smaller target.
SUBSET = (
    "a resolution target spanning three weeks",
    "Kyiv night desk loses an hour at spring forward",
    "after downtime every warning and breach that fell due comes out with its true time",
    "solving meets every running target",
    "solving while pending meets resolution without the paused time",
    "resolution is met when the ticket is solved and closing changes nothing",
    "reopening a breached resolution keeps it breached",
    "a smaller target than the time already used breaches at its true moment even while paused",
    "every input delivered twice is decided once",
    "a merged ticket stops its clocks without a verdict",
)
SCENARIOS = {scenario["name"]: scenario for scenario in pure.SCENARIOS}
#: Where each action is published, and by whom (everything else is a ticket event from intake).
TOPICS: Mapping[str, tuple[Topic, str]] = {
    "reply": (INTERACTIONS, "/switchboard/intake"),
    "note": (INTERACTIONS, "/switchboard/intake"),
    "route": (ROUTING, "/switchboard/routing"),
}
STALLED = "e2e:stalled-scheduler-replica"
HANDLED = "switchboard_events_handled_total{"
TIME_KEYS = ("started_at", "paused_at", "resumed_at", "warned_at", "breached_at", "met_at", "deadline")
#: How long after a scenario's timeline the premise test lets the late tick land: the service's tick lands at
#: wall-clock time, which is any of these or later, depending on when the test runs.
LATE_BY = {"minutes": timedelta(minutes=5), "a day": timedelta(days=1), "years": timedelta(days=3 * 365)}


@dataclass(frozen=True)
class Input:
    """One record to publish: a step's payload, stamped with the time the service is to decide it at."""

    step: int
    topic: Topic
    source: str
    payload: TicketOpened | LateInput
    now: datetime
    twice: bool


@dataclass(frozen=True)
class Plan:
    """A scenario for one ticket: what to publish, and what the pure domain emits for it (its ticks included)."""

    ticket: str
    inputs: list[Input]
    emitted: list[EventPayload]
    expected: list[Mapping[str, Any]]  # the scenario's `emits`, every step's in order
    calendars: dict[str, BusinessCalendar]
    policies: list[Policy]
    account: AccountFacts


def plan(scenario: Mapping[str, Any], ticket: str) -> Plan:
    calendars = {
        key: calendar_from_dict(data, calendar_id=key) for key, data in (scenario.get("calendars") or {}).items()
    }
    policies = [policy_from_dict(data) for data in scenario["policies"]]
    account = AccountFacts(**scenario.get("account", {}))
    builder = pure.Ticket(TicketClocks(pure.TICKET))
    state = TicketClocks(ticket)
    inputs: list[Input] = []
    emitted: list[EventPayload] = []
    expected: list[Mapping[str, Any]] = []
    for number, step in enumerate(scenario["steps"], start=1):
        at, now = pure.instant(step["at"]), pure.instant(step.get("now", step["at"]))
        [action] = [key for key in pure.ACTIONS if key in step]
        topic, source = TOPICS.get(action, (TICKETS, "/switchboard/intake"))
        for index, built in enumerate(builder.payloads(step, at)):
            payload: Any = built if isinstance(built, Tick) else built.model_copy(update={"ticket_id": ticket})
            if not isinstance(payload, Tick):
                inputs.append(Input(number, topic, source, payload, now, bool(step.get("twice"))))
            state, out = decide(
                state,
                payload,
                now=now,
                policies=policies,
                calendars=calendars,
                account=account,
                event_id=f"E-{number}-{index}",
            )
            emitted += out
        expected += step.get("emits") or []
    return Plan(ticket, inputs, emitted, expected, calendars, policies, account)


def decided_late(plan: Plan, now: datetime) -> list[EventPayload]:
    """What the service decides: the inputs in their order, then one tick at `now` (its wall-clock time)."""
    state, emitted = TicketClocks(plan.ticket), []
    for number, item in enumerate(plan.inputs):
        for _ in range(2 if item.twice else 1):
            state, out = decide(
                state,
                item.payload,
                now=item.now,
                policies=plan.policies,
                calendars=plan.calendars,
                account=plan.account,
                event_id=f"I-{number}",
            )
            emitted += out
    state, out = decide(state, Tick(now), now=now, policies=plan.policies, calendars=plan.calendars)
    return emitted + out


def by_target(events: Sequence[EventPayload]) -> dict[str, list[EventPayload]]:
    grouped: dict[str, list[EventPayload]] = {}
    for event in events:
        grouped.setdefault(str(event.target.value), []).append(event)  # type: ignore[attr-defined]
    return grouped


def expected_by_target(expected: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for event in expected:
        [kind] = [key for key in pure.KINDS if key in event]
        grouped.setdefault(str(event[kind]), []).append(event)
    return grouped


def latest_instant(scenario: Mapping[str, Any], emitted: Sequence[EventPayload]) -> datetime:
    moments = [pure.instant(step.get(key)) for step in scenario["steps"] for key in ("at", "now") if key in step]
    for event in emitted:
        moments += [value for value in vars(event).values() if isinstance(value, datetime)]
    return max(moments)


def jsonable(value: Any) -> Any:
    """Scenario data as JSON (YAML reads an unquoted date as a date)."""
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- the premise, on the pure domain ---------------------------------------------------------------------------------


@pytest.mark.parametrize("late_by", LATE_BY.values(), ids=LATE_BY.keys())
@pytest.mark.parametrize("name", SUBSET)
def test_the_subset_is_decided_the_same_when_ticks_come_late(name: str, late_by: timedelta) -> None:
    """Every input decided in order and the ticks only long after the timeline give each target the same events."""
    scenario_plan = plan(SCENARIOS[name], "T-premise")
    late = decided_late(scenario_plan, latest_instant(SCENARIOS[name], scenario_plan.emitted) + late_by)
    assert {t: [e.model_dump() for e in es] for t, es in by_target(late).items()} == {
        t: [e.model_dump() for e in es] for t, es in by_target(scenario_plan.emitted).items()
    }, f"{name}: its outcome depends on when the late ticks land; it cannot run through the service"


# --- through the service ---------------------------------------------------------------------------------------------


async def until(check: Any, what: str, deadline_s: float = 30, every_s: float = 0.05) -> Any:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(every_s)
    if result := await check():
        return result
    raise AssertionError(f"timed out waiting for {what}")


async def handled(client: httpx.AsyncClient) -> int:
    """How many input events the service's consumer has handled (its effects stored)."""
    text = (await client.get("/metrics")).text
    lines = [line for line in text.splitlines() if line.startswith(HANDLED) and 'consumer="sla"' in line]
    return round(sum(float(line.rsplit(" ", 1)[1]) for line in lines))


class StalledScheduler:
    """Plays another SLA replica that holds the scheduler lease and stalls: no timer fires until it lets go."""

    def __init__(self, servers: Servers, namespace: str) -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongodb_uri)
        db = self._client[f"{namespace}_sla"]
        self._leases, self._config = db["leases"], db["config"]

    async def _watermark(self) -> str | None:
        doc = await self._config.find_one({"_id": "scheduler"})
        return None if doc is None else str(doc["watermark"])

    async def hold(self) -> None:
        # Only once the service's timer has a watermark: it resumes from there, firing the buckets it missed.
        await until(self._watermark, "the SLA timer's first pass")
        await self._leases.replace_one(
            {"_id": "scheduler"},
            {"_id": "scheduler", "owner": STALLED, "expires_at": datetime.now(UTC) + timedelta(minutes=5)},
            upsert=True,
        )
        marks: list[str | None] = []

        async def stopped() -> bool:  # the watermark moves every quarter second while the timer runs
            marks.append(await self._watermark())
            return len(marks) >= 3 and marks[-1] == marks[-3]

        await until(stopped, "the SLA timer to stop", every_s=0.4)

    async def let_go(self) -> None:
        """The lease lapses; the service's own scheduler takes it over."""
        expired = datetime.now(UTC) - timedelta(seconds=1)
        await self._leases.update_one({"_id": "scheduler", "owner": STALLED}, {"$set": {"expires_at": expired}})

    async def close(self) -> None:
        await self._client.close()


async def run_through_service(
    scenario: Mapping[str, Any],
    *,
    start_service: StartService,
    auth_headers: dict[str, str],
    servers: Servers,
    namespace: str,
) -> None:
    ticket = f"T-{uuid.uuid4()}"
    scenario_plan = plan(scenario, ticket)
    latest, clock = latest_instant(scenario, scenario_plan.emitted), datetime.now(UTC)
    assert latest < clock - LATE_BY["minutes"], f"the machine's clock ({clock}) is not past the timeline ({latest})"
    sla = start_service("sla")
    async with httpx.AsyncClient(base_url=sla.url, headers=auth_headers, timeout=10) as client:
        for calendar_id, spec in (scenario.get("calendars") or {}).items():
            response = await client.put(f"/v1/sla/calendars/{calendar_id}", json=jsonable(spec))
            assert response.status_code == 200, response.text
        policies = [{k: v for k, v in p.items() if k != "version"} for p in jsonable(scenario["policies"])]
        response = await client.put("/v1/sla/policies", json=policies)
        assert response.status_code == 200, response.text
        versions = {p["id"]: int(p["version"]) for p in response.json()["policies"]}
        # `id@version` as the scenario names it -> as the API stored it
        aliases = {f"{p['id']}@{p.get('version', 1)}": f"{p['id']}@{versions[p['id']]}" for p in scenario["policies"]}

        scheduler = StalledScheduler(servers, namespace)
        producer = AIOKafkaProducer(bootstrap_servers=servers.kafka_bootstrap)
        await producer.start()
        try:
            await scheduler.hold()
            published = await handled(client)
            for sequence, item in enumerate(scenario_plan.inputs, start=1):
                envelope = Envelope.new(
                    item.payload, source=item.source, subject=ticket, sequence=sequence, time=item.now
                )
                for _ in range(2 if item.twice else 1):  # a redelivery: the same event, the same id
                    await send(producer, item.topic.qualified(namespace), envelope)
                    published += 1

                async def caught_up(count: int = published) -> bool:
                    return await handled(client) >= count

                await until(caught_up, f"step {item.step} ({item.payload.type}) to be handled")
            await scheduler.let_go()
        finally:
            await producer.stop()
            await scheduler.close()

        topic, key = SLA.qualified(namespace), ticket.encode()
        wanted = len(scenario_plan.emitted)

        async def sla_events() -> list[Envelope]:
            records = await read_topic(servers.kafka_bootstrap, topic, at_least=wanted, wait_s=2, keys={key})
            return [decode(r.value, dict(r.headers)) for r in records if r.key == key]

        await until(lambda: _at_least(sla_events, wanted), f"{wanted} events on {topic}", every_s=0.2)
        await asyncio.sleep(1.0)  # anything more (a duplicate, an extra warning) would come out meanwhile
        envelopes = await sla_events()
        view = (await client.get(f"/v1/sla/tickets/{ticket}")).json()

    assert len({e.id for e in envelopes}) == len(envelopes), "an SLA event was emitted twice"
    got = by_target([e.data for e in envelopes])
    shown = {t: [_when(e) for e in es] for t, es in got.items()}

    # exactly the scenario's `emits`, per target in order, with the keys the table gives
    expected = expected_by_target(scenario_plan.expected)
    assert {t: len(es) for t, es in got.items()} == {t: len(es) for t, es in expected.items()}, shown
    for target, wants in expected.items():
        for number, (actual, want) in enumerate(zip(got[target], wants, strict=True), start=1):
            pure.check_event(actual, _with_version(want, aliases), f"{target} event {number}")
    # ... and every field (true times, deadlines, used minutes) as the pure domain decides the scenario
    decided = by_target([_versioned(e, versions) for e in scenario_plan.emitted])
    assert {t: [e.model_dump(mode="json") for e in es] for t, es in got.items()} == {
        t: [e.model_dump(mode="json") for e in es] for t, es in decided.items()
    }, shown

    final = scenario.get("final") or {}
    targets = {t["target"]: t for t in view["targets"]}
    for target, want in final.items():
        if target == "at":
            continue
        if want is None:
            assert target not in targets, f"{target} should have no clock: {targets.get(target)}"
            continue
        _check_view(target, targets[target], want)


async def _at_least(read: Any, count: int) -> bool:
    return len(await read()) >= count


def _when(event: EventPayload) -> str:
    """`kind@true time`, to show what came out."""
    data = event.model_dump()
    return f"{str(data['type']).split('.')[2]}@{next((data[k].isoformat() for k in TIME_KEYS if k in data), '?')}"


def _with_version(want: Mapping[str, Any], aliases: Mapping[str, str]) -> Mapping[str, Any]:
    if "policy" not in want:
        return want
    assert want["policy"] in aliases, f"the scenario has no policy {want['policy']}, only {sorted(aliases)}"
    return {**want, "policy": aliases[want["policy"]]}


def _versioned(event: EventPayload, versions: Mapping[str, int]) -> EventPayload:
    policy_id = event.policy_id  # type: ignore[attr-defined]
    return event.model_copy(update={"policy_version": versions[policy_id]})


def _check_view(target: str, shown: Mapping[str, Any], want: Mapping[str, Any]) -> None:
    """The final view's keys that do not depend on when it is read: states, instants, and a stopped clock's minutes."""
    stopped = shown["state"] in ("met", "cancelled")
    for key, value in want.items():
        if key in ("used", "left"):
            if stopped:
                have = shown[{"used": "used_minutes", "left": "left_minutes"}[key]]
                assert have == pytest.approx(value, abs=1e-6), f"final {target}.{key}: {have} != {value}"
            continue
        have = shown[key]
        if value is not None and (key.endswith("_at") or key == "deadline"):
            assert have is not None and datetime.fromisoformat(have) == pure.instant(value), (
                f"final {target}.{key}: {have} != {value}"
            )
        else:
            assert have == value, f"final {target}.{key}: {have} != {value}"


@pytest.mark.parametrize("name", SUBSET)
async def test_scenario_through_the_service(
    name: str, start_service: StartService, auth_headers: dict[str, str], servers: Servers, namespace: str
) -> None:
    await run_through_service(
        SCENARIOS[name], start_service=start_service, auth_headers=auth_headers, servers=servers, namespace=namespace
    )
