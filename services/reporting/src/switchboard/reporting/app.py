"""Reporting's composition root: one consumer group over every topic feeding the read models."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from fastapi import FastAPI
from switchboard.events import Envelope
from switchboard.events.topics import ALL
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.consumer import EventConsumer
from switchboard.runtime.service import Runtime

from . import handlers
from .api import tickets_router
from .settings import ReportingSettings

SERVICE = "reporting"


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = Runtime.create(SERVICE, settings)
    group = runtime.group_id("projections")
    handle = partial(handlers.on_events, db=runtime.db)

    async def on_batch(batch: Sequence[Envelope]) -> None:
        await handle(batch)

    runtime.add_consumer(
        EventConsumer(
            broker=runtime.broker,
            name="projections",
            group_id=group,
            topics=ALL,
            namespace=settings.namespace,
            handler=on_batch,
            deadletters=runtime.deadletters(group),
        )
    )
    auth = TokenAuth.from_settings(settings)
    return runtime.http_app(title="Switchboard reporting", routers=[tickets_router(db=runtime.db, auth=auth)])
