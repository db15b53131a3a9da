"""Intake's ticket and channel use cases with no servers: the service's own wiring (`Intake.create`) over the
runtime's in-memory database, with a relay stand-in that keeps what it is handed.

A "process" here is one `Intake` over its own `IntakeStore` (its own caches and locks): a second one over the same
database is a restarted process or another replica.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pymongo.asynchronous.database import AsyncDatabase
from switchboard.events import EventPayload
from switchboard.events.common import Channel, Priority, TicketStatus
from switchboard.events.interactions import InteractionKind, InteractionRecorded
from switchboard.events.tickets import TicketOpened, TicketStatusChanged
from switchboard.intake.commands import Intake
from switchboard.intake.commands.customers import Hints
from switchboard.intake.commands.inputs import InboundEmail, NewInteraction, NewTicket
from switchboard.intake.settings import IntakeSettings
from switchboard.intake.store import IntakeStore
from switchboard.runtime.decider import Outcome, Request, RequestReused, content_hash
from switchboard.runtime.testing import RecordingRelay, memory_database, memory_of

pytestmark = pytest.mark.unit

Document = dict[str, Any]
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SETTINGS = IntakeSettings(reference_prefix="SB", languages=("en", "tr"), default_phone_region="TR")


def process(db: AsyncDatabase[Document]) -> tuple[Intake, RecordingRelay]:
    """One intake process over `db`, as the service starts: empty caches."""
    relay = RecordingRelay()
    return Intake.create(IntakeStore(db, namespace="t"), relay=relay, settings=SETTINGS, clock=lambda: NOW), relay


async def history(db: AsyncDatabase[Document], ticket_id: str) -> list[EventPayload]:
    """The ticket's events as stored for the relay, read afresh by no process's cache."""
    _, stream = await IntakeStore(db, namespace="t").tickets.read(ticket_id)
    return stream.payloads


def ticket_conflicts() -> float:
    """How often a ticket's write was decided again because another writer got in first (the Decider's metric)."""
    return REGISTRY.get_sample_value("switchboard_write_conflicts_total", {"ledger": "ticket"}) or 0.0


def request(key: str | None = None, **body: Any) -> Request:
    """An HTTP request as the API builds it: the key scoped to a token, the hash of what was asked."""
    return Request(key=f"http:tok:{key}" if key else None, hash=content_hash(body) if key else None, actor_id="agent-1")


async def open_ticket(
    intake: Intake, req: Request, *, subject: str = "Order late", email: str = "ayse@example.com"
) -> Outcome:
    new = NewTicket(
        subject=subject,
        description="Where is my order?",
        channel=Channel.WEB_FORM,
        priority=Priority.NORMAL,
        customer=Hints(email=email, name="Ayşe"),
        language="en",
    )
    return await intake.tickets.open(new, request=req)


async def record(intake: Intake, ticket_id: str, kind: InteractionKind, text: str) -> Outcome:
    return await intake.tickets.record_interaction(
        ticket_id, NewInteraction(kind=kind, body_text=text, language="en"), request=request()
    )


async def email(intake: Intake, message_id: str, text: str = "Kargom nerede?") -> Document:
    mail = InboundEmail(
        message_id=message_id,
        sender_email="mehmet@example.com",
        sender_name="Mehmet",
        subject="Kargo",
        text=text,
        language="tr",
    )
    return await intake.channels.email(mail)


async def test_a_restarted_process_answers_a_repeated_key_from_the_stored_history_and_stores_nothing() -> None:
    db = memory_database()
    first, _ = process(db)
    opened = await open_ticket(first, request("k-1", subject="Order late"))
    assert not opened.replayed and opened.response["reference"].startswith("SB-")

    restarted, relay = process(db)
    writes = memory_of(db).writes
    again = await open_ticket(restarted, request("k-1", subject="Order late"))

    assert again == Outcome(opened.response, replayed=True)
    assert memory_of(db).writes == writes  # no look-up, customer, reference block or commit written
    assert relay.commits == []
    assert [type(e) for e in await history(db, opened.response["id"])] == [TicketOpened, InteractionRecorded]


async def test_a_reused_idempotency_key_with_another_body_is_refused() -> None:
    db = memory_database()
    intake, _ = process(db)
    await open_ticket(intake, request("k-2", subject="Order late"))
    writes = memory_of(db).writes
    with pytest.raises(RequestReused, match="Idempotency-Key"):
        await open_ticket(intake, request("k-2", subject="Something else"))
    assert memory_of(db).writes == writes


async def test_a_writer_that_lost_a_race_decides_again_on_the_newer_history_and_is_stored_once() -> None:
    db = memory_database()
    here, _ = process(db)
    there, there_relay = process(db)
    ticket_id = (await open_ticket(here, request())).response["id"]
    await there.tickets.read(ticket_id)  # the other replica has the ticket, as opened, in its cache

    await here.tickets.change_status(ticket_id, status=TicketStatus.PENDING, reason=None, request=request())
    conflicts = ticket_conflicts()
    reply = await record(there, ticket_id, InteractionKind.CUSTOMER_MESSAGE, "Any news?")

    # decided on the stale history, a customer message on a new ticket changes no status; decided again on
    # the stored one, it moves the pending ticket back to open
    assert reply.response["status"] == "open"
    events = await history(db, ticket_id)
    assert [type(e) for e in events] == [
        TicketOpened,
        InteractionRecorded,
        TicketStatusChanged,
        InteractionRecorded,
        TicketStatusChanged,
    ]
    assert [(e.from_status, e.to_status) for e in events if isinstance(e, TicketStatusChanged)] == [
        (TicketStatus.NEW, TicketStatus.PENDING),
        (TicketStatus.PENDING, TicketStatus.OPEN),
    ]
    assert [(c["sequence"], c["last_sequence"]) for c in there_relay.commits] == [(4, 5)]
    assert ticket_conflicts() == conflicts + 1  # its first append collided, the second one took


async def test_a_channel_message_delivered_twice_opens_one_ticket() -> None:
    db = memory_database()
    intake, relay = process(db)
    first = await email(intake, "<m-1@mail.example>")
    again = await email(intake, "<m-1@mail.example>", text="Kargom nerede?")
    restarted, restarted_relay = process(db)
    after_restart = await email(restarted, "m-1@mail.example")

    assert first["action"] == "opened"
    assert again == after_restart == first | {"action": "duplicate"}
    assert relay.subjects().count(first["ticket_id"]) == 1 and restarted_relay.commits == []
    events = await history(db, first["ticket_id"])
    assert [type(e) for e in events] == [TicketOpened, InteractionRecorded]


async def test_a_message_two_processes_take_at_once_opens_one_ticket() -> None:
    db = memory_database()
    (one, one_relay), (two, two_relay) = process(db), process(db)
    answers = await asyncio.gather(email(one, "<m-2@mail.example>"), email(two, "<m-2@mail.example>"))

    assert sorted(a["action"] for a in answers) == ["duplicate", "opened"]
    assert answers[0] | {"action": None} == answers[1] | {"action": None}
    ticket_id = answers[0]["ticket_id"]
    commits = [c for c in one_relay.commits + two_relay.commits if c["subject"] == ticket_id]
    assert len(commits) == 1
    assert [type(e) for e in await history(db, ticket_id)] == [TicketOpened, InteractionRecorded]


async def test_opening_a_ticket_for_a_known_customer_takes_six_store_commands() -> None:
    """What an open costs on the store, so that a refactoring that adds a round trip is noticed: the customer's
    e-mail looked up, the reference look-up and the customer's ticket list written first, the new ticket's first
    commit probed for, then its outbox marker and its commit (a reference block is taken once per 100)."""
    db = memory_database()
    intake, _ = process(db)
    await open_ticket(intake, request())  # creates the customer and takes a block of reference numbers

    def counts() -> Counter[str]:
        return Counter(
            {f"{n}.{c}": k for n, coll in memory_of(db).collections.items() for c, k in coll.commands.items()}
        )

    before = counts()
    await open_ticket(intake, request())
    assert counts() - before == Counter(
        {
            "identities.find_one": 1,
            "ticket_refs.update_one": 1,
            "customer_tickets.insert_many": 1,
            "commits.find_one": 1,
            "outbox_pending.bulk_write": 1,
            "commits.bulk_write": 1,
        }
    )


async def test_an_interaction_takes_its_channel_and_author_from_the_ticket() -> None:
    db = memory_database()
    intake, _ = process(db)
    opened = await open_ticket(intake, request())
    ticket_id = opened.response["id"]
    await record(intake, ticket_id, InteractionKind.CUSTOMER_MESSAGE, "Still waiting")
    await record(intake, ticket_id, InteractionKind.INTERNAL_NOTE, "Called the courier")

    opened_event, *rest = await history(db, ticket_id)
    assert isinstance(opened_event, TicketOpened)
    recorded = [e for e in rest if isinstance(e, InteractionRecorded)][1:]
    assert [(e.channel, e.author_type, e.author_id) for e in recorded] == [
        (Channel.WEB_FORM, "customer", opened_event.requester.customer_id),
        (Channel.WEB_FORM, "agent", "agent-1"),
    ]
