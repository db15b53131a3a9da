"""Reporting's composition root: the feed folding every topic into this replica's engine, the publisher
copying changes to MongoDB, and the read-only HTTP routes served from the engine."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

from fastapi import FastAPI
from switchboard.events.topics import ALL
from switchboard.runtime.auth import TokenAuth
from switchboard.runtime.lease import Lease
from switchboard.runtime.service import Runtime

from .api.analytics import analytics_router
from .api.supervisor import supervisor_router
from .api.ticket import ticket_router
from .api.worklist import worklist_router
from .business import business_minutes
from .engine import Engine
from .feed import Feed
from .publisher import Publisher
from .settings import ReportingSettings

SERVICE = "reporting"


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = Runtime.create(SERVICE, settings)
    path = settings.engine_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = Engine.open(path, business=business_minutes)
    feed = Feed(engine, bootstrap=settings.kafka_bootstrap_servers, namespace=settings.namespace)
    lease = Lease(runtime.db["leases"], "reporting-publisher", ttl_s=settings.publisher_lease_ttl_s)
    runtime.background.append(feed)
    runtime.reads(ALL, description="Reporting folds every partition of it into each replica's engine.")
    runtime.background.append(Publisher(engine, runtime.db, lease=lease, period_s=settings.publish_period_s))

    async def feed_ready() -> tuple[bool, str]:
        return feed.ready()

    runtime.checks.append(("feed", feed_ready))
    readers = _Readers(engine)
    auth = TokenAuth.from_settings(settings)

    def agent_queues(agent_id: str) -> frozenset[str]:
        row = readers().execute("SELECT view FROM agents WHERE id = ?", (agent_id,)).fetchone()
        view: dict[str, Any] = json.loads(row[0]) if row else {}
        return frozenset(view.get("queues", ()))

    routers = [
        worklist_router(engine_provider=readers, auth=auth, agent_queues=agent_queues),
        ticket_router(conn_provider=readers, auth=auth, agent_queues=agent_queues),
        analytics_router(conn_provider=readers, auth=auth),
        supervisor_router(conn_provider=readers, auth=auth),
    ]
    return runtime.http_app(title="Switchboard reporting", routers=routers)


class _Readers:
    """One read-only SQLite connection per thread (FastAPI runs sync work in a pool; the loop is one thread)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()

    def __call__(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._engine.reader()
        return conn
