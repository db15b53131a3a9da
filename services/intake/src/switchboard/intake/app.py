"""Intake's composition root: store, outbox relay, use cases and HTTP routes wired together."""

from __future__ import annotations

from fastapi import FastAPI
from switchboard.events.topics import CUSTOMERS, INTERACTIONS, TICKETS
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.service import Runtime

from .api.channels import channels_router
from .api.common import BodyLimit, install_error_handlers
from .api.customers import customers_router
from .api.tickets import tickets_router
from .commands import Intake
from .language import warm_up
from .settings import IntakeSettings
from .store import IntakeStore

SERVICE = "intake"


def create_app(settings: IntakeSettings | None = None, *, store: IntakeStore | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = Runtime.create(SERVICE, settings)
    runtime.publishes(TICKETS, INTERACTIONS, CUSTOMERS)
    store = store or IntakeStore(runtime.db, namespace=settings.namespace)
    relay = runtime.relay(store.events, publish=settings.publish)
    intake = Intake.create(store, relay=relay, settings=settings)

    async def warm_language_models() -> None:
        warm_up(settings.languages)

    runtime.on_start += [store.setup, warm_language_models]
    auth = TokenAuth.from_settings(settings)
    app = runtime.http_app(
        title="Switchboard intake",
        routers=[
            tickets_router(tickets=intake.tickets, auth=auth),
            customers_router(customers=intake.customers, accounts=intake.accounts, auth=auth),
            channels_router(channels=intake.channels, auth=auth),
        ],
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
