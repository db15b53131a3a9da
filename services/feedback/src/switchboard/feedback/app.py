"""Feedback's composition root: its consumer group, its publisher and its HTTP app."""

from __future__ import annotations

from fastapi import FastAPI
from switchboard.events.topics import FEEDBACK, ROUTING, TICKETS
from switchboard.runtime.service import Runtime

from . import subscribers
from .settings import FeedbackSettings

SERVICE = "feedback"


def create_app(settings: FeedbackSettings | None = None) -> FastAPI:
    settings = settings or FeedbackSettings()
    runtime = Runtime.create(SERVICE, settings)
    runtime.publishes(FEEDBACK)
    runtime.subscribe((TICKETS, ROUTING), subscribers.on_events)
    return runtime.http_app(title="Switchboard feedback")
