"""Routing's composition root: its consumer, the assigner, the outbox relay and the HTTP API, wired together."""

from __future__ import annotations

from fastapi import FastAPI
from switchboard.events.topics import CUSTOMERS, FEEDBACK, INTERACTIONS, ROUTING, ROUTING_BOARD_NAME, SLA, TICKETS
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.service import Runtime

from .api import routing_router
from .assigner import Assigner, BoardTopic
from .commands import RoutingCommands
from .settings import RoutingSettings
from .store import RoutingStore
from .subscribers import Reactions

SERVICE = "routing"


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    runtime = Runtime.create(SERVICE, settings)
    runtime.publishes(ROUTING)
    store = RoutingStore(runtime.db, namespace=settings.namespace)
    relay = runtime.relay(store.events)
    board = BoardTopic(runtime.broker, ROUTING_BOARD_NAME, settings=settings, group_id=runtime.group_id("board"))
    assigner = Assigner(store=store, relay=relay, inputs=board, no_response_check_s=settings.no_response_check_s)
    reactions = Reactions(store=store, relay=relay, assigner=assigner)
    commands = RoutingCommands(store=store, assigner=assigner, reactions=reactions, rules_file=settings.rules_path)

    runtime.on_start += [store.setup, board.setup, commands.load_configuration]
    runtime.on_ready.append(commands.announce_roster)
    runtime.background.append(assigner)
    runtime.subscribe((TICKETS, INTERACTIONS, CUSTOMERS, SLA, FEEDBACK), reactions.on_events)
    return runtime.http_app(
        title="Switchboard routing", routers=[routing_router(commands, auth=TokenAuth.from_settings(settings))]
    )
