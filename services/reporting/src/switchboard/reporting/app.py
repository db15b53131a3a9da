"""Reporting's composition root: one consumer group over every topic feeding the read models."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from switchboard.events import Envelope
from switchboard.events.topics import ALL
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.service import Runtime

from . import views
from .api import tickets_router
from .settings import ReportingSettings

SERVICE = "reporting"


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = Runtime.create(SERVICE, settings)

    async def project(batch: Sequence[Envelope]) -> None:
        await views.on_events(batch, db=runtime.db)

    runtime.subscribe(ALL, project, purpose="projections")
    auth = TokenAuth.from_settings(settings)
    return runtime.http_app(title="Switchboard reporting", routers=[tickets_router(db=runtime.db, auth=auth)])
