"""Intake's composition root: store, outbox relay, use cases and HTTP routes wired together."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from switchboard.events.topics import CUSTOMERS, INTERACTIONS, TICKETS
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.kafka import declare_publisher
from switchboard.runtime.outbox import OutboxRelay
from switchboard.runtime.service import Runtime

from .api.channels import channels_router
from .api.common import BodyLimit, install_error_handlers
from .api.customers import customers_router
from .api.tickets import tickets_router
from .handlers import Intake
from .identify import Identify
from .inbound import Inbound
from .language import warm_up
from .settings import IntakeSettings
from .store import IntakeStore

SERVICE = "intake"


def create_app(settings: IntakeSettings | None = None, *, store: IntakeStore | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = Runtime.create(SERVICE, settings)
    for topic in (TICKETS, INTERACTIONS, CUSTOMERS):
        declare_publisher(runtime.broker, topic, namespace=settings.namespace)
    store = store or IntakeStore(runtime.db, namespace=settings.namespace)
    relay = OutboxRelay(
        broker=runtime.broker,
        commits=store.events.commits,
        pending=store.events.pending,
        leases=store.leases,
        service=SERVICE,
    )
    intake = Intake(store=store, relay=relay)
    identify = Identify(intake, phone_region=settings.default_phone_region, languages=settings.languages)
    inbound = Inbound(
        intake,
        identify,
        reference_prefix=settings.reference_prefix,
        window=timedelta(minutes=settings.channel_window_minutes),
    )

    async def warm_language_models() -> None:
        warm_up(settings.languages)

    runtime.on_start += [store.setup, warm_language_models]
    if settings.publish:
        runtime.background.append(relay)
    else:
        relay.pause()
    auth = TokenAuth.from_settings(settings)
    app = runtime.http_app(
        title="Switchboard intake",
        routers=[
            tickets_router(intake=intake, identify=identify, auth=auth, settings=settings),
            customers_router(intake=intake, identify=identify, auth=auth),
            channels_router(inbound=inbound, identify=identify, auth=auth),
        ],
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
