"""The reporting bench's tickets: their lives as intake, routing, SLA and feedback emit them, each step with the
test that tells whether a ticket view (reporting's API answer, or its Mongo document) shows it.

A life is a list of steps in time order. A history gives each step its own minute after the ticket opened; a live
run spaces the steps evenly (`gap_s`) from the moment the ticket opens, so that a ticket's events arrive while
other tickets' do. Every step's `shows` is monotone: once true for a view, it stays true as the life goes on, so
"first poll at which it holds" is when that event became visible.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from switchboard.events import Envelope
from switchboard.events._model import EventPayload
from switchboard.events.calendar import CalendarSpec, add_business_minutes, calendar_of
from switchboard.events.common import Actor, Channel, Priority, SlaTarget, SurveyKind, TicketStatus
from switchboard.events.feedback import SurveyAnswered, SurveyRequested
from switchboard.events.interactions import InteractionKind, InteractionRecorded
from switchboard.events.routing import TicketAssigned, TicketRouted
from switchboard.events.sla import SlaBreached, SlaClockStarted, SlaMet, SlaWarning
from switchboard.events.tickets import Requester, TicketOpened, TicketStatusChanged
from switchboard.events.topics import topic_of

Json = dict[str, Any]
Check = Callable[[Json], bool]
Times = Mapping[str, datetime]

TEAMS, QUEUES, AGENTS = 5, 20, 200  # queue q belongs to team q % 5; agent a to team a % 5
SOURCES = {"support.routing": "/switchboard/routing", "support.sla": "/switchboard/sla"}
SOURCES |= {"support.feedback": "/switchboard/feedback"}
KYIV = CalendarSpec(
    id="kyiv", time_zone="Europe/Kyiv", weekly={"mon-fri": ("09:00-18:00",)}, holidays=("yearly 01-01", "yearly 12-25")
)
ALWAYS = CalendarSpec(id="default", time_zone="UTC", weekly={"mon-sun": ("00:00-24:00",)})  # SLA's default
FIRST_RESPONSE_MIN = {Priority.LOW: 240, Priority.NORMAL: 60, Priority.HIGH: 30, Priority.URGENT: 15}
RESOLUTION_MIN = {Priority.LOW: 2880, Priority.NORMAL: 1440, Priority.HIGH: 480, Priority.URGENT: 240}
SUBJECTS = ("Refund for order #{n}", "Cannot log in to the app", "Invoice {n} is missing", "Rechnung {n} fehlt",
            "Siparişim #{n} gelmedi", "Не працює оплата замовлення #{n}", "Shipping delay for order #{n}")  # fmt: skip
LANGUAGES = ("en", "en", "tr", "de", "uk")
TAGS = ("billing", "refund", "login", "vip", "invoice", "shipping", "bug", "mobile")


@dataclass(frozen=True)
class Step:
    key: str  # unique within a life
    kind: str  # opened, message, clock, routed, assigned, status, warning, breach, met, survey_asked, answered
    minutes: float  # after the ticket opened (a history's clock)
    sequence: int | None = None  # intake's per-ticket version (support.tickets only)
    args: tuple[Any, ...] = ()  # message: (InteractionKind, author, nth of its sort); clock, warning, breach, met:
    # (SlaTarget,); status: (from, to)


@dataclass(frozen=True)
class Ticket:
    """What a ticket's events share, and its life's steps in time order."""

    n: int
    ticket_id: str
    customer_id: str
    queue: str
    team: str
    agent: str
    priority: Priority
    channel: Channel
    calendar: CalendarSpec | None
    language: str
    tags: tuple[str, ...]
    category: str | None
    survey: tuple[SurveyKind, int]
    steps: tuple[Step, ...] = ()

    def times(self, opened: datetime, *, gap_s: float | None = None) -> dict[str, datetime]:
        if gap_s is None:
            return {s.key: opened + timedelta(minutes=s.minutes) for s in self.steps}
        return {s.key: opened + timedelta(seconds=i * gap_s) for i, s in enumerate(self.steps)}

    def envelope(self, step: Step, times: Times) -> Envelope:
        payload = self.payload(step, times)
        source = SOURCES.get(topic_of(payload).name, "/switchboard/intake")
        return Envelope.new(
            payload, source=source, subject=self.ticket_id, sequence=step.sequence, time=times[step.key]
        )

    def deadline(self, times: Times, target: SlaTarget) -> datetime:
        limit = (FIRST_RESPONSE_MIN if target == SlaTarget.FIRST_RESPONSE else RESOLUTION_MIN)[self.priority]
        if self.calendar is None:
            return times["opened"] + timedelta(minutes=limit)
        return add_business_minutes(calendar_of(self.calendar), times["opened"], limit)

    def payload(self, step: Step, times: Times) -> EventPayload:
        at, tid = times[step.key], self.ticket_id
        clock = {"ticket_id": tid, "policy_id": "standard" if self.calendar else "calendar-time", "policy_version": 1}
        survey_id = str(uuid.uuid5(uuid.NAMESPACE_URL, tid))
        match step.kind:
            case "opened":
                subject = SUBJECTS[self.n % len(SUBJECTS)].format(n=self.n)
                return TicketOpened(
                    ticket_id=tid, reference=f"SB-{self.n}", subject=subject, channel=self.channel,
                    requester=Requester(customer_id=self.customer_id), priority=self.priority, tags=self.tags,
                    language=self.language, category=self.category, opened_at=at,
                )  # fmt: skip
            case "message":
                kind, author, _ = step.args
                return InteractionRecorded(
                    ticket_id=tid, interaction_id=str(uuid.uuid4()), kind=kind, channel=self.channel,
                    public=kind != InteractionKind.INTERNAL_NOTE, author_type=author, body_text="…",
                    author_id=self.customer_id if author == "customer" else self.agent, language=self.language,
                    occurred_at=at,
                )  # fmt: skip
            case "clock":
                (target,) = step.args
                limit = (FIRST_RESPONSE_MIN if target == SlaTarget.FIRST_RESPONSE else RESOLUTION_MIN)[self.priority]
                return SlaClockStarted(
                    **clock, target=target, target_minutes=limit, business_time=self.calendar is not None,
                    started_at=times["opened"], deadline=self.deadline(times, target), calendar=self.calendar,
                )  # fmt: skip
            case "routed":
                return TicketRouted(
                    ticket_id=tid, queue_id=self.queue, team_id=self.team, priority=self.priority, routed_at=at
                )
            case "assigned":
                return TicketAssigned(
                    ticket_id=tid, agent_id=self.agent, queue_id=self.queue, team_id=self.team, channel=self.channel,
                    strategy="least_loaded", assigned_at=at,
                )  # fmt: skip
            case "status":
                frm, to = step.args
                return TicketStatusChanged(
                    ticket_id=tid, from_status=frm, to_status=to, changed_by=Actor.AGENT, changed_at=at
                )
            case "warning":
                (target,) = step.args
                return SlaWarning(
                    **clock, target=target, fraction=0.75, deadline=self.deadline(times, target), warned_at=at
                )
            case "breach":
                (target,) = step.args
                return SlaBreached(**clock, target=target, deadline=self.deadline(times, target), breached_at=at)
            case "met":
                (target,) = step.args
                used = round((at - times["opened"]).total_seconds() / 60, 2)
                return SlaMet(**clock, target=target, met_at=at, used_minutes=used)
            case "survey_asked":
                return SurveyRequested(
                    ticket_id=tid, survey_id=survey_id, kind=self.survey[0], customer_id=self.customer_id,
                    expires_at=at + timedelta(days=7), requested_at=at,
                )  # fmt: skip
            case "answered":
                kind, score = self.survey
                return SurveyAnswered(
                    ticket_id=tid, survey_id=survey_id, kind=kind, score=score, agent_id=self.agent, answered_at=at
                )
        raise ValueError(f"no such step kind: {step.kind}")


def _clock_state(view: Json, target: str) -> str | None:
    state = (view.get("sla", {}).get(target) or {}).get("state")
    return None if state is None else str(state)


def _waited(view: Json) -> bool:
    return float((view.get("agent_wait_minutes") or {}).get("calendar", 0.0)) > 0


_COUNTS = {"customer": "customer_messages", "agent": "public_replies", "note": "internal_notes"}


def shows(step: Step) -> Check | None:
    """When a ticket view (API answer or Mongo document) shows this step: a monotone test over the life."""
    match step.kind, step.args:
        case "opened", _:
            return lambda view: True
        case "message", (kind, author, nth):
            field = _COUNTS["note" if kind == InteractionKind.INTERNAL_NOTE else author]
            return lambda view: int(view.get(field, 0)) >= nth
        case "clock", (target,):
            return lambda view: target.value in view.get("sla", {})
        case "routed", _:
            return lambda view: len(view.get("queue_history", ())) >= 1
        case "assigned", _:
            return lambda view: len(view.get("assignee_history", ())) >= 1
        case "status", (TicketStatus.NEW, _):
            return lambda view: view.get("status") != "new"
        case "status", (_, TicketStatus.PENDING):
            return lambda view: view.get("status") == "pending" or _waited(view)
        case "status", (TicketStatus.PENDING, _):
            return _waited
        case "status", (_, TicketStatus.SOLVED):
            return lambda view: len(view.get("solves", ())) >= 1
        case "warning", (target,):
            return lambda view: _clock_state(view, target.value) in ("at_risk", "breached")
        case "breach", (target,):
            return lambda view: _clock_state(view, target.value) == "breached"
        case "met", (target,):
            return lambda view: _clock_state(view, target.value) == "met"
        case "answered", _:
            return lambda view: view.get("survey") is not None
    return None  # a survey request changes nothing a reader sees


def ticket(n: int, rng: random.Random, *, customer_id: str) -> Ticket:
    """Ticket #n: opened with a customer message, two SLA clocks, routed and assigned, opened by an agent, maybe an
    internal note, a reply (first response met, or warned and breached before it), maybe a round of pending,
    usually solved (resolution met), and often a survey, sometimes answered."""
    q = rng.randrange(QUEUES)
    priority = rng.choices(list(Priority), weights=(20, 55, 20, 5))[0]
    kind = rng.choice((SurveyKind.CSAT, SurveyKind.CSAT, SurveyKind.NPS))
    facts = Ticket(
        n=n, ticket_id=str(uuid.uuid4()), customer_id=customer_id, queue=f"queue-{q:02d}", team=f"team-{q % TEAMS}",
        agent=f"agent-{rng.randrange(AGENTS // TEAMS) * TEAMS + q % TEAMS:03d}", priority=priority,
        channel=rng.choices(list(Channel), weights=(45, 10, 25, 3, 15, 2))[0],
        calendar=rng.choices((KYIV, ALWAYS, None), weights=(3, 5, 2))[0], language=rng.choice(LANGUAGES),
        tags=tuple(sorted(rng.sample(TAGS, rng.choice((0, 1, 1, 2))))),
        category=rng.choice(("billing", "account", "delivery", None)),
        survey=(kind, rng.randint(1, 5) if kind == SurveyKind.CSAT else rng.randint(0, 10)),
    )  # fmt: skip
    fr, customer, agent = SlaTarget.FIRST_RESPONSE, InteractionKind.CUSTOMER_MESSAGE, InteractionKind.AGENT_REPLY
    new, opened, pending, solved = TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SOLVED
    steps = [
        Step("opened", "opened", 0.0, 1),
        Step("asked", "message", 0.001, args=(customer, "customer", 1)),
        Step("fr_started", "clock", 0.002, args=(fr,)),
        Step("res_started", "clock", 0.003, args=(SlaTarget.RESOLUTION,)),
        Step("routed", "routed", 0.01),
    ]
    at = 0.02 + rng.uniform(0, 5)
    steps.append(Step("assigned", "assigned", at))
    at += rng.uniform(0.5, 30)
    steps.append(Step("open", "status", at, 2, (new, opened)))
    sequence = 2
    if rng.random() < 0.3:
        at += rng.uniform(1, 20)
        steps.append(Step("note", "message", at, args=(InteractionKind.INTERNAL_NOTE, "agent", 1)))
    at += rng.uniform(2, FIRST_RESPONSE_MIN[priority] * 1.3)
    if rng.random() < 0.1:  # warned, then breached, before the reply came
        steps += [Step("fr_warned", "warning", at, args=(fr,)), Step("fr_breached", "breach", at + 1, args=(fr,))]
        at += 3
    steps.append(Step("reply", "message", at, args=(agent, "agent", 1)))
    if steps[-2].kind != "breach":
        steps.append(Step("fr_met", "met", at + 0.001, args=(fr,)))
    if rng.random() < 0.25:  # waiting on the customer, who answers
        steps.append(Step("pending", "status", at + 1, sequence + 1, (opened, pending)))
        at += rng.uniform(30, 600)
        steps.append(Step("answer", "message", at, args=(customer, "customer", 2)))
        steps.append(Step("back", "status", at + 0.01, sequence + 2, (pending, opened)))
        at += rng.uniform(5, 120)
        steps.append(Step("reply2", "message", at, args=(agent, "agent", 2)))
        sequence += 2
    if rng.random() < 0.85:
        at += rng.uniform(10, 2000)
        steps.append(Step("solved", "status", at, sequence + 1, (opened, solved)))
        steps.append(Step("res_met", "met", at + 0.001, args=(SlaTarget.RESOLUTION,)))
        if rng.random() < 0.7:
            steps.append(Step("survey_asked", "survey_asked", at + 1))
            if rng.random() < 0.55:
                steps.append(Step("answered", "answered", at + rng.uniform(10, 2880)))
    return replace(facts, steps=tuple(sorted(steps, key=lambda s: s.minutes)))
