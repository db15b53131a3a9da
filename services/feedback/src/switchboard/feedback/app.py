"""Feedback's composition root: its consumer group, its publisher and its HTTP app."""

from __future__ import annotations

from fastapi import FastAPI
from switchboard.events.topics import FEEDBACK, ROUTING, TICKETS
from switchboard.runtime.consumer import EventConsumer
from switchboard.runtime.kafka import declare_publisher
from switchboard.runtime.service import Runtime

from . import handlers
from .settings import FeedbackSettings

SERVICE = "feedback"


def create_app(settings: FeedbackSettings | None = None) -> FastAPI:
    settings = settings or FeedbackSettings()
    runtime = Runtime.create(SERVICE, settings)
    declare_publisher(runtime.broker, FEEDBACK, namespace=settings.namespace)
    group = runtime.group_id()
    runtime.add_consumer(
        EventConsumer(
            broker=runtime.broker,
            name=SERVICE,
            group_id=group,
            topics=(TICKETS, ROUTING),
            namespace=settings.namespace,
            handler=handlers.on_events,
            deadletters=runtime.deadletters(group),
        )
    )
    return runtime.http_app(title="Switchboard feedback")
