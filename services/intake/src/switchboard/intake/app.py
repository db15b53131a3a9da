"""Intake's composition root: settings, store, outbox relay and HTTP routes wired together."""

from __future__ import annotations

from fastapi import FastAPI
from switchboard.events.topics import CUSTOMERS, INTERACTIONS, TICKETS
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.kafka import declare_publisher
from switchboard.runtime.outbox import OutboxRelay
from switchboard.runtime.service import Runtime

from .api import tickets_router
from .settings import IntakeSettings
from .store import TicketStore

SERVICE = "intake"


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = Runtime.create(SERVICE, settings)
    for topic in (TICKETS, INTERACTIONS, CUSTOMERS):
        declare_publisher(runtime.broker, topic, namespace=settings.namespace)
    store = TicketStore(runtime.db, namespace=settings.namespace)
    relay = OutboxRelay(broker=runtime.broker, commits=store.commits, leases=store.leases, service=SERVICE)
    runtime.on_start.append(store.setup)
    runtime.background.append(relay)
    auth = TokenAuth.from_settings(settings)
    return runtime.http_app(
        title="Switchboard intake", routers=[tickets_router(store=store, relay=relay, auth=auth, settings=settings)]
    )
