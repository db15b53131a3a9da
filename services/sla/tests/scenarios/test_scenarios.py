"""Runs the SLA scenarios in scenarios.yaml through the pure domain: each step's events, timers and final view.

The format is documented at the top of scenarios.yaml. This runner turns each step into the catalogue payload
intake or routing would publish (tracking the ticket's status so a status change says where it came from),
decides it, and compares what came out. An end-to-end runner can read the same file and drive the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from switchboard.events import EventPayload
from switchboard.events.calendar import BusinessCalendar, calendar_from_dict
from switchboard.events.common import Actor, Channel, Priority, TicketStatus
from switchboard.events.interactions import InteractionKind, InteractionRecorded
from switchboard.events.routing import TicketRouted
from switchboard.events.sla import SlaBreached, SlaClockPaused, SlaClockResumed, SlaClockStarted, SlaMet, SlaWarning
from switchboard.events.tickets import (
    Requester,
    TicketMerged,
    TicketOpened,
    TicketReopened,
    TicketStatusChanged,
    TicketUpdated,
)
from switchboard.sla.domain.clock import SlaInput, Tick, TicketClocks, decide, next_due, view
from switchboard.sla.domain.config import policy_from_dict
from switchboard.sla.domain.policy import AccountFacts, Policy

pytestmark = pytest.mark.unit

FILE = Path(__file__).with_name("scenarios.yaml")
TICKET = "T-1"
ACTIONS = ("open", "reply", "note", "status", "reopen", "priority", "route", "merge", "tick")
KINDS: Mapping[str, type[EventPayload]] = {
    "started": SlaClockStarted,
    "paused": SlaClockPaused,
    "resumed": SlaClockResumed,
    "warning": SlaWarning,
    "breached": SlaBreached,
    "met": SlaMet,
}
TIME_FIELDS = {"started": "started_at", "paused": "paused_at", "resumed": "resumed_at", "warning": "warned_at"}
TIME_FIELDS |= {"breached": "breached_at", "met": "met_at"}


def load() -> list[dict[str, Any]]:
    scenarios: list[dict[str, Any]] = yaml.safe_load(FILE.read_text(encoding="utf-8"))["scenarios"]
    return scenarios


def instant(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"scenario time {value!r} needs an offset (Z for UTC)")
    return moment.astimezone(UTC)


@dataclass
class Ticket:
    """The ticket as intake would tell it: enough to write each step as the payload intake would publish."""

    state: TicketClocks
    status: TicketStatus = TicketStatus.NEW
    inputs: int = 0
    log: list[str] = field(default_factory=list)

    def payloads(self, step: Mapping[str, Any], at: datetime) -> list[SlaInput]:
        actions = [key for key in ACTIONS if key in step]
        if len(actions) != 1:
            raise ValueError(f"step {step} must have exactly one of the actions {ACTIONS}")
        [action] = actions
        value = step[action]
        self.inputs += 1
        match action:
            case "open":
                spec = value if isinstance(value, Mapping) else {}
                self.status = TicketStatus(spec.get("status", "new"))
                return [
                    TicketOpened(
                        ticket_id=TICKET,
                        reference="SB-1",
                        subject="Help",
                        channel=Channel(spec.get("channel", "email")),
                        requester=Requester(customer_id="C-1"),
                        priority=Priority(spec.get("priority", "normal")),
                        status=self.status,
                        opened_at=at,
                    )
                ]
            case "reply" | "note":
                author = "agent" if value == "agent" else "customer"
                kind = InteractionKind.AGENT_REPLY if author == "agent" else InteractionKind.CUSTOMER_MESSAGE
                if action == "note":
                    kind = InteractionKind.INTERNAL_NOTE
                return [
                    InteractionRecorded(
                        ticket_id=TICKET,
                        interaction_id=f"I-{self.inputs}",
                        kind=kind,
                        channel=Channel.EMAIL,
                        public=action == "reply",
                        author_type=author,
                        occurred_at=at,
                    )
                ]
            case "status":
                return [self._status(TicketStatus(value), at)]
            case "reopen":
                reopened = TicketReopened(ticket_id=TICKET, reopened_by=Actor.CUSTOMER, reopened_at=at)
                return [reopened, self._status(TicketStatus.OPEN, at)]
            case "priority":
                return [
                    TicketUpdated(ticket_id=TICKET, priority=Priority(value), changed_by=Actor.AGENT, updated_at=at)
                ]
            case "route":
                return [
                    TicketRouted(
                        ticket_id=TICKET, queue_id=value["queue"], priority=Priority(value["priority"]), routed_at=at
                    )
                ]
            case "merge":
                return [TicketMerged(ticket_id=TICKET, into_ticket_id="T-2", merged_at=at)]
            case _:
                return [Tick(at)]

    def _status(self, to: TicketStatus, at: datetime) -> TicketStatusChanged:
        before, self.status = self.status, to
        return TicketStatusChanged(
            ticket_id=TICKET, from_status=before, to_status=to, changed_by=Actor.AGENT, changed_at=at
        )


def check_event(actual: EventPayload, expected: Mapping[str, Any], where: str) -> None:
    [kind] = [key for key in KINDS if key in expected]
    assert isinstance(actual, KINDS[kind]), f"{where}: expected {kind}, got {actual}"
    got = actual.model_dump()
    assert got["target"] == expected[kind], f"{where}: expected a {kind} of {expected[kind]}, got {actual}"
    for key, want in expected.items():
        if key == kind:
            continue
        if key == "at":
            have = got[TIME_FIELDS[kind]]
        elif key == "policy":
            have = f"{got['policy_id']}@{got['policy_version']}"
        else:
            have = got[{"minutes": "target_minutes", "used": "used_minutes"}.get(key, key)]
        if isinstance(have, datetime):
            want = instant(want)
        if isinstance(have, float):
            assert have == pytest.approx(want, abs=1e-6), f"{where}: {key} {have} != {want} in {actual}"
        else:
            assert have == want, f"{where}: {key} {have} != {want} in {actual}"


def check_view(
    state: TicketClocks, at: datetime, expected: Mapping[str, Any], calendars: Mapping[str, BusinessCalendar]
) -> None:
    shown = {target.target.value: target for target in view(state, at, calendars=calendars).targets}
    for name, want in expected.items():
        if name == "at":
            continue
        if want is None:
            assert name not in shown, f"final: {name} should have no clock, has {shown.get(name)}"
            continue
        target = shown[name]
        for key, value in want.items():
            have = getattr(target, {"used": "used_minutes", "left": "left_minutes"}.get(key, key))
            if isinstance(have, datetime) or (value is not None and key.endswith(("_at", "deadline"))):
                assert have == instant(value), f"final {name}.{key}: {have} != {value}"
            elif isinstance(have, float):
                assert have == pytest.approx(value, abs=1e-6), f"final {name}.{key}: {have} != {value}"
            else:
                assert have == value, f"final {name}.{key}: {have} != {value}"


def run(scenario: Mapping[str, Any]) -> None:
    calendars = {key: calendar_from_dict(data) for key, data in (scenario.get("calendars") or {}).items()}
    policies: Sequence[Policy] = [policy_from_dict(data) for data in scenario["policies"]]
    account = AccountFacts(**scenario.get("account", {}))
    ticket = Ticket(TicketClocks(TICKET))
    now = None
    for number, step in enumerate(scenario["steps"], start=1):
        at = instant(step["at"])
        now = instant(step.get("now", step["at"]))
        where = f"step {number} ({', '.join(k for k in step if k in ACTIONS)} at {step['at']})"
        emitted: list[EventPayload] = []
        for index, payload in enumerate(ticket.payloads(step, at)):
            event_id = f"E-{number}-{index}"
            deliveries = 2 if step.get("twice") else 1
            for delivery in range(deliveries):
                ticket.state, out = decide(
                    ticket.state,
                    payload,
                    now=now,
                    policies=policies,
                    calendars=calendars,
                    account=account,
                    event_id=event_id,
                )
                if delivery:
                    assert out == [], f"{where}: a redelivery emitted {out}"
                else:
                    emitted += out
        expected = step.get("emits") or []
        described = "\n  ".join(str(e) for e in emitted)
        assert len(emitted) == len(expected), f"{where}: expected {len(expected)} events, got:\n  {described}"
        for actual, want in zip(emitted, expected, strict=True):
            check_event(actual, want, where)
        if "next_due" in step:
            due = next_due(ticket.state)
            assert due == (None if step["next_due"] is None else instant(step["next_due"])), f"{where}: next_due {due}"
    final = scenario.get("final")
    if final:
        assert now is not None
        check_view(ticket.state, instant(final.get("at", now)), final, calendars)


SCENARIOS = load()


def test_there_are_enough_scenarios_and_their_names_are_unique() -> None:
    names = [scenario["name"] for scenario in SCENARIOS]
    assert len(names) >= 40 and len(set(names)) == len(names)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario["name"] for scenario in SCENARIOS])
def test_scenario(scenario: Mapping[str, Any]) -> None:
    run(scenario)
