"""The shape every service process has: a Kafka broker, its Mongo database and an HTTP app, started and
stopped together, with probes and the AsyncAPI document served beside the service's own routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

import structlog
import uvicorn
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from switchboard.events.topics import Topic

from .consumer import BatchHandler, DeadLetters, EventConsumer
from .eventstore import EventStore
from .gcwatch import GcPolicy, watch_gc
from .health import ReadinessCheck, add_probes
from .kafka import deadletter_topic, declare_publisher, ensure_topics, make_broker
from .logging import configure_logging
from .mongo import Document, make_client, ping
from .outbox import OutboxRelay
from .settings import ServiceSettings

log = structlog.get_logger(__name__)
Hook = Callable[[], Awaitable[None]]


class Background(Protocol):
    """A loop the service runs beside its consumers (an outbox relay, a timer scheduler)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Runtime:
    """What a service's composition root assembles: the shared plumbing, passed explicitly."""

    name: str
    settings: ServiceSettings
    broker: KafkaBroker
    mongo: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    consumers: list[EventConsumer] = field(default_factory=list)
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    background: list[Background] = field(default_factory=list)
    on_ready: list[Hook] = field(default_factory=list)  # after Kafka is connected, before background loops
    checks: list[tuple[str, ReadinessCheck]] = field(default_factory=list)
    _spec_broker: KafkaBroker | None = None

    @classmethod
    def create(cls, name: str, settings: ServiceSettings) -> Runtime:
        mongo = make_client(settings, service=name)
        return cls(
            name=name,
            settings=settings,
            broker=make_broker(settings, service=name),
            mongo=mongo,
            db=mongo[settings.database_name(name)],
            background=[
                GcPolicy(freeze_every_s=settings.gc_freeze_interval_s, full_every_s=settings.gc_full_interval_s)
            ],
        )

    def deadletters(self, group: str) -> DeadLetters:
        return DeadLetters(self.broker, deadletter_topic(self.settings), group=group)

    def group_id(self, purpose: str = "main") -> str:
        """Consumer group names carry the namespace, so test runs never share offsets."""
        base = f"switchboard-{self.name}-{purpose}"
        return f"{self.settings.namespace}.{base}" if self.settings.namespace else base

    def publishes(self, *topics: Topic) -> None:
        """Declare the catalogue topics this service writes, so its AsyncAPI document lists them."""
        for topic in topics:
            declare_publisher(self.broker, topic, namespace=self.settings.namespace)

    def reads(self, topics: Sequence[Topic], *, description: str) -> None:
        """Document topics this service reads with a consumer of its own rather than a FastStream subscription
        (reporting's feed assigns itself every partition): the AsyncAPI document lists them from a broker that is
        never started, so the description is all it adds."""
        if self._spec_broker is None:
            self._spec_broker = make_broker(self.settings, service=self.name)
        for topic in topics:

            async def documented(_: Any) -> None:  # never called: this broker never starts
                return None

            self._spec_broker.subscriber(
                topic.qualified(self.settings.namespace),
                title=f"{topic.name}:read",
                description=f"{topic.description} {description}",
            )(documented)

    def relay(self, events: EventStore, *, publish: bool = True) -> OutboxRelay:
        """The outbox relay for this service's event store, started and stopped with the service.

        `publish=False` keeps it paused: commits are stored and published by a later, publishing start.
        """
        relay = OutboxRelay(
            broker=self.broker,
            commits=events.commits,
            pending=events.pending,
            leases=self.db["leases"],
            service=self.name,
        )
        if publish:
            self.background.append(relay)
        else:
            relay.pause()
        return relay

    def subscribe(
        self, topics: Sequence[Topic], handler: BatchHandler, *, purpose: str = "main", name: str | None = None
    ) -> EventConsumer:
        """A consumer group (`switchboard-<service>-<purpose>`) reading `topics` in batches into `handler`,
        with its dead letters and its readiness check."""
        group = self.group_id(purpose)
        return self.add_consumer(
            EventConsumer(
                broker=self.broker,
                name=name or (self.name if purpose == "main" else purpose),
                group_id=group,
                topics=topics,
                namespace=self.settings.namespace,
                handler=handler,
                deadletters=self.deadletters(group),
            )
        )

    def add_consumer(self, consumer: EventConsumer) -> EventConsumer:
        self.consumers.append(consumer)

        async def check() -> tuple[bool, str]:
            return consumer.ready()

        self.checks.append((f"kafka:{consumer.name}", check))
        return consumer

    async def _mongo_ready(self) -> tuple[bool, str]:
        await ping(self.mongo)
        return True, "ok"

    async def _kafka_ready(self) -> tuple[bool, str]:
        if not self.broker.running:
            return False, "kafka broker not started"
        return (await self.broker.ping(timeout=1.5)), "kafka cluster does not answer"

    def http_app(self, *, title: str, routers: Sequence[Any] = (), version: str = "0.1.0") -> FastAPI:
        """The service's HTTP app; its lifespan starts and stops everything else."""

        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(title=title, version=version, lifespan=lifespan)
        for router in routers:
            app.include_router(router)
        add_probes(app, [("mongo", self._mongo_ready), ("kafka", self._kafka_ready), *self.checks])
        spec = AsyncAPI(self._spec_broker or self.broker, title=f"Switchboard {self.name}", version=version)

        @app.get("/asyncapi.json", include_in_schema=False)
        async def asyncapi() -> Any:
            return spec.to_specification().to_jsonable()

        return app

    async def start(self) -> None:
        await ensure_topics(self.settings)
        for hook in self.on_start:
            await hook()
        await self.broker.start()
        for hook in self.on_ready:
            await hook()
        for task in self.background:
            task.start()
        log.info("service started", port=self.settings.port, namespace=self.settings.namespace or None)

    async def stop(self) -> None:
        log.info("service stopping")
        for task in reversed(self.background):
            with contextlib.suppress(Exception):
                await task.stop()
        for hook in reversed(self.on_stop):
            with contextlib.suppress(Exception):
                await hook()
        for consumer in self.consumers:  # handled batches' positions; a batch still in flight comes again
            await consumer.offsets.flush()
        await self.broker.stop()
        await self.mongo.close()
        log.info("service stopped")


class _Server(uvicorn.Server):
    """Uvicorn re-raises SIGTERM after its graceful shutdown; a completed graceful stop exits 0 instead."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def serve(app: FastAPI, settings: ServiceSettings, *, service: str) -> None:
    """Run the HTTP server in the foreground until SIGTERM or SIGINT, then shut down gracefully."""
    configure_logging(service=service, level=settings.log_level, json=settings.log_json)
    watch_gc()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
    )
    _Server(config).run()
