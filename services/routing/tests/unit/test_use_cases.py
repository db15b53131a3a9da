"""Routing's use cases over the in-memory database, with no servers: roster changes that race, causes delivered
twice, and the assigner's replay of its inputs.

The board topic is a list here (what Kafka keeps in order), and the relay a list of the commits handed to it;
the store is `RoutingStore` over `switchboard.runtime.testing`'s in-memory database, which answers as MongoDB
does (an insert colliding on `_id`, a write failing on demand).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from switchboard.events import Envelope, EventPayload, reaction_id
from switchboard.events.common import Presence, SlaTarget, Tier
from switchboard.events.routing import AgentRosterChanged, TicketAssigned, TicketEscalated, TicketRouted
from switchboard.events.sla import SlaBreached
from switchboard.events.tickets import Requester
from switchboard.routing.assigner import Assigner
from switchboard.routing.board_inputs import BoardInput
from switchboard.routing.commands import RoutingCommands
from switchboard.routing.domain.roster import RosterError
from switchboard.routing.models import DEFAULT_ROSTER
from switchboard.routing.settings import DEFAULT_RULES
from switchboard.routing.store import RoutingStore
from switchboard.routing.subscribers import Reactions
from switchboard.runtime.auth import Principal, Scope
from switchboard.runtime.testing import RecordingRelay, memory_database, memory_of

from tests.factories import ticket_opened

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
Document = dict[str, Any]
BILLING_RULES = """\
version: 2
default: {queue: general}
rules:
  - id: billing
    when: {subject_words: [invoice]}
    then: {queue: billing}
"""


@dataclass
class Topic:
    """The board topic as a list: inputs in the order they were published."""

    topic: str = "board"
    items: list[BoardInput] = field(default_factory=list)

    async def publish(self, item: BoardInput) -> None:
        self.items.append(item)

    def consumer(self) -> NoReturn:  # unit tests drive the assigner with `apply_batch`
        raise AssertionError("no Kafka consumer in unit tests")

    def values(self, start: int = 0) -> list[bytes]:
        return [item.model_dump_json().encode() for item in self.items[start:]]


@dataclass
class Replica:
    """One routing process's use cases, over a shared database and board topic."""

    store: RoutingStore
    assigner: Assigner
    reactions: Reactions
    commands: RoutingCommands
    relay: RecordingRelay

    @classmethod
    async def start(cls, db: AsyncDatabase[Document], topic: Topic) -> Replica:
        store, relay = RoutingStore(db, namespace="t"), RecordingRelay()
        await store.setup()
        assigner = Assigner(store=store, relay=relay, inputs=topic, no_response_check_s=60)
        reactions = Reactions(store=store, relay=relay, assigner=assigner)
        commands = RoutingCommands(
            store=store, assigner=assigner, reactions=reactions, rules_file=DEFAULT_RULES, clock=lambda: NOW
        )
        await commands.load_configuration()
        await commands.announce_roster()
        return cls(store, assigner, reactions, commands, relay)


def opened(n: int, subject: str = "Cannot log in") -> Envelope:
    ticket = ticket_opened(f"t-{n}", NOW + timedelta(minutes=n), subject=subject, reference=f"SB-{n}")
    return Envelope.new(ticket, source="/test/intake", subject=ticket.ticket_id, time=ticket.opened_at)


async def history(db: AsyncDatabase[Document], subject: str) -> list[EventPayload]:
    """The subject's history as a fresh process reads it from the store (nothing from any replica's memory)."""
    return (await RoutingStore(db, namespace="t").events.read(subject)).payloads


AGENT = {"name": "Ayla", "teams": ["support"], "capacity": {"email": 2}}
ADMIN = Principal(fingerprint="test", scopes=frozenset({Scope.ADMIN}))


# --- roster changes ---------------------------------------------------------------------------------------------


async def test_a_roster_change_that_loses_a_race_is_applied_on_the_version_that_won() -> None:
    db, topic = memory_database(), Topic()
    first, second = await Replica.start(db, topic), await Replica.start(db, topic)  # two API processes
    rosters = memory_of(db)["rosters"]
    inserts_before, announced = rosters.commands["insert_one"], len(topic.items)

    answers = await asyncio.gather(
        first.commands.handle_put_item("agents", "ayla", AGENT),
        second.commands.handle_put_item("agents", "bora", AGENT | {"name": "Bora"}),
    )

    assert sorted(a["roster_version"] for a in answers) == [2, 3]
    assert rosters.commands["insert_one"] - inserts_before > 2, "both read version 1: one of them collided"
    roster = await RoutingStore(db, namespace="t").roster_document()
    assert roster is not None and sorted(roster["agents"]) == ["ayla", "bora"]  # neither change is lost
    assert sorted(i.id for i in topic.items[announced:]) == ["roster:2", "roster:3"]  # the board hears of each


async def test_a_roster_without_the_default_queue_is_refused_whole_and_nothing_reaches_the_board() -> None:
    db, topic = memory_database(), Topic()
    api = await Replica.start(db, topic)

    with pytest.raises(RosterError, match="must keep queue 'general'"):
        await api.commands.handle_put_roster(DEFAULT_ROSTER | {"queues": {"billing": {"team_id": "support"}}})

    assert await api.store.rosters.current() == 1
    assert [i.id for i in topic.items] == ["roster:1"]


async def test_removing_a_queue_the_rules_name_is_stored_with_a_warning_and_its_tickets_are_not_lost() -> None:
    db, topic = memory_database(), Topic()
    replica = await Replica.start(db, topic)
    await replica.commands.handle_put_item("queues", "billing", {"team_id": "support"})
    await replica.commands.handle_put_rules(BILLING_RULES)

    answer = await replica.commands.handle_put_roster(DEFAULT_ROSTER)  # billing goes
    await replica.reactions.on_events([opened(1, "Wrong invoice")])
    await replica.assigner.apply_batch(topic.values(), replaying=False)

    assert answer["roster_version"] == 3 and "rule 'billing' routes to queue 'billing'" in answer["warnings"][0]
    routed = [e for e in await history(db, "t-1") if isinstance(e, TicketRouted)]
    assert [(e.queue_id, e.reason) for e in routed] == [
        ("billing", None),
        ("general", "queue 'billing' is not on the roster: the ticket waits in the default queue 'general'"),
    ]
    assert replica.assigner.board.waiting == {"general": ("t-1",)}
    assert replica.assigner.roster_version == 3
    restarted = await Replica.start(db, topic)  # loads the stored rules, although they name a queue that is gone
    assert (await restarted.store.rules()).rules[0].then.queue == "billing"


async def test_storing_a_roster_that_moves_an_agent_announces_that_agent_alone_once() -> None:
    db, topic = memory_database(), Topic()
    replica = await Replica.start(db, topic)
    teams = {"support": {"name": "Support"}, "billing-team": {"name": "Billing"}}
    queues = {"general": {"team_id": "support"}, "billing": {"team_id": "billing-team"}}
    agents = {
        "ayla": AGENT,
        "bora": AGENT | {"name": "Bora"},
        "cem": AGENT | {"name": "Cem", "teams": ["billing-team"]},
    }
    await replica.commands.handle_put_roster(DEFAULT_ROSTER | {"teams": teams, "queues": queues, "agents": agents})
    await replica.assigner.apply_batch(topic.values(), replaying=False)
    joined = {e.agent_id: e for e in replica.relay.events if isinstance(e, AgentRosterChanged)}
    announced = len(topic.items)

    moved = agents | {"bora": agents["bora"] | {"teams": ["billing-team"]}}
    answer = await replica.commands.handle_put_roster(
        DEFAULT_ROSTER | {"teams": teams, "queues": queues, "agents": moved}
    )
    await replica.assigner.apply_batch(topic.values(announced), replaying=False)

    assert sorted(joined) == ["ayla", "bora", "cem"] and joined["cem"].queues == ("billing",)
    changes = [e for e in replica.relay.events if isinstance(e, AgentRosterChanged)][len(joined) :]
    assert changes == [
        AgentRosterChanged(
            agent_id="bora",
            name="Bora",
            teams=("billing-team",),
            queues=("billing",),
            tier=Tier.L1,
            roster_version=answer["roster_version"],
            changed_at=NOW,
        )
    ]
    assert [type(e) for e in await history(db, "bora")] == [AgentRosterChanged, AgentRosterChanged]
    assert [type(e) for e in await history(db, "ayla")] == [AgentRosterChanged]  # unchanged: nothing new
    stored = await RoutingStore(db, namespace="t").events.read("bora")
    assert stored.events[-1].id == reaction_id(f"roster:{answer['roster_version']}", "roster/bora")

    relay = RecordingRelay()
    takeover = Assigner(store=RoutingStore(db, namespace="t"), relay=relay, inputs=topic, no_response_check_s=60)
    await takeover.apply_batch(topic.values(), replaying=True)  # the board rebuilt by another process
    assert relay.commits == []  # every announcement was found stored: none is published again
    assert [type(e) for e in await history(db, "bora")] == [AgentRosterChanged, AgentRosterChanged]


async def test_routing_names_the_queues_team_whether_the_board_or_the_consumer_stores_the_decision() -> None:
    db, topic = memory_database(), Topic()
    replica = await Replica.start(db, topic)
    await replica.commands.handle_put_item("agents", "ayla", AGENT)
    await replica.commands.handle_set_presence("ayla", Presence.ONLINE, ADMIN)
    await replica.store.remember_account("acme", tier="enterprise", key_account=True, name="Acme")
    key = opened(2)
    ticket = key.data.model_copy(update={"requester": Requester(customer_id="c-2", account_id="acme")})
    key = Envelope.new(ticket, source="/test/intake", subject="t-2", time=key.time)

    await replica.reactions.on_events([opened(1), key])  # t-2's routing is stored by the consumer, t-1's by the board
    await replica.assigner.apply_batch(topic.values(), replaying=False)

    for ticket_id in ("t-1", "t-2"):
        routed, *_ = events = await history(db, ticket_id)
        assert isinstance(routed, TicketRouted) and routed.team_id == "support"
        assert [e.team_id for e in events if isinstance(e, TicketAssigned)] == ["support"]


# --- causes delivered twice --------------------------------------------------------------------------------------


async def test_a_redelivered_ticket_opened_stores_its_routing_and_assignment_once() -> None:
    db, topic = memory_database(), Topic()
    replica = await Replica.start(db, topic)
    await replica.commands.handle_put_item("agents", "ayla", AGENT)
    await replica.commands.handle_set_presence("ayla", Presence.ONLINE, ADMIN)
    cause = opened(1)

    await replica.reactions.on_events([cause])
    await replica.reactions.on_events([cause])  # redelivered: its input is published again, with the same id
    await replica.assigner.apply_batch(topic.values(), replaying=False)
    other = Assigner(
        store=RoutingStore(db, namespace="t"), relay=RecordingRelay(), inputs=topic, no_response_check_s=60
    )
    await other.apply_batch(topic.values(), replaying=False)  # another process, which has not seen it

    assert [type(e) for e in await history(db, "t-1")] == [TicketRouted, TicketAssigned]
    assert [c["_id"] for c in replica.relay.commits if c["subject"] == "t-1"] == ["t-1/0000000001"]
    assert other.board == replica.assigner.board


async def test_an_escalation_retried_after_a_failure_stores_its_decision_once() -> None:
    db, topic = memory_database(), Topic()
    replica = await Replica.start(db, topic)
    await replica.reactions.on_events([opened(1)])
    await replica.assigner.apply_batch(topic.values(), replaying=False)
    breach = SlaBreached(
        ticket_id="t-1",
        target=SlaTarget.FIRST_RESPONSE,
        policy_id="standard",
        policy_version=1,
        deadline=NOW + timedelta(hours=1),
        breached_at=NOW + timedelta(hours=1),
    )
    cause = Envelope.new(breach, source="/test/sla", subject="t-1", time=breach.breached_at)
    memory_of(db)["tickets"].fail_next_writes(1)  # the decision is stored, remembering the new tier is not

    with pytest.raises(Exception, match="connection closed"):
        await replica.reactions.on_events([cause])
    await replica.reactions.on_events([cause])  # the consumer delivers it again
    await replica.reactions.on_events([cause])  # and once more, after the tier was remembered

    escalations = [e for e in await history(db, "t-1") if isinstance(e, TicketEscalated)]
    assert [(e.from_tier, e.to_tier) for e in escalations] == [("L1", "L2")]
    assert (await replica.store.ticket("t-1") or {})["tier"] == "L2"


# --- the assigner's replay ---------------------------------------------------------------------------------------


async def test_the_assigners_replay_rebuilds_the_same_board_and_re_decides_nothing_stored() -> None:
    db, topic = memory_database(), Topic()
    replica = await Replica.start(db, topic)
    await replica.commands.handle_put_item("queues", "billing", {"team_id": "support"})
    await replica.commands.handle_put_rules(BILLING_RULES)
    await replica.commands.handle_put_item("agents", "ayla", AGENT | {"capacity": {"email": 1}})
    await replica.commands.handle_set_presence("ayla", Presence.ONLINE, ADMIN)
    await replica.reactions.on_events([opened(n, "Wrong invoice") for n in range(1, 4)])
    await replica.commands.handle_put_roster(DEFAULT_ROSTER | {"agents": {"ayla": AGENT}})  # billing goes
    for start in range(0, len(topic.items), 3):  # the owner applied them as they came, a few at a time
        await replica.assigner.apply_batch(topic.values(start)[:3], replaying=False)
    commits, markers = memory_of(db)["commits"], memory_of(db)["outbox_pending"]
    writes_before = commits.writes + markers.writes
    assert replica.assigner.board.waiting == {"general": ("t-3",)}  # ayla holds two of the three (capacity 2)

    takeover = Assigner(
        store=RoutingStore(db, namespace="t"), relay=RecordingRelay(), inputs=topic, no_response_check_s=60
    )
    await takeover.apply_batch(topic.values(), replaying=True)

    assert takeover.board == replica.assigner.board
    assert takeover.roster_version == replica.assigner.roster_version == 4
    assert commits.writes + markers.writes == writes_before, "the replay stored or marked something again"
