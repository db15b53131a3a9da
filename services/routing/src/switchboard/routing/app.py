"""Routing's composition root: its consumer, the assigner, the outbox relay and the HTTP API."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from fastapi import FastAPI
from switchboard.events.topics import CUSTOMERS, FEEDBACK, INTERACTIONS, ROUTING, ROUTING_BOARD_NAME, SLA, TICKETS
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.consumer import EventConsumer
from switchboard.runtime.kafka import declare_publisher, ensure_topic
from switchboard.runtime.outbox import OutboxRelay
from switchboard.runtime.service import Runtime

from .api import routing_router
from .board import Assigner, BoardInput
from .domain.rules import parse_rules
from .handlers import Routing
from .models import DEFAULT_ROSTER
from .settings import RoutingSettings
from .store import RoutingStore, VersionConflict

SERVICE = "routing"


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    runtime = Runtime.create(SERVICE, settings)
    declare_publisher(runtime.broker, ROUTING, namespace=settings.namespace)
    store = RoutingStore(runtime.db, namespace=settings.namespace)
    relay = OutboxRelay(
        broker=runtime.broker,
        commits=store.events.commits,
        pending=store.events.pending,
        leases=store.leases,
        service=SERVICE,
    )
    board_topic = f"{settings.namespace}.{ROUTING_BOARD_NAME}" if settings.namespace else ROUTING_BOARD_NAME
    assigner = Assigner(
        broker=runtime.broker,
        store=store,
        relay=relay,
        topic=board_topic,
        bootstrap=settings.kafka_bootstrap_servers,
        group_id=runtime.group_id("board"),
        no_response_check_s=settings.no_response_check_s,
    )
    routing = Routing(store=store, relay=relay, assigner=assigner)

    async def load_configuration() -> None:
        await store.setup()
        await ensure_topic(settings, ROUTING_BOARD_NAME, partitions=1)

    async def announce_first_roster() -> None:
        """The board learns the first roster like any later one: as an input in its log."""
        if await store.current_version("roster") == 1:
            await assigner.submit(BoardInput(id="roster:1", kind="roster", time=datetime.now(UTC), roster_version=1))

    async def load_rules_and_roster() -> None:
        """First start: store the default roster and the rules file; later starts use what is stored."""
        if await store.current_version("roster") == 0:
            with contextlib.suppress(VersionConflict):  # another replica stored it
                await store.save_version("roster", 0, {"roster": DEFAULT_ROSTER})
        roster = await store.roster_document() or {}
        text = await store.rules_text()
        if text is None:
            text = settings.rules_path.read_text(encoding="utf-8")
            parse_rules(
                text, known_queues=frozenset(roster.get("queues", {})), known_skills=frozenset(roster.get("skills", []))
            )  # a bad file stops the start
            try:
                await store.save_version("rules", 0, {"text": text})
            except VersionConflict:
                text = await store.rules_text() or text
        routing.rules = parse_rules(
            text, known_queues=frozenset(roster.get("queues", {})), known_skills=frozenset(roster.get("skills", []))
        )

    runtime.on_start += [load_configuration, load_rules_and_roster]
    runtime.on_ready.append(announce_first_roster)
    runtime.background += [relay, assigner]
    group = runtime.group_id()
    runtime.add_consumer(
        EventConsumer(
            broker=runtime.broker,
            name=SERVICE,
            group_id=group,
            topics=(TICKETS, INTERACTIONS, CUSTOMERS, SLA, FEEDBACK),
            namespace=settings.namespace,
            handler=routing.on_events,
            deadletters=runtime.deadletters(group),
        )
    )
    auth = TokenAuth.from_settings(settings)
    app = runtime.http_app(
        title="Switchboard routing",
        routers=[routing_router(store=store, routing=routing, assigner=assigner, auth=auth)],
    )
    return app
