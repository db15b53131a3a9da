"""Routing's composition root: its consumer group, its publisher and its HTTP app."""

from __future__ import annotations

from fastapi import FastAPI
from switchboard.events.topics import FEEDBACK, INTERACTIONS, ROUTING, SLA, TICKETS
from switchboard.runtime.consumer import EventConsumer
from switchboard.runtime.kafka import declare_publisher
from switchboard.runtime.service import Runtime

from . import handlers
from .settings import RoutingSettings

SERVICE = "routing"


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    runtime = Runtime.create(SERVICE, settings)
    declare_publisher(runtime.broker, ROUTING, namespace=settings.namespace)
    group = runtime.group_id()
    runtime.add_consumer(
        EventConsumer(
            broker=runtime.broker,
            name=SERVICE,
            group_id=group,
            topics=(TICKETS, INTERACTIONS, SLA, FEEDBACK),
            namespace=settings.namespace,
            handler=handlers.on_events,
            deadletters=runtime.deadletters(group),
        )
    )
    return runtime.http_app(title="Switchboard routing")
