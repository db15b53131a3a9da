"""Intake's customer and account use cases with no servers, over the runtime's in-memory database: the identity
keys a change claims and releases go with the commit, through a retry too.

A "process" is one `Intake` over its own `IntakeStore`; a second one over the same database is another replica.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pymongo.asynchronous.database import AsyncDatabase
from switchboard.events.common import Channel, Priority
from switchboard.intake.commands import Intake
from switchboard.intake.commands.customers import Hints
from switchboard.intake.commands.inputs import NewTicket
from switchboard.intake.domain.customer import AccountChanges, CustomerChanges
from switchboard.intake.domain.errors import NotFound
from switchboard.intake.settings import IntakeSettings
from switchboard.intake.store import IdentityTaken, IntakeStore
from switchboard.runtime.decider import Outcome, Request, RequestReused, content_hash
from switchboard.runtime.testing import RecordingRelay, memory_database, memory_of

pytestmark = pytest.mark.unit

Document = dict[str, Any]
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SETTINGS = IntakeSettings(languages=("en", "tr"), default_phone_region="TR")


def process(db: AsyncDatabase[Document]) -> tuple[Intake, RecordingRelay]:
    relay = RecordingRelay()
    return Intake.create(IntakeStore(db, namespace="t"), relay=relay, settings=SETTINGS, clock=lambda: NOW), relay


async def create(intake: Intake, *emails: str, key: str | None = None, name: str | None = None) -> Outcome:
    body = {"emails": emails, "name": name}
    request = Request(key=key, hash=content_hash(body) if key else None)
    return await intake.customers.create(CustomerChanges(name=name, emails=emails), request=request)


async def set_emails(intake: Intake, customer_id: str, *emails: str) -> Outcome:
    return await intake.customers.update(customer_id, CustomerChanges(emails=emails), request=Request())


async def found_by(intake: Intake, email: str) -> str | None:
    try:
        return str((await intake.customers.find(email=email, phone=None, handle=None))["id"])
    except NotFound:
        return None


async def test_an_identity_another_customer_owns_refuses_the_change_and_stores_nothing() -> None:
    db = memory_database()
    intake, relay = process(db)
    owner = (await create(intake, "ayse@example.com")).response["id"]
    other = (await create(intake, "ali@example.com")).response["id"]
    commits = len(relay.commits)

    with pytest.raises(IdentityTaken) as taken:
        await create(intake, "AYSE@example.com")
    assert taken.value.owner == owner
    with pytest.raises(IdentityTaken):
        await set_emails(intake, other, "ali@example.com", "ayse@example.com")
    assert len(relay.commits) == commits
    assert (await intake.customers.get(other))["emails"] == ["ali@example.com"]


async def test_a_change_that_lost_a_race_claims_and_releases_from_the_newer_record() -> None:
    db = memory_database()
    here, _ = process(db)
    there, _ = process(db)
    customer_id = (await create(here, "old@example.com")).response["id"]
    await there.customers.get(customer_id)  # the other replica has the customer, as created, in its cache

    await set_emails(here, customer_id, "moved@example.com")
    conflicts = REGISTRY.get_sample_value("switchboard_write_conflicts_total", {"ledger": "customer"}) or 0.0
    await set_emails(there, customer_id, "final@example.com")  # decided on the stale record first, then again

    assert REGISTRY.get_sample_value("switchboard_write_conflicts_total", {"ledger": "customer"}) == conflicts + 1

    assert (await here.customers.get(customer_id))["emails"] == ["final@example.com"]
    assert await found_by(here, "final@example.com") == customer_id
    assert await found_by(here, "moved@example.com") is None  # released by the retried change, not leaked
    assert await found_by(here, "old@example.com") is None


async def test_a_repeated_create_answers_as_the_first_and_a_reused_key_is_refused() -> None:
    db = memory_database()
    intake, _ = process(db)
    first = await create(intake, "retry@example.com", key="k-1", name="Retry")
    restarted, relay = process(db)
    writes = memory_of(db).writes

    assert await create(restarted, "retry@example.com", key="k-1", name="Retry") == Outcome(first.response, True)
    with pytest.raises(RequestReused):
        await create(restarted, "retry@example.com", key="k-1", name="Someone else")
    assert memory_of(db).writes == writes and relay.commits == []


async def test_an_account_claims_its_domains_and_new_customers_at_them_join_it() -> None:
    db = memory_database()
    intake, _ = process(db)
    no_key = Request()
    acme = await intake.accounts.create(
        AccountChanges(name="Acme", key_account=True, domains=("ACME.example",)), request=no_key
    )
    account_id = acme.response["id"]
    with pytest.raises(IdentityTaken):
        await intake.accounts.create(AccountChanges(name="Copycat", domains=("acme.example",)), request=no_key)

    new = NewTicket(
        subject="Invoice",
        description="Wrong amount",
        channel=Channel.EMAIL,
        priority=Priority.NORMAL,
        customer=Hints(email="boss@acme.example"),
        language="en",
    )
    opened = await intake.tickets.open(new, request=no_key)
    assert (await intake.tickets.get(opened.response["id"]))["account_id"] == account_id

    await intake.accounts.update(account_id, AccountChanges(domains=()), request=no_key)
    other = await intake.accounts.create(AccountChanges(name="Other", domains=("acme.example",)), request=no_key)
    assert other.response["domains"] == ["acme.example"]  # released by the update
    with pytest.raises(NotFound):
        await intake.accounts.update("nobody", AccountChanges(name="X"), request=no_key)
