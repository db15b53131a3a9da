"""SLA's composition root: its consumer, the timer, the outbox relay and the HTTP API."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from fastapi import FastAPI
from switchboard.events.topics import CUSTOMERS, INTERACTIONS, ROUTING, SLA, TICKETS
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.consumer import EventConsumer
from switchboard.runtime.kafka import declare_publisher
from switchboard.runtime.outbox import OutboxRelay
from switchboard.runtime.service import Runtime

from .api import sla_router
from .handlers import Configuration, Sla
from .scheduler import Scheduler
from .settings import SlaSettings
from .store import SlaStore, StaleClocks, bucket

SERVICE = "sla"

#: Until an admin stores its own, every ticket gets this: around the clock, 1 h / 4 h / 3 days.
DEFAULT_CALENDAR = {"time_zone": "UTC", "weekly": {"mon-sun": ["00:00-24:00"]}}
DEFAULT_POLICIES = [
    {
        "id": "standard",
        "name": "Standard",
        "calendar": "default",
        "targets": {"first_response": 60, "next_response": 240, "resolution": 4320},
    }
]


def create_app(settings: SlaSettings | None = None) -> FastAPI:
    settings = settings or SlaSettings()
    runtime = Runtime.create(SERVICE, settings)
    declare_publisher(runtime.broker, SLA, namespace=settings.namespace)
    store = SlaStore(runtime.db, namespace=settings.namespace)
    relay = OutboxRelay(
        broker=runtime.broker,
        commits=store.events.commits,
        pending=store.events.pending,
        leases=store.leases,
        service=SERVICE,
    )
    config = Configuration(store)
    sla = Sla(store=store, relay=relay, config=config)
    scheduler = Scheduler(sla=sla, store=store)

    async def load_configuration() -> None:
        await store.setup()
        if "default" not in await store.calendar_specs():
            await store.put_calendar("default", DEFAULT_CALENDAR)
        version, _ = await store.policy_set()
        if version == 0:
            with contextlib.suppress(StaleClocks):  # another replica stored them
                await store.save_policy_set(0, [{**p, "version": 1} for p in DEFAULT_POLICIES])
        if await store.watermark() is None:  # the timer starts here; nothing can be due before the first start
            await store.advance_watermark(bucket(datetime.now(UTC)))
        await config.reload()

    runtime.on_start.append(load_configuration)
    runtime.background += [relay, scheduler]
    group = runtime.group_id()
    runtime.add_consumer(
        EventConsumer(
            broker=runtime.broker,
            name=SERVICE,
            group_id=group,
            topics=(TICKETS, INTERACTIONS, ROUTING, CUSTOMERS),
            namespace=settings.namespace,
            handler=sla.on_events,
            deadletters=runtime.deadletters(group),
        )
    )
    auth = TokenAuth.from_settings(settings)
    return runtime.http_app(
        title="Switchboard SLA", routers=[sla_router(store=store, config=config, sla=sla, auth=auth)]
    )
