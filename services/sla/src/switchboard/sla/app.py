"""SLA's composition root: its use cases over one store, the consumer, the timer, the outbox relay and the HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI
from switchboard.events.topics import CUSTOMERS, INTERACTIONS, ROUTING, SLA, TICKETS
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.decider import Decider, Relay
from switchboard.runtime.service import Runtime

from .api import sla_router
from .clocks import ClockLedger, Clocks, wall_clock
from .commands import Commands
from .configuration import Configuration
from .scheduler import Scheduler
from .settings import SlaSettings
from .store import SlaStore
from .subscribers import Subscribers

SERVICE = "sla"


@dataclass(frozen=True)
class Sla:
    """SLA's use cases wired over one store and relay: the service's, the benchmark's seeder's and unit tests'."""

    store: SlaStore
    config: Configuration
    clocks: Clocks
    subscribers: Subscribers
    commands: Commands

    @classmethod
    def over(cls, store: SlaStore, *, relay: Relay, clock: Callable[[], datetime] = wall_clock) -> Sla:
        config = Configuration(store)
        ledger = ClockLedger(store, relay=relay, clock=clock)
        clocks = Clocks(store=store, config=config, decider=Decider(relay=relay, clock=clock), ledger=ledger)
        subscribers = Subscribers(store=store, clocks=clocks)
        return cls(store, config, clocks, subscribers, Commands(store=store, config=config, clocks=clocks, clock=clock))


def create_app(settings: SlaSettings | None = None) -> FastAPI:
    settings = settings or SlaSettings()
    runtime = Runtime.create(SERVICE, settings)
    runtime.publishes(SLA)
    store = SlaStore(runtime.db, namespace=settings.namespace)
    sla = Sla.over(store, relay=runtime.relay(store.events))
    scheduler = Scheduler(clocks=sla.clocks, store=store)
    runtime.on_start += [store.setup, sla.config.setup, scheduler.setup]
    runtime.background.append(scheduler)
    runtime.subscribe((TICKETS, INTERACTIONS, ROUTING, CUSTOMERS), sla.subscribers.on_events)
    router = sla_router(sla.commands, auth=TokenAuth.from_settings(settings))
    return runtime.http_app(title="Switchboard SLA", routers=[router])
